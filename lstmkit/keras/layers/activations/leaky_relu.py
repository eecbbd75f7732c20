"""``LeakyReLU``: ``x`` for ``x >= 0``, ``negative_slope * x`` below."""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import torch
import torch.nn.functional as F

from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.common import check_tensor, to_float


@register("layer")
class LeakyReLU(Layer):
    """A rectifier that lets a small gradient through below zero.

    Args:
        negative_slope: the slope below zero (Keras 3's default 0.3); non-negative. Keras 2's
            ``alpha=`` is accepted with a deprecation warning.
    """

    def __init__(self, negative_slope: float = 0.3, **kwargs: Any):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("Argument `alpha` is deprecated. Use `negative_slope` instead.", stacklevel=2)
        super().__init__(**kwargs)
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, numbers.Real) or negative_slope < 0:
            raise ValueError("The negative_slope value of a Leaky ReLU layer cannot be None or negative value. "
                             f"Expected a float. Received: negative_slope={negative_slope!r}")
        self.negative_slope = float(negative_slope)
        self.supports_masking = True

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(to_float(check_tensor(self, inputs), self.compute_dtype), self.negative_slope)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "negative_slope": self.negative_slope}
