"""Flatten: every axis but the batch into one."""

from __future__ import annotations

import math
from typing import Any

import torch

from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.common import check_tensor

_DATA_FORMATS = ("channels_last", "channels_first")


@register("layer")
class Flatten(Layer):
    """``(batch, d1, d2, ...) -> (batch, d1 * d2 * ...)``.

    Args:
        data_format: "channels_last" (default) or "channels_first" (channels moved last first,
            so the order of the flattened features matches channels_last).
    """

    def __init__(self, data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        data_format = data_format or "channels_last"
        if data_format not in _DATA_FORMATS:
            raise ValueError(f"Flatten data_format must be one of {list(_DATA_FORMATS)}, got {data_format!r}")
        self.data_format = data_format

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = check_tensor(self, inputs, min_ndim=1)
        if self.data_format == "channels_first" and x.dim() > 2:
            x = x.permute(0, *range(2, x.dim()), 1)
        return x.reshape(x.shape[0], math.prod(x.shape[1:]))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}
