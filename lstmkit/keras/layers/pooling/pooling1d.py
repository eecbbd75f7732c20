"""Windowed pooling over time: ``MaxPooling1D`` and ``AveragePooling1D``, with Keras 3's
torch-backend arithmetic. "same" padding is split as ``spatial.same_padding`` splits it (TF's
rule at stride > 1, ``pool_size - 1`` in all at stride 1); an even split is given to torch's
pooling (max pads with -inf, average leaves the padding out of the count), an uneven one pads
the edges by replication first, so an average near the end counts the last step twice, exactly
as Keras 3 on torch does."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.common import check_tensor
from lstmkit.keras.layers.convolutional.spatial import (
    SpatialShapes,
    same_padding,
    standardize_data_format,
    standardize_padding,
    standardize_tuple,
)

__all__ = ["AveragePooling1D", "AvgPool1D", "MaxPool1D", "MaxPooling1D"]


class _Pooling1D(SpatialShapes, Layer):
    """Shared arguments. No weights (built when made); masks are not supported (dropped with
    Keras' warning).

    Args:
        pool_size: the window length (an int or a 1-tuple).
        strides: the step between windows (default: ``pool_size``).
        padding: "valid" (windows inside the input) or "same" (output length
            ``ceil(steps / strides)``); any case.
        data_format: "channels_last" (``(batch, steps, features)``, default) or "channels_first".
    """

    _mode = "max"

    def __init__(self, pool_size: Any, strides: Any = None, padding: str = "valid", data_format: str | None = None,
                 **kwargs: Any):
        pool_size = standardize_tuple(pool_size, 1, "pool_size")
        strides = pool_size if strides is None else standardize_tuple(strides, 1, "strides")
        padding = standardize_padding(padding)
        data_format = standardize_data_format(data_format)
        super().__init__(**kwargs)
        self.pool_size, self.strides, self.padding, self.data_format = pool_size, strides, padding, data_format
        # no weights: built at construction as in Keras, unless a subclass brings its own build()
        self.built = type(self).build is Layer.build

    def compute_output_shape(self, input_shape: Any) -> tuple:
        """Keras' ``compute_pooling_output_shape``: None stays None; a window longer than a known
        input ("valid") is a ValueError."""
        shape = tuple(input_shape)
        if len(shape) != 3:
            raise ValueError(f"{type(self).__name__} {self.name!r} expects inputs of rank 3, got shape {shape}")
        axis = 1 if self.data_format == "channels_last" else 2
        length, k, s = shape[axis], self.pool_size[0], self.strides[0]
        if length is not None:
            length = (length - k) // s + 1 if self.padding == "valid" else (length - 1) // s + 1
            if length <= 0:
                raise ValueError(f"Computed output size would be zero or negative. Received: `inputs.shape={shape}`, "
                                 f"`pool_size={list(self.pool_size)}`, `strides={self.strides}`, "
                                 f"`padding={self.padding}`.")
        out = list(shape)
        out[axis] = length
        return tuple(out)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = check_tensor(self, inputs, ndim=3)
        if not x.is_floating_point():
            x = x.to(self.compute_dtype)
        traced = self.traced_output(x)
        if traced is not None:
            return traced
        self.compute_output_shape(tuple(x.shape))
        if self.data_format == "channels_last":
            x = x.transpose(1, 2)  # (B, C, T)
        k, s = self.pool_size[0], self.strides[0]
        padding = 0
        if self.padding == "same":
            left, right = same_padding(x.shape[2], k, s)
            if left == right:
                padding = left
            else:
                x = F.pad(x, (left, right), mode="replicate")
        if self._mode == "max":
            y = F.max_pool1d(x, k, s, padding)
        else:
            y = F.avg_pool1d(x, k, s, padding, count_include_pad=False)
        return y.transpose(1, 2) if self.data_format == "channels_last" else y

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding,
                "strides": self.strides, "data_format": self.data_format}


@register("layer", "MaxPool1D")
class MaxPooling1D(_Pooling1D):
    """The maximum over each window of ``pool_size`` steps (``pool_size`` defaults to 2, as in Keras)."""

    def __init__(self, pool_size: Any = 2, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


@register("layer", "AvgPool1D")
class AveragePooling1D(_Pooling1D):
    """The mean over each window of ``pool_size`` steps (required, as in Keras 3); with "same"
    padding the zeros torch would add are left out of the count."""

    _mode = "average"

    def __init__(self, pool_size: Any, strides: Any = None, padding: str = "valid", data_format: str | None = None,
                 **kwargs: Any):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


MaxPool1D = MaxPooling1D
AvgPool1D = AveragePooling1D
