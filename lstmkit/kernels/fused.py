"""lstmkit's fused CPU kernels (``lstmkit/csrc/``): loading the built library, and the autograd bindings.

The library is compiled by the set-up (``python -m lstmkit.kernels.build``), never at import.
When it is missing or stale, ``available()`` is False, ``unavailable_reason()`` says why, and
``lstmkit.nn`` falls back to the plain torch path after one warning.

Layering (as in haste): C++ kernel -> ``torch.ops.lstmkit.*`` -> the ``autograd.Function``s
here -> ``lstmkit.nn`` modules, which only dispatch. The kernels run the recurrence; the input
projection of all steps is one GEMM into recycled memory (``pooled_linear``).

Every op has a schema naming each argument (the ``m.def`` lines in lstmkit/csrc/), and these
bindings pass them by keyword from named tuples whose fields carry those names
(``LSTMOperands``, ``LSTMConfig``; ``fused_gru``'s counterparts), which are in turn the names of
the layers' parameters and options: ``recurrent_dropout`` becomes ``rmask``, ``zoneout``
``keep_h`` / ``keep_c`` or ``zoneout_h`` / ``zoneout_c``, ``recurrent_activation``
``gate_activation``, and so on down to the kernel's loops.
"""

from __future__ import annotations

import functools
import warnings
from typing import NamedTuple

import torch

from lstmkit.cells.spec import GRUSpec, LSTMSpec
from lstmkit.kernels.steps import lstm_projection_bias

LN_EPS = 1e-5

_state: dict[str, object] = {"tried": False, "reason": None, "warned": False}


def _load() -> None:
    if _state["tried"]:
        return
    _state["tried"] = True
    from lstmkit.kernels import build

    path, _state["reason"] = build.locate()
    if path is None:
        return
    try:
        torch.ops.load_library(str(path))
    except (OSError, RuntimeError) as exc:
        _state["reason"] = f"the fused CPU kernels failed to load: {exc}"


def available() -> bool:
    """Whether the fused CPU kernels are built, current and loaded."""
    _load()
    return _state["reason"] is None


def unavailable_reason() -> str | None:
    """Why ``available()`` is False, in words (None when it is True)."""
    _load()
    return _state["reason"]  # type: ignore[return-value]


def warn_unavailable() -> None:
    """One warning per process that ``backend="auto"`` falls back to the slower torch path."""
    if not _state["warned"]:
        _state["warned"] = True
        # stacklevel 6: this, _choose_path, forward, Module._call_impl, Module.__call__, the caller.
        warnings.warn(f"lstmkit: {unavailable_reason()}; using the slower torch path instead", stacklevel=6)


def info() -> str:
    """Build facts of the loaded library (GEMM provider, ISA picked on this CPU)."""
    return torch.ops.lstmkit.build_info() if available() else f"unavailable: {unavailable_reason()}"


def blockers(x: torch.Tensor, spec: LSTMSpec | GRUSpec) -> list[str]:
    """What the fused kernels cannot run here, in words (empty: they can)."""
    reasons = []
    if not available():
        reasons.append(str(unavailable_reason()))
    if x.device.type != "cpu":
        reasons.append(f"tensors on {x.device.type} (the fused kernels are CPU kernels)")
    if x.dtype not in (torch.float32, torch.float64):
        reasons.append(f"dtype {x.dtype} (float32 and float64 only)")
    if isinstance(spec, GRUSpec) and spec.name not in FUSED_GRU_VARIANTS:
        reasons.append(f"GRU variant {spec.name!r} (fused: {', '.join(FUSED_GRU_VARIANTS)})")
    return reasons


FUSED_GRU_VARIANTS: tuple[str, ...] = ("gru", "gru_cho")


# ----------------------------------------------------------------------------- input projection


class _Projection(torch.autograd.Function):
    """x W^T + b for all steps at once, its result and input gradient in the kernels' recycled
    memory: at small shapes a fresh (T, B, G*H) allocation costs page faults worth a third of the
    recurrence itself."""

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        return torch.ops.lstmkit.pooled_linear(x, w, b)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        return _project_backward(ctx.needs_input_grad, g.contiguous(), x, w)


