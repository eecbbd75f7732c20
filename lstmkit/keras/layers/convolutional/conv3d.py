"""Conv3D: 3-D convolution over (time or depth, rows, cols); the keras.io next-frame video
prediction model ends its ConvLSTM2D stack with one. The same arithmetic as ``Conv1D`` and
``Conv2D`` (``BaseConv``) over three axes."""

from __future__ import annotations

from typing import Any

from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.convolutional.base_conv import BaseConv


@register("layer", "Convolution3D")
class Conv3D(BaseConv):
    """3-D convolution over ``(batch, dim1, dim2, dim3, channels)`` (or channels first) to
    ``(batch, new_dim1, new_dim2, new_dim3, filters)``; ``BaseConv``'s arguments with ``rank=3``
    (padding "valid" or "same"). The kernel is ``(k1, k2, k3, channels // groups, filters)``, as
    in Keras.
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1, 1), padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = (1, 1, 1), groups: int = 1,
                 activation: Any = None, use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs: Any):
        super().__init__(3, filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, groups=groups, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                         bias_constraint=bias_constraint, **kwargs)


Convolution3D = Conv3D
