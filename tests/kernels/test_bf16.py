"""matmul_precision="bf16": the large GEMMs and the recurrent products in bfloat16 with float32
accumulation. Checked against the float32 fused path on the same weights: close (bf16 keeps ~3
significant digits), not equal; and refused where it cannot run."""

from __future__ import annotations

import pytest
import torch

import lstmkit.nn as lnn
from lstmkit.kernels import fused

pytestmark = pytest.mark.skipif(not fused.available(), reason="lstmkit's fused CPU kernels are not built")


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("batch", [3, 20])  # small batches: the unit-split path; >= 16: rows split across threads
@pytest.mark.parametrize("kw", [{}, {"variant": "vanilla"}, {"layer_norm": True}, {"proj_size": 8}])
def test_bf16_stays_close_to_fp32(kw, batch, threads):
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        torch.manual_seed(0)
        ref = lnn.LSTM(12, 40, **kw)
        bf = lnn.LSTM(12, 40, matmul_precision="bf16", **kw)
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
