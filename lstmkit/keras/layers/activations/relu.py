"""``ReLU``: the rectifier with Keras' three knobs (ceiling, slope below a threshold)."""

from __future__ import annotations

import numbers
from typing import Any

import torch

from lstmkit.keras import activations
from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.common import check_tensor, to_float


def _number(what: str, value: Any, *, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value < 0:
        none = "" if allow_none else "None or "
        raise ValueError(f"{what} of a ReLU layer cannot be {none}a negative value. Received: {what}={value!r}")
    return float(value)


@register("layer")
class ReLU(Layer):
    """``min(x, max_value)`` for ``x >= threshold``, ``negative_slope * (x - threshold)`` below.

    Args:
        max_value: the ceiling (None: no ceiling); non-negative.
        negative_slope: the slope below the threshold; non-negative.
        threshold: where the rectifier turns on; non-negative.
    """

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0, threshold: float = 0.0,
                 **kwargs: Any):
        super().__init__(**kwargs)
        self.max_value = _number("max_value", max_value, allow_none=True)
        self.negative_slope = _number("negative_slope", negative_slope)
        self.threshold = _number("threshold", threshold)
        self.supports_masking = True

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = to_float(check_tensor(self, inputs), self.compute_dtype)
        return activations.relu(x, negative_slope=self.negative_slope, max_value=self.max_value,
                                threshold=self.threshold)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}
