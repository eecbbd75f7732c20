"""``ELU``: the exponential linear unit, ``x`` above zero and ``alpha * (exp(x) - 1)`` below."""

from __future__ import annotations

import numbers
from typing import Any

import torch
import torch.nn.functional as F

from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.common import check_tensor, to_float


@register("layer")
class ELU(Layer):
    """Smooth below zero, saturating at ``-alpha`` (Clevert et al., 2016).

    Args:
        alpha: the negative saturation value (default 1).
    """

    def __init__(self, alpha: float = 1.0, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
            raise ValueError(f"ELU alpha must be a float, got {alpha!r}")
        self.alpha = float(alpha)
        self.supports_masking = True

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return F.elu(to_float(check_tensor(self, inputs), self.compute_dtype), self.alpha)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha}
