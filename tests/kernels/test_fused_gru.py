"""lstmkit's fused CPU GRU kernel (``lstmkit/csrc/gru.cpp`` via ``lstmkit.kernels.fused_gru``) against the
plain-torch loop (``backend="reference"``, float64) and torch.nn.GRU (float32), plus gradcheck.

Everything is tiny (T=5, B=3, I=3, H=4) so the whole file runs in seconds.
"""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

import lstmkit.nn as lnn
from lstmkit.kernels import fused
from tests.kernels._helpers import assert_same as _assert_same
from tests.kernels._helpers import weighted_loss as _loss

if not fused.available():
    pytest.skip(f"fused kernels: {fused.unavailable_reason()}", allow_module_level=True)

from lstmkit.kernels import fused_gru  # noqa: E402  (only meaningful once the library is loaded)

T, B, I, H = 5, 3, 3, 4
TOL64 = {"atol": 1e-9, "rtol": 1e-9}
TOL32 = {"atol": 1e-5, "rtol": 1e-4}
LENGTHS = torch.tensor([5, 2, 4])  # unsorted, longest == T
VARIANTS = ["gru", "gru_cho"]
BIDIR2 = dict(num_layers=2, bidirectional=True)


def _holey_mask() -> torch.Tensor:
    """(T, B): a full row, holes in the middle, and a sequence that starts masked."""
    return torch.tensor([[1, 1, 0], [1, 0, 0], [1, 1, 1], [1, 0, 1], [1, 1, 0]], dtype=torch.bool)


# ----------------------------------------------------------------------------- helpers


