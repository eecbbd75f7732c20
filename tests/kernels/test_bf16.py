"""matmul_precision="bf16": the large GEMMs and the recurrent products in bfloat16 with float32
accumulation. Checked against the float32 fused path on the same weights: close (bf16 keeps ~3
significant digits), not equal; and refused where it cannot run. On a CPU with AMX tiles,
``backend="auto"`` runs the plain LSTM on torch's bfloat16 kernels instead: checked against
torch.nn.LSTM itself converted to bfloat16, and the routing rule against a faked CPU."""

from __future__ import annotations

import pytest
import torch

import lstmkit.kernels as kernels
import lstmkit.nn as lnn
from lstmkit.kernels import fused, native

pytestmark = pytest.mark.skipif(not fused.available(), reason="lstmkit's fused CPU kernels are not built")


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("batch", [3, 20])  # small batches: the unit-split path; >= 16: rows split across threads
@pytest.mark.parametrize("kw", [{}, {"variant": "vanilla"}, {"layer_norm": True}, {"proj_size": 8}])
@pytest.mark.parametrize("backend", ["fused", "auto"])  # auto: torch's bf16 kernels where the CPU has AMX
def test_bf16_stays_close_to_fp32(kw, batch, threads, backend):
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        torch.manual_seed(0)
        ref = lnn.LSTM(12, 40, **kw)
        bf = lnn.LSTM(12, 40, matmul_precision="bf16", backend=backend, **kw)
        bf.load_state_dict(ref.state_dict())
        x = torch.randn(15, batch, 12, requires_grad=True)
        g = torch.randn(15, batch, ref.proj_size or 40)
        out_ref, _ = ref(x)
        out_bf, _ = bf(x)
        # layer norm rescales the bf16 rounding of small pre-activations: a wider band there
        torch.testing.assert_close(out_bf, out_ref, atol=1e-1 if kw.get("layer_norm") else 2e-2, rtol=0)
        grads_ref = torch.autograd.grad((out_ref * g).sum(), [x, *ref.parameters()])
        grads_bf = torch.autograd.grad((out_bf * g).sum(), [x, *bf.parameters()])
        band = 8e-2 if kw.get("layer_norm") else 3e-2  # of the largest gradient entry
        for a, b in zip(grads_bf, grads_ref):
            assert torch.isfinite(a).all()
            assert float((a - b).abs().max()) <= band * float(b.abs().max()) + 1e-6
        assert not torch.equal(out_bf, out_ref)  # it really ran in bf16
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("backend", ["torch", "reference"])
def test_bf16_needs_the_fused_path(backend):
    with pytest.raises(ValueError, match="matmul_precision='bf16'"):
        lnn.LSTM(3, 4, backend=backend, matmul_precision="bf16")


def test_bf16_is_an_lstm_mode_and_names_are_checked():
    with pytest.raises(TypeError, match="matmul_precision"):
        lnn.GRU(3, 4, matmul_precision="bf16")  # an LSTM option only
    with pytest.raises(ValueError, match="matmul_precision must be 'fp32' or 'bf16', got 'fp16'"):
        lnn.LSTM(3, 4, matmul_precision="fp16")


def _spy_native(monkeypatch) -> list[str]:
    """Record the precision of every call into torch's kernels."""
    calls, real = [], native.rnn
    monkeypatch.setattr(native, "rnn", lambda *a, **k: calls.append(k.get("precision", "fp32")) or real(*a, **k))
    return calls


@pytest.mark.parametrize("amx", [True, False])
@pytest.mark.parametrize("training", [True, False])
def test_auto_bf16_takes_torch_bf16_kernels_only_where_the_cpu_has_amx(amx, training, monkeypatch):
    monkeypatch.setattr(kernels, "has_amx", lambda: amx)
    calls = _spy_native(monkeypatch)
    m = lnn.LSTM(6, 16, num_layers=2, matmul_precision="bf16").train(training)
    x = torch.randn(7, 3, 6, requires_grad=training)
    out, _ = m(x)
    assert calls == (["bf16"] if amx else [])
    if training:
        out.sum().backward()
        assert all(p.grad is not None and p.grad.dtype == torch.float32 for p in m.parameters())


@pytest.mark.parametrize("kw", [{"variant": "vanilla"}, {"layer_norm": True}, {"backend": "fused"}])
def test_auto_bf16_keeps_lstmkit_kernels_for_what_torch_lacks(kw, monkeypatch):
    monkeypatch.setattr(kernels, "has_amx", lambda: True)
    calls = _spy_native(monkeypatch)
    m = lnn.LSTM(6, 16, matmul_precision="bf16", **kw)
    m(torch.randn(7, 3, 6))
    m(torch.randn(7, 3, 6), mask=torch.rand(7, 3) > 0.3)  # a step mask: lstmkit's kernels too
    assert calls == []


@pytest.mark.parametrize("bidirectional", [False, True])
def test_torch_bf16_path_is_torch_lstm_in_bfloat16(bidirectional, monkeypatch):
    """The reference: torch.nn.LSTM converted to bfloat16, fed the input rounded to bfloat16."""
    monkeypatch.setattr(kernels, "has_amx", lambda: True)
    torch.manual_seed(0)
    ref = torch.nn.LSTM(5, 12, num_layers=2, bidirectional=bidirectional)
    m = lnn.LSTM(5, 12, num_layers=2, bidirectional=bidirectional, matmul_precision="bf16")
    m.load_state_dict(ref.state_dict())
    x = torch.randn(9, 4, 5)
    h0, c0 = torch.randn(2, 2 * (1 + bidirectional), 4, 12).unbind(0)
    out, (h, c) = m(x, (h0, c0))
    low = ref.to(torch.bfloat16)
    want, (wh, wc) = low(x.bfloat16(), (h0.bfloat16(), c0.bfloat16()))
    assert out.dtype == h.dtype == c.dtype == torch.float32
    torch.testing.assert_close(out, want.float(), atol=0, rtol=0)  # the same kernel: identical
    torch.testing.assert_close((h, c), (wh.float(), wc.float()), atol=0, rtol=0)