def input_projection(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """(T, B, I) -> (T, B, K): ``F.linear(x, weight, bias)``, computed into recycled memory."""
    T, B, I = x.shape
    out = _Projection.apply(x.reshape(T * B, I), weight.contiguous(), bias)
    return out.view(T, B, -1)


def _project(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None, bf16: bool):
    """x (N, I) W^T + b into recycled memory; with ``bf16`` also x rounded to bfloat16."""
    if bf16:
        return torch.ops.lstmkit.pooled_linear_bf16(x, w, b)
    return torch.ops.lstmkit.pooled_linear(x, w, b), None


def _project_backward(needs: tuple[bool, ...], dg: torch.Tensor, x: torch.Tensor, w: torch.Tensor,
                      dg_low: tuple[torch.Tensor, torch.Tensor] | None = None, x_low: torch.Tensor | None = None):
    """dx, dW_ih, db of ``_project`` from the gate gradients dg (N, G*H) (None where ``needs``,
    the flags of x, W and b, says no). ``dg_low``, for a bf16 projection: dg in bfloat16 and its
    column sums, from the kernel. Otherwise one pass over dg for a few input features, else GEMMs."""
    need_x, need_w, need_b = needs[:3]
    if dg_low is not None:
        dx = torch.ops.lstmkit.pooled_mm_bf16(dg_low[0], w) if need_x else None
        dw = dg_low[0].t().mm(x_low).float() if need_w else None
        return dx, dw, (dg_low[1] if need_b else None)
    if x.shape[1] <= 16 and x.dtype == torch.float32:
        dx, dw, db = torch.ops.lstmkit.small_linear_backward(dg, x, w, need_x)
        return (dx if need_x else None), (dw if need_w else None), (db if need_b else None)
    dx = torch.ops.lstmkit.pooled_mm(dg, w) if need_x else None
    dw = dg.t().mm(x) if need_w else None
    return dx, dw, (dg.sum(0) if need_b else None)


def _u8(t: torch.Tensor | None) -> torch.Tensor | None:
    """A bool mask as the kernels' uint8, without a copy when it is already contiguous bool."""
    if t is None:
        return None
    t = t.contiguous()
    if t.dtype == torch.bool and not torch.jit.is_tracing():  # jit.trace records view(dtype) as a bad aten::view
        return t.view(torch.uint8)
    return t.to(torch.uint8)


def _contiguous(t: torch.Tensor | None) -> torch.Tensor | None:
    return None if t is None else t.contiguous()


def ln_shift(p: dict[str, torch.Tensor], ln_bias: str, bias: str) -> torch.Tensor:
    """A layer norm's shift with the layer's own bias folded in (added after the norm anyway)."""
    return p[ln_bias] + p[bias] if bias in p else p[ln_bias]


def _needs_grad(*tensors: torch.Tensor | None) -> bool:
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)


def _unavailable() -> RuntimeError:
    return RuntimeError(f"lstmkit: {unavailable_reason()}")


# ----------------------------------------------------------------------------- LSTM


class LSTMConfig(NamedTuple):
    """The fused LSTM's switches. Each field is the keyword argument of that name of
    ``torch.ops.lstmkit.lstm_forward`` and ``lstm_backward`` (lstmkit/csrc/lstm.cpp), passed
    as ``**config.kwargs(op)``."""

    input_gate: bool
    forget_gate: bool  # whether f has rows of its own: not for CIFG, where f = 1 - i
    output_gate: bool
    coupled: bool
    gate_activation: str
    input_activation: str
    output_activation: str
    zoneout_h: float = 0.0  # eval-mode rates; the kernels use them only where no keep mask is given
    zoneout_c: float = 0.0
    ln_eps: float = LN_EPS
    bf16: bool = False  # matmul_precision="bf16"

    def kwargs(self, op: str) -> dict[str, bool | str | float]:
        return _switches(self, op)

    @classmethod
    def of(cls, spec: LSTMSpec, zoneout: tuple[float, float] = (0.0, 0.0), bf16: bool = False) -> LSTMConfig:
        return cls(input_gate=spec.input_gate, forget_gate=spec.forget_gate and not spec.coupled,
                   output_gate=spec.output_gate, coupled=spec.coupled, gate_activation=spec.gate_activation,
                   input_activation=spec.input_activation, output_activation=spec.output_activation,
                   zoneout_h=float(zoneout[0]), zoneout_c=float(zoneout[1]), bf16=bool(bf16))


