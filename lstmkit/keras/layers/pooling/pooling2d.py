"""2-D windowed pooling: ``MaxPooling2D`` and ``AveragePooling2D`` (image feature extractors before
recurrent layers, often inside ``TimeDistributed``), ``BasePooling`` over two axes."""

from __future__ import annotations

from typing import Any

from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.pooling.base_pooling import BasePooling

__all__ = ["AveragePooling2D", "AvgPool2D", "MaxPool2D", "MaxPooling2D"]


@register("layer", "MaxPool2D")
class MaxPooling2D(BasePooling):
    """The maximum over each window of ``pool_size`` (default (2, 2), as in Keras); ``BasePooling``'s
    arguments with ``rank=2``: ``(batch, rows, cols, channels)`` to ``(batch, new_rows, new_cols, channels)``."""

    def __init__(self, pool_size: Any = (2, 2), strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any):
        super().__init__(2, pool_size, strides, padding, data_format, **kwargs)


@register("layer", "AvgPool2D")
class AveragePooling2D(BasePooling):
    """The mean over each window of ``pool_size`` (required, as in Keras 3); with "same" padding
    the zeros torch would add are left out of the count (see ``base_pooling``)."""

    _mode = "average"

    def __init__(self, pool_size: Any, strides: Any = None, padding: str = "valid", data_format: str | None = None,
                 **kwargs: Any):
        super().__init__(2, pool_size, strides, padding, data_format, **kwargs)


MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D
