"""Conv3DTranspose: 3-D transposed convolution (video and volume decoders);
``BaseConvTranspose`` over three axes."""

from __future__ import annotations

from typing import Any

from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.convolutional.base_conv_transpose import BaseConvTranspose


@register("layer", "Convolution3DTranspose")
class Conv3DTranspose(BaseConvTranspose):
    """Transposed 3-D convolution over ``(batch, d1, d2, d3, channels)`` (or channels first) to
    ``(batch, new_d1, new_d2, new_d3, filters)``; ``BaseConvTranspose``'s arguments with ``rank=3``.
    The kernel is ``(k1, k2, k3, filters, channels)``, as in Keras.
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1, 1), padding: str = "valid",
                 output_padding: Any = None, data_format: str | None = None, dilation_rate: Any = (1, 1, 1),
                 activation: Any = None, use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs: Any):
        super().__init__(3, filters, kernel_size, strides=strides, padding=padding, output_padding=output_padding,
                         data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                         bias_constraint=bias_constraint, **kwargs)


Convolution3DTranspose = Conv3DTranspose
