"""Windowed pooling over time: ``MaxPooling1D`` and ``AveragePooling1D`` (``Conv1D -> MaxPooling1D ->
LSTM`` models), ``BasePooling`` over one axis with Keras 3's torch-backend arithmetic."""

from __future__ import annotations

from typing import Any

from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.pooling.base_pooling import BasePooling

__all__ = ["AveragePooling1D", "AvgPool1D", "MaxPool1D", "MaxPooling1D"]


@register("layer", "MaxPool1D")
class MaxPooling1D(BasePooling):
    """The maximum over each window of ``pool_size`` (default 2, as in Keras); ``BasePooling``'s
    arguments with ``rank=1``: ``(batch, steps, features)`` to ``(batch, new_steps, features)``."""

    def __init__(self, pool_size: Any = 2, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any):
        super().__init__(1, pool_size, strides, padding, data_format, **kwargs)


@register("layer", "AvgPool1D")
class AveragePooling1D(BasePooling):
    """The mean over each window of ``pool_size`` (required, as in Keras 3); with "same" padding
    the zeros torch would add are left out of the count (see ``base_pooling``)."""

    _mode = "average"

    def __init__(self, pool_size: Any, strides: Any = None, padding: str = "valid", data_format: str | None = None,
                 **kwargs: Any):
        super().__init__(1, pool_size, strides, padding, data_format, **kwargs)


MaxPool1D = MaxPooling1D
AvgPool1D = AveragePooling1D
