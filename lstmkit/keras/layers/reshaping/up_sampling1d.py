"""UpSampling1D: repeat each step ``size`` times (the nearest-neighbour upsampling of a
sequence, the inverse of pooling's downsampling in encoder-decoder models)."""

from __future__ import annotations

import numbers
from typing import Any

import torch

from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.common import check_build_rank, check_tensor
from lstmkit.keras.layers.convolutional.spatial import drop_mask


@register("layer")
class UpSampling1D(Layer):
    """``(batch, steps, features)`` to ``(batch, steps * size, features)``, each step repeated
    ``size`` times in place (``[a, b] -> [a, a, b, b]``); the dtype is kept. Masks are not
    supported (dropped with Keras' warning).

    Args:
        size: the repeat factor, a positive int.
    """

    def __init__(self, size: int = 2, **kwargs: Any):
        if isinstance(size, bool) or not isinstance(size, numbers.Integral):
            raise TypeError(f"Expected an integer value for `size`, got {type(size)}.")
        if size <= 0:
            raise ValueError(f"Argument `size` should be a positive integer. Received: size={size}")
        super().__init__(**kwargs)
        self.size = int(size)

    def build(self, input_shape: Any) -> None:
        """No weights; checks the rank (as Keras' input spec)."""
        check_build_rank(self, input_shape, 3)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        return (shape[0], None if shape[1] is None else shape[1] * self.size, shape[2])

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = check_tensor(self, inputs, ndim=3)
        return x.repeat_interleave(self.size, dim=1)

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        drop_mask(self, mask)
        return None

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": self.size}
