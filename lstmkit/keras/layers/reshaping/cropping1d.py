"""Cropping1D: drop steps at the start and the end of a sequence (e.g. the warm-up steps of a
causal convolution)."""

from __future__ import annotations

from typing import Any

import torch

from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.common import check_build_rank, check_tensor
from lstmkit.keras.layers.convolutional.spatial import SpatialShapes, standardize_tuple


@register("layer")
class Cropping1D(SpatialShapes, Layer):
    """Removes ``cropping[0]`` steps at the start and ``cropping[1]`` at the end of
    ``(batch, steps, features)`` inputs (axis 1 only: Keras' Cropping1D has no data_format). At
    least one step must remain. Masks are not supported (dropped with Keras' warning).

    Args:
        cropping: an int (the same on both sides) or a pair ``(start, end)``, all >= 0.
    """

    def __init__(self, cropping: Any = (1, 1), **kwargs: Any):
        cropping = standardize_tuple(cropping, 2, "cropping", allow_zero=True)
        super().__init__(**kwargs)
        self.cropping = cropping

    def build(self, input_shape: Any) -> None:
        """No weights; checks the rank (as Keras' input spec)."""
        check_build_rank(self, input_shape, 3)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        if len(shape) != 3:
            raise ValueError(f"Cropping1D {self.name!r} expects inputs of rank 3, got shape {shape}")
        length = shape[1]
        if length is not None:
            length -= sum(self.cropping)
            if length <= 0:
                raise ValueError("`cropping` parameter of `Cropping1D` layer must be smaller than the input length. "
                                 f"Received: input_shape={shape}, cropping={self.cropping}")
        return (shape[0], length, shape[2])

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = check_tensor(self, inputs, ndim=3)
        traced = self.traced_output(x)
        if traced is not None:
            return traced
        self.compute_output_shape(tuple(x.shape))
        start, end = self.cropping
        return x[:, start:x.shape[1] - end, :]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cropping": self.cropping}
