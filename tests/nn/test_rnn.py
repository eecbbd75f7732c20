"""lstmkit.nn.RNN / RNNCell (the Elman RNN): against torch.nn.RNN / RNNCell with the same weights
(every constructor option, PackedSequence, lengths, unbatched input, gradients; fp32 to 1e-5),
against the NumPy reference ``run_rnn`` / ``simple_rnn_step`` (masks, go_backwards, carry,
other activations; fp64 to 1e-10), and which execution path runs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

import lstmkit.nn as lnn
from lstmkit.cells import RNNSpec, run_rnn, simple_rnn_step
from lstmkit.kernels import native

TOL = {"atol": 1e-5, "rtol": 1e-5}
TOL64 = {"atol": 1e-10, "rtol": 1e-10}
T, B, I, H = 6, 3, 4, 5


def _pair(backend: str, **kw):
    torch.manual_seed(0)
    ref = torch.nn.RNN(I, H, **kw)
    ours = lnn.RNN(I, H, backend=backend, **kw)
    ours.load_state_dict(ref.state_dict())
    return ref, ours


def _weighted(output, h) -> torch.Tensor:
    data = output.data if isinstance(output, PackedSequence) else output
    return (data * torch.linspace(0.5, 1.5, data.numel()).reshape(data.shape)).sum() + \
        (h * torch.linspace(-1.0, 1.0, h.numel()).reshape(h.shape)).sum()


def _check_same(ref, ours, x, h0=None, pack=None) -> None:
    """Same outputs, final state and gradients (parameters, input, h0) for copies of x / h0;
    ``pack``: (lengths, enforce_sorted) to give both modules x as a PackedSequence."""
    leaves = []
    results = []
    for module in (ref, ours):
        xi = x.detach().clone().requires_grad_()
        hi = None if h0 is None else h0.detach().clone().requires_grad_()
        out, h_n = module(xi if pack is None else pack_padded_sequence(xi, pack[0], enforce_sorted=pack[1]), hi)
        _weighted(out, h_n).backward()
        leaves.append((xi, hi))
        results.append((out, h_n))
    (out1, h1), (out2, h2) = results
    if pack is not None:
        assert isinstance(out2, PackedSequence)
        torch.testing.assert_close(out2.batch_sizes, out1.batch_sizes)
        out1, out2 = out1.data, out2.data
    torch.testing.assert_close(out2, out1, **TOL)
    torch.testing.assert_close(h2, h1, **TOL)
    torch.testing.assert_close(leaves[1][0].grad, leaves[0][0].grad, **TOL)
    if h0 is not None:
        torch.testing.assert_close(leaves[1][1].grad, leaves[0][1].grad, **TOL)
    for (name, p1), (_, p2) in zip(ref.named_parameters(), ours.named_parameters()):
        torch.testing.assert_close(p2.grad, p1.grad, **TOL, msg=name)


# ---------------------------------------------------------------------------- against torch.nn.RNN
GRID = list(itertools.product([1, 2], [False, True], [False, True], ["tanh", "relu"], [True, False]))


@pytest.mark.parametrize("backend", ["torch", "reference"])
@pytest.mark.parametrize("num_layers,bidirectional,batch_first,nonlinearity,bias", GRID)
def test_layer_parity(num_layers, bidirectional, batch_first, nonlinearity, bias, backend):
    ref, ours = _pair(backend, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first,
                      nonlinearity=nonlinearity, bias=bias)
    g = torch.Generator().manual_seed(1)
    x = torch.randn((B, T, I) if batch_first else (T, B, I), generator=g)
    h0 = torch.randn(num_layers * (2 if bidirectional else 1), B, H, generator=g)
    _check_same(ref, ours, x, h0)
    assert ours.mode == ref.mode and ours.nonlinearity == ref.nonlinearity


@pytest.mark.parametrize("backend", ["torch", "reference"])
@pytest.mark.parametrize("enforce_sorted", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_packed_parity(bidirectional, enforce_sorted, backend):
    ref, ours = _pair(backend, num_layers=2, bidirectional=bidirectional)
    lengths = torch.tensor([6, 4, 1]) if enforce_sorted else torch.tensor([4, 6, 1])
    x = torch.randn(T, B, I, generator=torch.Generator().manual_seed(2))
    _check_same(ref, ours, x, pack=(lengths, enforce_sorted))


@pytest.mark.parametrize("backend", ["torch", "reference"])
def test_lengths_equal_packed(backend):
    ref, ours = _pair(backend, bidirectional=True, batch_first=True, nonlinearity="relu")
    x = torch.randn(B, T, I)
    lengths = torch.tensor([2, 6, 5])
    out_ref, h_ref = ref(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
    padded, _ = pad_packed_sequence(out_ref, batch_first=True, total_length=T)
    out, h_n = ours(x, lengths=lengths)
    torch.testing.assert_close(out, padded, **TOL)
    torch.testing.assert_close(h_n, h_ref, **TOL)


@pytest.mark.parametrize("backend", ["torch", "reference"])
def test_unbatched_input(backend):
    ref, ours = _pair(backend, num_layers=2)
    g = torch.Generator().manual_seed(3)
    _check_same(ref, ours, torch.randn(T, I, generator=g), torch.randn(2, H, generator=g))


def test_dropout_between_layers_matches_torch_in_training():
    ref, ours = _pair("torch", num_layers=3, dropout=0.5)
    x = torch.randn(T, B, I)
    torch.manual_seed(7)
    a, _ = ref(x)
    torch.manual_seed(7)
    b, _ = ours(x)
    torch.testing.assert_close(a, b)


def test_state_dict_init_and_repr_match_torch():
    torch.manual_seed(5)
    ref = torch.nn.RNN(I, H, 2, "relu", bidirectional=True)
    torch.manual_seed(5)
    ours = lnn.RNN(I, H, 2, "relu", bidirectional=True)
    assert list(ours.state_dict()) == list(ref.state_dict())
    for name, value in ref.state_dict().items():
        torch.testing.assert_close(ours.state_dict()[name], value, atol=0, rtol=0)
    ref.load_state_dict(ours.state_dict(), strict=True)
    assert "nonlinearity='relu'" in repr(ours) and len(ours.all_weights) == 4


@pytest.mark.parametrize("backend", ["torch", "reference"])
@pytest.mark.parametrize("nonlinearity,bias,batched", [("tanh", True, True), ("relu", False, True),
                                                        ("tanh", True, False)])
def test_cell_parity(nonlinearity, bias, batched, backend):
    torch.manual_seed(0)
    ref = torch.nn.RNNCell(I, H, bias=bias, nonlinearity=nonlinearity)
    ours = lnn.RNNCell(I, H, bias=bias, nonlinearity=nonlinearity, backend=backend)
    ours.load_state_dict(ref.state_dict())
    g = torch.Generator().manual_seed(4)
    x = torch.randn((B, I) if batched else (I,), generator=g)
    h = torch.randn((B, H) if batched else (H,), generator=g)
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    r1, r2 = ref(x1, h), ours(x2, h)
    torch.testing.assert_close(r2, r1, **TOL)
    r1.sum().backward()
    r2.sum().backward()
    torch.testing.assert_close(x2.grad, x1.grad, **TOL)
    for (name, p1), (_, p2) in zip(ref.named_parameters(), ours.named_parameters()):
        torch.testing.assert_close(p2.grad, p1.grad, **TOL, msg=name)


# ---------------------------------------------------------------------------- against the NumPy reference
def _randomised(**kw) -> lnn.RNN:
    m = lnn.RNN(I, H, backend="reference", dtype=torch.float64, **kw)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.rand(p.shape, generator=g, dtype=p.dtype) - 0.5)
    return m


def _np_layers(m):
    return [[{k: v.detach().numpy() for k, v in m.layer_params(l, d).items()} for d in range(m.num_directions)]
            for l in range(m.num_layers)]  # noqa: E741


@pytest.mark.parametrize("timing", ["lengths", "mask", "none"])
@pytest.mark.parametrize("kw", [dict(num_layers=2, bidirectional=True), dict(nonlinearity="softsign"),
                                dict(nonlinearity="relu", bidirectional=True)])
def test_matches_reference(kw, timing):
    m = _randomised(masked_output="carry" if timing == "mask" else "zero", **kw)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(T, B, I, generator=g, dtype=torch.float64)
    h0 = torch.randn(m.num_layers * m.num_directions, B, H, generator=g, dtype=torch.float64)
    extra = {"lengths": torch.tensor([T, 2, 4])} if timing == "lengths" else \
        {"mask": torch.rand(T, B, generator=g) > 0.35} if timing == "mask" else {}
    out, h_n = m(x, h0, **extra)
    ref_out, ref_h = run_rnn(m.spec, _np_layers(m), x.numpy(), h0.numpy(), bidirectional=m.bidirectional,
                             masked_output=m.masked_output, **{k: v.numpy() for k, v in extra.items()})
    torch.testing.assert_close(out, torch.from_numpy(ref_out), **TOL64)
    torch.testing.assert_close(h_n, torch.from_numpy(np.stack(ref_h)), **TOL64)


def test_go_backwards_and_eval_zoneout_match_reference():
    """go_backwards: the reversed sequence, outputs in processing order (Keras); zoneout in
    eval mode: its expectation; both on the reference step."""
    m = _randomised(go_backwards=True, zoneout=0.3).eval()
    x = torch.randn(T, B, I, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    out, h_n = m(x)
    params = _np_layers(m)[0][0]
    h, expected = np.zeros((B, H)), []
    for t in reversed(range(T)):
        h, _ = simple_rnn_step(m.spec, params, x[t].numpy(), h, zoneout=0.3)
        expected.append(h)
    torch.testing.assert_close(out, torch.from_numpy(np.stack(expected)), **TOL64)
    torch.testing.assert_close(h_n[0], torch.from_numpy(h), **TOL64)


def test_recurrent_dropout_only_in_training():
    m = lnn.RNN(I, H, recurrent_dropout=0.5)
    x = torch.randn(T, B, I)
    m.eval()
    plain = lnn.RNN(I, H)
    plain.load_state_dict(m.state_dict())
    torch.testing.assert_close(m(x)[0], plain(x)[0])
    m.train()
    a, b = m(x)[0], m(x)[0]
    assert not torch.allclose(a, b)


def test_callable_activation_runs_on_the_loop():
    elu = torch.nn.functional.elu
    m = lnn.RNN(I, H, nonlinearity=elu)
    ref = lnn.RNN(I, H, backend="reference")
    ref.load_state_dict(m.state_dict())
    x = torch.randn(T, B, I)
    out, _ = m(x)
    h, expected = torch.zeros(B, H), []
    for t in range(T):
        h = elu(x[t] @ m.weight_ih_l0.T + m.bias_ih_l0 + h @ m.weight_hh_l0.T + m.bias_hh_l0)
        expected.append(h)
    torch.testing.assert_close(out, torch.stack(expected), **TOL)
    assert m.mode == "RNN" and isinstance(m.spec, RNNSpec)


# ---------------------------------------------------------------------------- paths and errors
def test_native_runs_plain_configs_and_the_loop_the_rest(monkeypatch):
    calls = []
    real = native.rnn
    monkeypatch.setattr(native, "rnn", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    x = torch.randn(T, B, I)
    lnn.RNN(I, H)(x)
    lnn.RNN(I, H, nonlinearity="relu")(x, lengths=torch.tensor([6, 3, 1]))
    assert calls == ["rnn_tanh", "rnn_relu"]
    lnn.RNN(I, H, nonlinearity="sigmoid")(x)
    lnn.RNN(I, H, zoneout=0.1)(x)
    holes = torch.ones(T, B, dtype=torch.bool)
    holes[2, 1] = False
    lnn.RNN(I, H)(x, mask=holes)
    assert len(calls) == 2


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu'"):
        lnn.RNN(I, H, nonlinearity="softmax")
    with pytest.raises(ValueError, match=r"backend='fused'.*Elman RNN"):
        lnn.RNN(I, H, backend="fused")(torch.randn(T, B, I))
    with pytest.raises(ValueError, match=r"backend='torch'.*activation='sigmoid'"):
        lnn.RNN(I, H, nonlinearity="sigmoid", backend="torch")(torch.randn(T, B, I))
    with pytest.raises(ValueError, match=r"h_0 must have shape"):
        lnn.RNN(I, H)(torch.randn(T, B, I), torch.zeros(2, B, H))
    with pytest.raises(ValueError, match="zoneout must be a float"):
        lnn.RNN(I, H, zoneout=(0.1, 0.2))
