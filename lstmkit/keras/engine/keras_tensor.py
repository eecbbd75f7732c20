"""Symbolic tensors of the functional API: ``Input(shape=(T, F))`` returns one, calling a layer
on one returns another, and each remembers the ``Node`` (layer call) that produced it.

A functional ``Model(inputs, outputs)`` walks these nodes back from its outputs to its inputs
to find the graph it runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass(eq=False)
class Node:
    """One call of a layer in a graph: which layer, on which symbolic inputs, with which
    non-tensor keyword arguments, producing which outputs."""

    layer: Any  # lstmkit.keras.engine.layer.Layer (typed loosely to avoid an import cycle)
    inputs: Any  # the KerasTensor structure passed to the layer (tensor, list or tuple)
    kwargs: dict[str, Any] = field(default_factory=dict)
    outputs: list[KerasTensor] = field(default_factory=list)

    @property
    def input_tensors(self) -> list[KerasTensor]:
        return flatten(self.inputs)


@dataclass(eq=False)
class KerasTensor:
    """A placeholder with a shape (``None`` for unknown sizes, always for the batch) and a dtype.

    ``has_mask`` says whether a mask travels with it (from ``Embedding(mask_zero=True)`` or
    ``Masking``); ``node`` and ``index`` say which layer call made it (None for an Input).
    """

    shape: tuple[int | None, ...]
    dtype: torch.dtype = torch.float32
    name: str = ""
    has_mask: bool = False
    node: Node | None = None
    index: int = 0
    input_layer: Any = None  # the InputLayer, for tensors made by Input()

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={str(self.dtype).removeprefix('torch.')}, name={self.name}>"

    # Python operators on symbolic tensors are not supported: say so clearly.
    def __add__(self, other):
        raise TypeError("use lstmkit.keras.layers.Add()([a, b]) to add symbolic tensors in a functional model")

    __radd__ = __add__


def flatten(structure: Any) -> list:
    """A tensor, or nested lists/tuples of them, as a flat list."""
    if isinstance(structure, (list, tuple)):
        return [t for item in structure for t in flatten(item)]
    if isinstance(structure, dict):
        return [t for item in structure.values() for t in flatten(item)]
    return [structure]


def is_symbolic(structure: Any) -> bool:
    return any(isinstance(t, KerasTensor) for t in flatten(structure))
