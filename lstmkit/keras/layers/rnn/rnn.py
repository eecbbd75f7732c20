"""``RNN(cell)``: the generic recurrent layer, as ``keras.layers.RNN``: the time loop around a cell.

Any cell works: a Layer (or object) with ``state_size`` (an int, a list of ints or of state
shapes, nested lists, or a dict: one state structure) and ``call(inputs, states) -> (output,
new_states)``, optionally ``get_initial_state``,
``output_size`` and a ``constants=`` argument; a list of cells becomes ``StackedRNNCells``. A
user cell runs in a plain Python loop over the time steps, on nested inputs too (lists, tuples
and dicts of (batch, time, ...) tensors, one structure per step, as the Keras guide "Working with
RNNs"); its outputs and states may be such structures too.

The built-in cells (``LSTMCell``, ``GRUCell``, ``SimpleRNNCell``, and stacks of them) take a
faster road when nothing per-step needs the loop (no dropout mask in this call, no
``unroll``, no ``constants``): each cell runs the whole sequence on the ``lstmkit.nn`` module
of ``LSTM`` / ``GRU`` / ``SimpleRNN`` with the cell's own weights (``FamilyCell.run_sequence``),
so ``RNN(LSTMCell(n))`` gives ``LSTM(n)``'s outputs on the same fused kernels, and its
gradients reach the cell's parameters.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lstmkit.keras.engine import layer as engine_layer
from lstmkit.keras.engine.keras_tensor import KerasTensor, flatten
from lstmkit.keras.engine.layer import Layer, as_tensor
from lstmkit.keras.engine.registry import register, serialize
from lstmkit.keras.layers.common import as_bool_mask
from lstmkit.keras.layers.rnn.cell_base import FamilyCell
from lstmkit.keras.layers.rnn.dropout_rnn_cell import DropoutRNNCell
from lstmkit.keras.layers.rnn.rnn_base import UNROLL_NEEDS_TIMESTEPS, set_sequence_options
from lstmkit.keras.layers.rnn.stacked_rnn_cells import (
    StackedRNNCells,
    call_accepts,
    call_cell,
    check_cell,
    initial_state_of,
)
from lstmkit.keras.layers.rnn.time_distributed import deserialize_layer


def map_structure(fn: Any, *structures: Any) -> Any:
    """``fn`` over the leaves of equally nested lists/tuples/dicts (the container types kept;
    dicts are matched by key)."""
    first = structures[0]
    if isinstance(first, (list, tuple)):
        return type(first)(map_structure(fn, *parts) for parts in zip(*structures))
    if isinstance(first, dict):
        return {k: map_structure(fn, *(s[k] for s in structures)) for k in first}
    return fn(*structures)


def _is_shape(s: Any) -> bool:
    return isinstance(s, (list, tuple)) and all(d is None or isinstance(d, int) for d in s)


def _step_shape(shape: Any) -> Any:
    """The build shape of one step: (batch, time, *rest) -> (batch, *rest), over a structure."""
    if _is_shape(shape):
        if len(shape) < 3:
            raise ValueError(f"RNN expects inputs of shape (batch, timesteps, features...), got shape {tuple(shape)}")
        return (shape[0], *shape[2:])
    if isinstance(shape, dict):
        return {k: _step_shape(s) for k, s in shape.items()}
    return type(shape)(_step_shape(s) for s in shape)


def _where(keep: torch.Tensor, new: torch.Tensor, old: torch.Tensor) -> torch.Tensor:
    """``new`` where the (batch,) step mask is True, else ``old`` (any trailing shape)."""
    return torch.where(keep.reshape(-1, *[1] * (new.dim() - 1)), new, old)


def _first_mask(mask: Any) -> Any:
    """One (batch, time) mask from a structure of masks (nested inputs): the first one given."""
    if isinstance(mask, (list, tuple, dict)):
        leaves = flatten(mask)
        if all(m is None or isinstance(m, (torch.Tensor, np.ndarray)) for m in leaves):  # not a list of bools
            return next((m for m in leaves if m is not None), None)
    return mask


def _reset_masks(cell: Any) -> None:
    if isinstance(cell, DropoutRNNCell):
        cell.reset_dropout_mask()
        cell.reset_recurrent_dropout_mask()
    for inner in getattr(cell, "cells", None) or ():
        _reset_masks(inner)


@register("layer")
class RNN(Layer):
    """Base class for recurrent layers: runs ``cell`` over the time axis (``keras.layers.RNN``).

    Args:
        cell: an RNN cell (see the module docstring) or a list of cells (stacked).
        return_sequences: return every step's output (batch, time, ...) instead of the last.
        return_state: also return the final states: ``[output, *states]``.
        go_backwards: process the sequence backwards (outputs in that reversed order, as Keras).
        stateful: the final states of a batch are the initial states of the next one; needs a
            fixed batch size. ``reset_states(states=None)`` zeroes them (or sets them).
        unroll: run a step-by-step Python loop even for the built-in cells (the same results,
            without the fused kernels). Needs a known number of timesteps in a functional model:
            an Input with ``shape=(None, ...)`` raises Keras' ValueError.
        zero_output_for_mask: with a mask, masked steps output zeros instead of the previous output.
        name, trainable, dtype, input_shape, batch_input_shape: see ``Layer``.

    Call: ``layer(sequences, initial_state=None, mask=None, training=None, constants=None)``.
    ``sequences`` is (batch, time, features) or a list/tuple/dict of such tensors (nested inputs);
    masked steps keep the states. ``constants`` (a tensor or list, lstmkit's keeping of Keras 2's
    argument) is passed to ``cell.call(..., constants=...)`` at every step when the cell takes it.
    """

    def __init__(self, cell: Any, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, **kwargs: Any):
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        if "call" not in dir(cell):
            raise ValueError(f"Argument `cell` should have a `call` method. Received: cell={cell!r}")
        check_cell(cell, "RNN")
        state_size = getattr(cell, "state_size", None)
        if state_size is None:
            raise ValueError("state_size must be specified as property on the RNN cell.")
        if isinstance(state_size, bool) or not isinstance(state_size, (list, tuple, int, dict)):
            raise ValueError("state_size must be an integer, or a list/tuple of integers (one for each state tensor), "
                             f"or a dict of them (one state structure). Received: state_size={state_size!r}")
        super().__init__(**kwargs)
        self.cell = cell
        set_sequence_options(self, return_sequences, return_state, go_backwards, stateful, unroll,
                             zero_output_for_mask)
        self.states: list[Any] | None = None

    #: symbolic calls run the cell on dummy tensors: a nested cell has no single ``output_size`` for
    #: ``compute_output_shape`` (which, as Keras', needs an int).
    _shapes_from_dummy_runs = True

    @property
    def state_size(self) -> list[Any]:
        size = self.cell.state_size
        return [size] if isinstance(size, (int, dict)) else list(size)

    # ------------------------------------------------------------------ building
    def build(self, sequences_shape: Any, initial_state_shape: Any = None) -> None:
        step = _step_shape(sequences_shape)
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell._maybe_build(step)

    def _symbolic_call(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        first = flatten(inputs)[0]
        if isinstance(first, KerasTensor):
            if self.unroll and len(first.shape) > 1 and first.shape[1] is None:
                raise ValueError(UNROLL_NEEDS_TIMESTEPS)
            if self.stateful and first.shape[0] is None:
                raise ValueError(f"RNN layer {self.name!r}: when using `stateful=True` in a RNN, the batch size must "
                                 f"be static. Found dynamic batch size: sequence.shape={first.shape}")
        return super()._symbolic_call(inputs, *args, **kwargs)

    # ------------------------------------------------------------------ calling
    def call(self, sequences: Any, initial_state: Any = None, mask: Any = None, training: bool | None = None,
             constants: Any = None) -> Any:
        leaves = self._check_inputs(sequences)
        x0 = leaves[0]
        B, T = x0.shape[:2]
        self._place(x0)
        mask = _first_mask(mask)
        mask = as_bool_mask(mask, x0)
        if mask is not None and tuple(mask.shape[:2]) != (B, T):
            raise ValueError(f"RNN layer {self.name!r}: mask must have shape (batch, timesteps) = {(B, T)}, got "
                             f"{tuple(mask.shape)}")
        if mask is not None:
            mask = mask.reshape(B, T, -1)[..., 0]
        states = self._initial_states(initial_state, B, x0)
        if self.go_backwards:
            sequences = map_structure(lambda t: t.flip(1), sequences)
            mask = None if mask is None else mask.flip(1)
        _reset_masks(self.cell)
        try:
            cells = self._sequence_cells(training, constants, sequences)
            if cells is not None:
                outputs, final = self._run_cells(cells, sequences, states, mask)
                last = outputs[:, -1]
            else:
                outputs, last, final = self._loop(sequences, states, mask, training, constants)
        finally:
            _reset_masks(self.cell)
        if self.stateful and not engine_layer.TRACING:
            self.states = map_structure(lambda s: s.detach(), final)
            self._expected_batch = B
        output = outputs if self.return_sequences else last
        return [output, *final] if self.return_state else output

    def _check_inputs(self, sequences: Any) -> list[torch.Tensor]:
        leaves = flatten(sequences)
        if not leaves or any(not isinstance(t, torch.Tensor) for t in leaves):
            raise ValueError(f"RNN layer {self.name!r} expects a tensor or a list/tuple of tensors, got {sequences!r}")
        B, T = leaves[0].shape[:2] if leaves[0].dim() >= 2 else (None, None)
        for t in leaves:
            if t.dim() < 3 or tuple(t.shape[:2]) != (B, T):
                raise ValueError(f"RNN layer {self.name!r} expects inputs of shape (batch, timesteps, features...) "
                                 f"with one batch and time size, got shapes {[tuple(x.shape) for x in leaves]}")
        if T == 0:
            raise ValueError(f"RNN layer {self.name!r} needs at least one timestep, got shape {tuple(leaves[0].shape)}")
        return leaves

    def _place(self, x: torch.Tensor) -> None:
        weight = next(self.parameters(), None)
        if weight is not None and weight.device != x.device:
            self.to(x.device)

    def _initial_states(self, initial_state: Any, B: int, x: torch.Tensor) -> list[Any]:
        if self.stateful and self._expected_batch is not None and B != self._expected_batch:
            raise ValueError(f"If an RNN is stateful, the batch size of the input sequences must be the same as the "
                             f"batch size of the initial state. \n- Expected batch size: {self._expected_batch}\n"
                             f"- Received batch size: {B}")
        if initial_state is None and self.stateful and self.states is not None:
            initial_state = self.states
        if initial_state is None:
            initial_state = initial_state_of(self.cell, B, self.compute_dtype, x.device)
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        if len(states) != len(self.state_size):
            raise ValueError(f"RNN layer {self.name!r}: the cell has {len(self.state_size)} state(s) (state_size="
                             f"{self.cell.state_size!r}), got {len(states)} initial state tensor(s)")

        def place(s: Any) -> torch.Tensor:
            if isinstance(s, KerasTensor):  # symbolic shape inference: a placeholder of the right size
                s = torch.zeros(tuple(B if d is None else d for d in s.shape))
            s = as_tensor(s)
            if s.dim() < 1 or s.shape[0] != B:
                raise ValueError(f"RNN layer {self.name!r}: initial states must have the batch size {B} first, got "
                                 f"shape {tuple(s.shape)}")
            return s.to(device=x.device, dtype=self.compute_dtype)

        return map_structure(place, states)

    def _sequence_cells(self, training: bool | None, constants: Any, sequences: Any) -> list[FamilyCell] | None:
        """The built-in cells to run sequence by sequence, or None when the step loop must run."""
        if self.unroll or constants is not None or not isinstance(sequences, torch.Tensor):
            return None
        cells = self.cell.cells if isinstance(self.cell, StackedRNNCells) else [self.cell]
        if all(isinstance(c, FamilyCell) and c.built and c.can_run_sequence(training) for c in cells):
            return cells
        return None

    def _run_cells(self, cells: list[FamilyCell], x: torch.Tensor, states: list[Any], mask: torch.Tensor | None):
        stacked = isinstance(self.cell, StackedRNNCells)
        per_cell = states if stacked else [states]
        finals = []
        for cell, state in zip(cells, per_cell):
            is_list = isinstance(state, (list, tuple))
            x, final = cell.run_sequence(x, list(state) if is_list else [state], mask, self.zero_output_for_mask)
            finals.append(final if is_list or len(final) > 1 else final[0])
        return x, (finals if stacked else finals[0])

    def _loop(self, sequences: Any, states: list[Any], mask: torch.Tensor | None, training: bool | None,
              constants: Any):
        """The plain Python loop over time steps: ``(outputs, last output, final states)``."""
        kwargs: dict[str, Any] = {"training": training}
        device = flatten(sequences)[0].device
        if constants is not None:
            if not call_accepts(self.cell, "constants"):
                raise ValueError(f"RNN layer {self.name!r} got constants=, but its cell's call() takes no "
                                 "`constants` argument")
            kwargs["constants"] = map_structure(lambda c: as_tensor(c).to(device), constants)
        T = flatten(sequences)[0].shape[1]
        outputs, previous = [], None
        for t in range(T):
            x_t = map_structure(lambda s, t=t: s[:, t], sequences)
            # a dict state_size is one state structure: the cell gets (and returns) the dict itself
            out, new = call_cell(self.cell, x_t, states[0] if self._dict_state else states, **kwargs)
            new = list(new) if isinstance(new, (list, tuple)) else [new]
            if mask is not None:
                new = map_structure(lambda n, o, t=t: _where(mask[:, t], n, o), new, states)
                if previous is None:
                    previous = map_structure(torch.zeros_like, out)
                fallback = map_structure(torch.zeros_like, out) if self.zero_output_for_mask else previous
                out = map_structure(lambda n, o, t=t: _where(mask[:, t], n, o), out, fallback)
            outputs.append(out)
            previous, states = out, new
        seq = map_structure(lambda *steps: torch.stack(steps, dim=1), *outputs) if self.return_sequences else None
        return seq, outputs[-1], states

    @property
    def _dict_state(self) -> bool:
        return isinstance(self.cell.state_size, dict)

    def compute_output_shape(self, sequences_shape: Any, initial_state_shape: Any = None) -> Any:
        """The output shape(s) for inputs of ``sequences_shape`` (batch, time, ...), as Keras:
        ``output_size`` (else the first state size) must be an int."""
        batch, length = sequences_shape[0], sequences_shape[1]
        states = [(batch, s) if isinstance(s, int) else [(batch, d) for d in s] for s in self.state_size]
        size = getattr(self.cell, "output_size", None)
        size = self.state_size[0] if size is None else size
        if isinstance(size, bool) or not isinstance(size, int):
            raise ValueError(f"output_size must be an integer. Received: output_size={size!r}")
        output = (batch, length, size) if self.return_sequences else (batch, size)
        return (output, *states) if self.return_state else output

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        first = _first_mask(mask)
        output_mask = as_bool_mask(first) if self.return_sequences and first is not None else None
        if self.return_state:
            return [output_mask] + [None] * len(self.state_size)
        return output_mask

    # ------------------------------------------------------------------ states
    def get_initial_state(self, batch_size: int) -> list[Any]:
        state = initial_state_of(self.cell, batch_size, self.compute_dtype)
        return list(state) if isinstance(state, (list, tuple)) else [state]

    def reset_states(self, states: Any = None) -> None:
        """Zero the kept states of a stateful RNN, or set them to ``states`` (the same structure
        of arrays as the states). A layer that is not stateful keeps none: nothing to do."""
        if not self.stateful:
            return
        if states is None:
            if self.states is not None:
                self.states = map_structure(torch.zeros_like, self.states)
            return
        values = list(states) if isinstance(states, (list, tuple)) else [states]
        values = map_structure(lambda v: as_tensor(v).to(self.compute_dtype), values)
        if self.states is not None:
            want = [tuple(s.shape) for s in flatten(self.states)]
            got = [tuple(v.shape) for v in flatten(values)]
            if want != got:
                raise ValueError(f"reset_states: layer {self.name!r} expects states of shapes {want}, got {got}")
        self.states = values
        self._expected_batch = int(flatten(values)[0].shape[0])

    reset_state = reset_states

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(return_sequences=self.return_sequences, return_state=self.return_state,
                      go_backwards=self.go_backwards, stateful=self.stateful, unroll=self.unroll,
                      zero_output_for_mask=self.zero_output_for_mask, cell=serialize(self.cell))
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> RNN:
        config = dict(config)
        cell = deserialize_layer(config.pop("cell"))
        return cls(cell, **config)

