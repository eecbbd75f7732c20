"""Windowed max and average pooling over ``rank`` spatial axes, with Keras 3's torch-backend
arithmetic (``MaxPooling1D/2D/3D``, ``AveragePooling1D/2D/3D`` subclass it).

"same" padding is split per axis as ``spatial.same_padding`` splits it (TF's rule at stride > 1,
``pool_size - 1`` in all at stride 1). When every axis splits evenly, the padding is given to
torch's pooling (max pads with -inf, average leaves the padding out of the count); when any axis
splits unevenly, every axis is padded by edge replication first, so an average near such an edge
counts the edge value again -- exactly as Keras 3 on torch does (its ``_apply_same_padding``)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.layers.common import check_tensor
from lstmkit.keras.layers.convolutional.spatial import (
    SpatialShapes,
    same_padding,
    standardize_data_format,
    standardize_padding,
    standardize_tuple,
)

__all__ = ["BasePooling"]

_MAX = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVG = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


class BasePooling(SpatialShapes, Layer):
    """Shared arguments. No weights (built when made); masks are not supported (dropped with
    Keras' warning).

    Args:
        rank: the number of spatial axes (1, 2 or 3).
        pool_size: the window (an int or ``rank`` ints).
        strides: the step between windows (an int or ``rank`` ints; default: ``pool_size``).
        padding: "valid" (windows inside the input) or "same" (output size
            ``ceil(size / stride)`` per axis); any case.
        data_format: "channels_last" (``(batch, *spatial, channels)``, default) or "channels_first".
    """

    _mode = "max"

    def __init__(self, rank: int, pool_size: Any, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any):
        pool_size = standardize_tuple(pool_size, rank, "pool_size")
        strides = pool_size if strides is None else standardize_tuple(strides, rank, "strides")
        padding = standardize_padding(padding)
        data_format = standardize_data_format(data_format)
        super().__init__(**kwargs)
        self.rank = rank
        self.pool_size, self.strides, self.padding, self.data_format = pool_size, strides, padding, data_format
        # no weights: built at construction as in Keras, unless a subclass brings its own build()
        self.built = type(self).build is Layer.build

    def compute_output_shape(self, input_shape: Any) -> tuple:
        """Keras' ``compute_pooling_output_shape``: None stays None; a window larger than a known
        input ("valid") is a ValueError."""
        shape = tuple(input_shape)
        if len(shape) != self.rank + 2:
            raise ValueError(f"{type(self).__name__} {self.name!r} expects inputs of rank {self.rank + 2}, got shape "
                             f"{shape}")
        out = list(shape)
        for axis, k, s in zip(self._spatial_axes, self.pool_size, self.strides):
            length = shape[axis]
            if length is None:
                continue
            length = (length - k) // s + 1 if self.padding == "valid" else (length - 1) // s + 1
            if length <= 0:
                raise ValueError(f"Computed output size would be zero or negative. Received: `inputs.shape={shape}`, "
                                 f"`pool_size={list(self.pool_size)}`, `strides={self.strides}`, "
                                 f"`padding={self.padding}`.")
            out[axis] = length
        return tuple(out)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = check_tensor(self, inputs, ndim=self.rank + 2)
        if not x.is_floating_point():
            x = x.to(self.compute_dtype)
        traced = self.traced_output(x)
        if traced is not None:
            return traced
        self.compute_output_shape(tuple(x.shape))
        if self.data_format == "channels_last":
            x = x.movedim(-1, 1)  # (B, C, *spatial)
        padding: Any = 0
        if self.padding == "same":
            pads = [same_padding(n, k, s) for n, k, s in zip(x.shape[2:], self.pool_size, self.strides)]
            if all(left == right for left, right in pads):
                padding = [left for left, _ in pads]
            else:  # F.pad wants the last axis first
                x = F.pad(x, [p for pair in reversed(pads) for p in pair], mode="replicate")
        if self._mode == "max":
            y = _MAX[self.rank](x, self.pool_size, self.strides, padding)
        else:
            y = _AVG[self.rank](x, self.pool_size, self.strides, padding, count_include_pad=False)
        return y.movedim(1, -1) if self.data_format == "channels_last" else y

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding,
                "strides": self.strides, "data_format": self.data_format}
