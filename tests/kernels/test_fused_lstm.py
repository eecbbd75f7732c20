"""lstmkit's fused CPU LSTM kernels (``csrc/lstm.cpp`` via ``lstmkit.kernels.fused``) against
the three independent references: the plain-torch loop (``backend="reference"``), torch.nn.LSTM
and the float64 NumPy reference cells (``lstmkit.cells``); plus gradcheck, dispatch and edges.

Everything is tiny (T=5, B=3, I=3, H=4) so the whole grid runs in seconds.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

import lstmkit.nn as lnn
from lstmkit.cells import LSTM_VARIANTS, run_lstm
from lstmkit.kernels import fused, native
from tests.kernels._helpers import flat as _flat
from tests.kernels._helpers import weighted_loss as _loss

pytestmark = pytest.mark.skipif(not fused.available(), reason=f"fused kernels: {fused.unavailable_reason()}")

T, B, I, H = 5, 3, 3, 4
TOL64 = {"atol": 1e-9, "rtol": 1e-7}
TOL32 = {"atol": 1e-5, "rtol": 1e-4}
VARIANTS = sorted(LSTM_VARIANTS)
LENGTHS = torch.tensor([5, 2, 4])  # unsorted, longest == T


def _holey_mask() -> torch.Tensor:
    """(T, B): a full row, holes in the middle, and a sequence that starts masked."""
    return torch.tensor([[1, 1, 0], [1, 0, 0], [1, 1, 1], [1, 0, 1], [1, 1, 0]], dtype=torch.bool)


# ----------------------------------------------------------------------------- helpers


def _randomise(module: torch.nn.Module, seed: int = 0, scale: float = 1.0) -> None:
    """Weights far from their init (layer-norm gains too), so every parameter matters."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_((torch.rand(p.shape, generator=g, dtype=torch.float64) - 0.5) * scale)


def _leaf(obj):
    if obj is None:
        return None
    if isinstance(obj, torch.Tensor):
        return obj.detach().clone().requires_grad_()
    return [_leaf(t) for t in obj]


def _initial_states(m, batched: bool = True, seed: int = 5):
    """(h0, c0) in the layout the module expects (lists for per-layer hidden sizes)."""
    g = torch.Generator().manual_seed(seed)
    D, L = m.num_directions, m.num_layers
    dtype = m.weight_ih_l0.dtype
    lead = (B,) if batched else ()
    if isinstance(m.hidden_size, list):
        h0 = [torch.randn(D, *lead, m.proj_size or h, generator=g, dtype=dtype) for h in m.hidden_sizes]
        c0 = [torch.randn(D, *lead, h, generator=g, dtype=dtype) for h in m.hidden_sizes]
        return h0, c0
    h0 = torch.randn(L * D, *lead, m.proj_size or m.hidden_size, generator=g, dtype=dtype)
    c0 = torch.randn(L * D, *lead, m.hidden_size, generator=g, dtype=dtype)
    return h0, c0


def _run(m, x, hx, *, call=None, train=False, seed=None, pack=None, unpack=False):
    """Forward + backward of ``_loss`` on fresh leaves; returns (outputs, states, grads).
    ``pack``: lengths to pack the input with; ``unpack``: pad the packed output back to T."""
    x, hx = _leaf(x), _leaf(hx)
    inp = x
    if pack is not None:
        inp = pack_padded_sequence(x, pack, enforce_sorted=bool((pack[:-1] >= pack[1:]).all()))
    m.train(train)
    if seed is not None:
        torch.manual_seed(seed)
    out, states = m(inp, None if hx is None else tuple(hx), **(call or {}))
    if unpack:
        out = pad_packed_sequence(out, total_length=x.shape[0])[0]
    _loss(out, states).backward()
    grads = {name: p.grad for name, p in m.named_parameters()}
    grads["input"] = x.grad
    for k, t in enumerate(_flat(hx)):
        grads[f"state{k}"] = t.grad
    return out, states, grads


def _assert_same(a, b, tol, what=""):
    fa, fb = _flat(a), _flat(b)
    assert len(fa) == len(fb), what
    for k, (u, v) in enumerate(zip(fa, fb)):
        torch.testing.assert_close(u, v.to(u.dtype), **tol, msg=lambda msg, k=k: f"{what}[{k}]: {msg}")


