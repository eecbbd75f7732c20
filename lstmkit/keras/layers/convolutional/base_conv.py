"""The N-D convolution shared by ``Conv1D``, ``Conv2D`` and ``Conv3D``: Keras 3's arguments, checks and
config, the kernel in Keras' ``(*kernel_size, in_channels // groups, filters)`` layout (so
``get_weights``/``set_weights`` exchange arrays with real Keras unchanged), and the torch-backend
arithmetic: ``torch.nn.functional.conv{1,2,3}d`` on a channels-first view, "same" padding split as
Keras 3's torch backend splits it (``spatial.same_padding``)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lstmkit.keras import activations, regularizers
from lstmkit.keras.engine import layer as engine_layer
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
    conv_output_size,
    same_padding,
    standardize_data_format,
    standardize_padding,
    standardize_tuple,
)

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


class BaseConv(SpatialShapes, Layer):
    """``activation(conv(inputs, kernel) + bias)`` over ``rank`` spatial axes (a cross-correlation,
    as in Keras). Masks are not supported: a mask given is dropped with Keras' warning.

    Args:
        rank: the number of spatial axes (1, 2 or 3).
        filters: the number of output channels.
        kernel_size: an int or ``rank`` ints, the window.
        strides: an int or ``rank`` ints (> 1 excludes ``dilation_rate`` > 1, as in Keras).
        padding: "valid" (none), "same" (output length ``ceil(length / stride)``), or for 1-D
            "causal" (``dilation * (kernel - 1)`` zeros on the left only); any case.
        data_format: "channels_last" (default, ``(batch, *spatial, channels)``) or "channels_first".
        dilation_rate: an int or ``rank`` ints, the spacing of the kernel taps.
        groups: split the input channels into this many groups, each convolved with
            ``filters // groups`` filters; it must divide both channel counts.
        activation, use_bias, *_initializer, *_regularizer, activity_regularizer, *_constraint: as
            in ``Dense``; the kernel's initializer sees the Keras-layout shape.
    """

    def __init__(self, rank: int, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, groups: int = 1, activation: Any = None,
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, **kwargs: Any):
        if isinstance(filters, bool) or not isinstance(filters, int) or filters <= 0:
            raise ValueError("Invalid value for argument `filters`. Expected a strictly positive value. "
                             f"Received filters={filters}.")
        if isinstance(groups, bool) or not isinstance(groups, int) or groups <= 0:
            raise ValueError(f"The number of groups must be a positive integer. Received: groups={groups}.")
        if filters % groups:
            raise ValueError("The number of filters must be evenly divisible by the number of groups. "
                             f"Received: groups={groups}, filters={filters}.")
        kernel_size = standardize_tuple(kernel_size, rank, "kernel_size")
        strides = standardize_tuple(strides, rank, "strides")
        dilation_rate = standardize_tuple(dilation_rate, rank, "dilation_rate")
        if max(strides) > 1 and max(dilation_rate) > 1:
            raise ValueError("`strides > 1` not supported in conjunction with `dilation_rate > 1`. "
                             f"Received: strides={strides} and dilation_rate={dilation_rate}")
        padding = standardize_padding(padding, allow_causal=rank == 1)
        data_format = standardize_data_format(data_format)
        super().__init__(**kwargs)
        self.rank = rank
        self.filters, self.groups = filters, groups
        self.kernel_size, self.strides, self.dilation_rate = kernel_size, strides, dilation_rate
        self.padding, self.data_format = padding, data_format
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        set_weight_options(self, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                           kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                           kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
        self.activity_regularizer = regularizers.get(activity_regularizer)

    # ------------------------------------------------------------------ shapes
    def compute_output_shape(self, input_shape: Any) -> tuple:
        """Keras' ``compute_conv_output_shape``: None sizes stay None; a known size that the
        kernel does not fit ("valid") is a ValueError, and so are unknown channels."""
        shape = tuple(input_shape)
        if len(shape) != self.rank + 2:
            layout = "spatial axes, channels" if self.data_format == "channels_last" else "channels, spatial axes"
            raise ValueError(f"{type(self).__name__} {self.name!r} expects inputs of rank {self.rank + 2} (batch, "
                             f"{layout}), got shape {shape}")
        self._check_channels(shape)
        spatial = shape[1:-1] if self.data_format == "channels_last" else shape[2:]
        out = []
        for length, k, s, d in zip(spatial, self.kernel_size, self.strides, self.dilation_rate):
            if length is None:
                out.append(None)
            else:
                size = conv_output_size(length, k, s, self.padding, d)
                if self.padding == "valid" and size <= 0:
                    raise ValueError("Computed output size would be zero or negative. Received "
                                     f"`inputs shape={shape}`, `kernel shape={self._kernel_shape(shape)}`, "
                                     f"`dilation_rate={list(self.dilation_rate)}`, `strides={self.strides}`, "
                                     f"`padding={self.padding}`.")
                out.append(size)
        if self.data_format == "channels_last":
            return (shape[0], *out, self.filters)
        return (shape[0], self.filters, *out)

    def _check_channels(self, shape: tuple) -> int:
        channels = shape[self._channel_axis]
        if channels is None:
            raise ValueError(f"{type(self).__name__} {self.name!r} needs a known number of input channels (axis "
                             f"{self._channel_axis} with data_format={self.data_format!r}), got shape {shape}")
        return channels

    def _kernel_shape(self, input_shape: tuple) -> tuple:
        channels = input_shape[self._channel_axis]
        return (*self.kernel_size, None if channels is None else channels // self.groups, self.filters)

    # ------------------------------------------------------------------ weights
    def build(self, input_shape: Any) -> None:
        shape = check_single_shape(self, input_shape)
        if len(shape) != self.rank + 2:
            raise ValueError(f"{type(self).__name__} {self.name!r} expects inputs of rank {self.rank + 2}, got shape "
                             f"{shape}")
        channels = self._check_channels(shape)
        if channels % self.groups:
            raise ValueError("The number of input channels must be evenly divisible by the number of groups. "
                             f"Received groups={self.groups}, but the input has {channels} channels (full input "
                             f"shape is {shape}).")
        if not engine_layer.TRACING:  # the shape pass builds on dummy sizes; the declared ones were checked
            self.compute_output_shape(shape)
        add_kernel_and_bias(self, self._kernel_shape(shape), (self.filters,) if self.use_bias else None)

    # ------------------------------------------------------------------ calling
    def _pad(self, x: torch.Tensor) -> tuple[torch.Tensor, Any]:
        """``x`` (channels first) and the ``padding=`` for torch's conv: symmetric "same" padding
        goes to torch, an uneven split is applied here with zeros (as Keras' torch backend)."""
        if self.padding != "same":
            return x, 0
        pads = [same_padding(n, k, s, d) for n, k, s, d in
                zip(x.shape[2:], self.kernel_size, self.strides, self.dilation_rate)]
        if all(left == right for left, right in pads):
            return x, [left for left, _ in pads]
        flat = [p for pair in reversed(pads) for p in pair]  # F.pad wants the last axis first
        return F.pad(x, flat), 0

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = to_float(check_tensor(self, inputs, ndim=self.rank + 2), self.kernel.dtype)
        traced = self.traced_output(x)
        if traced is not None:
            return traced
        channels = x.shape[self._channel_axis]
        if channels != self.kernel.shape[-2] * self.groups:
            raise ValueError(f"{type(self).__name__} {self.name!r} was built for {self.kernel.shape[-2] * self.groups} "
                             f"input channels, got inputs of shape {tuple(x.shape)}")
        self.compute_output_shape(tuple(x.shape))  # Keras' error when the kernel does not fit
        if self.data_format == "channels_last":
            x = x.movedim(-1, 1)  # (B, C, *spatial)
        x, padding = self._pad(x)
        weight = self.kernel.permute(self.rank + 1, self.rank, *range(self.rank))  # (filters, C // groups, *kernel)
        y = _CONV[self.rank](x, weight, self.bias, self.strides, padding, self.dilation_rate, self.groups)
        if self.data_format == "channels_last":
            y = y.movedim(1, -1)
        return y if self.activation is activations.linear else self.activation(y)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate, "groups": self.groups,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **serialize_options(self, "kernel_initializer", "bias_initializer", "kernel_regularizer",
                                    "bias_regularizer", "activity_regularizer", "kernel_constraint",
                                    "bias_constraint")}
