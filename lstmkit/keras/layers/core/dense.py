"""Dense: ``activation(inputs @ kernel + bias)``, the kernel kept in Keras' ``(input_dim, units)``
layout so ``get_weights``/``set_weights`` exchange arrays with real Keras unchanged."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lstmkit.keras import activations, regularizers
from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.common import (
    add_kernel_and_bias,
    check_single_shape,
    check_tensor,
    positive_int,
    serialize_options,
    set_weight_options,
    to_float,
)


@register("layer")
class Dense(Layer):
    """``activation(inputs @ kernel + bias)`` on the last axis of inputs of any rank >= 2; masks
    pass through unchanged (as in Keras 3).

    Args:
        units: the output size.
        activation: activation name or callable (None: linear).
        use_bias: whether to add a bias vector.
        kernel_initializer: initializer of the ``(input_dim, units)`` kernel.
        bias_initializer: initializer of the bias.
        kernel_regularizer: penalty on the kernel.
        bias_regularizer: penalty on the bias.
        activity_regularizer: penalty on the output.
        kernel_constraint: projection applied to the kernel after each update.
        bias_constraint: projection applied to the bias after each update.
    """

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, **kwargs: Any):
        units = positive_int(units, "Dense units")
        super().__init__(**kwargs)
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        set_weight_options(self, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                           kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                           kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.supports_masking = True

    def build(self, input_shape: Any) -> None:
        shape = check_single_shape(self, input_shape)
        if len(shape) < 2:
            raise ValueError(f"Dense layer {self.name!r} expects inputs of rank >= 2 (batch, ..., features), got "
                             f"shape {shape}")
        if shape[-1] is None:
            raise ValueError(f"Dense layer {self.name!r} needs a known last (feature) dimension, got shape {shape}")
        add_kernel_and_bias(self, (shape[-1], self.units), (self.units,) if self.use_bias else None)
        self.built = True  # also when build() is called directly, as in Keras

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = to_float(check_tensor(self, inputs, min_ndim=2), self.kernel.dtype)
        if x.shape[-1] != self.kernel.shape[0]:
            raise ValueError(f"Dense layer {self.name!r} was built for {self.kernel.shape[0]} input features, got "
                             f"inputs of shape {tuple(x.shape)}")
        y = F.linear(x, self.kernel.t(), self.bias)
        return y if self.activation is activations.linear else self.activation(y)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units, "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                **serialize_options(self, "kernel_initializer", "bias_initializer", "kernel_regularizer",
                                    "bias_regularizer", "activity_regularizer", "kernel_constraint",
                                    "bias_constraint")}
