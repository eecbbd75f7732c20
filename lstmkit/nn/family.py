"""One small object per cell family (LSTM, GRU, Elman RNN): what differs between them.

Why: the stack, the cells, their execution paths and ``lstmkit.viz.trace`` used to ask
``mode == "LSTM"`` wherever the families differ. Each of those questions is now a field or a
method here, so the modules read one object (``module.family``) and a family is described in
one place. torch's ``mode`` string ("LSTM", "GRU", "RNN_TANH", ...) stays on the modules for
compatibility; nothing in lstmkit branches on it.

The methods take the module's spec (a variant of the family, see ``lstmkit.cells.spec``) and a
layer-direction's parameters keyed as in the reference cells (``weight_ih``, ``bias_hh``...).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from lstmkit.cells.gru import gru_step
from lstmkit.cells.lstm import lstm_step, sigmoid_gate_state
from lstmkit.cells.rnn import simple_rnn_step
from lstmkit.cells.spec import GRUSpec, LSTMSpec, RNNSpec
from lstmkit.kernels import fused, fused_gru, steps, traced, traced_elman
from lstmkit.kernels.loop import Step
from lstmkit.nn.params import gru_shapes, lstm_shapes, rnn_shapes

Spec = LSTMSpec | GRUSpec | RNNSpec
Params = dict[str, torch.Tensor]
#: A NumPy reference step for tracing: ``(x_t, state) -> (h, new_state, {name: (B, ·) values})``.
ReferenceStep = Callable[[np.ndarray, tuple], tuple[np.ndarray, tuple, dict[str, np.ndarray]]]


@dataclass(frozen=True)
class Family:
    """What a cell family is to the modules. The base holds the single-state defaults (GRU,
    Elman RNN); ``LSTMFamily`` overrides what the cell state changes."""

    name: str  #: lstmkit's name: "lstm", "gru", "rnn" (trace labels, ``LayerTrace.family``)
    torch_name: str  #: torch.nn's class name: "LSTM", "GRU", "RNN"
    spec_type: type
    state_names: tuple[str, ...] = ("h",)  #: what ``hx`` holds, in torch's order
    #: why lstmkit's fused kernels cannot run the family; None: they can
    fused_unsupported: str | None = None
    #: torch's kernels were measured faster on large plain inference (``kernels._native_is_faster``)
    native_speedup: bool = False
    bf16: bool = False  #: the fused kernels have a bfloat16 GEMM mode (``matmul_precision``)
    forget_gate: bool = False  #: ``forget_bias`` can initialise a forget gate
    projection: bool = False  #: ``proj_size`` (torch's LSTM projections) exists

    @property
    def n_states(self) -> int:
        return len(self.state_names)

    # ------------------------------------------------------------------ layout
    def shapes(self, spec: Spec, input_size: int, hidden: int, proj: int, bias: bool,
               layer_norm: bool) -> dict[str, tuple[int, ...]]:
        """Canonical key -> shape of one layer-direction, in registration order."""
        raise NotImplementedError

    def square_input(self, spec: Spec) -> bool:
        """Whether the variant adds the input to a hidden-size vector (input size == hidden)."""
        return False

    def state_widths(self, state_size: int, hidden: int) -> tuple[int, ...]:
        """Widths of the states in ``hx`` (``state_size`` is h's: the projection size or hidden)."""
        return (state_size,)

    def extra_state_widths(self, spec: Spec, hidden: int) -> tuple[int, ...]:
        """Widths of what a step carries beyond ``hx`` (FGR's previous gate activations)."""
        return ()

    # ------------------------------------------------------------------ torch's state format
    def torch_state(self, parts: tuple[torch.Tensor, ...]) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """States as torch.nn gives them: a tuple ``(h, c)`` for the LSTM, the tensor ``h`` otherwise."""
        return tuple(parts) if self.n_states > 1 else parts[0]

    def split_state(self, hx: object) -> tuple:
        """A user's ``hx`` as a tuple of parts, or a TypeError saying what was expected."""
        if self.n_states == 1:
            return (hx,)
        if not isinstance(hx, (tuple, list)) or len(hx) != self.n_states:
            names = ", ".join(f"{n}_0" for n in self.state_names)
            raise TypeError(f"hx for an {self.torch_name} must be a tuple ({names})")
        return tuple(hx)

    # ------------------------------------------------------------------ execution paths
    def native_name(self, spec: Spec) -> str:
        """The name of torch's kernel for the family (``lstmkit.kernels.native.STACKS``/``CELLS``)."""
        return self.name

    def input_projection(self, spec: Spec, p: Params, x: torch.Tensor) -> torch.Tensor:
        """The loop path's input projection of all steps, (T, B, I) -> (T, B, K)."""
        raise NotImplementedError

    def step(self, spec: Spec, p: Params, recurrent_mask: torch.Tensor | None) -> Step:
        """The loop path's plain-torch step over the projected input."""
        raise NotImplementedError

    def fused_input(self, spec: Spec, p: Params, x: torch.Tensor) -> torch.Tensor:
        """What ``run_fused`` reads per step: the layer input or its projection."""
        raise NotImplementedError(f"lstmkit has no fused kernels for the {self.torch_name}")

    def run_fused(self, spec: Spec, p: Params, gx: torch.Tensor, state0: tuple[torch.Tensor, ...], *,
                  rmask, step_mask, keep: list, zoneout: tuple[float, float], bf16: bool):
        """One layer-direction on lstmkit's fused kernels: ``(out (T, B, R), final state tuple)``."""
        raise NotImplementedError(f"lstmkit has no fused kernels for the {self.torch_name}")

    def captured_loop(self, spec: Spec, p: Params, gx: torch.Tensor, state0: tuple[torch.Tensor, ...], *, rmask,
                      step_mask, lengths, reverse: bool, zoneout: tuple[float, ...], keep, masked_output: str):
        """The loop path of one layer-direction as one graph node under graph capture
        (``(out, final state tuple)``), or None where the family has none (captured unrolled)."""
        return None

    # ------------------------------------------------------------------ NumPy reference (lstmkit.viz.trace)
    def traceable(self, spec: Spec) -> bool:
        """Whether the NumPy reference cells can run the spec."""
        return True

    def trace_keys(self, spec: Spec) -> list[str]:
        """The recorded quantities, in order."""
        raise NotImplementedError

    def reference_step(self, spec: Spec, params: dict[str, np.ndarray],
                       zoneout: tuple[float, ...]) -> ReferenceStep:
        """The float64 reference step with eval-mode zoneout (the rates of the module)."""
        raise NotImplementedError


@dataclass(frozen=True)
class LSTMFamily(Family):
    """The LSTM family: states ``(h, c)``, projections, forget bias, bf16 fused GEMMs."""

    def shapes(self, spec, input_size, hidden, proj, bias, layer_norm):
        return lstm_shapes(spec, input_size, hidden, proj, bias, layer_norm)

    def state_widths(self, state_size, hidden):
        return (state_size, hidden)

    def extra_state_widths(self, spec, hidden):
        return (len(spec.sigmoid_gates) * hidden,) if spec.full_gate_recurrence else ()

    def input_projection(self, spec, p, x):
        return steps.lstm_input_projection(spec, p, x)

    def step(self, spec, p, recurrent_mask):
        return steps.LSTMStep(spec, p, recurrent_mask)

    def fused_input(self, spec, p, x):
        return x  # fused.lstm_layer projects inside

    def run_fused(self, spec, p, gx, state0, *, rmask, step_mask, keep, zoneout, bf16):
        run = traced.lstm_layer if traced.capturing(gx) else fused.lstm_layer  # graph capture: one opaque op
        out, h, c = run(spec, p, gx, state0[0], state0[1], rmask=rmask, step_mask=step_mask,
                        keep_h=keep[0], keep_c=keep[1], zoneout=zoneout, bf16=bf16)
        return out, (h, c)

    def trace_keys(self, spec):
        gates = [k for k in ("i", "f", "g", "o") if k in spec.gates or (k == "f" and spec.coupled)]
        return [*gates, "c", "h"]

    def reference_step(self, spec, params, zoneout):
        z_h, z_c = (tuple(zoneout) + (0.0,))[:2]
        rates = (z_c, z_h) if (z_h or z_c) else None
        gates_kept = self.trace_keys(spec)[:-2]
        fgr = spec.full_gate_recurrence

        def step(x_t, st):
            h, c, gates = lstm_step(spec, params, x_t, st[0], st[1], prev_gates=st[2] if fgr else None,
                                    zoneout=rates)
            new = (h, c, sigmoid_gate_state(spec, gates)) if fgr else (h, c)
            return h, new, {**{k: gates[k] for k in gates_kept}, "c": c, "h": h}

        return step


@dataclass(frozen=True)
class GRUFamily(Family):
    """The GRU family: one state; MUT1/MUT2 need square layers."""

    def shapes(self, spec, input_size, hidden, proj, bias, layer_norm):
        return gru_shapes(spec, input_size, hidden, bias, layer_norm)

    def square_input(self, spec):
        return spec.needs_square_input

    def input_projection(self, spec, p, x):
        return steps.gru_input_projection(spec, p, x)

    def step(self, spec, p, recurrent_mask):
        return steps.GRUStep(spec, p, recurrent_mask)

    def fused_input(self, spec, p, x):
        # the projection here, its input layer norm (if any) in the kernel
        project = traced.input_projection if traced.capturing(x) else fused.input_projection
        return project(x, p["weight_ih"], None if "ln_ih_weight" in p else p.get("bias_ih"))

    def run_fused(self, spec, p, gx, state0, *, rmask, step_mask, keep, zoneout, bf16):
        run = traced.gru_recurrence if traced.capturing(gx) else fused_gru.gru_recurrence
        out, h = run(spec, p, gx, state0[0], rmask=rmask, step_mask=step_mask,
                     keep_h=keep[0], zoneout=zoneout[0], input_ln="ln_ih_weight" in p)
        return out, (h,)

    def trace_keys(self, spec):
        return ["r", "z", "n", "h"]

    def reference_step(self, spec, params, zoneout):
        def step(x_t, st):
            h, gates = gru_step(spec, params, x_t, st[0], zoneout=zoneout[0] or None)
            return h, (h,), {"r": gates["r"], "z": gates["z"], "n": gates["n"], "h": h}

        return step


@dataclass(frozen=True)
class RNNFamily(Family):
    """The Elman RNN: one state, no gates; torch's kernels for tanh/relu, the loop otherwise."""

    def shapes(self, spec, input_size, hidden, proj, bias, layer_norm):
        return rnn_shapes(input_size, hidden, bias)

    def native_name(self, spec):
        return f"rnn_{spec.activation}"  # rnn_tanh / rnn_relu: native_blockers refuses the others

    def input_projection(self, spec, p, x):
        return steps.rnn_input_projection(spec, p, x)

    def step(self, spec, p, recurrent_mask):
        return steps.RNNStep(spec, p, recurrent_mask)

    def captured_loop(self, spec, p, gx, state0, *, rmask, step_mask, lengths, reverse, zoneout, keep,
                      masked_output):
        if not isinstance(spec.activation, str):  # a callable cannot cross an op schema
            return None
        out, h = traced_elman.elman_sequence(spec.activation, gx, state0[0], p["weight_hh"], rmask=rmask,
                                             step_mask=step_mask, lengths=lengths, keep=keep[0] if keep else None,
                                             zoneout=zoneout[0], reverse=reverse, carry=masked_output == "carry")
        return out, (h,)

    def traceable(self, spec):
        return isinstance(spec.activation, str)

    def trace_keys(self, spec):
        return ["a", "h"]

    def reference_step(self, spec, params, zoneout):
        def step(x_t, st):
            h, values = simple_rnn_step(spec, params, x_t, st[0], zoneout=zoneout[0] or None)
            return h, (h,), {"a": values["a"], "h": h}

        return step


LSTM = LSTMFamily("lstm", "LSTM", LSTMSpec, ("h", "c"), native_speedup=True, bf16=True, forget_gate=True,
                  projection=True)
GRU = GRUFamily("gru", "GRU", GRUSpec)
RNN = RNNFamily("rnn", "RNN", RNNSpec, fused_unsupported="the Elman RNN (lstmkit's fused kernels run the LSTM "
                "and GRU families)")
FAMILIES: tuple[Family, ...] = (LSTM, GRU, RNN)


def family_of(spec: Spec) -> Family:
    """The family a spec belongs to."""
    for family in FAMILIES:
        if isinstance(spec, family.spec_type):
            return family
    raise TypeError(f"no recurrent family for spec {spec!r}")
