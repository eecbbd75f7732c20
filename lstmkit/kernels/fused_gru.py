"""Autograd binding of the fused CPU GRU kernel (``lstmkit/csrc/gru.cpp``).

The library is loaded by ``lstmkit.kernels.fused`` (call ``fused.available()`` first). The input
projection of all steps (``steps.gru_input_projection``, or with ``input_ln`` the raw x W_ih^T)
stays one GEMM before the kernel; the kernel runs the recurrence of one layer-direction, forward
and backward, for the variants "gru" (reset after the recurrent matmul, torch/cuDNN) and
"gru_cho" (reset before it), and with ``input_ln`` also the per-gate layer norm of each step's
projection.
"""

from __future__ import annotations

import torch

from lstmkit.cells.spec import GRUSpec
from lstmkit.kernels import fused

#: GRU variant name -> the kernel's code (lstmkit/csrc/gru.cpp, Layout::cho).
VARIANT_CODES: dict[str, int] = {"gru": 0, "gru_cho": 1}


def gru_config(spec: GRUSpec, save: bool) -> list[int]:
    """The kernel's integer switches (lstmkit/csrc/gru.cpp make_layout): variant, activations, save for backward."""
    if spec.name not in VARIANT_CODES:
        raise ValueError(f"the fused GRU kernel runs {sorted(VARIANT_CODES)}, not {spec.name!r}")
    return [VARIANT_CODES[spec.name], fused.ACT_CODES[spec.gate_activation], fused.ACT_CODES[spec.activation],
            int(save)]


class _GRUFunction(torch.autograd.Function):
    """The recurrence of one layer-direction: (gx, h0, weights) -> (outputs, h_T)."""

    @staticmethod
    def forward(ctx, gx, h0, w_hh, b_hh, ln_w, ln_b, ln_ih_w, ln_ih_b, rmask, step_mask, keep_h, cfg, fcfg):
        res = torch.ops.lstmkit.gru_forward(gx, h0, w_hh, b_hh, ln_w, ln_b, ln_ih_w, ln_ih_b, rmask, step_mask, keep_h,
                                            cfg, fcfg)
        ctx.n_saved = len(res) - 2
        ctx.save_for_backward(*res[2:], w_hh, b_hh, ln_w, ln_ih_w, rmask, step_mask, keep_h)
        ctx.cfg, ctx.fcfg = cfg, fcfg
        return res[0], res[1]

    @staticmethod
    def backward(ctx, dout, dh):
        saved = ctx.saved_tensors
        n = ctx.n_saved
        w_hh, b_hh, ln_w, ln_ih_w, rmask, step_mask, keep_h = saved[n:]
        states = saved[2]
        dout = dout if dout is not None else states.new_empty(0)
        dh = dh if dh is not None else torch.zeros_like(states[0])
        g = torch.ops.lstmkit.gru_backward(dout, dh, list(saved[:n]), w_hh, b_hh, ln_w, ln_ih_w, rmask, step_mask,
                                           keep_h, ctx.cfg, ctx.fcfg)
        dgx, dh0, dwhh = g[0], g[1], g[2]
        dbh, dlnw, dlnb, dlniw, dlnib = (t if t.numel() else None for t in g[3:])
        return dgx, dh0, dwhh, dbh, dlnw, dlnb, dlniw, dlnib, None, None, None, None, None


def gru_recurrence(
    spec: GRUSpec,
    p: dict[str, torch.Tensor],
    gx: torch.Tensor,
    h0: torch.Tensor,
    *,
    rmask: torch.Tensor | None = None,
    step_mask: torch.Tensor | None = None,
    keep_h: torch.Tensor | None = None,
    zoneout: float = 0.0,
    input_ln: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run the recurrence over ``gx`` (T, B, 3H), the input projection from
    ``gru_input_projection``; returns (outputs (T, B, H), h_T). With ``input_ln`` (and the
    layer's ``ln_ih_*`` parameters) ``gx`` is the raw x W_ih^T instead, and the kernel applies
    the input layer norm and ``bias_ih`` per step.

    ``rmask`` (B, H) multiplies h where it enters the recurrent matmul (recurrent dropout).
    Masked steps (``step_mask`` (T, B) False) carry the state and output zeros; ``keep_h``
    (T, B, H) is the training zoneout mask (True keeps the previous value), else ``zoneout``
    gives the eval-mode rate. Without autograd nothing is kept for a backward pass.
    """
    if not fused.available():
        raise RuntimeError(f"lstmkit: {fused.unavailable_reason()}")
    ln = "ln_hh_weight" in p
    b_hh = p.get("bias_hh")
    ln_b = None
    if ln:
        ln_b = fused.ln_shift(p, "ln_hh_bias", "bias_hh")
        b_hh = None  # folded into the layer-norm shift
    ln_ih_w = ln_ih_b = None
    if input_ln:
        ln_ih_w, ln_ih_b = p["ln_ih_weight"], fused.ln_shift(p, "ln_ih_bias", "bias_ih")
    weights = [p["weight_hh"], b_hh, p.get("ln_hh_weight"), ln_b, ln_ih_w, ln_ih_b]
    weights = [w if w is None else w.contiguous() for w in weights]
    masks = [None if rmask is None else rmask.contiguous(), fused._u8(step_mask), fused._u8(keep_h)]
    fcfg = [float(zoneout) if keep_h is None else 0.0, fused.LN_EPS]
    grad = torch.is_grad_enabled() and (gx.requires_grad or h0.requires_grad
                                        or any(w is not None and w.requires_grad for w in weights))
    if not grad:
        res = torch.ops.lstmkit.gru_forward(gx.contiguous(), h0.contiguous(), *weights, *masks,
                                            gru_config(spec, save=False), fcfg)
        return res[0], res[1]
    return _GRUFunction.apply(gx.contiguous(), h0.contiguous(), *weights, *masks, gru_config(spec, save=True), fcfg)
