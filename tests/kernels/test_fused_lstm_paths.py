"""lstmkit's fused CPU LSTM kernels, continued from test_fused_lstm.py: gradcheck through the
layers and through ``fused.lstm_layer`` itself, which path runs (dispatch), inference mode, the threaded paths
and edge cases (single units, saturated pre-activations, NaN).
"""

from __future__ import annotations

import pytest
import torch

import lstmkit.nn as lnn
from lstmkit.kernels import fused, native
from tests.kernels._helpers import flat as _flat
from tests.kernels._helpers import weighted_loss as _loss
from tests.kernels._lstm_cases import (
    BIDIR2,
    LENGTHS,
    TOL32,
    TOL64,
    TRAIN,
    VARIANTS,
    B,
    H,
    I,
    T,
    _assert_grads,
    _assert_same,
    _holey_mask,
    _initial_states,
    _pair,
    _randomise,
    _run,
)

pytestmark = pytest.mark.skipif(not fused.available(), reason=f"fused kernels: {fused.unavailable_reason()}")


# ----------------------------------------------------------------------------- 4. gradcheck


def _gradcheck_module(m, x, **call_kw):
    names = [n for n, _ in m.named_parameters()]
    values = tuple(p.detach().clone().requires_grad_() for p in m.parameters())

    def fn(x, *params):
        out, states = torch.func.functional_call(m, dict(zip(names, params)), (x,), call_kw)
        return (out, *_flat(states))

    assert torch.autograd.gradcheck(fn, (x.detach().clone().requires_grad_(), *values), eps=1e-6, atol=1e-5)


def _spy_fused(monkeypatch) -> list[int]:
    """Count calls into the fused LSTM (``fused.lstm_layer``, its one entry point)."""
    calls: list[int] = []
    real = fused.lstm_layer
    monkeypatch.setattr(fused, "lstm_layer", lambda *a, **k: calls.append(1) or real(*a, **k))
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
def test_gradcheck_lstm_layer_with_masks(variant, ln, proj, masks):
    """gradcheck of the autograd Function itself w.r.t. x, h0, c0 and every parameter, with each
    kind of mask the kernels take."""
    Tn, Bn, Hn = 3, 2, 2
    m = lnn.LSTM(3, Hn, variant=variant, layer_norm=ln, proj_size=1 if proj else 0, dtype=torch.float64)
    _randomise(m)
    spec, p = m.spec, m.layer_params(0)
    keys = list(p)
    R = m.proj_size or Hn
    g = torch.Generator().manual_seed(3)
    x = torch.randn(Tn, Bn, 3, generator=g, dtype=torch.float64)
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

    def fn(x, h0, c0, *weights):
        return fused.lstm_layer(spec, dict(zip(keys, weights)), x, h0, c0, **extra)

    weights = [p[k].detach().clone().requires_grad_() for k in keys]
    inputs = (x.requires_grad_(), h0.requires_grad_(), c0.requires_grad_(), *weights)
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
def test_lstm_layer_leaves_x_alone(mode):
    m = lnn.LSTM(I, H)
    x = torch.randn(T, B, I)
    before = x.clone()
    with torch.inference_mode() if mode == "inference_mode" else torch.no_grad():
        fused.lstm_layer(m.spec, m.layer_params(0), x, torch.zeros(B, H), torch.zeros(B, H))
    torch.testing.assert_close(x, before, atol=0, rtol=0)


@pytest.mark.parametrize("inplace", [False, True])
def test_lstm_forward_overwrites_gx_only_when_inplace(inplace):
    gx = torch.randn(T, B, 4 * H)
    before = gx.clone()
    out = torch.ops.lstmkit.lstm_forward(gx, torch.zeros(B, H), torch.zeros(B, H), torch.randn(4 * H, H),
                                         inplace=inplace)
    assert out[0].shape == (T, B, H)
    assert torch.equal(gx, before) != inplace


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
