"""The portable path: with the AVX-512 microkernels switched off (LSTMKIT_DISABLE_AVX512=1, as on
a CPU without AVX-512) the fused kernels run their per-step products on BLAS and still match
torch.nn. Run in a subprocess: the switch is read once per process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lstmkit.kernels import fused

pytestmark = pytest.mark.skipif(not fused.available(), reason="lstmkit's fused CPU kernels are not built")

SCRIPT = r"""
import torch
import lstmkit.nn as lnn
from lstmkit.kernels import fused
assert "microkernel=off" in fused.info(), fused.info()
torch.set_num_threads(2)
for mode, batch in (("LSTM", 20), ("LSTM", 3), ("GRU", 20)):
    torch.manual_seed(0)
    ref = getattr(torch.nn, mode)(5, 40)
    ours = getattr(lnn, mode)(5, 40, backend="fused")
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(12, batch, 5, requires_grad=True)
    out_ref, _ = ref(x)
    out, _ = ours(x)
    torch.testing.assert_close(out, out_ref, atol=1e-5, rtol=1e-4)
    g = torch.randn_like(out)
    for a, b in zip(torch.autograd.grad((out * g).sum(), [x, *ours.parameters()]),
                    torch.autograd.grad((out_ref * g).sum(), [x, *ref.parameters()])):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
bf = lnn.LSTM(5, 40, matmul_precision="bf16")  # falls back to fp32 recurrent products
bf(torch.randn(12, 20, 5))
print("ok")
"""


def test_fused_kernels_without_avx512_match_torch():
    env = dict(os.environ, LSTMKIT_DISABLE_AVX512="1")
    root = Path(fused.__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=root, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("ok")
