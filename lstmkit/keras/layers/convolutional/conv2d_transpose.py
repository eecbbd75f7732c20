"""Conv2DTranspose: 2-D transposed convolution (image decoders, upsampling ConvLSTM2D
outputs); ``BaseConvTranspose`` over two axes."""

from __future__ import annotations

from typing import Any

from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.convolutional.base_conv_transpose import BaseConvTranspose


@register("layer", "Convolution2DTranspose")
class Conv2DTranspose(BaseConvTranspose):
    """Transposed 2-D convolution over ``(batch, rows, cols, channels)`` (or channels first) to
    ``(batch, new_rows, new_cols, filters)``; ``BaseConvTranspose``'s arguments with ``rank=2``. The
    kernel is ``(kh, kw, filters, channels)``, as in Keras.
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
                 output_padding: Any = None, data_format: str | None = None, dilation_rate: Any = (1, 1),
                 activation: Any = None, use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs: Any):
        super().__init__(2, filters, kernel_size, strides=strides, padding=padding, output_padding=output_padding,
                         data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                         bias_constraint=bias_constraint, **kwargs)


Convolution2DTranspose = Conv2DTranspose
