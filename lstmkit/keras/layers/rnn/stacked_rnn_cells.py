"""``StackedRNNCells(cells)``: a stack of cells that acts as one cell, as ``keras.layers.StackedRNNCells``.

At each step the first cell reads the step input, each later cell the output of the one below;
the stack's state is the list of the cells' states. ``RNN([cell_a, cell_b])`` wraps its list in
one of these. When every cell is a built-in one, ``RNN`` runs the stack cell by cell over the
whole sequence on the fused kernels instead of stepping (``rnn.py``).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import torch

from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.engine.registry import register, serialize
from lstmkit.keras.layers.rnn.time_distributed import deserialize_layer


def check_cell(cell: Any, where: str) -> None:
    """A cell needs ``call`` and ``state_size`` (Keras' ValueErrors)."""
    if "call" not in dir(cell):
        raise ValueError(f"{where}: all cells must have a `call` method. Received cell without a `call` method: "
                         f"{cell!r}")
    if "state_size" not in dir(cell):
        raise ValueError(f"{where}: all cells must have a `state_size` attribute (an int, or a list of ints, one per "
                         f"state). Received cell without a `state_size`: {cell!r}")


def cell_output_size(cell: Any) -> Any:
    """``cell.output_size``, else the first state size (Keras' rule)."""
    size = getattr(cell, "output_size", None)
    if size is not None:
        return size
    state = cell.state_size
    return state[0] if isinstance(state, (list, tuple)) else state


def _is_dims(size: Any) -> bool:
    return isinstance(size, (list, tuple)) and bool(size) and all(
        isinstance(d, int) and not isinstance(d, bool) for d in size)


def zero_states(state_size: Any, batch_size: int, dtype: torch.dtype, device: Any = None, top: bool = True) -> Any:
    """Zeros of a cell's ``state_size``: an int gives one (batch, size) tensor; a list/tuple one
    state per entry, where an entry that is itself a list/tuple of ints is the shape of one state
    ((batch, *shape): the tf.keras guide's ``TensorShape([unit_2, unit_3])``); a dict one state per key."""
    if isinstance(state_size, dict):
        return {k: zero_states(s, batch_size, dtype, device, top=False) for k, s in state_size.items()}
    if isinstance(state_size, (list, tuple)):
        if not top and _is_dims(state_size):
            return torch.zeros(batch_size, *state_size, dtype=dtype, device=device)
        return [zero_states(s, batch_size, dtype, device, top=False) for s in state_size]
    return torch.zeros(batch_size, int(state_size), dtype=dtype, device=device)


def initial_state_of(cell: Any, batch_size: int, dtype: torch.dtype, device: Any = None) -> Any:
    """The cell's ``get_initial_state(batch_size=)`` when it has one, else zeros of its ``state_size``."""
    fn = getattr(cell, "get_initial_state", None)
    if fn is not None:
        return fn(batch_size=batch_size)
    return zero_states(cell.state_size, batch_size, dtype, device)


def call_accepts(cell: Any, name: str) -> bool:
    """Whether ``cell.call`` takes the keyword ``name`` (or ``**kwargs``)."""
    params = inspect.signature(cell.call).parameters
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def call_cell(cell: Any, inputs: Any, states: list[Any], **kwargs: Any) -> tuple[Any, Any]:
    """One step of any cell: through ``Layer.__call__`` for layers (building, modes), else ``call``."""
    kwargs = {k: v for k, v in kwargs.items() if k != "training" or call_accepts(cell, "training")}
    return cell(inputs, states, **kwargs) if isinstance(cell, Layer) else cell.call(inputs, states, **kwargs)


@register("layer")
class StackedRNNCells(Layer):
    """Wraps a list of cells so that they behave as one cell (Keras 3's ``StackedRNNCells``).

    Args:
        cells: the cells, bottom first; each has ``call(inputs, states)`` and ``state_size``.

    ``state_size`` is the list of the cells' state sizes, ``output_size`` the top cell's, and
    ``get_initial_state(batch_size)`` the list of the cells' initial states.
    """

    def __init__(self, cells: Sequence[Any], **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(cells, (str, bytes)) or not isinstance(cells, Sequence) or not cells:
            raise ValueError(f"StackedRNNCells: cells must be a non-empty list of RNN cells, got {cells!r}")
        for cell in cells:
            check_cell(cell, "StackedRNNCells")
        self.cells = list(cells)
        for k, cell in enumerate(self.cells):
            if isinstance(cell, torch.nn.Module):
                self.add_module(f"cell_{k}", cell)  # their weights are the stack's, in order

    @property
    def state_size(self) -> list[Any]:
        return [c.state_size for c in self.cells]

    @property
    def output_size(self) -> Any:
        return cell_output_size(self.cells[-1])

    def get_initial_state(self, batch_size: int | None = None) -> list[Any]:
        return [initial_state_of(c, batch_size, self.compute_dtype) for c in self.cells]

    def build(self, input_shape: Any) -> None:
        batch = input_shape[0] if not isinstance(input_shape[0], (list, tuple)) else input_shape[0][0]
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell._maybe_build(input_shape)
            input_shape = (batch, cell_output_size(cell))

    def call(self, inputs: Any, states: Any, training: bool | None = None, **kwargs: Any) -> tuple[Any, Any]:
        if not isinstance(states, (list, tuple)) or len(states) != len(self.cells):
            got = len(states) if isinstance(states, (list, tuple)) else type(states).__name__
            raise ValueError(f"StackedRNNCells {self.name!r} takes one state (or list of states) per cell, "
                             f"{len(self.cells)} in all; got {got}")
        new_states = []
        for cell, state in zip(self.cells, states):
            is_list = isinstance(state, (list, tuple))
            inputs, state = call_cell(cell, inputs, list(state) if is_list else [state], training=training, **kwargs)
            state = list(state) if isinstance(state, (list, tuple)) else [state]
            new_states.append(state[0] if len(state) == 1 and not is_list else state)
        return inputs, (new_states[0] if len(new_states) == 1 else new_states)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cells": [serialize(c) for c in self.cells]}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> StackedRNNCells:
        config = dict(config)
        cells = [deserialize_layer(c) for c in config.pop("cells")]
        return cls(cells, **config)