@functools.lru_cache(maxsize=512, typed=True)
def _switches(config: NamedTuple, op: str) -> dict:
    """The fields of ``config`` for the op ``torch.ops.lstmkit.<op>``, by name, once per distinct
    config. Those equal to the schema's own default are left out (the op then takes that same
    value): at small shapes each keyword the op parses costs about 0.3 us of a ~20 us call."""
    schema = getattr(torch.ops.lstmkit, op).default._schema
    defaults = {a.name: a.default_value for a in schema.arguments if a.kwarg_only}
    unknown = [name for name in config._fields if name not in defaults]
    if unknown:
        raise TypeError(f"lstmkit: {op} has no argument(s) {unknown} (rebuild the fused kernels)")
    return {k: v for k, v in config._asdict().items() if defaults[k] is None or v != defaults[k]}


class LSTMOperands(NamedTuple):
    """Every tensor of one fused LSTM layer call. From ``weight_hh`` on the fields are the ops'
    argument names, which are those of the layer's parameter dict (``lstmkit.kernels.steps``),
    so ``of`` reads them by name and ``kwargs`` passes them by name. ``_LSTMFunction`` takes
    them positionally, as autograd tracks only positional tensors."""

    x: torch.Tensor  # (T, B, I)
    h0: torch.Tensor
    c0: torch.Tensor
    weight_ih: torch.Tensor
    bias: torch.Tensor | None  # the projection's: bias_ih (+ bias_hh); None with input layer norm
    weight_hh: torch.Tensor
    weight_peephole: torch.Tensor | None = None
    weight_hr: torch.Tensor | None = None
    weight_fgr: torch.Tensor | None = None
    ln_hh_weight: torch.Tensor | None = None
    ln_c_weight: torch.Tensor | None = None
    ln_ih_weight: torch.Tensor | None = None
    ln_hh_bias: torch.Tensor | None = None  # + bias_hh, which also comes after the norm
    ln_c_bias: torch.Tensor | None = None
    ln_ih_bias: torch.Tensor | None = None  # + bias_ih
    rmask: torch.Tensor | None = None  # (B, R) recurrent-dropout multiplier
    step_mask: torch.Tensor | None = None  # (T, B), uint8
    keep_h: torch.Tensor | None = None  # (T, B, R) / (T, B, H) training zoneout masks, uint8
    keep_c: torch.Tensor | None = None

    @classmethod
    def of(cls, p: dict[str, torch.Tensor], x, h0, c0, rmask, step_mask, keep_h, keep_c) -> LSTMOperands:
        ln_hh, ln_ih = "ln_hh_weight" in p, "ln_ih_weight" in p
        return cls(
            x=x, h0=h0.contiguous(), c0=c0.contiguous(), weight_ih=p["weight_ih"].contiguous(),
            bias=None if ln_ih else lstm_projection_bias(p), weight_hh=p["weight_hh"].contiguous(),
            weight_peephole=_contiguous(p.get("weight_peephole")), weight_hr=_contiguous(p.get("weight_hr")),
            weight_fgr=_contiguous(p.get("weight_fgr")), ln_hh_weight=_contiguous(p.get("ln_hh_weight")),
            ln_c_weight=_contiguous(p.get("ln_c_weight")), ln_ih_weight=_contiguous(p.get("ln_ih_weight")),
            ln_hh_bias=ln_shift(p, "ln_hh_bias", "bias_hh").contiguous() if ln_hh else None,
            ln_c_bias=_contiguous(p.get("ln_c_bias")),
            ln_ih_bias=ln_shift(p, "ln_ih_bias", "bias_ih").contiguous() if ln_ih else None,
            rmask=_contiguous(rmask), step_mask=_u8(step_mask), keep_h=_u8(keep_h), keep_c=_u8(keep_c),
        )

    def kwargs(self, names: tuple[str, ...]) -> dict[str, torch.Tensor]:
        """The given ones of ``names``; absent tensors are left to the schema's default, None
        (at small shapes each keyword the op parses costs about 0.3 us)."""
        return {name: t for name in names if (t := getattr(self, name)) is not None}


