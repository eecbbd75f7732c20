"""lstmkit.nn.{LSTM,GRU,LSTMCell,GRUCell} against their torch.nn namesakes: same weights (loaded
with load_state_dict), same outputs, final states and gradients, on both execution paths.

Tolerance: fp32, atol = rtol = 1e-5 (the issue's bound); the "torch" path calls torch's own
kernels and is in practice bit-identical, the "reference" path is an independent loop.
"""

from __future__ import annotations

import itertools

import pytest
import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence

import lstmkit.nn as lnn

TOL = {"atol": 1e-5, "rtol": 1e-5}
BACKENDS = ["torch", "reference"]


def _grads(module: torch.nn.Module, *tensors: torch.Tensor) -> dict[str, torch.Tensor]:
    out = {name: p.grad.clone() for name, p in module.named_parameters()}
    out.update({f"input{k}": t.grad.clone() for k, t in enumerate(tensors) if t.grad is not None})
    return out


def _loss(output, states) -> torch.Tensor:
    data = output.data if isinstance(output, PackedSequence) else output
    flat = states if isinstance(states, tuple) else (states,)
    # Weighted sums so every element's gradient differs (a plain sum can hide permutations).
    total = (data * torch.linspace(0.5, 1.5, data.numel()).reshape(data.shape)).sum()
    for s in flat:
        total = total + (s * torch.linspace(-1.0, 1.0, s.numel()).reshape(s.shape)).sum()
    return total


def _pair(mode: str, backend: str, **kw):
    torch.manual_seed(0)
    ref = getattr(torch.nn, mode)(**kw)
    ours = getattr(lnn, mode)(backend=backend, **kw)
    ours.load_state_dict(ref.state_dict())
    return ref, ours


def _compare(ref, ours, make_inputs):
    (x1, hx1), (x2, hx2) = make_inputs(), make_inputs()
    out1, st1 = ref(x1, hx1)
    out2, st2 = ours(x2, hx2)
    if isinstance(out1, PackedSequence):
        assert isinstance(out2, PackedSequence)
        torch.testing.assert_close(out2.batch_sizes, out1.batch_sizes)
        out1, out2 = out1.data, out2.data
    torch.testing.assert_close(out2, out1, **TOL)
    for a, b in zip(st2 if isinstance(st2, tuple) else (st2,), st1 if isinstance(st1, tuple) else (st1,)):
        torch.testing.assert_close(a, b, **TOL)
    _loss(out1, st1).backward()
    _loss(out2, st2).backward()
    leaves1 = [t for t in _leaves(x1, hx1)]
    leaves2 = [t for t in _leaves(x2, hx2)]
    g1, g2 = _grads(ref, *leaves1), _grads(ours, *leaves2)
    assert g1.keys() == g2.keys()
    for name in g1:
        torch.testing.assert_close(g2[name], g1[name], **TOL, msg=lambda m, n=name: f"grad {n}: {m}")


def _leaves(x, hx):
    found = [x.data if isinstance(x, PackedSequence) else x]
    if hx is not None:
        found += list(hx) if isinstance(hx, tuple) else [hx]
    return found


GRID = list(itertools.product([1, 2, 3], [False, True], [False, True]))  # layers, bidirectional, batch_first


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("num_layers,bidirectional,batch_first", GRID)
@pytest.mark.parametrize("mode,proj", [("LSTM", 0), ("LSTM", 3), ("GRU", 0)])
def test_layer_parity(mode, proj, num_layers, bidirectional, batch_first, backend):
    kw = dict(input_size=4, hidden_size=6, num_layers=num_layers, bidirectional=bidirectional,
              batch_first=batch_first)
    if proj:
        kw["proj_size"] = proj
    ref, ours = _pair(mode, backend, **kw)
    D, R = (2 if bidirectional else 1), proj or 6

    def make_inputs():
        g = torch.Generator().manual_seed(1)
        shape = (3, 5, 4) if batch_first else (5, 3, 4)
        x = torch.randn(shape, generator=g).requires_grad_()
        h0 = torch.randn(num_layers * D, 3, R, generator=g).requires_grad_()
        if mode == "GRU":
            return x, h0
        c0 = torch.randn(num_layers * D, 3, 6, generator=g).requires_grad_()
        return x, (h0, c0)

    _compare(ref, ours, make_inputs)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("enforce_sorted", [False, True])
@pytest.mark.parametrize("mode,proj,bidirectional", [("LSTM", 0, True), ("LSTM", 2, True), ("GRU", 0, True),
                                                     ("LSTM", 0, False), ("GRU", 0, False)])
