"""The N-D transposed convolution shared by ``Conv1DTranspose``, ``Conv2DTranspose`` and
``Conv3DTranspose``: Keras 3's arguments, checks and config, the kernel in Keras' transpose layout
``(*kernel_size, filters, in_channels)`` (so ``get_weights``/``set_weights`` exchange arrays with
real Keras unchanged), and Keras 3's torch-backend arithmetic.

Why the crop: torch's ``conv_transpose{1,2,3}d`` takes only a symmetric ``padding`` plus a
right-side ``output_padding``, which cannot express the uneven windows of Keras' "same" mode (or
an ``output_padding`` beyond the kernel). As Keras 3 on torch does, the transposed convolution is
run with no padding (its full output, ``(n - 1) * stride + effective_kernel``) and each spatial
axis is then sliced to the window Keras (as JAX) computes, or widened with zeros where that window
reaches past the full output; the bias is added after that, so widened edges hold the bias.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lstmkit.keras import activations, regularizers
from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.layers.common import (
    add_kernel_and_bias,
    check_single_shape,
    check_tensor,
    serialize_options,
    set_weight_options,
    to_float,
)
from lstmkit.keras.layers.convolutional.spatial import (
    SpatialShapes,
    standardize_data_format,
    standardize_padding,
    standardize_tuple,
)

__all__ = ["BaseConvTranspose", "transpose_output_length", "transpose_pads"]

_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


def transpose_pads(kernel: int, stride: int, dilation: int, padding: str,
                   output_padding: int | None) -> tuple[int, int]:
    """(left, right) padding of the dilated input in Keras' (JAX's) terms
    (``_convert_conv_transpose_padding_args_from_keras_to_jax``): "valid" pads
    ``effective_kernel - 1`` each side (plus ``output_padding`` on the right, by default what makes
    the output ``(n - 1) * stride + max(effective_kernel, stride)``); "same" pads so the output is
    ``n * stride`` (or ``(n - 1) * stride + effective_kernel % 2 + output_padding``), the odd
    one on the left, but never more than ``effective_kernel - 1`` there."""
    effective = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(effective, stride) - effective if output_padding is None else output_padding
        return effective - 1, effective - 1 + extra
    if output_padding is None:
        total = stride + effective - 2
    else:
        total = effective + effective % 2 - 2 + output_padding
    left = min(total // 2 + total % 2, effective - 1)
    return left, total - left


def transpose_output_length(length: int | None, kernel: int, stride: int, dilation: int, padding: str,
                            output_padding: int | None) -> int | None:
    """The output length along one axis (Keras' ``_get_output_shape_given_tf_padding``); None stays None."""
    if length is None:
        return None
    left, right = transpose_pads(kernel, stride, dilation, padding, output_padding)
    return (length - 1) * stride - (kernel - 1) * dilation + 1 + left + right


class BaseConvTranspose(SpatialShapes, Layer):
    """``activation(conv_transpose(inputs, kernel) + bias)`` over ``rank`` spatial axes: the
    gradient of a convolution with respect to its input, used to upsample (decoders, the
    anomaly-detection autoencoders that pair Conv1D with Conv1DTranspose). Masks are not
    supported (dropped with Keras' warning). No ``groups`` (Keras has none here).

    Args:
        rank: the number of spatial axes (1, 2 or 3).
        filters: the number of output channels.
        kernel_size: an int or ``rank`` ints, the window.
        strides: an int or ``rank`` ints, the upsampling factor (> 1 excludes ``dilation_rate`` > 1).
        padding: "valid" or "same" (any case); see ``transpose_pads``.
        output_padding: None, or an int or ``rank`` ints >= 0, each less than its stride: extra
            rows on the right/bottom that fix the output length (a strided convolution maps
            several lengths to one; this picks which).
        data_format: "channels_last" (default) or "channels_first".
        dilation_rate: an int or ``rank`` ints, the spacing of the kernel taps.
        activation, use_bias, *_initializer, *_regularizer, activity_regularizer, *_constraint: as
            in ``Dense``; the kernel is ``(*kernel_size, filters, in_channels)``.
    """

    def __init__(self, rank: int, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 output_padding: Any = None, data_format: str | None = None, dilation_rate: Any = 1,
                 activation: Any = None, use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs: Any):
        kernel_size = standardize_tuple(kernel_size, rank, "kernel_size")
        strides = standardize_tuple(strides, rank, "strides")
        dilation_rate = standardize_tuple(dilation_rate, rank, "dilation_rate")
        padding = standardize_padding(padding)
        if output_padding is not None:
            output_padding = standardize_tuple(output_padding, rank, "output_padding", allow_zero=True)
        data_format = standardize_data_format(data_format)
        if isinstance(filters, bool) or not isinstance(filters, int) or filters <= 0:
            raise ValueError("Invalid value for argument `filters`. Expected a strictly positive value. "
                             f"Received filters={filters}.")
        if output_padding is not None:
            for i, (op, s) in enumerate(zip(output_padding, strides)):
                if op >= s:
                    raise ValueError("`output_padding` must be strictly less than `strides` for all dimensions. "
                                     f"At dimension {i}, `output_padding` is {op} but `strides` is {s}. "
                                     f"Received: output_padding={output_padding}, strides={strides}")
        if max(strides) > 1 and max(dilation_rate) > 1:
            raise ValueError("`strides > 1` not supported in conjunction with `dilation_rate > 1`. "
                             f"Received: strides={strides} and dilation_rate={dilation_rate}")
        super().__init__(**kwargs)
        self.rank, self.filters = rank, filters
        self.kernel_size, self.strides, self.dilation_rate = kernel_size, strides, dilation_rate
        self.padding, self.output_padding, self.data_format = padding, output_padding, data_format
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        set_weight_options(self, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                           kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                           kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
        self.activity_regularizer = regularizers.get(activity_regularizer)

    def _output_paddings(self) -> tuple:
        return (None,) * self.rank if self.output_padding is None else self.output_padding

    # ------------------------------------------------------------------ shapes
    def compute_output_shape(self, input_shape: Any) -> tuple:
        """Keras' ``compute_conv_transpose_output_shape``: None sizes stay None; unknown channels
        are a ValueError (the kernel needs them)."""
        shape = tuple(input_shape)
        if len(shape) != self.rank + 2:
            raise ValueError(f"{type(self).__name__} {self.name!r} expects inputs of rank {self.rank + 2}, got shape "
                             f"{shape}")
        self._check_channels(shape)
        spatial = shape[1:-1] if self.data_format == "channels_last" else shape[2:]
        out = [transpose_output_length(n, k, s, d, self.padding, op) for n, k, s, d, op in
               zip(spatial, self.kernel_size, self.strides, self.dilation_rate, self._output_paddings())]
        if self.data_format == "channels_last":
            return (shape[0], *out, self.filters)
        return (shape[0], self.filters, *out)

    def _check_channels(self, shape: tuple) -> int:
        channels = shape[self._channel_axis]
        if channels is None:
            raise ValueError(f"{type(self).__name__} {self.name!r} needs a known number of input channels (axis "
                             f"{self._channel_axis} with data_format={self.data_format!r}), got shape {shape}")
        return channels

    # ------------------------------------------------------------------ weights
    def build(self, input_shape: Any) -> None:
        shape = check_single_shape(self, input_shape)
        if len(shape) != self.rank + 2:
            raise ValueError(f"{type(self).__name__} {self.name!r} expects inputs of rank {self.rank + 2}, got shape "
                             f"{shape}")
        channels = self._check_channels(shape)
        bias_shape = (self.filters,) if self.use_bias else None
        add_kernel_and_bias(self, (*self.kernel_size, self.filters, channels), bias_shape)

    # ------------------------------------------------------------------ calling
    def _crop(self, y: torch.Tensor) -> torch.Tensor:
        """The full transposed output ``y`` (channels first) cut (or zero-widened) to Keras' window."""
        index: list[Any] = [slice(None), slice(None)]
        widen = []
        for k, s, d, op in zip(self.kernel_size, self.strides, self.dilation_rate, self._output_paddings()):
            left, right = transpose_pads(k, s, d, self.padding, op)
            crop_left, crop_right = (k - 1) * d - left, (k - 1) * d - right  # negative: widen with zeros
            index.append(slice(max(crop_left, 0), -crop_right if crop_right > 0 else None))
            widen.append((max(-crop_left, 0), max(-crop_right, 0)))
        y = y[tuple(index)]
        if any(a or b for a, b in widen):
            y = F.pad(y, [p for pair in reversed(widen) for p in pair])  # F.pad wants the last axis first
        return y

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = to_float(check_tensor(self, inputs, ndim=self.rank + 2), self.kernel.dtype)
        traced = self.traced_output(x)
        if traced is not None:
            return traced
        if x.shape[self._channel_axis] != self.kernel.shape[-1]:
            raise ValueError("The number of input channels must match the kernel's input channels. Received: input "
                             f"channels={x.shape[self._channel_axis]}, kernel input channels={self.kernel.shape[-1]}, "
                             f"data_format='{self.data_format}'.")
        if self.data_format == "channels_last":
            x = x.movedim(-1, 1)  # (B, C, *spatial)
        weight = self.kernel.permute(self.rank + 1, self.rank, *range(self.rank))  # (in, filters, *kernel)
        y = _CONV_T[self.rank](x, weight, None, self.strides, 0, 0, 1, self.dilation_rate)
        y = self._crop(y)  # (B, filters, *out)
        if self.bias is not None:
            y = y + self.bias.view(1, -1, *([1] * self.rank))
        if self.data_format == "channels_last":
            y = y.movedim(1, -1)
        return y if self.activation is activations.linear else self.activation(y)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding, "output_padding": self.output_padding,
                "data_format": self.data_format, "dilation_rate": self.dilation_rate,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **serialize_options(self, "kernel_initializer", "bias_initializer", "kernel_regularizer",
                                    "bias_regularizer", "activity_regularizer", "kernel_constraint",
                                    "bias_constraint")}
