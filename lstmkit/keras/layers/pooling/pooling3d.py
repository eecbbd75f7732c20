"""3-D windowed pooling: ``MaxPooling3D`` and ``AveragePooling3D`` (video and volume models, e.g. after
``ConvLSTM2D(return_sequences=True)``), ``BasePooling`` over three axes."""

from __future__ import annotations

from typing import Any

from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.pooling.base_pooling import BasePooling

__all__ = ["AveragePooling3D", "AvgPool3D", "MaxPool3D", "MaxPooling3D"]


@register("layer", "MaxPool3D")
class MaxPooling3D(BasePooling):
    """The maximum over each window of ``pool_size`` (default (2, 2, 2), as in Keras); ``BasePooling``'s
    arguments with ``rank=3``: ``(batch, d1, d2, d3, channels)`` to ``(batch, new_d1, new_d2, new_d3, channels)``."""

    def __init__(self, pool_size: Any = (2, 2, 2), strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any):
        super().__init__(3, pool_size, strides, padding, data_format, **kwargs)


@register("layer", "AvgPool3D")
class AveragePooling3D(BasePooling):
    """The mean over each window of ``pool_size`` (required, as in Keras 3); with "same" padding
    the zeros torch would add are left out of the count (see ``base_pooling``)."""

    _mode = "average"

    def __init__(self, pool_size: Any, strides: Any = None, padding: str = "valid", data_format: str | None = None,
                 **kwargs: Any):
        super().__init__(3, pool_size, strides, padding, data_format, **kwargs)


MaxPool3D = MaxPooling3D
AvgPool3D = AveragePooling3D