def _assert_grads(ga, gb, tol):
    assert ga.keys() == gb.keys()
    for name in ga:
        a, b = ga[name], gb[name]
        assert a is not None or b is not None, f"no gradient for {name} on either path"
        a = torch.zeros_like(b) if a is None else a
        b = torch.zeros_like(a) if b is None else b
        torch.testing.assert_close(a, b.to(a.dtype), **tol, msg=lambda msg, n=name: f"grad {n}: {msg}")


def _pair(kw, dtype=torch.float64, scale=1.0):
    """A fused module and a reference-loop module with the same (randomised) weights."""
    kw = dict(kw)
    hidden = kw.pop("hidden_size", H)
    fast = lnn.LSTM(I, hidden, backend="fused", dtype=dtype, **kw)
    _randomise(fast, scale=scale)
    ref = lnn.LSTM(I, hidden, backend="reference", dtype=torch.float64, **kw)
    ref.load_state_dict({k: v.double() for k, v in fast.state_dict().items()})
    return fast, ref


def _check_vs_reference(kw, *, batched=True, states=True, call=None, train=False, pack=None, seed=11,
                        grad_tol=TOL64):
    fast, ref = _pair(kw)
    batch_first = kw.get("batch_first", False)
    shape = ((B, T, I) if batch_first else (T, B, I)) if batched else (T, I)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    hx = _initial_states(fast, batched) if states else None
    out_f, st_f, g_f = _run(fast, x, hx, call=call, train=train, seed=seed, pack=pack)
    out_r, st_r, g_r = _run(ref, x, hx, call=call, train=train, seed=seed, pack=pack)
    if pack is not None:
        assert isinstance(out_f, PackedSequence)
        torch.testing.assert_close(out_f.batch_sizes, out_r.batch_sizes)
    _assert_same(out_f, out_r, TOL64, "output")
    _assert_same(st_f, st_r, TOL64, "states")
    _assert_grads(g_f, g_r, grad_tol)
    return out_f, st_f


# ----------------------------------------------------------------------------- 1. vs the loop, float64

STACKS = {"1layer": dict(num_layers=1), "2layers-bidir": dict(num_layers=2, bidirectional=True)}


