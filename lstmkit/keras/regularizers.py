"""Weight and activity penalties (``lstmkit.keras.regularizers``), Keras 3 formulas.

A regularizer is called on a weight (Keras layout) and returns a 0-dim tensor that the training
loop adds to the loss: ``L1(l1)(w) = l1 * sum(|w|)``, ``L2(l2)(w) = l2 * sum(w**2)``.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from lstmkit.keras.engine.registry import Resolver, add_resolver, register


def _factor(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or math.isinf(value) \
            or value < 0:
        raise ValueError(f"regularization factor {name} must be a non-negative finite float, got {value!r}")
    return float(value)


class Regularizer:
    """Base class: ``__call__(weight) -> 0-dim tensor``; ``get_config``/``from_config`` for saving.
    Any function ``fn(weight) -> scalar tensor`` can be used in place of a Regularizer."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros((), dtype=x.dtype, device=x.device)

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__} does not implement get_config()")

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Regularizer:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


@register("regularizer", "l1l2")
class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x**2)``.

    Args:
        l1: L1 factor (None means 0).
        l2: L2 factor (None means 0).
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = _factor(0.0 if l1 is None else l1, "l1")
        self.l2 = _factor(0.0 if l2 is None else l2, "l2")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.zeros((), dtype=x.dtype, device=x.device)
        if self.l1:
            out = out + self.l1 * x.abs().sum()
        if self.l2:
            out = out + self.l2 * x.square().sum()
        return out

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1, "l2": self.l2}


@register("regularizer", "l1")
class L1(Regularizer):
    """``l1 * sum(|x|)``.

    Args:
        l1: the factor (None means the default 0.01).
    """

    def __init__(self, l1: float = 0.01):
        self.l1 = _factor(0.01 if l1 is None else l1, "l1")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.l1 * x.abs().sum()

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1}


@register("regularizer", "l2")
class L2(Regularizer):
    """``l2 * sum(x**2)``.

    Args:
        l2: the factor (None means the default 0.01).
    """

    def __init__(self, l2: float = 0.01):
        self.l2 = _factor(0.01 if l2 is None else l2, "l2")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.l2 * x.square().sum()

    def get_config(self) -> dict[str, Any]:
        return {"l2": self.l2}


@register("regularizer", "orthogonal_regularizer")
class OrthogonalRegularizer(Regularizer):
    """Pushes the rows (or columns) of a 2-D weight towards orthogonality:
    ``factor * 0.5 * sum(|off-diagonal of N N^T|) / (n (n - 1) / 2)`` with N the L2-normalised
    rows (``mode="rows"``) or columns (``mode="columns"``).

    Args:
        factor: the regularization factor.
        mode: "rows" or "columns".
    """

    def __init__(self, factor: float = 0.01, mode: str = "rows"):
        self.factor = _factor(factor, "factor")
        if mode not in ("rows", "columns"):
            raise ValueError(f"OrthogonalRegularizer mode must be 'rows' or 'columns', got {mode!r}")
        self.mode = mode

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2:
            raise ValueError(f"OrthogonalRegularizer needs a 2-D weight, got shape {tuple(x.shape)}")
        if self.mode == "rows":
            n = torch.nn.functional.normalize(x, dim=1, eps=1e-12)
            product = n @ n.T
        else:
            n = torch.nn.functional.normalize(x, dim=0, eps=1e-12)
            product = n.T @ n
        size = product.shape[0]
        off = product * (1.0 - torch.eye(size, dtype=x.dtype, device=x.device))
        pairs = size * (size - 1.0) / 2.0
        return self.factor * 0.5 * off.abs().sum() / pairs

    def get_config(self) -> dict[str, Any]:
        return {"factor": self.factor, "mode": self.mode}


def l1(l1: float = 0.01) -> L1:
    """``L1(l1)``."""
    return L1(l1)


def l2(l2: float = 0.01) -> L2:
    """``L2(l2)``."""
    return L2(l2)


def l1_l2(l1: float = 0.01, l2: float = 0.01) -> L1L2:
    """``L1L2(l1, l2)`` with tf.keras' defaults of 0.01 each (Keras 3's ``L1L2()`` defaults to 0)."""
    return L1L2(l1=l1, l2=l2)


orthogonal_regularizer = OrthogonalRegularizer


_REGULARIZERS = Resolver("regularizer", "a name, a dict, a Regularizer or a callable fn(weight) -> scalar",
                         names={"l1_l2": l1_l2})


def get(identifier: Any) -> Any:
    """A regularizer from a name ("l1", "l2", "l1_l2", "L1L2", ...), a serialized dict, a
    Regularizer (instance or class) or any callable ``fn(weight) -> scalar``. None -> None."""
    return _REGULARIZERS.get(identifier)


def serialize(regularizer: Any) -> Any:
    """``{"class_name": ..., "config": ...}`` (None stays None)."""
    return _REGULARIZERS.serialize(regularizer)


def deserialize(config: Any) -> Any:
    return _REGULARIZERS.deserialize(config)


add_resolver("regularizer", get)  # for Layer.add_weight (the engine does not import this module)

__all__ = ["Regularizer", "L1", "L2", "L1L2", "OrthogonalRegularizer", "l1", "l2", "l1_l2", "orthogonal_regularizer",
           "get", "serialize", "deserialize"]
