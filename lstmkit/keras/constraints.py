"""Weight constraints (``lstmkit.keras.constraints``), Keras 3 formulas.

A constraint maps a weight (Keras layout: a Dense kernel is ``(input_dim, units)``, so ``axis=0``
constrains each unit's incoming weight vector) to its projection; ``Layer.apply_constraints``
copies the projection back after every optimizer step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from lstmkit.keras.engine.registry import Resolver, add_resolver, register

#: Keras' backend.epsilon(): keeps the norm division finite for all-zero weight vectors.
EPSILON = 1e-7

Axis = int | Sequence[int]


def _dims(axis: Axis) -> int | tuple[int, ...]:
    return tuple(axis) if isinstance(axis, (list, tuple)) else axis


def _norms(w: torch.Tensor, axis: Axis) -> torch.Tensor:
    return w.square().sum(dim=_dims(axis), keepdim=True).sqrt()


class Constraint:
    """Base class: ``__call__(w) -> projected w`` (the identity here); ``get_config`` for saving."""

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        return w

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Constraint:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


@register("constraint", "max_norm")
class MaxNorm(Constraint):
    """Rescales each weight vector along ``axis`` whose L2 norm exceeds ``max_value``.

    Args:
        max_value: the maximum norm.
        axis: the axis (or axes) the norms are computed over (0: each unit of a Dense kernel).
    """

    def __init__(self, max_value: float = 2, axis: Axis = 0):
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        norms = _norms(w, self.axis)
        desired = norms.clamp(0, self.max_value)
        return w * (desired / (EPSILON + norms))

    def get_config(self) -> dict[str, Any]:
        return {"max_value": self.max_value, "axis": self.axis}


@register("constraint", "non_neg")
class NonNeg(Constraint):
    """Clips negative weights to 0."""

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        return w.clamp_min(0)


@register("constraint", "unit_norm")
class UnitNorm(Constraint):
    """Rescales each weight vector along ``axis`` to unit L2 norm.

    Args:
        axis: the axis (or axes) the norms are computed over.
    """

    def __init__(self, axis: Axis = 0):
        self.axis = axis

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        return w / (EPSILON + _norms(w, self.axis))

    def get_config(self) -> dict[str, Any]:
        return {"axis": self.axis}


@register("constraint", "min_max_norm")
class MinMaxNorm(Constraint):
    """Moves each weight vector's norm towards ``[min_value, max_value]``: the new norm is
    ``rate * clip(norm, min_value, max_value) + (1 - rate) * norm``.

    Args:
        min_value: the minimum norm.
        max_value: the maximum norm.
        rate: 1.0 enforces the bounds strictly; less moves part of the way each step.
        axis: the axis (or axes) the norms are computed over.
    """

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0, axis: Axis = 0):
        if min_value > max_value:
            raise ValueError(f"MinMaxNorm needs min_value <= max_value, got {min_value} > {max_value}")
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        norms = _norms(w, self.axis)
        desired = self.rate * norms.clamp(self.min_value, self.max_value) + (1 - self.rate) * norms
        return w * (desired / (EPSILON + norms))

    def get_config(self) -> dict[str, Any]:
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm


_CONSTRAINTS = Resolver("constraint", "a name, a dict, a Constraint or a callable fn(w) -> w")


def get(identifier: Any) -> Any:
    """A constraint from a name ("max_norm", "MaxNorm", "non_neg", ...), a serialized dict, a
    Constraint (instance or class) or any callable ``fn(w) -> w``. None -> None."""
    return _CONSTRAINTS.get(identifier)


def serialize(constraint: Any) -> Any:
    """``{"class_name": ..., "config": ...}`` (None stays None)."""
    return _CONSTRAINTS.serialize(constraint)


def deserialize(config: Any) -> Any:
    return _CONSTRAINTS.deserialize(config)


add_resolver("constraint", get)  # for Layer.add_weight (the engine does not import this module)

__all__ = ["Constraint", "MaxNorm", "NonNeg", "UnitNorm", "MinMaxNorm", "max_norm", "non_neg", "unit_norm",
           "min_max_norm", "get", "serialize", "deserialize"]
