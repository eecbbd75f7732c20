"""RepeatVector: (batch, features) to (batch, n, features)."""

from __future__ import annotations

import numbers
from typing import Any

import torch

from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.common import check_tensor


@register("layer")
class RepeatVector(Layer):
    """``(batch, features) -> (batch, n, features)``: the input repeated ``n`` times, e.g. to feed
    an encoder's summary vector to every step of a decoder.

    Args:
        n: number of repetitions.
    """

    def __init__(self, n: int, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise TypeError(f"RepeatVector n must be an integer, got {type(n).__name__}")
        if n <= 0:
            raise ValueError(f"RepeatVector n must be a positive integer, got {n}")
        self.n = int(n)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = check_tensor(self, inputs, ndim=2)
        return x.unsqueeze(1).repeat(1, self.n, 1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "n": self.n}