@pytest.mark.parametrize("stack", list(STACKS))
@pytest.mark.parametrize("layer_norm", [False, True], ids=["plain", "ln"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_variants_match_reference_loop(variant, layer_norm, stack):
    _check_vs_reference(dict(variant=variant, layer_norm=layer_norm, **STACKS[stack]))


TRAIN, EVAL = dict(train=True), dict(train=False)
# torch's F.hardsigmoid backward (the loop's) multiplies by float32(1/6) even in float64, a
# relative error of 3e-8 per step; the kernels use the exact 1/6 (gradcheck below holds them
# to it), so these cases compare gradients to 1e-7 / 1e-6 only.
HARD = {"grad_tol": {"atol": 1e-7, "rtol": 1e-6}}
BIDIR2 = dict(num_layers=2, bidirectional=True)
EXTRAS = {
    "proj": (dict(proj_size=2), {}),
    "proj-ln": (dict(proj_size=2, layer_norm=True), {}),
    "proj-fgr": (dict(proj_size=2, variant="fgr"), {}),
    "proj-fgr-ln-bidir": (dict(proj_size=3, variant="fgr", layer_norm=True, **BIDIR2), {}),
    "proj-cifg-bidir": (dict(proj_size=2, variant="cifg", **BIDIR2), {}),
    "bias-false": (dict(bias=False, **BIDIR2), {}),
    "bias-false-ln-vanilla": (dict(bias=False, layer_norm=True, variant="vanilla"), {}),
    "relu-hard_sigmoid": (dict(activation="relu", recurrent_activation="hard_sigmoid", variant="vanilla"), HARD),
    "relu-hard_sigmoid-ln": (dict(activation="relu", recurrent_activation="hard_sigmoid", layer_norm=True), HARD),
    "softsign-sigmoid": (dict(activation="softsign", recurrent_activation="sigmoid", variant="fgr"), {}),
    "linear": (dict(activation="linear", **BIDIR2), {}),
    "linear-linear": (dict(activation="linear", recurrent_activation="linear", variant="cifg"), {}),
    "softsign-hard_sigmoid-nog": (dict(activation="softsign", recurrent_activation="hard_sigmoid", variant="nog"),
                                  HARD),
    "hidden-list": (dict(hidden_size=[5, 3], num_layers=2), {}),
    "hidden-list-bidir-ln": (dict(hidden_size=[5, 3], num_layers=2, bidirectional=True, layer_norm=True), {}),
    "hidden-list-proj": (dict(hidden_size=[5, 3], num_layers=2, proj_size=2, variant="fgr"), {}),
    "dropout-train": (dict(num_layers=3, dropout=0.4), TRAIN),
    "dropout-train-bidir": (dict(num_layers=2, bidirectional=True, dropout=0.5, variant="vanilla"), TRAIN),
    "dropout-eval": (dict(num_layers=3, dropout=0.4), EVAL),
    "recurrent_dropout-train": (dict(recurrent_dropout=0.3, **BIDIR2), TRAIN),
    "recurrent_dropout-train-proj-ln": (dict(recurrent_dropout=0.5, proj_size=2, layer_norm=True), TRAIN),
    "recurrent_dropout-eval": (dict(recurrent_dropout=0.3, **BIDIR2), EVAL),
    "zoneout-train": (dict(zoneout=0.3, **BIDIR2), TRAIN),
    "zoneout-pair-train": (dict(zoneout=(0.4, 0.2), variant="cifg", proj_size=2), TRAIN),
    "zoneout-pair-train-hidden-only": (dict(zoneout=(0.0, 0.3), variant="fgr"), TRAIN),
    "zoneout-pair-train-cell-only": (dict(zoneout=(0.3, 0.0), layer_norm=True), TRAIN),
    "zoneout-eval": (dict(zoneout=0.3, **BIDIR2), EVAL),
    "zoneout-pair-eval": (dict(zoneout=(0.4, 0.2), variant="fgr", layer_norm=True), EVAL),
    "everything-train": (dict(zoneout=(0.2, 0.3), recurrent_dropout=0.3, dropout=0.3, layer_norm=True,
                              variant="vanilla", proj_size=2, **BIDIR2), TRAIN),
    "everything-train-lengths": (dict(zoneout=0.3, recurrent_dropout=0.3, dropout=0.3, **BIDIR2),
                                 dict(train=True, call={"lengths": LENGTHS})),
    "everything-train-mask": (dict(zoneout=0.3, recurrent_dropout=0.3, variant="fgr", **BIDIR2),
                              dict(train=True, call={"mask": _holey_mask()})),
    "lengths": (dict(**BIDIR2), dict(call={"lengths": LENGTHS})),
    "lengths-fgr-ln": (dict(variant="fgr", layer_norm=True, **BIDIR2), dict(call={"lengths": LENGTHS})),
    "lengths-list": (dict(**BIDIR2), dict(call={"lengths": [5, 2, 4]})),
    "mask": (dict(variant="vanilla"), dict(call={"mask": _holey_mask()})),
    "mask-bidir-fgr": (dict(variant="fgr", proj_size=2, **BIDIR2), dict(call={"mask": _holey_mask()})),
    "mask-carry": (dict(masked_output="carry"), dict(call={"mask": _holey_mask()})),
    "mask-carry-bidir": (dict(masked_output="carry", layer_norm=True, **BIDIR2), dict(call={"mask": _holey_mask()})),
    "mask-carry-bidir-zoneout-eval": (dict(masked_output="carry", zoneout=0.3, **BIDIR2),
                                      dict(call={"mask": _holey_mask()})),
    "go_backwards": (dict(go_backwards=True), {}),
    "go_backwards-bidir-lengths": (dict(go_backwards=True, **BIDIR2), dict(call={"lengths": LENGTHS})),
    "go_backwards-mask-carry": (dict(go_backwards=True, masked_output="carry", **BIDIR2),
                                dict(call={"mask": _holey_mask()})),
    "batch_first": (dict(batch_first=True, **BIDIR2), {}),
    "batch_first-mask": (dict(batch_first=True, variant="cifg", **BIDIR2), dict(call={"mask": _holey_mask().T})),
    "batch_first-lengths": (dict(batch_first=True, **BIDIR2), dict(call={"lengths": LENGTHS})),
    "unbatched": (dict(variant="vanilla"), dict(batched=False)),
    "unbatched-bidir-proj": (dict(proj_size=2, layer_norm=True, **BIDIR2), dict(batched=False)),
    "unbatched-no-states": (dict(**BIDIR2), dict(batched=False, states=False)),
    "packed-sorted": (dict(**BIDIR2), dict(pack=torch.tensor([5, 4, 2]))),
    "packed-unsorted": (dict(**BIDIR2), dict(pack=torch.tensor([2, 5, 4]))),
    "packed-unsorted-fgr-proj": (dict(variant="fgr", proj_size=2, **BIDIR2), dict(pack=torch.tensor([2, 5, 4]))),
    "packed-no-states": (dict(variant="nig"), dict(pack=torch.tensor([3, 5, 1]), states=False)),
    "no-initial-states": (dict(**BIDIR2), dict(states=False)),
    "no-initial-states-fgr-ln": (dict(variant="fgr", layer_norm=True), dict(states=False)),
}


@pytest.mark.parametrize("case", list(EXTRAS))
def test_extras_match_reference_loop(case):
    kw, opts = EXTRAS[case]
    _check_vs_reference(kw, **opts)


def test_training_masks_are_actually_drawn():
    """The train-mode cases above are only meaningful if the masks change the result."""
    m, _ = _pair(dict(zoneout=0.3, recurrent_dropout=0.3, dropout=0.3, **BIDIR2))
    x = torch.randn(T, B, I, dtype=torch.float64)
    m.eval()
    a = m(x)[0]
    m.train()
    torch.manual_seed(0)
    b = m(x)[0]
    torch.manual_seed(1)
    c = m(x)[0]
    assert not torch.allclose(a, b) and not torch.allclose(b, c)


# ----------------------------------------------------------------------------- 2. vs torch.nn.LSTM, float32


def _torch_pair(**kw):
    torch.manual_seed(0)
    ref = torch.nn.LSTM(**kw)
    ours = lnn.LSTM(backend="fused", **kw)
    ours.load_state_dict(ref.state_dict())
    return ref, ours


def _compare_torch(ref, ours, x, hx, pack=None, lengths=None):
    """``lengths``: torch.nn.LSTM runs the packed sequence, ours the padded tensor with lengths=."""
    if lengths is None:
        out_r, st_r, g_r = _run(ref, x, hx, pack=pack)
        out_o, st_o, g_o = _run(ours, x, hx, pack=pack)
    else:  # torch's packed results padded with zeros, against ours on the padded tensor
        out_r, st_r, g_r = _run(ref, x, hx, pack=lengths, unpack=True)
        out_o, st_o, g_o = _run(ours, x, hx, call={"lengths": lengths})
    if isinstance(out_r, PackedSequence):
        assert isinstance(out_o, PackedSequence)
        torch.testing.assert_close(out_o.batch_sizes, out_r.batch_sizes)
    _assert_same(out_o, out_r, TOL32, "output")
    _assert_same(st_o, st_r, TOL32, "states")
    _assert_grads(g_o, g_r, TOL32)


@pytest.mark.parametrize("batch_first", [False, True], ids=["time-major", "batch_first"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bidir"])
@pytest.mark.parametrize("num_layers", [1, 2, 3])
def test_matches_torch_lstm(num_layers, bidirectional, batch_first):
    ref, ours = _torch_pair(input_size=I, hidden_size=H, num_layers=num_layers, bidirectional=bidirectional,
                            batch_first=batch_first)
    g = torch.Generator().manual_seed(1)
    x = torch.randn((B, T, I) if batch_first else (T, B, I), generator=g)
    _compare_torch(ref, ours, x, _initial_states(ours))


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bidir"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_matches_torch_lstm_with_projection(num_layers, bidirectional):
    ref, ours = _torch_pair(input_size=I, hidden_size=H, num_layers=num_layers, bidirectional=bidirectional,
                            proj_size=2)
    x = torch.randn(T, B, I, generator=torch.Generator().manual_seed(1))
    _compare_torch(ref, ours, x, _initial_states(ours))


@pytest.mark.parametrize("proj_size", [0, 2])
@pytest.mark.parametrize("lengths", [[5, 4, 2], [2, 5, 1]], ids=["sorted", "unsorted"])
def test_matches_torch_lstm_packed(lengths, proj_size):
    ref, ours = _torch_pair(input_size=I, hidden_size=H, num_layers=2, bidirectional=True, proj_size=proj_size)
    x = torch.randn(T, B, I, generator=torch.Generator().manual_seed(2))
    _compare_torch(ref, ours, x, _initial_states(ours), pack=torch.tensor(lengths))


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bidir"])
def test_lengths_match_torch_packed(bidirectional):
    ref, ours = _torch_pair(input_size=I, hidden_size=H, num_layers=2, bidirectional=bidirectional)
    x = torch.randn(T, B, I, generator=torch.Generator().manual_seed(3))
    _compare_torch(ref, ours, x, _initial_states(ours), lengths=LENGTHS)


def test_unbatched_matches_torch_lstm():
    ref, ours = _torch_pair(input_size=I, hidden_size=H, num_layers=2, bidirectional=True, bias=False)
    x = torch.randn(T, I, generator=torch.Generator().manual_seed(4))
    _compare_torch(ref, ours, x, _initial_states(ours, batched=False))


# ----------------------------------------------------------------------------- 3. vs the NumPy cells


def _np_layers(module) -> list[list[dict[str, np.ndarray]]]:
    return [[{k: v.detach().numpy() for k, v in module.layer_params(l, d).items()}
             for d in range(module.num_directions)] for l in range(module.num_layers)]  # noqa: E741


@pytest.mark.parametrize("timing", ["none", "lengths", "mask"])
@pytest.mark.parametrize("kw", [
    dict(variant="vanilla", num_layers=2, bidirectional=True),
    dict(variant="cifg", num_layers=2),
    dict(variant="fgr", layer_norm=True, bidirectional=True),
    dict(variant="lstm", proj_size=2, num_layers=2, bidirectional=True),
], ids=["vanilla", "cifg", "fgr-ln", "lstm-proj"])
def test_matches_numpy_reference_cells(kw, timing):
    m = lnn.LSTM(I, H, backend="fused", dtype=torch.float64,
                 masked_output="carry" if timing == "mask" else "zero", **kw)
    _randomise(m)
    x = torch.randn(T, B, I, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    h0, c0 = _initial_states(m)
    extra = {"lengths": LENGTHS} if timing == "lengths" else {"mask": _holey_mask()} if timing == "mask" else {}
    with torch.no_grad():
        out, (h_n, c_n) = m(x, (h0, c0), **extra)
    ref_out, ref_h, ref_c = run_lstm(m.spec, _np_layers(m), x.numpy(), h0.numpy(), c0.numpy(),
                                     bidirectional=m.bidirectional, masked_output=m.masked_output,
                                     **{k: v.numpy() for k, v in extra.items()})
    torch.testing.assert_close(out, torch.from_numpy(ref_out), **TOL64)
    torch.testing.assert_close(h_n, torch.from_numpy(np.stack(ref_h)), **TOL64)
    torch.testing.assert_close(c_n, torch.from_numpy(np.stack(ref_c)), **TOL64)


# ----------------------------------------------------------------------------- 4. gradcheck


def _gradcheck_module(m, x, **call_kw):
    names = [n for n, _ in m.named_parameters()]
    values = tuple(p.detach().clone().requires_grad_() for p in m.parameters())

    def fn(x, *params):
        out, states = torch.func.functional_call(m, dict(zip(names, params)), (x,), call_kw)
        return (out, *_flat(states))

    assert torch.autograd.gradcheck(fn, (x.detach().clone().requires_grad_(), *values), eps=1e-6, atol=1e-5)


def _spy_fused(monkeypatch) -> list[int]:
    """Count calls into the fused LSTM (either entry point: with or without the projection)."""
    calls: list[int] = []
    for name in ("lstm_recurrence", "lstm_layer"):
        real = getattr(fused, name)
        monkeypatch.setattr(fused, name, lambda *a, _real=real, **k: calls.append(1) or _real(*a, **k))
    return calls


GRADCHECK_X = torch.randn(3, 2, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("variant", VARIANTS)
def test_gradcheck_variants(variant, monkeypatch):
    m = lnn.LSTM(3, 2, variant=variant, backend="fused", dtype=torch.float64)
    _randomise(m)
    calls = _spy_fused(monkeypatch)
    x = torch.randn(4, 2, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    _gradcheck_module(m, x, mask=torch.tensor([[1, 1], [1, 0], [0, 1], [1, 1]], dtype=torch.bool))
    assert calls


@pytest.mark.parametrize("kw,call", [
    (dict(layer_norm=True, variant="vanilla"), {}),
    (dict(layer_norm=True, variant="fgr", bidirectional=True), {"lengths": torch.tensor([2, 3])}),
    (dict(proj_size=1, variant="cifg"), {}),
    (dict(proj_size=1, layer_norm=True, num_layers=2, bidirectional=True), {}),
    (dict(variant="fgr", bidirectional=True), {"mask": torch.tensor([[1, 1], [0, 1], [1, 0]]).bool()}),
    (dict(layer_norm=True, masked_output="carry", bidirectional=True),
     {"mask": torch.tensor([[0, 1], [1, 0], [1, 1]]).bool()}),
    (dict(zoneout=(0.3, 0.2), recurrent_dropout=0.5, variant="vanilla", bidirectional=True), {}),
    (dict(activation="softsign", recurrent_activation="sigmoid", go_backwards=True), {}),
    (dict(activation="relu", recurrent_activation="hard_sigmoid", variant="vanilla"), {}),
    (dict(activation="linear", recurrent_activation="hard_sigmoid", variant="cifg", layer_norm=True), {}),
], ids=["ln", "ln-fgr-lengths", "proj", "proj-ln-2layers", "holey-mask-fgr", "holey-mask-carry-ln",
        "eval-zoneout", "softsign-go_backwards", "relu-hard_sigmoid", "linear-hard_sigmoid-cifg-ln"])
def test_gradcheck_extras(kw, call):
    m = lnn.LSTM(3, 2, backend="fused", dtype=torch.float64, **kw).eval()
    _randomise(m)
    _gradcheck_module(m, GRADCHECK_X, **call)


@pytest.mark.parametrize("variant,ln,proj,masks", [
    ("fgr", True, True, "step+rmask"),
    ("vanilla", True, False, "keep"),
    ("cifg", False, True, "eval-zoneout"),
    ("nog", False, False, "none"),
    ("lstm", True, False, "step+keep"),
])
def test_gradcheck_lstm_recurrence(variant, ln, proj, masks):
    """gradcheck of the autograd Function itself w.r.t. gx, h0, c0 and every weight it takes."""
    Tn, Bn, Hn = 3, 2, 2
    m = lnn.LSTM(3, Hn, variant=variant, layer_norm=ln, proj_size=1 if proj else 0, dtype=torch.float64)
    _randomise(m)
    spec, p = m.spec, m.layer_params(0)
    keys = [k for k in p if k not in ("weight_ih", "bias_ih", "ln_ih_weight", "ln_ih_bias")]
    if not ln:
        keys.remove("bias_hh")  # folded into gx without layer norm; the kernel never sees it
    R = m.proj_size or Hn
    g = torch.Generator().manual_seed(3)
    gx = torch.randn(Tn, Bn, spec.num_gates * Hn, generator=g, dtype=torch.float64)
    h0 = torch.randn(Bn, R, generator=g, dtype=torch.float64)
    c0 = torch.randn(Bn, Hn, generator=g, dtype=torch.float64)
    extra: dict = {}
    if "step" in masks:
        extra["step_mask"] = torch.tensor([[1, 1], [0, 1], [1, 0]], dtype=torch.bool)
    if "rmask" in masks:
        extra["rmask"] = torch.tensor([[2.0], [0.0]], dtype=torch.float64).expand(Bn, R).contiguous()
    if "keep" in masks:
        extra["keep_h"] = torch.rand(Tn, Bn, R, generator=g) < 0.4
        extra["keep_c"] = torch.rand(Tn, Bn, Hn, generator=g) < 0.4
    if masks == "eval-zoneout":
        extra["zoneout"] = (0.3, 0.2)

    def fn(gx, h0, c0, *weights):
        return fused.lstm_recurrence(spec, dict(zip(keys, weights)), gx, h0, c0, **extra)

    weights = [p[k].detach().clone().requires_grad_() for k in keys]
    inputs = (gx.requires_grad_(), h0.requires_grad_(), c0.requires_grad_(), *weights)
    assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-5)


# ----------------------------------------------------------------------------- 5. dispatch


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("kw", [dict(), dict(num_layers=2, bidirectional=True, variant="cifg", layer_norm=True)],
                         ids=["plain", "cifg-ln-2layers-bidir"])
def test_auto_runs_fused_on_cpu(kw, dtype, monkeypatch):
    calls = _spy_fused(monkeypatch)
    native_calls: list[int] = []
    real = native.rnn
    monkeypatch.setattr(native, "rnn", lambda *a, **k: native_calls.append(1) or real(*a, **k))
    m = lnn.LSTM(I, H, dtype=dtype, **kw)
    assert m.backend == "auto"
    m(torch.randn(T, B, I, dtype=dtype))
    assert len(calls) == m.num_layers * m.num_directions
    assert not native_calls


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_fused_refuses_unsupported_dtype(dtype):
    m = lnn.LSTM(I, H, dtype=dtype, backend="fused")
    with pytest.raises(ValueError, match=rf"backend='fused'.*dtype {dtype}"):
        m(torch.randn(T, B, I, dtype=dtype))


def test_backend_torch_still_runs_native(monkeypatch):
    calls = _spy_fused(monkeypatch)
    native_calls: list[int] = []
    real = native.rnn
    monkeypatch.setattr(native, "rnn", lambda *a, **k: native_calls.append(1) or real(*a, **k))
    torch.manual_seed(0)
    m = lnn.LSTM(I, H, num_layers=2, bidirectional=True, backend="torch")
    ref = lnn.LSTM(I, H, num_layers=2, bidirectional=True, backend="fused")
    ref.load_state_dict(m.state_dict())
    x = torch.randn(T, B, I)
    out, _ = m(x)
    assert native_calls and not calls
    torch.testing.assert_close(out, ref(x)[0], **TOL32)


def test_reference_backend_never_runs_fused(monkeypatch):
    calls = _spy_fused(monkeypatch)
    lnn.LSTM(I, H, backend="reference", variant="fgr")(torch.randn(T, B, I))
    assert not calls


INFERENCE_CASES = {
    "plain": (dict(), {}),
    "bidir-lengths-ln": (dict(num_layers=2, bidirectional=True, layer_norm=True), {"lengths": LENGTHS}),
    "go_backwards-mask-fgr-proj": (dict(go_backwards=True, variant="fgr", proj_size=2, zoneout=0.2),
                                   {"mask": _holey_mask()}),
}


@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("case", list(INFERENCE_CASES))
@pytest.mark.parametrize("mode", ["inference_mode", "no_grad"])
def test_inference_matches_grad_mode_and_leaves_inputs_alone(mode, case, batched):
    kw, call = INFERENCE_CASES[case]
    if not batched:
        call = {}
    m = lnn.LSTM(I, H, backend="fused", **kw).eval()
    x = torch.randn((T, B, I) if batched else (T, I))
    h0, c0 = _initial_states(m, batched)
    h0, c0 = h0.float(), c0.float()
    params = {k: v.clone() for k, v in m.state_dict().items()}
    copies = [t.clone() for t in (x, h0, c0)]
    out, (h_n, c_n) = m(x.requires_grad_(), (h0.requires_grad_(), c0.requires_grad_()), **call)
    context = torch.inference_mode() if mode == "inference_mode" else torch.no_grad()
    x, h0, c0 = (t.detach() for t in (x, h0, c0))
    with context:
        out2, (h2, c2) = m(x, (h0, c0), **call)
    assert not out2.requires_grad
    torch.testing.assert_close(out2, out.detach(), atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(h2, h_n.detach(), atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(c2, c_n.detach(), atol=1e-6, rtol=1e-5)
    for before, after in zip(copies, (x, h0, c0)):
        torch.testing.assert_close(after, before, atol=0, rtol=0)
    for k, v in m.state_dict().items():
        torch.testing.assert_close(v, params[k], atol=0, rtol=0)


@pytest.mark.parametrize("mode", ["inference_mode", "no_grad"])
def test_lstm_recurrence_leaves_gx_alone(mode):
    m = lnn.LSTM(I, H)
    gx = torch.randn(T, B, 4 * H)
    before = gx.clone()
    with torch.inference_mode() if mode == "inference_mode" else torch.no_grad():
        fused.lstm_recurrence(m.spec, m.layer_params(0), gx, torch.zeros(B, H), torch.zeros(B, H))
    torch.testing.assert_close(gx, before, atol=0, rtol=0)


# ----------------------------------------------------------------------------- threads

THREADED = {
    "lstm-bidir": (dict(bidirectional=True), {}),
    "cifg-train-dropouts": (dict(variant="cifg", recurrent_dropout=0.3, zoneout=(0.2, 0.1)), TRAIN),
    "nog-mask-carry": (dict(variant="nog", masked_output="carry"), dict(call={"mask": _holey_mask()[1:4]})),
    "vanilla-lengths-bidir": (dict(variant="vanilla", bidirectional=True),
                              dict(call={"lengths": torch.tensor([3, 1, 2])})),
    "fgr-proj-ln": (dict(variant="fgr", proj_size=8, layer_norm=True), {}),
}


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("case", list(THREADED))
def test_multithreaded_shapes_match_reference_loop(case, two_threads):
    """Rows and hidden units big enough for the kernels' threaded paths (rows split across
    threads: B > 16384 / (G*H); hidden units split across a thread team, with a ragged last
    slice: H=40), float32 against the loop in float32 (same mask draws), two intra-op threads."""
    kw, opts = THREADED[case]
    hidden, batch, steps = 40, 120, 3
    fast = lnn.LSTM(I, hidden, backend="fused", **kw)
    ref = lnn.LSTM(I, hidden, backend="reference", **kw)
    ref.load_state_dict(fast.state_dict())
    call = dict(opts.get("call", {}))
    if "mask" in call:
        call["mask"] = call["mask"].repeat(1, batch // B + 1)[:, :batch]
    if "lengths" in call:
        call["lengths"] = call["lengths"].repeat(batch // B + 1)[:batch]
    x = torch.randn(steps, batch, I, generator=torch.Generator().manual_seed(1))
    hx = _initial_states(fast)
    hx = tuple(torch.randn(t.shape[0], batch, t.shape[2]) for t in hx)
    train = opts.get("train", False)
    out_f, st_f, g_f = _run(fast, x, hx, call=call, train=train, seed=3)
    out_r, st_r, g_r = _run(ref, x, hx, call=call, train=train, seed=3)
    _assert_same(out_f, out_r, TOL32, "output")
    _assert_same(st_f, st_r, TOL32, "states")
    _assert_grads(g_f, g_r, {"atol": 1e-4, "rtol": 1e-4})


# ----------------------------------------------------------------------------- 6. edge cases


@pytest.mark.parametrize("kw", [dict(), dict(variant="fgr", layer_norm=True), dict(variant="vanilla", **BIDIR2)],
                         ids=["lstm", "fgr-ln", "vanilla-2layers-bidir"])
def test_single_step_single_row_single_unit(kw):
    fast = lnn.LSTM(1, 1, backend="fused", dtype=torch.float64, **kw)
    _randomise(fast)
    ref = lnn.LSTM(1, 1, backend="reference", dtype=torch.float64, **kw)
    ref.load_state_dict(fast.state_dict())
    x = torch.randn(1, 1, 1, dtype=torch.float64)
    g = torch.Generator().manual_seed(2)
    hx = tuple(torch.randn(fast.num_layers * fast.num_directions, 1, 1, generator=g, dtype=torch.float64)
               for _ in range(2))
    out_f, st_f, g_f = _run(fast, x, hx)
    out_r, st_r, g_r = _run(ref, x, hx)
    assert out_f.shape == (1, 1, fast.num_directions)
    _assert_same(out_f, out_r, TOL64, "output")
    _assert_same(st_f, st_r, TOL64, "states")
    _assert_grads(g_f, g_r, TOL64)


@pytest.mark.parametrize("kw", [dict(), dict(variant="vanilla"), dict(variant="fgr", layer_norm=True, proj_size=2),
                                dict(activation="softsign", recurrent_activation="hard_sigmoid", **BIDIR2)],
                         ids=["lstm", "vanilla", "fgr-ln-proj", "softsign-hard_sigmoid-bidir"])
def test_saturated_preactivations_stay_finite_and_exact(kw):
    """Weights * 50 drive |pre-activations| far past where exp overflows in float32: the
    kernels' fast exp is clamped, so outputs and gradients stay finite and correct."""
    fast, ref = _pair(kw, dtype=torch.float32, scale=50.0)
    x32 = torch.randn(T, B, I, generator=torch.Generator().manual_seed(1))
    out_f, st_f, g_f = _run(fast, x32, None)
    out_r, st_r, g_r = _run(ref, x32.double(), None)
    for t in _flat((out_f, st_f, list(g_f.values()))):
        assert torch.isfinite(t).all()
    tol = {"atol": 1e-4, "rtol": 1e-4}
    _assert_same(out_f, out_r, tol, "output")
    _assert_same(st_f, st_r, tol, "states")
    _assert_grads(g_f, g_r, tol)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("kw", [dict(), dict(variant="fgr", layer_norm=True),
                                dict(activation="relu", recurrent_activation="hard_sigmoid", proj_size=2)],
                         ids=["lstm", "fgr-ln", "relu-hard_sigmoid-proj"])
def test_nan_input_propagates(kw, dtype):
    fast, ref = _pair(kw, dtype=dtype)
    x = torch.randn(T, B, I, generator=torch.Generator().manual_seed(1), dtype=dtype)
    x[2, 0, 1] = float("nan")
    out_f, (h_f, c_f) = fast(x.clone().requires_grad_())
    out_r, (h_r, c_r) = ref(x.double())
    assert torch.isnan(out_f[2:, 0]).all() and torch.isnan(h_f[0, 0]).all()
    assert torch.isfinite(out_f[:2]).all() and torch.isfinite(out_f[:, 1:]).all()
    tol = TOL64 if dtype == torch.float64 else TOL32
    for a, b in ((out_f, out_r), (h_f, h_r), (c_f, c_r)):
        torch.testing.assert_close(a, b.to(dtype), equal_nan=True, **tol)
    _loss(out_f, h_f, c_f).backward()  # no crash; NaN gradients are fine
