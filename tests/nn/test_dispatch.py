"""Which execution path runs: on CPU lstmkit's fused kernels when they are built (backend="auto");
torch's native kernels (backend="torch", or "auto" without the fused kernels) whenever they can,
also for the masks that pre/post-padding make; the loop otherwise, with identical results."""

from __future__ import annotations

import pytest
import torch

import lstmkit.nn as lnn
from lstmkit.kernels import fused, native


def _span_mask() -> torch.Tensor:
    mask = torch.zeros(4, 7, dtype=torch.bool)  # (batch, time)
    mask[0, 2:] = True  # pre-padded
    mask[1, :5] = True  # post-padded
    mask[2, 1:4] = True  # both
    mask[3, :] = True  # none
    return mask


@pytest.mark.parametrize("masked_output", ["zero", "carry"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_span_masks_run_native_and_match_the_loop(mode, bidirectional, masked_output, monkeypatch):
    kw = dict(bidirectional=bidirectional, num_layers=2, masked_output=masked_output, batch_first=True)
    torch.manual_seed(0)
    fast = getattr(lnn, mode)(3, 4, backend="torch", **kw)
    loop = getattr(lnn, mode)(3, 4, backend="reference", **kw)
    loop.load_state_dict(fast.state_dict())
    calls = []
    real = native.rnn
    monkeypatch.setattr(native, "rnn", lambda *a, **k: calls.append(1) or real(*a, **k))
    x = torch.randn(4, 7, 3, requires_grad=True)
    out, states = fast(x, mask=_span_mask())
    assert calls, "a span mask should run on torch's fused kernels"
    ref, ref_states = loop(x, mask=_span_mask())
    torch.testing.assert_close(out, ref, atol=1e-6, rtol=1e-5)
    for a, b in zip(states if isinstance(states, tuple) else (states,),
                    ref_states if isinstance(ref_states, tuple) else (ref_states,)):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
    g, = torch.autograd.grad((out * torch.randn_like(out)).sum(), x)
    assert torch.isfinite(g).all()


def test_broken_masks_fall_back_to_the_loop_or_refuse_backend_torch(monkeypatch):
    mask = _span_mask()
    mask[3, 3] = False  # a hole in the middle: not a single run
    m = lnn.LSTM(3, 4, batch_first=True)
    calls = []
    real = native.rnn
    monkeypatch.setattr(native, "rnn", lambda *a, **k: calls.append(1) or real(*a, **k))
    m(torch.randn(4, 7, 3), mask=mask)
    assert not calls
    strict = lnn.LSTM(3, 4, batch_first=True, backend="torch")
    strict(torch.randn(4, 7, 3), mask=_span_mask())  # a span mask is fine on torch's kernels
    with pytest.raises(ValueError, match="cannot run mask="):
        strict(torch.randn(4, 7, 3), mask=mask)


def test_auto_uses_native_for_plain_configs_and_loop_for_extras(monkeypatch):
    """Without lstmkit's fused kernels (forced unavailable here, already warned)."""
    monkeypatch.setattr(fused, "_state", {"tried": True, "reason": "not built (test)", "warned": True})
    calls = []
    real = native.rnn
    monkeypatch.setattr(native, "rnn", lambda *a, **k: calls.append(1) or real(*a, **k))
    lnn.LSTM(3, 4)(torch.randn(5, 2, 3))
    assert len(calls) == 1
    lnn.LSTM(3, 4, variant="cifg")(torch.randn(5, 2, 3))
    lnn.GRU(3, 4, layer_norm=True)(torch.randn(5, 2, 3))
    assert len(calls) == 1


@pytest.mark.skipif(not fused.available(), reason="lstmkit's fused CPU kernels are not built")
def test_auto_picks_fused_on_cpu_when_available(monkeypatch):
    calls, native_calls = [], []
    real_native = native.rnn
    for name in ("lstm_layer",):  # the fused LSTM's one entry point
        real = getattr(fused, name)
        monkeypatch.setattr(fused, name, lambda *a, _real=real, **k: calls.append(1) or _real(*a, **k))
    monkeypatch.setattr(native, "rnn", lambda *a, **k: native_calls.append(1) or real_native(*a, **k))
    lnn.LSTM(3, 4, num_layers=2)(torch.randn(5, 2, 3))
    assert len(calls) == 2 and not native_calls
    lnn.LSTM(3, 4, batch_first=True)(torch.randn(4, 7, 3), mask=_span_mask())  # a span mask too
    lnn.LSTM(3, 4, variant="cifg", layer_norm=True)(torch.randn(5, 2, 3))
    assert len(calls) == 4 and not native_calls


@pytest.mark.skipif(not fused.available(), reason="lstmkit's fused CPU kernels are not built")
def test_auto_runs_large_plain_lstm_inference_on_torch_kernels(monkeypatch):
    """oneDNN beats the fused kernels on plain LSTM inference once the per-step GEMM is large
    (batch >= 16, hidden >= 128): "auto" sends exactly that there, with the same results."""
    calls, native_calls = [], []
    real_native = native.rnn
    for name in ("lstm_layer",):  # the fused LSTM's one entry point
        real = getattr(fused, name)
        monkeypatch.setattr(fused, name, lambda *a, _real=real, **k: calls.append(1) or _real(*a, **k))
    monkeypatch.setattr(native, "rnn", lambda *a, **k: native_calls.append(1) or real_native(*a, **k))
    torch.manual_seed(0)
    m = lnn.LSTM(8, 128, num_layers=2)
    pinned = lnn.LSTM(8, 128, num_layers=2, backend="fused")
    pinned.load_state_dict(m.state_dict())
    x = torch.randn(6, 16, 8)
    with torch.no_grad():
        out, (h, c) = m(x)
    assert len(native_calls) == 1 and not calls
    with torch.no_grad():
        out_f, (h_f, c_f) = pinned(x)  # backend="fused" pins the fused kernels (2 layers: 2 calls)
    torch.testing.assert_close(out, out_f, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(c, c_f, atol=1e-5, rtol=1e-5)
    m(x)[0].sum().backward()  # training: fused
    assert len(calls) == 4 and len(native_calls) == 1
    with torch.no_grad():
        m(torch.randn(6, 15, 8))  # batch < 16: fused
        lnn.LSTM(8, 64)(x)  # hidden < 128: fused
        lnn.LSTM(8, 128, variant="cifg")(x)  # a variant: fused
        lnn.LSTM(8, 128, proj_size=32)(x)  # oneDNN has no projections: fused
        lnn.LSTM(8, 128, zoneout=0.1).eval()(x)  # an extra: fused
    assert len(calls) == 4 + 2 + 1 + 1 + 1 + 1 and len(native_calls) == 1


@pytest.mark.skipif(not fused.available(), reason="lstmkit's fused CPU kernels are not built")
@pytest.mark.parametrize("family,hidden,want", [("LSTM", 512, "torch"), ("LSTM", 256, "fused"),
                                                ("GRU", 512, "fused")])
def test_auto_training_routes_by_measured_hidden_size(family, hidden, want):
    """Training: torch's kernels for the plain LSTM at hidden >= 512 (measured faster there,
    bench/bench_routing.py), lstmkit's fused kernels below and for the GRU."""
    from lstmkit import kernels

    layer = getattr(lnn, family)(4, hidden)
    x = torch.randn(3, 2, 4, requires_grad=True)
    assert kernels.choose_path(layer._path_request(x, None)).path == want
    with torch.no_grad():  # inference at batch 2: the streaming kernel
        assert kernels.choose_path(layer._path_request(x.detach(), None)).path == "stream"
    assert kernels.choose_path(lnn.LSTM(4, hidden, peepholes=True)._path_request(x, None)).path == "fused"