def _randomise(module: torch.nn.Module, seed: int = 0) -> None:
    """Weights far from their init (layer-norm gains and shifts too), so every parameter matters."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.rand(p.shape, generator=g, dtype=torch.float64) - 0.5)


def _run(m, x, h0, *, call=None, train=False, seed=None, pack=None, unpack=False):
    """Forward + backward of ``_loss`` on fresh leaves; returns (output, h_n, grads by name)."""
    x = x.detach().clone().requires_grad_()
    h0 = None if h0 is None else h0.detach().clone().requires_grad_()
    inp = x
    if pack is not None:
        inp = pack_padded_sequence(x, pack, enforce_sorted=bool((pack[:-1] >= pack[1:]).all()))
    m.train(train)
    if seed is not None:
        torch.manual_seed(seed)
    out, h_n = m(inp, h0, **(call or {}))
    if unpack:
        out = pad_packed_sequence(out, total_length=x.shape[0])[0]
    _loss(out, h_n).backward()
    grads = {name: p.grad for name, p in m.named_parameters()}
    grads["input"] = x.grad
    if h0 is not None:
        grads["h0"] = h0.grad
    return out, h_n, grads


def _assert_grads(ga, gb, tol):
    assert ga.keys() == gb.keys()
    for name in ga:
        assert ga[name] is not None and gb[name] is not None, f"no gradient for {name}"
        torch.testing.assert_close(ga[name], gb[name].to(ga[name].dtype), **tol,
                                   msg=lambda msg, n=name: f"grad {n}: {msg}")


def _h0(m, batched=True, seed=5):
    lead = (B,) if batched else ()
    g = torch.Generator().manual_seed(seed)
    return torch.randn(m.num_layers * m.num_directions, *lead, m.hidden_size, generator=g,
                       dtype=m.weight_ih_l0.dtype)


pytestmark = pytest.mark.usefixtures("one_thread")

@pytest.fixture
def fused_calls(monkeypatch) -> list[int]:
    """Counts calls into the fused GRU, so a test cannot pass by silently taking another path."""
    calls: list[int] = []
    real = fused_gru.gru_recurrence
    monkeypatch.setattr(fused_gru, "gru_recurrence", lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls


def _check_vs_reference(kw, *, batched=True, h0=True, call=None, train=False, seed=11, grad_tol=TOL64):
    fast = lnn.GRU(I, H, backend="fused", dtype=torch.float64, **kw)
    _randomise(fast)
    ref = lnn.GRU(I, H, backend="reference", dtype=torch.float64, **kw)
    ref.load_state_dict(fast.state_dict())
    bf = kw.get("batch_first", False)
    shape = ((B, T, I) if bf else (T, B, I)) if batched else (T, I)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    hx = _h0(fast, batched) if h0 else None
    out_f, h_f, g_f = _run(fast, x, hx, call=call, train=train, seed=seed)
    out_r, h_r, g_r = _run(ref, x, hx, call=call, train=train, seed=seed)
    _assert_same(out_f, out_r, TOL64, "output")
    _assert_same(h_f, h_r, TOL64, "h_n")
    _assert_grads(g_f, g_r, grad_tol)


# ----------------------------------------------------------------------------- 1. vs the loop, float64


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bidir"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("layer_norm", [False, True], ids=["plain", "ln"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_grid_matches_reference_loop(variant, layer_norm, bias, bidirectional, num_layers, fused_calls):
    _check_vs_reference(dict(variant=variant, layer_norm=layer_norm, bias=bias, bidirectional=bidirectional,
                             num_layers=num_layers))
    assert len(fused_calls) == num_layers * (2 if bidirectional else 1)


TRAIN = dict(train=True)
# torch's F.hardsigmoid backward (the loop's) multiplies by float32(1/6) even in float64; the
# kernel uses the exact 1/6 (gradcheck below holds it to that), so those gradients compare to 1e-7.
HARD = {"grad_tol": {"atol": 1e-7, "rtol": 1e-6}}
EXTRAS = {
    "recurrent_dropout-train": (dict(recurrent_dropout=0.4, **BIDIR2), TRAIN),
    "recurrent_dropout-train-ln": (dict(recurrent_dropout=0.5, layer_norm=True), TRAIN),
    "zoneout-train": (dict(zoneout=0.3, **BIDIR2), TRAIN),
    "zoneout-train-ln-rdrop": (dict(zoneout=0.4, recurrent_dropout=0.3, layer_norm=True, dropout=0.3, **BIDIR2),
                               TRAIN),
    "zoneout-eval": (dict(zoneout=0.3, **BIDIR2), {}),
    "everything-train-lengths": (dict(zoneout=0.3, recurrent_dropout=0.3, **BIDIR2),
                                 dict(train=True, call={"lengths": LENGTHS})),
    "everything-train-mask": (dict(zoneout=0.3, recurrent_dropout=0.3, layer_norm=True, **BIDIR2),
                              dict(train=True, call={"mask": _holey_mask()})),
    "lengths": (dict(**BIDIR2), dict(call={"lengths": LENGTHS})),
    "lengths-ln-no-bias": (dict(layer_norm=True, bias=False, **BIDIR2), dict(call={"lengths": LENGTHS})),
    "mask": (dict(), dict(call={"mask": _holey_mask()})),
    "mask-bidir-ln": (dict(layer_norm=True, **BIDIR2), dict(call={"mask": _holey_mask()})),
    "mask-carry": (dict(masked_output="carry"), dict(call={"mask": _holey_mask()})),
    "mask-carry-bidir-zoneout-eval": (dict(masked_output="carry", zoneout=0.3, **BIDIR2),
                                      dict(call={"mask": _holey_mask()})),
    "lengths-carry-bidir": (dict(masked_output="carry", **BIDIR2), dict(call={"lengths": LENGTHS})),
    "go_backwards": (dict(go_backwards=True), {}),
    "go_backwards-bidir-lengths": (dict(go_backwards=True, **BIDIR2), dict(call={"lengths": LENGTHS})),
    "go_backwards-mask-carry": (dict(go_backwards=True, masked_output="carry", **BIDIR2),
                                dict(call={"mask": _holey_mask()})),
    "batch_first": (dict(batch_first=True, **BIDIR2), {}),
    "batch_first-mask": (dict(batch_first=True, **BIDIR2), dict(call={"mask": _holey_mask().T})),
    "unbatched": (dict(**BIDIR2), dict(batched=False)),
    "unbatched-no-h0": (dict(layer_norm=True), dict(batched=False, h0=False)),
    "relu-hard_sigmoid": (dict(activation="relu", recurrent_activation="hard_sigmoid", **BIDIR2), HARD),
    "softsign-hard_sigmoid-ln": (dict(activation="softsign", recurrent_activation="hard_sigmoid", layer_norm=True),
                                 HARD),
    "softsign-sigmoid": (dict(activation="softsign", **BIDIR2), {}),
    "linear-tanh": (dict(activation="linear", recurrent_activation="tanh"), {}),
    "relu-softsign-ln": (dict(activation="relu", recurrent_activation="softsign", layer_norm=True), {}),
}


@pytest.mark.parametrize("case", list(EXTRAS))
@pytest.mark.parametrize("variant", VARIANTS)
def test_extras_match_reference_loop(variant, case, fused_calls):
    kw, opts = EXTRAS[case]
    _check_vs_reference(dict(variant=variant, **kw), **opts)
    assert fused_calls


def test_training_masks_change_the_result():
    """The train-mode cases above only mean something if the masks are drawn and used."""
    m = lnn.GRU(I, H, zoneout=0.3, recurrent_dropout=0.3, backend="fused", dtype=torch.float64, **BIDIR2)
    x = torch.randn(T, B, I, dtype=torch.float64)
    a = m.eval()(x)[0]
    torch.manual_seed(0)
    b = m.train()(x)[0]
    torch.manual_seed(1)
    c = m(x)[0]
    assert not torch.allclose(a, b) and not torch.allclose(b, c)


@pytest.mark.parametrize("variant", VARIANTS)
def test_no_grad_path_matches_and_leaves_input_alone(variant):
    m = lnn.GRU(I, H, variant=variant, layer_norm=True, backend="fused", **BIDIR2)
    x = torch.randn(T, B, I)
    x0 = x.clone()
    out, h_n = m(x)
    with torch.inference_mode():
        out2, h_n2 = m(x)
    torch.testing.assert_close(out2, out.detach(), atol=0, rtol=0)
    torch.testing.assert_close(h_n2, h_n.detach(), atol=0, rtol=0)
    torch.testing.assert_close(x, x0, atol=0, rtol=0)


@pytest.mark.parametrize("variant", VARIANTS)
def test_broadcast_output_gradient(variant):
    """``out.sum()`` hands the kernel a stride-0 gradient; it is read in place, not copied."""
    m = lnn.GRU(I, H, variant=variant, backend="fused", dtype=torch.float64, **BIDIR2)
    _randomise(m)
    ref = lnn.GRU(I, H, variant=variant, backend="reference", dtype=torch.float64, **BIDIR2)
    ref.load_state_dict(m.state_dict())
    x = torch.randn(T, B, I, dtype=torch.float64)
    grads = []
    for mod in (m, ref):
        mod.zero_grad()
        mod(x)[0].sum().backward()
        grads.append({n: p.grad for n, p in mod.named_parameters()})
    _assert_grads(grads[0], grads[1], TOL64)


# ----------------------------------------------------------------------------- 2. vs torch.nn.GRU, float32


def _compare_torch(*, pack=None, lengths=None, batched=True, **kw):
    torch.manual_seed(0)
    ref = torch.nn.GRU(I, H, **kw)
    ours = lnn.GRU(I, H, backend="fused", **kw)
    ours.load_state_dict(ref.state_dict())
    shape = ((B, T, I) if kw.get("batch_first") else (T, B, I)) if batched else (T, I)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(1))
    hx = _h0(ours, batched)
    if lengths is None:
        out_r, h_r, g_r = _run(ref, x, hx, pack=pack)
        out_o, h_o, g_o = _run(ours, x, hx, pack=pack)
    else:  # torch on the packed sequence (padded back with zeros), ours on the padded tensor
        out_r, h_r, g_r = _run(ref, x, hx, pack=lengths, unpack=True)
        out_o, h_o, g_o = _run(ours, x, hx, call={"lengths": lengths})
    if isinstance(out_r, PackedSequence):
        assert isinstance(out_o, PackedSequence)
        torch.testing.assert_close(out_o.batch_sizes, out_r.batch_sizes)
    _assert_same(out_o, out_r, TOL32, "output")
    _assert_same(h_o, h_r, TOL32, "h_n")
    _assert_grads(g_o, g_r, TOL32)


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bidir"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_matches_torch_gru(num_layers, bidirectional, bias, fused_calls):
    _compare_torch(num_layers=num_layers, bidirectional=bidirectional, bias=bias)
    assert fused_calls


@pytest.mark.parametrize("lengths", [[5, 4, 2], [2, 5, 1]], ids=["sorted", "unsorted"])
def test_matches_torch_gru_packed(lengths, fused_calls):
    _compare_torch(pack=torch.tensor(lengths), **BIDIR2)
    assert fused_calls


def test_lengths_match_torch_packed():
    _compare_torch(lengths=LENGTHS, **BIDIR2)


def test_unbatched_and_batch_first_match_torch_gru():
    _compare_torch(batched=False, **BIDIR2)
    _compare_torch(batch_first=True, num_layers=2)


@pytest.mark.parametrize("layer_norm", [False, True], ids=["plain", "ln"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_threaded_batch_slices_match_serial(variant, layer_norm):
    """A batch wide enough to be split over threads (each running its rows through every step)
    gives the one-thread result, layer-norm parameter gradients (summed per slice) included."""
    m = lnn.GRU(8, 64, variant=variant, bidirectional=True, zoneout=0.2, layer_norm=layer_norm,
                recurrent_dropout=0.2, backend="fused")
    x = torch.randn(4, 160, 8, generator=torch.Generator().manual_seed(0))
    mask = torch.rand(4, 160, generator=torch.Generator().manual_seed(1)) < 0.8
    results = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        try:
            results.append(_run(m, x, None, call={"mask": mask}, train=True, seed=3))
        finally:
            torch.set_num_threads(1)
    (out1, h1, g1), (out2, h2, g2) = results
    _assert_same(out2, out1, TOL32, "output")
    _assert_same(h2, h1, TOL32, "h_n")
    _assert_grads(g2, g1, TOL32)


# ----------------------------------------------------------------------------- 3. gradcheck


GRADCHECK_X = torch.randn(4, 2, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
GRADCHECK_MASK = torch.tensor([[1, 1], [0, 1], [1, 0], [1, 1]]).bool()


def _gradcheck_module(m, x, **call_kw):
    names = [n for n, _ in m.named_parameters()]
    values = tuple(p.detach().clone().requires_grad_() for p in m.parameters())

    def fn(x, *params):
        out, h_n = torch.func.functional_call(m, dict(zip(names, params)), (x,), call_kw)
        return out, h_n

    assert torch.autograd.gradcheck(fn, (x.detach().clone().requires_grad_(), *values), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("kw,call", [
    (dict(layer_norm=True), {"mask": GRADCHECK_MASK}),
    (dict(bias=False, masked_output="carry", bidirectional=True), {"mask": GRADCHECK_MASK}),
    (dict(zoneout=0.3, num_layers=2), {"lengths": torch.tensor([3, 4])}),
    (dict(activation="softsign", recurrent_activation="hard_sigmoid", go_backwards=True), {}),
], ids=["ln-mask", "nobias-mask-carry-bidir", "eval-zoneout-lengths", "softsign-hard_sigmoid"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_gradcheck(variant, kw, call, fused_calls):
    m = lnn.GRU(3, 2, variant=variant, backend="fused", dtype=torch.float64, **kw).eval()
    _randomise(m)
    _gradcheck_module(m, GRADCHECK_X, **call)
    assert fused_calls


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("masks", ["rmask+keep+step", "eval-zoneout"])
def test_gradcheck_gru_recurrence(variant, masks):
    """gradcheck of the autograd Function itself w.r.t. gx, h0 and every weight it takes."""
    Tn, Bn, Hn = 3, 2, 2
    m = lnn.GRU(3, Hn, variant=variant, layer_norm=True, dtype=torch.float64)
    _randomise(m)
    p = {k: v.detach().clone().requires_grad_() for k, v in m.layer_params(0).items()}
    g = torch.Generator().manual_seed(3)
    gx = torch.randn(Tn, Bn, 3 * Hn, generator=g, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(Bn, Hn, generator=g, dtype=torch.float64, requires_grad=True)
    opts: dict = {"zoneout": 0.25}
    if masks == "rmask+keep+step":
        opts = {"rmask": torch.rand(Bn, Hn, generator=g, dtype=torch.float64) * 2,
                "keep_h": torch.rand(Tn, Bn, Hn, generator=g) < 0.3,
                "step_mask": torch.tensor([[1, 1], [1, 0], [0, 1]]).bool()}
    keys = ["weight_hh", "bias_hh", "ln_hh_weight", "ln_hh_bias"]

    def fn(gx, h0, *weights):
        return fused_gru.gru_recurrence(m.spec, {**p, **dict(zip(keys, weights))}, gx, h0, **opts)

    assert torch.autograd.gradcheck(fn, (gx, h0, *(p[k] for k in keys)), eps=1e-6, atol=1e-6)


def test_fused_runs_both_variants_only():
    x = torch.zeros(2, 1, 3)
    assert fused.blockers(x, lnn.GRU(3, 2, variant="gru_cho").spec) == []
    assert fused.blockers(x, lnn.GRU(3, 3, variant="mut3").spec)
