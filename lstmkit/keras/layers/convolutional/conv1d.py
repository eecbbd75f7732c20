"""Conv1D: the temporal convolution that sits before recurrent layers in Keras models
(``Conv1D -> MaxPooling1D -> LSTM``); "causal" padding makes ``output[t]`` see only
``inputs[:t + 1]``."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.convolutional.base_conv import BaseConv


@register("layer", "Convolution1D")
class Conv1D(BaseConv):
    """1-D convolution over ``(batch, steps, channels)`` (or ``(batch, channels, steps)`` with
    ``data_format="channels_first"``) to ``(batch, new_steps, filters)``; the arguments are
    ``BaseConv``'s with ``rank=1``, and ``padding`` may also be "causal" (left zeros only, any
    ``data_format``, as in Keras). The kernel is ``(kernel_size, channels // groups, filters)``.
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, groups: int = 1, activation: Any = None,
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, **kwargs: Any):
        super().__init__(1, filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, groups=groups, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                         bias_constraint=bias_constraint, **kwargs)

    def _pad(self, x: torch.Tensor) -> tuple[torch.Tensor, Any]:
        if self.padding == "causal":  # (B, C, T) -> (B, C, dilation * (kernel - 1) + T), then a "valid" conv
            return F.pad(x, (self.dilation_rate[0] * (self.kernel_size[0] - 1), 0)), 0
        return super()._pad(x)


Convolution1D = Conv1D
