"""lstmkit's fused CPU kernels (``lstmkit/csrc/``): loading the built library, and the autograd bindings.

The library is compiled by the set-up (``python -m lstmkit.kernels.build``), never at import.
When it is missing or stale, ``available()`` is False, ``unavailable_reason()`` says why, and
``lstmkit.nn`` falls back to the plain torch path after one warning.

Layering (as in haste): C++ kernel -> ``torch.ops.lstmkit.*`` -> the ``autograd.Function``s
here -> ``lstmkit.nn`` modules, which only dispatch. The kernels run the recurrence; the input
projection of all steps stays one torch GEMM in ``lstmkit.kernels.steps`` (autograd does its
backward, also one GEMM).
"""

from __future__ import annotations

import warnings

import torch

from lstmkit.cells.spec import GRUSpec, LSTMSpec
from lstmkit.kernels.steps import lstm_projection_bias

#: Activation name -> the kernels' code (lstmkit/csrc/common.h, enum Act).
ACT_CODES: dict[str, int] = {"tanh": 0, "sigmoid": 1, "hard_sigmoid": 2, "relu": 3, "linear": 4, "softsign": 5}
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
        ctx.has_bias = b is not None
        return torch.ops.lstmkit.pooled_linear(x, w, b)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        return _project_backward(_grad_needs(ctx), g.contiguous(), x, w)