#: Keyword tensors of both passes; the forward pass alone reads the shifts.
LSTM_WEIGHTS = ("weight_peephole", "weight_hr", "weight_fgr", "ln_hh_weight", "ln_c_weight", "ln_ih_weight")
LSTM_SHIFTS = ("ln_hh_bias", "ln_c_bias", "ln_ih_bias")
LSTM_MASKS = ("rmask", "step_mask", "keep_h", "keep_c")
LSTM_FORWARD_KWARGS = LSTM_WEIGHTS + LSTM_SHIFTS + LSTM_MASKS
LSTM_BACKWARD_KWARGS = LSTM_WEIGHTS + LSTM_MASKS


class LSTMGrads(NamedTuple):
    """``lstm_backward``'s results, named as its schema's returns: ``d_<name>`` is the gradient
    of the argument ``<name>`` (None where it was absent). d_gx is that of the raw input
    projection; with bf16 also in bfloat16 with its column sums (the projection's backward)."""

    d_gx: torch.Tensor
    d_h0: torch.Tensor
    d_c0: torch.Tensor
    d_weight_hh: torch.Tensor
    d_weight_peephole: torch.Tensor | None
    d_weight_hr: torch.Tensor | None
    d_weight_fgr: torch.Tensor | None
    d_ln_hh_weight: torch.Tensor | None
    d_ln_c_weight: torch.Tensor | None
    d_ln_ih_weight: torch.Tensor | None
    d_ln_hh_bias: torch.Tensor | None
    d_ln_c_bias: torch.Tensor | None
    d_ln_ih_bias: torch.Tensor | None
    d_gx_bf16: torch.Tensor | None
    d_gx_colsum: torch.Tensor | None


def _lstm_forward(t: LSTMOperands, config: LSTMConfig, save: bool):
    """Project x and run the recurrence: (output, h_n, c_n, the kernel's saved list, x as
    (T*B, I), x in bfloat16 or None)."""
    T, B, I = t.x.shape
    x2 = t.x.reshape(T * B, I)
    x2 = x2 if x2.is_contiguous() else x2.contiguous()
    gx, x_low = _project(x2, t.weight_ih, t.bias, config.bf16)
    # inplace: the projection is this call's temporary, so the gate activations may overwrite it
    out, h_n, c_n, saved = torch.ops.lstmkit.lstm_forward(
        gx.view(T, B, -1), t.h0, t.c0, t.weight_hh, **t.kwargs(LSTM_FORWARD_KWARGS), **config.kwargs("lstm_forward"),
        save=save, inplace=True)
    return out, h_n, c_n, saved, x2, x_low


