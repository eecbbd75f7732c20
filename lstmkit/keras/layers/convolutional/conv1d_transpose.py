"""Conv1DTranspose: the upsampling half of the sequence autoencoders of Keras' time-series
anomaly-detection example (Conv1D down, Conv1DTranspose up); ``BaseConvTranspose`` over one axis."""

from __future__ import annotations

from typing import Any

from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.convolutional.base_conv_transpose import BaseConvTranspose


@register("layer", "Convolution1DTranspose")
class Conv1DTranspose(BaseConvTranspose):
    """Transposed 1-D convolution over ``(batch, steps, channels)`` (or channels first) to
    ``(batch, new_steps, filters)``; ``BaseConvTranspose``'s arguments with ``rank=1``. The kernel is
    ``(kernel_size, filters, channels)``, as in Keras.
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 output_padding: Any = None, data_format: str | None = None, dilation_rate: Any = 1,
                 activation: Any = None, use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs: Any):
        super().__init__(1, filters, kernel_size, strides=strides, padding=padding, output_padding=output_padding,
                         data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                         bias_constraint=bias_constraint, **kwargs)


Convolution1DTranspose = Conv1DTranspose