def test_packed_parity(mode, proj, bidirectional, enforce_sorted, backend):
    kw = dict(input_size=4, hidden_size=5, num_layers=2, bidirectional=bidirectional)
    if proj:
        kw["proj_size"] = proj
    ref, ours = _pair(mode, backend, **kw)
    lengths = torch.tensor([7, 7, 4, 2, 1]) if enforce_sorted else torch.tensor([3, 7, 1, 4, 7])

    def make_inputs():
        g = torch.Generator().manual_seed(2)
        x = torch.randn(7, 5, 4, generator=g)
        return pack_padded_sequence(x, lengths, enforce_sorted=enforce_sorted), None

    _compare(ref, ours, make_inputs)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_lengths_equal_packed(mode, backend):
    """lengths= on a padded tensor gives torch's packed results, zeros at padding."""
    ref, ours = _pair(mode, backend, input_size=3, hidden_size=4, bidirectional=True, batch_first=True)
    x = torch.randn(4, 6, 3)
    lengths = torch.tensor([2, 6, 1, 5])
    out_ref, st_ref = ref(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
    padded, _ = torch.nn.utils.rnn.pad_packed_sequence(out_ref, batch_first=True, total_length=6)
    out, st = ours(x, lengths=lengths)
    torch.testing.assert_close(out, padded, **TOL)
    for a, b in zip(st if isinstance(st, tuple) else (st,), st_ref if isinstance(st_ref, tuple) else (st_ref,)):
        torch.testing.assert_close(a, b, **TOL)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_unbatched_and_bias_false(mode, backend):
    ref, ours = _pair(mode, backend, input_size=3, hidden_size=4, num_layers=2, bias=False)

    def make_inputs():
        return torch.randn(5, 3, generator=torch.Generator().manual_seed(3)).requires_grad_(), None

    _compare(ref, ours, make_inputs)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("mode", ["LSTMCell", "GRUCell"])
@pytest.mark.parametrize("bias,batched", [(True, True), (False, True), (True, False)])
def test_cell_parity(mode, bias, batched, backend):
    torch.manual_seed(0)
    ref = getattr(torch.nn, mode)(4, 6, bias=bias)
    ours = getattr(lnn, mode)(4, 6, bias=bias, backend=backend)
    ours.load_state_dict(ref.state_dict())
    g = torch.Generator().manual_seed(4)
    shape = (3, 4) if batched else (4,)
    state_shape = (3, 6) if batched else (6,)
    x1 = torch.randn(shape, generator=g)
    h = torch.randn(state_shape, generator=g)
    c = torch.randn(state_shape, generator=g)
    x2 = x1.clone().requires_grad_()
    x1.requires_grad_()
    hx = (h, c) if mode == "LSTMCell" else h
    r1, r2 = ref(x1, hx), ours(x2, hx)
    r1 = r1 if isinstance(r1, tuple) else (r1,)
    r2 = r2 if isinstance(r2, tuple) else (r2,)
    for a, b in zip(r2, r1):
        torch.testing.assert_close(a, b, **TOL)
    sum(t.sum() * (k + 1) for k, t in enumerate(r1)).backward()
    sum(t.sum() * (k + 1) for k, t in enumerate(r2)).backward()
    torch.testing.assert_close(x2.grad, x1.grad, **TOL)
    for (name, p1), (_, p2) in zip(ref.named_parameters(), ours.named_parameters()):
        torch.testing.assert_close(p2.grad, p1.grad, **TOL, msg=name)


@pytest.mark.parametrize("mode,kw", [("LSTM", dict(num_layers=2, bidirectional=True, proj_size=2)),
                                     ("GRU", dict(num_layers=3, bidirectional=True)),
                                     ("LSTMCell", {}), ("GRUCell", {})])
def test_state_dict_and_init_match_torch(mode, kw):
    """Same names, shapes and (for the same seed) the same initial values as torch.nn."""
    torch.manual_seed(123)
    ref = getattr(torch.nn, mode)(3, 5, **kw)
    torch.manual_seed(123)
    ours = getattr(lnn, mode)(3, 5, **kw)
    sd_ref, sd = ref.state_dict(), ours.state_dict()
    assert list(sd) == list(sd_ref)
    for name in sd_ref:
        torch.testing.assert_close(sd[name], sd_ref[name], atol=0, rtol=0)
    # ... and the other way round: our weights load into torch.nn strictly.
    ref.load_state_dict(ours.state_dict(), strict=True)


def test_lstm_forget_bias_init():
    m = lnn.LSTM(3, 4, num_layers=2, bidirectional=True, forget_bias=1.0)
    for name, p in m.named_parameters():
        if name.startswith("bias_ih"):
            torch.testing.assert_close(p[4:8], torch.ones(4))
        if name.startswith("bias_hh"):
            torch.testing.assert_close(p[4:8], torch.zeros(4))
    cifg_like = lnn.LSTM(3, 4, variant="nig", forget_bias=2.0)
    torch.testing.assert_close(cifg_like.bias_ih_l0[:4], torch.full((4,), 2.0))  # rows f|g|o


def test_dropout_between_layers_matches_torch_in_training():
    """torch.nn.LSTM's inter-layer dropout: same RNG stream, same result on the native path."""
    ref, ours = _pair("LSTM", "torch", input_size=3, hidden_size=4, num_layers=3, dropout=0.5)
    x = torch.randn(5, 2, 3)
    torch.manual_seed(7)
    a, _ = ref(x)
    torch.manual_seed(7)
    b, _ = ours(x)
    torch.testing.assert_close(a, b)
    ours.eval()
    ref.eval()
    torch.testing.assert_close(ours(x)[0], ref(x)[0], **TOL)
