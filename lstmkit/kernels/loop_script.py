"""The time loop of ``loop.run_sequence`` as TorchScript, so torch.onnx's TorchScript exporter
(``torch.onnx.export(..., dynamo=False)``, what ``lstmkit.export.to_onnx`` runs) writes an ONNX
``Loop`` over a dynamic number of time steps instead of unrolling the example's steps.

Why this route: the exporter traces the model, and a trace records Python control flow as the
steps it took; but a call to a ``torch.jit.script``-ed function inside the trace is recorded as
that function's graph, loops included, and the exporter turns ``for t in range(gx.size(0))``
into ``Loop`` (list appends become scan outputs). The step itself is not scripted: the steps of
``lstmkit.kernels.steps`` (dicts of parameters, specs, activations by name) are not TorchScript,
and they are the one definition of the gate math. So one time step -- ``loop.advance``, the step
with zoneout and the mask, as the Python loop runs it -- is ``torch.jit.trace``-d at export time
(the step's weights become constants of the loop body), and a small scripted loop calls it.

The trace of the body happens while the exporter's own trace runs; TorchScript refuses nested
traces, so the outer tracing state is set aside for it (``torch._C._get/_set_tracing_state``,
private, the one way to do that in torch 2.13). The loop carries one tensor: the states (and,
for Keras' ``masked_output="carry"``, the previous output) concatenated along features, so one
scripted loop serves every state count. Only ``torch.onnx``'s TorchScript exporter comes here
(``exporting``); eager calls, ``torch.jit.trace``, ``torch.export`` and the dynamo ONNX exporter
keep the Python loop.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator

import torch
from torch import Tensor

from lstmkit.kernels.exporting import in_onnx_export

State = tuple[Tensor, ...]
#: ``(gx_t, state, m_t or None, prev_out or None) -> (output_t, new_state)``: one time step
Body = Callable[[Tensor, State, "Tensor | None", "Tensor | None"], tuple[Tensor, State]]


def exporting() -> bool:
    """Whether this call is being traced by torch.onnx's TorchScript exporter."""
    return in_onnx_export() and torch.jit.is_tracing()


@contextlib.contextmanager
def _outside_the_trace() -> Iterator[None]:
    """Set the running trace aside (nested traces are refused), and back afterwards."""
    state = torch._C._get_tracing_state()
    torch._C._set_tracing_state(None)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)  # int(x.shape[-1]): a constant width
            yield
    finally:
        torch._C._set_tracing_state(state)


def _loop_over(body: Callable) -> Callable:
    """The scripted loop calling the traced ``body(gx_t, s) -> (out_t, s)``."""

    def loop(gx: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        outs: list[Tensor] = []
        for t in range(gx.size(0)):
            out, s = body(gx[t], s)
            outs.append(out)
        return torch.stack(outs), s  # (T, B, R), (B, W)

    return torch.jit.script(loop)


def _masked_loop_over(body: Callable) -> Callable:
    """The scripted loop calling the traced ``body(gx_t, m_t, s) -> (out_t, s)``."""

    def loop(gx: Tensor, mask: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        outs: list[Tensor] = []
        for t in range(gx.size(0)):
            out, s = body(gx[t], mask[t], s)
            outs.append(out)
        return torch.stack(outs), s  # (T, B, R), (B, W)

    return torch.jit.script(loop)


def scan(body: Body, gx: Tensor, state: State, mask: Tensor | None, *, carry: bool) -> tuple[Tensor, State]:
    """``body`` over the time axis of ``gx`` (T, B, K) as one scripted loop (an ONNX ``Loop``):
    ``(outputs (T, B, R), final state)``, what ``run_sequence``'s Python loop returns.

    ``mask``: (T, B, 1) bool or None; ``carry``: masked steps output the previous output (the
    hidden state's width, zeros before the first step), else zeros.
    """
    widths = [int(s.shape[-1]) for s in state]
    if carry:
        widths.append(widths[0])  # the output is the hidden state

    def packed(gx_t: Tensor, m_t: Tensor | None, s: Tensor) -> tuple[Tensor, Tensor]:
        parts = s.split(widths, dim=-1)
        st, prev = (parts[:-1], parts[-1]) if carry else (parts, None)
        out, new = body(gx_t, tuple(st), m_t, prev)
        return out, torch.cat([*new, out] if carry else list(new), dim=-1)  # (B, W)

    s0 = torch.cat([*state, torch.zeros_like(state[0])] if carry else list(state), dim=-1)  # (B, W)
    with _outside_the_trace():
        if mask is None:
            step = torch.jit.trace(lambda g, s: packed(g, None, s), (gx[0], s0), check_trace=False)
            loop = _loop_over(step)
        else:
            step = torch.jit.trace(packed, (gx[0], mask[0], s0), check_trace=False)
            loop = _masked_loop_over(step)
    output, s = loop(gx, s0) if mask is None else loop(gx, mask, s0)
    parts = s.split(widths, dim=-1)
    return output, tuple(parts[:-1] if carry else parts)
