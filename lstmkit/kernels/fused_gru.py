"""Autograd binding of the fused CPU GRU kernel (``lstmkit/csrc/gru.cpp``).

The library is loaded by ``lstmkit.kernels.fused`` (call ``fused.available()`` first). The input
projection of all steps (``steps.gru_input_projection``, or with ``input_ln`` the raw x W_ih^T)
stays one GEMM before the kernel; the kernel runs the recurrence of one layer-direction, forward
and backward, for the variants "gru" (reset after the recurrent matmul, torch/cuDNN) and
"gru_cho" (reset before it), and with ``input_ln`` also the per-gate layer norm of each step's
projection. As in ``fused``, arguments go to the ops by keyword, from named tuples whose fields
are the schemas' argument names (the ``m.def`` lines at the bottom of gru.cpp).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from lstmkit.cells.spec import GRUSpec
from lstmkit.kernels import fused


class GRUConfig(NamedTuple):
    """The fused GRU's switches, each the keyword argument of that name of
    ``torch.ops.lstmkit.gru_forward`` and ``gru_backward``."""

    reset_after: bool  # GRUSpec.reset_after: False for "gru_cho"
    gate_activation: str
    activation: str
    zoneout: float = 0.0  # the eval-mode rate; the kernel uses it only where no keep mask is given
    ln_eps: float = fused.LN_EPS

    def kwargs(self, op: str) -> dict[str, bool | str | float]:
        return fused._switches(self, op)

    @classmethod
    def of(cls, spec: GRUSpec, zoneout: float = 0.0) -> GRUConfig:
        if spec.name not in fused.FUSED_GRU_VARIANTS:
            raise ValueError(f"the fused GRU kernel runs {sorted(fused.FUSED_GRU_VARIANTS)}, not {spec.name!r}")
        return cls(reset_after=spec.reset_after, gate_activation=spec.gate_activation, activation=spec.activation,
                   zoneout=float(zoneout))


class GRUOperands(NamedTuple):
    """Every tensor of one fused GRU call, named as the ops' arguments (and, from ``weight_hh``
    on, as the layer's parameters); positional for ``_GRUFunction`` (autograd tracks only
    positional tensors)."""

    gx: torch.Tensor  # (T, B, 3H): the input projection (the raw x W_ih^T with input layer norm)
    h0: torch.Tensor
    weight_hh: torch.Tensor
    bias_hh: torch.Tensor | None = None  # None with layer norm: it rides in ln_hh_bias
    ln_hh_weight: torch.Tensor | None = None
    ln_ih_weight: torch.Tensor | None = None
    ln_hh_bias: torch.Tensor | None = None  # + bias_hh
    ln_ih_bias: torch.Tensor | None = None  # + bias_ih
    rmask: torch.Tensor | None = None
    step_mask: torch.Tensor | None = None
    keep_h: torch.Tensor | None = None

    def kwargs(self, names: tuple[str, ...]) -> dict[str, torch.Tensor]:
        """The given ones of ``names``; absent tensors are left to the schema's default, None
        (at small shapes each keyword the op parses costs about 0.3 us)."""
        return {name: t for name in names if (t := getattr(self, name)) is not None}


#: Keyword tensors of both passes; the forward pass alone reads the shifts.
GRU_WEIGHTS = ("bias_hh", "ln_hh_weight", "ln_ih_weight")
GRU_SHIFTS = ("ln_hh_bias", "ln_ih_bias")
GRU_MASKS = ("rmask", "step_mask", "keep_h")
GRU_FORWARD_KWARGS = GRU_WEIGHTS + GRU_SHIFTS + GRU_MASKS
GRU_BACKWARD_KWARGS = GRU_WEIGHTS + GRU_MASKS


class GRUGrads(NamedTuple):
    """``gru_backward``'s results, named as its schema's returns (``d_<name>``: the gradient of
    the argument ``<name>``, None where it was absent)."""

    d_gx: torch.Tensor
    d_h0: torch.Tensor
    d_weight_hh: torch.Tensor
    d_bias_hh: torch.Tensor | None
    d_ln_hh_weight: torch.Tensor | None
    d_ln_ih_weight: torch.Tensor | None
    d_ln_hh_bias: torch.Tensor | None
    d_ln_ih_bias: torch.Tensor | None


def _gru_forward(t: GRUOperands, config: GRUConfig, save: bool):
    return torch.ops.lstmkit.gru_forward(t.gx, t.h0, t.weight_hh, **t.kwargs(GRU_FORWARD_KWARGS),
                                         **config.kwargs("gru_forward"), save=save)


class _GRUFunction(torch.autograd.Function):
    """The recurrence of one layer-direction, ``apply(config, *operands)`` -> (outputs, h_T)."""

    @staticmethod
    def forward(ctx, config: GRUConfig, *tensors: torch.Tensor | None):
        t = GRUOperands(*tensors)
        out, h_n, saved = _gru_forward(t, config, save=True)
        ctx.config = config
        # What the backward pass reads besides the kernel's own saved list.
        ctx.save_for_backward(*t._replace(gx=None, h0=None, ln_hh_bias=None, ln_ih_bias=None), *saved)
        return out, h_n

    @staticmethod
    def backward(ctx, d_output, d_h_n):
        n = len(GRUOperands._fields)
        t, saved = GRUOperands(*ctx.saved_tensors[:n]), ctx.saved_tensors[n:]
        g = GRUGrads(*torch.ops.lstmkit.gru_backward(d_output, d_h_n, saved, t.weight_hh,
                                                     **t.kwargs(GRU_BACKWARD_KWARGS),
                                                     **ctx.config.kwargs("gru_backward")))
        return None, *GRUOperands(
            gx=g.d_gx, h0=g.d_h0, weight_hh=g.d_weight_hh, bias_hh=g.d_bias_hh, ln_hh_weight=g.d_ln_hh_weight,
            ln_ih_weight=g.d_ln_ih_weight, ln_hh_bias=g.d_ln_hh_bias, ln_ih_bias=g.d_ln_ih_bias,
        )


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
        raise fused._unavailable()
    config = GRUConfig.of(spec, zoneout)
    t = gru_operands(p, gx, h0, rmask, step_mask, keep_h, input_ln)
    if not fused._needs_grad(*t):
        return _gru_forward(t, config, save=False)[:2]
    return _GRUFunction.apply(config, *t)


def gru_operands(p: dict[str, torch.Tensor], gx: torch.Tensor, h0: torch.Tensor, rmask: torch.Tensor | None,
                 step_mask: torch.Tensor | None, keep_h: torch.Tensor | None, input_ln: bool) -> GRUOperands:
    """The kernel's tensors of one ``gru_recurrence`` call, contiguous, the biases folded as it reads them."""
    ln = "ln_hh_weight" in p
    c = fused._contiguous
    return GRUOperands(
        gx=gx.contiguous(), h0=h0.contiguous(), weight_hh=p["weight_hh"].contiguous(),
        bias_hh=None if ln else c(p.get("bias_hh")),  # with layer norm: folded into its shift
        ln_hh_weight=c(p.get("ln_hh_weight")),
        ln_hh_bias=fused.ln_shift(p, "ln_hh_bias", "bias_hh").contiguous() if ln else None,
        ln_ih_weight=p["ln_ih_weight"].contiguous() if input_ln else None,
        ln_ih_bias=fused.ln_shift(p, "ln_ih_bias", "bias_ih").contiguous() if input_ln else None,
        rmask=c(rmask), step_mask=fused._u8(step_mask), keep_h=fused._u8(keep_h),
    )