class _LSTMFunction(torch.autograd.Function):
    """One layer-direction, ``apply(config, *operands)`` -> (outputs, h_T, c_T), one autograd
    node: x is projected (``pooled_linear``, or a bfloat16 GEMM) into a temporary the recurrence
    then overwrites with its gate activations, and the backward forms dx, dW_ih and db from the
    recurrence's gate gradients without another node. With input layer norm the kernel
    normalises each step's projection first (its bias then rides in ``ln_ih_bias``)."""

    @staticmethod
    def forward(ctx, config: LSTMConfig, *tensors: torch.Tensor | None):
        t = LSTMOperands(*tensors)
        out, h_n, c_n, saved, x2, x_low = _lstm_forward(t, config, save=True)
        ctx.config, ctx.x_shape = config, t.x.shape
        # What the backward pass reads besides the kernel's own saved list.
        kept = t._replace(x=x2, h0=None, c0=None, bias=None, ln_hh_bias=None, ln_c_bias=None, ln_ih_bias=None)
        ctx.save_for_backward(x_low, *kept, *saved)
        return out, h_n, c_n

    @staticmethod
    def backward(ctx, d_output, d_h_n, d_c_n):
        x_low, *rest = ctx.saved_tensors
        n = len(LSTMOperands._fields)
        t, saved = LSTMOperands(*rest[:n]), rest[n:]
        config = ctx.config
        g = LSTMGrads(*torch.ops.lstmkit.lstm_backward(d_output, d_h_n, d_c_n, saved, t.weight_hh,
                                                       **t.kwargs(LSTM_BACKWARD_KWARGS),
                                                       **config.kwargs("lstm_backward")))
        needs = LSTMOperands(*ctx.needs_input_grad[1:])  # [0] is the config
        N = t.x.shape[0]
        dg_low = (g.d_gx_bf16.view(N, -1), g.d_gx_colsum) if config.bf16 else None
        dx, dw_ih, db = _project_backward((needs.x, needs.weight_ih, needs.bias), g.d_gx.view(N, -1), t.x,
                                          t.weight_ih, dg_low, x_low)
        return None, *LSTMOperands(
            x=None if dx is None else dx.view(ctx.x_shape), h0=g.d_h0, c0=g.d_c0, weight_ih=dw_ih, bias=db,
            weight_hh=g.d_weight_hh, weight_peephole=g.d_weight_peephole, weight_hr=g.d_weight_hr,
            weight_fgr=g.d_weight_fgr, ln_hh_weight=g.d_ln_hh_weight, ln_c_weight=g.d_ln_c_weight,
            ln_ih_weight=g.d_ln_ih_weight, ln_hh_bias=g.d_ln_hh_bias, ln_c_bias=g.d_ln_c_bias,
            ln_ih_bias=g.d_ln_ih_bias,
        )


def lstm_layer(
    spec: LSTMSpec,
    p: dict[str, torch.Tensor],
    x: torch.Tensor,
    h0: torch.Tensor,
    c0: torch.Tensor,
    *,
    rmask: torch.Tensor | None = None,
    step_mask: torch.Tensor | None = None,
    keep_h: torch.Tensor | None = None,
    keep_c: torch.Tensor | None = None,
    zoneout: tuple[float, float] = (0.0, 0.0),
    bf16: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One layer-direction of the LSTM family over x (T, B, I), the input projection and the
    recurrence as one autograd node (fewer passes over (T, B, G*H) memory, less per-call overhead
    at small shapes); returns (outputs (T, B, R), h_T, c_T).

    ``p`` is the layer's parameter dict (``lstmkit.kernels.steps``' keys). ``rmask`` (B, R)
    multiplies h where it enters the recurrent GEMM (recurrent dropout). Masked steps
    (``step_mask`` (T, B) False) carry the state and output zeros; ``keep_h`` / ``keep_c`` are
    training zoneout masks (True keeps the previous value), else ``zoneout`` gives the eval-mode
    rates. ``bf16``: the recurrent products and weight-gradient GEMMs run in bfloat16 (see
    ``lstmkit.nn.LSTM``'s matmul_precision). Without autograd nothing is kept for a backward pass.
    """
    if not available():
        raise _unavailable()
    t = LSTMOperands.of(p, x, h0, c0, rmask, step_mask, keep_h, keep_c)
    config = LSTMConfig.of(spec, zoneout, bf16)
    if not _needs_grad(*t):
        return _lstm_forward(t, config, save=False)[:3]
    return _LSTMFunction.apply(config, *t)
