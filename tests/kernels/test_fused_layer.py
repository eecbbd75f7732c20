"""``fused.lstm_layer``: the input projection and the recurrence as one autograd node, and the
projection ops under it (``small_linear_backward``, the bfloat16 projection). Held to the two-step
composition "project with ``lstm_input_projection``, then run the plain-torch recurrence
(``LSTMStep`` + ``run_sequence``)", and to torch's own ops."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import lstmkit.nn as lnn
from lstmkit.kernels import fused
from lstmkit.kernels.loop import run_sequence
from lstmkit.kernels.steps import LSTMStep, lstm_input_projection

from ._helpers import weighted_loss

pytestmark = pytest.mark.skipif(not fused.available(), reason="lstmkit's fused CPU kernels are not built")


def _layer(input_size, hidden=5, dtype=torch.float64, **kw):
    torch.manual_seed(0)
    m = lnn.LSTM(input_size, hidden, dtype=dtype, **kw)
    with torch.no_grad():
        for q in m.parameters():
            q.uniform_(-0.6, 0.6)
    return m


def _projection_then_loop(spec, p, x, h0, c0, mask):
    """The same layer as two separate steps in plain torch: (outputs, h_T, c_T)."""
    state0 = (h0, c0)
    if spec.full_gate_recurrence:  # the previous step's sigmoid-gate activations, zero at first
        state0 = (h0, c0, h0.new_zeros(h0.shape[0], len(spec.sigmoid_gates) * c0.shape[1]))
    out, state = run_sequence(LSTMStep(spec, p), lstm_input_projection(spec, p, x), state0, step_mask=mask)
    return out, state[0], state[1]


@pytest.mark.parametrize("input_size", [1, 3, 16, 17])  # <= 16: one pass over dG; 17: GEMMs
@pytest.mark.parametrize("kw", [{}, {"bias": False}, {"variant": "cifg"}, {"proj_size": 3},
                                {"variant": "vanilla"}, {"variant": "fgr"}, {"layer_norm": True},
                                {"layer_norm": True, "proj_size": 3, "variant": "cifg"}])
@pytest.mark.parametrize("need_x", [True, False])
def test_one_node_matches_the_two_node_composition(input_size, kw, need_x):
    m = _layer(input_size, **kw)
    spec, p = m.spec, m.layer_params(0, 0)
    T, B = 6, 4
    x = torch.randn(T, B, input_size, dtype=torch.float64, requires_grad=need_x)
    h0 = torch.randn(B, m.proj_size or 5, dtype=torch.float64, requires_grad=True)
    c0 = torch.randn(B, 5, dtype=torch.float64, requires_grad=True)
    mask = torch.rand(T, B, generator=torch.Generator().manual_seed(1)) > 0.2
    one = fused.lstm_layer(spec, p, x, h0, c0, step_mask=mask)
    two = _projection_then_loop(spec, p, x, h0, c0, mask)
    for a, b in zip(one, two):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-12)
    wrt = [t for t in (x, h0, c0, *m.parameters()) if t.requires_grad]
    g_one = torch.autograd.grad(weighted_loss(one), wrt, allow_unused=True)
    g_two = torch.autograd.grad(weighted_loss(two), wrt, allow_unused=True)
    for a, b in zip(g_one, g_two):
        assert (a is None) == (b is None)
        if a is not None:
            torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("input_size", [1, 4, 20])
@pytest.mark.parametrize("kw", [{}, {"layer_norm": True}])
def test_gradcheck_lstm_layer(input_size, kw):
    m = _layer(input_size, hidden=3, **kw)
    spec, p = m.spec, m.layer_params(0, 0)
    keys = list(p)
    x = torch.randn(4, 2, input_size, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    c0 = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)

    def fn(x, h0, c0, *weights):
        return fused.lstm_layer(spec, dict(zip(keys, weights)), x, h0, c0)

    weights = [p[k].detach().clone().requires_grad_() for k in keys]
    assert torch.autograd.gradcheck(fn, (x, h0, c0, *weights), eps=1e-6, atol=1e-6)


def test_frozen_weights_and_no_grad_run_the_inference_path():
    m = _layer(3, dtype=torch.float32)
    x = torch.randn(5, 2, 3)
    out_grad, _ = m(x.requires_grad_())
    m.requires_grad_(False)
    out_frozen, _ = m(x.detach())
    assert out_frozen.grad_fn is None
    torch.testing.assert_close(out_frozen, out_grad.detach(), atol=1e-6, rtol=1e-6)
    with torch.inference_mode():
        torch.testing.assert_close(m(x.detach())[0], out_frozen, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("bias", [True, False])
def test_input_layer_norm_runs_in_the_kernel(bias, monkeypatch):
    """With layer norm the kernel normalises each step's raw projection: no torch layer_norm."""
    m = _layer(3, layer_norm=True, bias=bias)
    calls = []
    real = torch.nn.functional.layer_norm
    monkeypatch.setattr(torch.nn.functional, "layer_norm", lambda *a, **k: calls.append(1) or real(*a, **k))
    x = torch.randn(6, 4, 3, dtype=torch.float64, requires_grad=True)
    out, (h, c) = m(x)
    assert not calls
    ref = lnn.LSTM(3, 5, layer_norm=True, bias=bias, dtype=torch.float64, backend="reference")
    ref.load_state_dict(m.state_dict())
    out_ref, (h_ref, c_ref) = ref(x)
    torch.testing.assert_close(out, out_ref, atol=1e-12, rtol=1e-10)
    grads = torch.autograd.grad(weighted_loss(out, h, c), [x, *m.parameters()])
    grads_ref = torch.autograd.grad(weighted_loss(out_ref, h_ref, c_ref), [x, *ref.parameters()])
    for a, b in zip(grads, grads_ref):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-8)


@pytest.mark.parametrize("n,k", [(1, 1), (7, 1), (300, 3), (1000, 16)])
@pytest.mark.parametrize("need_dx", [True, False])
def test_small_linear_backward_matches_torch(n, k, need_dx):
    gen = torch.Generator().manual_seed(n + k)
    g, x, w = torch.randn(n, 40, generator=gen), torch.randn(n, k, generator=gen), torch.randn(40, k, generator=gen)
    dx, dw, db = torch.ops.lstmkit.small_linear_backward(g, x, w, need_dx)
    if need_dx:
        torch.testing.assert_close(dx, g @ w, atol=1e-4, rtol=1e-4)
    else:
        assert dx.numel() == 0
    torch.testing.assert_close(dw, g.t() @ x, atol=1e-3, rtol=1e-4)
    torch.testing.assert_close(db, g.sum(0), atol=1e-3, rtol=1e-4)


@pytest.mark.parametrize("bias", [True, False])
def test_bf16_projection_is_torch_bf16_linear(bias):
    gen = torch.Generator().manual_seed(0)
    x, w = torch.randn(300, 24, generator=gen), torch.randn(64, 24, generator=gen)
    b = torch.randn(64, generator=gen) if bias else None
    out, x_low = torch.ops.lstmkit.pooled_linear_bf16(x, w, b)
    want = F.linear(x.bfloat16(), w.bfloat16()).float()
    want = want + b if bias else want
    torch.testing.assert_close(out, want, atol=0, rtol=0)  # the same bf16 GEMM, widened exactly
    assert x_low.dtype == torch.bfloat16 and torch.equal(x_low, x.bfloat16())
    g = torch.randn(300, 64, generator=gen).bfloat16()
    dx = torch.ops.lstmkit.pooled_mm_bf16(g, w)
    torch.testing.assert_close(dx, (g @ w.bfloat16()).float(), atol=0, rtol=0)
