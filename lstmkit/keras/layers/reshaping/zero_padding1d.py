"""ZeroPadding1D: zeros before and after the steps axis (e.g. to line a sequence up for a
"valid" convolution)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.common import check_build_rank, check_tensor
from lstmkit.keras.layers.convolutional.spatial import drop_mask, standardize_data_format, standardize_tuple


@register("layer")
class ZeroPadding1D(Layer):
    """Adds ``padding[0]`` zero steps at the start and ``padding[1]`` at the end of 3-D inputs.
    The dtype is kept (integer inputs stay integer, as in Keras). Masks are not supported
    (dropped with Keras' warning).

    Args:
        padding: an int (the same on both sides) or a pair ``(left, right)``, all >= 0.
        data_format: "channels_last" (``(batch, steps, features)``, default) or "channels_first".
    """

    def __init__(self, padding: Any = 1, data_format: str | None = None, **kwargs: Any):
        padding = standardize_tuple(padding, 2, "padding", allow_zero=True)
        data_format = standardize_data_format(data_format)
        super().__init__(**kwargs)
        self.padding, self.data_format = padding, data_format

    def build(self, input_shape: Any) -> None:
        """No weights; checks the rank (as Keras' input spec)."""
        check_build_rank(self, input_shape, 3)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = list(input_shape)
        axis = 2 if self.data_format == "channels_first" else 1
        if shape[axis] is not None:
            shape[axis] += sum(self.padding)
        return tuple(shape)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = check_tensor(self, inputs, ndim=3)
        left, right = self.padding
        # F.pad lists the last axis first: (B, C, T) pads T directly, (B, T, C) skips C
        return F.pad(x, (left, right) if self.data_format == "channels_first" else (0, 0, left, right))

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        drop_mask(self, mask)
        return None

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}
