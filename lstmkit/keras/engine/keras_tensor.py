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

    # Python operators make graph nodes, as in Keras 3 (lstmkit.keras.ops.symbolic). == and != are
    # left as identity comparisons: the engine finds tensors in lists and dicts by them.
    def __add__(self, other):
        return _op("add", self, other)

    def __radd__(self, other):
        return _op("add", other, self)

    def __sub__(self, other):
        return _op("subtract", self, other)

    def __rsub__(self, other):
        return _op("subtract", other, self)

    def __mul__(self, other):
        return _op("multiply", self, other)

    def __rmul__(self, other):
        return _op("multiply", other, self)

    def __matmul__(self, other):
        return _op("matmul", self, other)

    def __rmatmul__(self, other):
        return _op("matmul", other, self)

    def __truediv__(self, other):
        return _op("true_divide", self, other)

    def __rtruediv__(self, other):
        return _op("true_divide", other, self)

    def __floordiv__(self, other):
        return _op("floor_divide", self, other)

    def __rfloordiv__(self, other):
        return _op("floor_divide", other, self)

    def __mod__(self, other):
        return _op("mod", self, other)

    def __rmod__(self, other):
        return _op("mod", other, self)

    def __pow__(self, other):
        return _op("power", self, other)

    def __rpow__(self, other):
        return _op("power", other, self)

    def __neg__(self):
        return _op("negative", self)

    def __abs__(self):
        return _op("absolute", self)

    def __lt__(self, other):
        return _op("less", self, other)

    def __le__(self, other):
        return _op("less_equal", self, other)

    def __gt__(self, other):
        return _op("greater", self, other)

    def __ge__(self, other):
        return _op("greater_equal", self, other)

    def __and__(self, other):
        return _op("logical_and", self, other)

    def __or__(self, other):
        return _op("logical_or", self, other)

    def __invert__(self):
        return _op("logical_not", self)

    def __getitem__(self, key):
        return _op("get_item", self, key)


def _op(name: str, *args: Any) -> KerasTensor:
    """The keras op ``name`` on symbolic arguments (a graph node); found through the registry
    because the engine sits below lstmkit.keras.ops."""
    from lstmkit.keras.engine import registry

    return registry.resolve("symbolic_op", name)(*args)


def flatten(structure: Any) -> list:
    """A tensor, or nested lists/tuples of them, as a flat list."""
    if isinstance(structure, (list, tuple)):
        return [t for item in structure for t in flatten(item)]
    if isinstance(structure, dict):
        return [t for item in structure.values() for t in flatten(item)]
    return [structure]


def is_symbolic(structure: Any) -> bool:
    return any(isinstance(t, KerasTensor) for t in flatten(structure))