def input_projection(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """(T, B, I) -> (T, B, K): ``F.linear(x, weight, bias)``, computed into recycled memory."""
    T, B, I = x.shape
    out = _Projection.apply(x.reshape(T * B, I), weight.contiguous(), bias)
    return out.view(T, B, -1)


# ----------------------------------------------------------------------------- LSTM


def lstm_config(spec: LSTMSpec, save: bool, inplace: bool = False, bf16: bool = False) -> list[int]:
    """The kernels' integer switches (lstmkit/csrc/lstm_rows.h make_layout, lstm.cpp)."""
    return [
        int(spec.input_gate), int(spec.forget_gate and not spec.coupled), int(spec.output_gate), int(spec.coupled),
        ACT_CODES[spec.gate_activation], ACT_CODES[spec.input_activation], ACT_CODES[spec.output_activation],
        int(save), int(inplace), int(bf16),
    ]


def _u8(t: torch.Tensor | None) -> torch.Tensor | None:
    """A bool mask as the kernels' uint8, without a copy when it is already contiguous bool."""
    if t is None:
        return None
    t = t.contiguous()
    return t.view(torch.uint8) if t.dtype == torch.bool else t.to(torch.uint8)


class _LSTMFunction(torch.autograd.Function):
    """One layer-direction: (inputs, h0, c0, weights) -> (outputs, h_T, c_T), one autograd node.

    With ``w_ih`` the inputs are x (N, I), N = T*B, projected here (``pooled_linear``, or a
    bfloat16 GEMM) into a temporary the recurrence then overwrites with its gate activations;
    the backward forms dx, dW_ih and db from the recurrence's gate gradients without another
    node. Without ``w_ih`` the inputs are the projection itself, gx (T, B, G*H). With
    ``ln_ih_w`` the kernel layer-normalises each step's projection first (its bias then rides
    in ``ln_ih_b``).
    """

    @staticmethod
    def forward(ctx, inputs, w_ih, bias, h0, c0, w_hh, peep, w_hr, w_fgr, ln_hh_w, ln_hh_b, ln_c_w, ln_c_b,
                ln_ih_w, ln_ih_b, rmask, step_mask, keep_h, keep_c, cfg, fcfg, T):
        ctx.project, ctx.has_bias, ctx.bf16 = w_ih is not None, bias is not None, bool(cfg[9])
        x_low = None
        if ctx.project:
            gx, x_low = _project(inputs, w_ih, bias, ctx.bf16)
            gx = gx.view(T, inputs.shape[0] // T, -1)
            cfg = cfg[:8] + [1] + cfg[9:]  # the recurrence may overwrite this temporary
        else:
            gx = inputs
        res = torch.ops.lstmkit.lstm_forward(gx, h0, c0, w_hh, peep, w_hr, w_fgr, ln_hh_w, ln_hh_b, ln_c_w, ln_c_b,
                                             ln_ih_w, ln_ih_b, rmask, step_mask, keep_h, keep_c, cfg, fcfg)
        ctx.n_saved = len(res) - 3
        ctx.save_for_backward(*res[3:], w_hh, peep, w_hr, w_fgr, ln_hh_w, ln_c_w, ln_ih_w, rmask, step_mask, keep_h,
                              keep_c, inputs if ctx.project else None, w_ih, x_low)
        ctx.cfg, ctx.fcfg = cfg, fcfg
        return res[0], res[1], res[2]

    @staticmethod
    def backward(ctx, dout, dh, dc):
        saved = ctx.saved_tensors
        n = ctx.n_saved
        w_hh, peep, w_hr, w_fgr, ln_hh_w, ln_c_w, ln_ih_w, rmask, step_mask, keep_h, keep_c, x, w_ih, x_low = saved[n:]
        states, c_states = saved[4], saved[3]
        dout = dout if dout is not None else states.new_empty(0)
        dh = dh if dh is not None else torch.zeros_like(states[0])
        dc = dc if dc is not None else torch.zeros_like(c_states[0])
        g = torch.ops.lstmkit.lstm_backward(dout, dh, dc, list(saved[:n]), w_hh, peep, w_hr, w_fgr, ln_hh_w, ln_c_w,
                                            ln_ih_w, rmask, step_mask, keep_h, keep_c, ctx.cfg, ctx.fcfg)
        opt = [t if t.numel() else None for t in g[4:11]]
        dgx, dh0, dc0, dwhh = g[0], g[1], g[2], g[3]
        dpeep, dwhr, dwf, dlnhw, dlnhb, dlncw, dlncb = opt
        dx = dw_ih = db = None
        if ctx.project:
            N = x.shape[0]
            dg_low = (g[11].view(N, -1), g[12]) if ctx.bf16 else None
            dx, dw_ih, db = _project_backward(_grad_needs(ctx), dgx.view(N, -1), x, w_ih, dg_low, x_low)
            dgx = dx
        dlniw, dlnib = (t if t.numel() else None for t in g[13:15])
        return (dgx, dw_ih, db, dh0, dc0, dwhh, dpeep, dwhr, dwf, dlnhw, dlnhb, dlncw, dlncb, dlniw, dlnib,
                None, None, None, None, None, None, None)


def _project(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None, bf16: bool):
    """x (N, I) W^T + b into recycled memory; with ``bf16`` also x rounded to bfloat16."""
    if bf16:
        out, x_low = torch.ops.lstmkit.pooled_linear_bf16(x, w, b)
        return out, x_low
    return torch.ops.lstmkit.pooled_linear(x, w, b), None


def _grad_needs(ctx) -> tuple[bool, bool, bool]:
    """Whether x, W and the bias (inputs 0-2 of the node) want gradients."""
    return ctx.needs_input_grad[0], ctx.needs_input_grad[1], ctx.has_bias and ctx.needs_input_grad[2]


def _project_backward(needs: tuple[bool, bool, bool], dg: torch.Tensor, x: torch.Tensor, w: torch.Tensor,
                      dg_low: tuple[torch.Tensor, torch.Tensor] | None = None, x_low: torch.Tensor | None = None):
    """dx, dW_ih, db of ``_project`` from the gate gradients dg (N, G*H) (None where ``needs``
    says no). ``dg_low``, for a bf16 projection: dg in bfloat16 and its column sums, from the
    kernel. Otherwise one pass over dg for a few input features, else GEMMs."""
    need_x, need_w, need_b = needs
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


def ln_shift(p: dict[str, torch.Tensor], ln_bias: str, bias: str) -> torch.Tensor:
    """A layer norm's shift with the layer's own bias folded in (added after the norm anyway)."""
    return p[ln_bias] + p[bias] if bias in p else p[ln_bias]


def _recurrence_args(spec, p, rmask, step_mask, keep_h, keep_c, zoneout, input_ln: bool = False):
    """The weights, masks and float switches of ``lstm_forward`` from a parameter dict
    (``input_ln``: the kernel also normalises the raw input projection, layer norm's first term)."""
    ln_hh_b = ln_ih_w = ln_ih_b = None
    if "ln_hh_weight" in p:
        ln_hh_b = ln_shift(p, "ln_hh_bias", "bias_hh")
    if input_ln and "ln_ih_weight" in p:
        ln_ih_w, ln_ih_b = p["ln_ih_weight"], ln_shift(p, "ln_ih_bias", "bias_ih")
    weights = [p["weight_hh"], p.get("weight_peephole"), p.get("weight_hr"), p.get("weight_fgr"),
               p.get("ln_hh_weight"), ln_hh_b, p.get("ln_c_weight"), p.get("ln_c_bias"), ln_ih_w, ln_ih_b]
    weights = [w if w is None else w.contiguous() for w in weights]
    masks = [None if rmask is None else rmask.contiguous(), _u8(step_mask), _u8(keep_h), _u8(keep_c)]
    fcfg = [float(zoneout[0]) if keep_h is None else 0.0, float(zoneout[1]) if keep_c is None else 0.0, LN_EPS]
    return weights, masks, fcfg


def _needs_grad(*tensors: torch.Tensor | None) -> bool:
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)


def lstm_recurrence(
    spec: LSTMSpec,
    p: dict[str, torch.Tensor],
    gx: torch.Tensor,
    h0: torch.Tensor,
    c0: torch.Tensor,
    *,
    rmask: torch.Tensor | None = None,
    step_mask: torch.Tensor | None = None,
    keep_h: torch.Tensor | None = None,
    keep_c: torch.Tensor | None = None,
    zoneout: tuple[float, float] = (0.0, 0.0),
    bf16: bool = False,
    inplace: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run the recurrence over ``gx`` (T, B, G*H), the input projection from
    ``lstm_input_projection``; returns (outputs (T, B, R), h_T, c_T).

    Masked steps (``step_mask`` (T, B) False) carry the state and output zeros; ``keep_h`` /
    ``keep_c`` are training zoneout masks (True keeps the previous value), else ``zoneout``
    gives the eval-mode rates. ``bf16``: the weight-gradient GEMMs of the backward pass run in
    bfloat16 (see ``lstmkit.nn.LSTM``'s matmul_precision). ``inplace``: without autograd, the
    kernels may overwrite ``gx`` with the gate activations (saves a copy; for callers whose
    ``gx`` is a temporary).
    """
    if not available():
        raise RuntimeError(f"lstmkit: {unavailable_reason()}")
    weights, masks, fcfg = _recurrence_args(spec, p, rmask, step_mask, keep_h, keep_c, zoneout)
    if not _needs_grad(gx, h0, c0, *weights):
        res = torch.ops.lstmkit.lstm_forward(gx.contiguous(), h0.contiguous(), c0.contiguous(), *weights, *masks,
                                             lstm_config(spec, save=False, inplace=inplace, bf16=bf16), fcfg)
        return res[0], res[1], res[2]
    return _LSTMFunction.apply(gx.contiguous(), None, None, h0.contiguous(), c0.contiguous(), *weights, *masks,
                               lstm_config(spec, save=True, bf16=bf16), fcfg, gx.shape[0])


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
    """``lstm_recurrence(lstm_input_projection(x))`` for x (T, B, I) as one autograd node: the
    projection's temporary becomes the gate buffer and its gradients come from the same
    backward call (fewer passes over (T, B, G*H) memory, less per-call overhead at small
    shapes). With layer norm the kernel normalises each step's projection itself.
    """
    if not available():
        raise RuntimeError(f"lstmkit: {unavailable_reason()}")
    weights, masks, fcfg = _recurrence_args(spec, p, rmask, step_mask, keep_h, keep_c, zoneout, input_ln=True)
    T, B, I = x.shape
    w_ih = p["weight_ih"].contiguous()
    bias = None if "ln_ih_weight" in p else lstm_projection_bias(p)  # else in ln_ih_b, after the norm
    x2 = x.reshape(T * B, I)
    x2 = x2 if x2.is_contiguous() else x2.contiguous()
    if not _needs_grad(x, w_ih, bias, h0, c0, *weights):
        gx = _project(x2, w_ih, bias, bf16)[0].view(T, B, -1)
        res = torch.ops.lstmkit.lstm_forward(gx, h0.contiguous(), c0.contiguous(), *weights, *masks,
                                             lstm_config(spec, save=False, inplace=True, bf16=bf16), fcfg)
        return res[0], res[1], res[2]
    return _LSTMFunction.apply(x2, w_ih, bias, h0.contiguous(), c0.contiguous(), *weights, *masks,
                               lstm_config(spec, save=True, bf16=bf16), fcfg, T)
