"""Core Keras layers on torch: Dense, Activation, Dropout, Masking (here) and, defined in small
sibling modules and re-exported here, Embedding, Flatten, Reshape, RepeatVector,
LayerNormalization and TimeDistributed.

Weights are kept in Keras' layout (a Dense kernel is ``(input_dim, units)``), so
``get_weights``/``set_weights`` exchange arrays with real Keras unchanged.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from lstmkit.keras import activations, regularizers
from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers._common import (
    check_single_shape,
    check_tensor,
    serialize_options,
    to_float,
    weight_options,
)
from lstmkit.keras.layers._embedding import Embedding
from lstmkit.keras.layers._normalization import LayerNormalization
from lstmkit.keras.layers._reshaping import Flatten, RepeatVector, Reshape
from lstmkit.keras.layers._time_distributed import TimeDistributed

__all__ = ["Dense", "Dropout", "Activation", "Flatten", "Reshape", "RepeatVector", "Masking", "Embedding",
           "LayerNormalization", "TimeDistributed"]


def _positive_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


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
        units = _positive_int(units, "Dense units")
        super().__init__(**kwargs)
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        opts = weight_options(kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                              kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                              kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
        for key, value in opts.items():
            setattr(self, key, value)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.supports_masking = True

    def build(self, input_shape: Any) -> None:
        shape = check_single_shape(self, input_shape)
        if len(shape) < 2:
            raise ValueError(f"Dense layer {self.name!r} expects inputs of rank >= 2 (batch, ..., features), got "
                             f"shape {shape}")
        if shape[-1] is None:
            raise ValueError(f"Dense layer {self.name!r} needs a known last (feature) dimension, got shape {shape}")
        self.add_weight("kernel", (shape[-1], self.units), self.kernel_initializer, self.kernel_regularizer,
                        self.kernel_constraint)
        if self.use_bias:
            self.add_weight("bias", (self.units,), self.bias_initializer, self.bias_regularizer, self.bias_constraint)
        else:
            self.bias = None
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


@register("layer")
class Activation(Layer):
    """Applies an activation function to its input (masks pass through).

    Args:
        activation: activation name or callable.
    """

    def __init__(self, activation: Any, **kwargs: Any):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.supports_masking = True

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.activation(to_float(check_tensor(self, inputs), self.compute_dtype))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


def _noise_shape(noise_shape: Any) -> tuple[int | None, ...] | None:
    if noise_shape is None:
        return None
    if isinstance(noise_shape, str) or not isinstance(noise_shape, Sequence):
        raise ValueError(f"Dropout noise_shape must be a tuple of ints or None, got {noise_shape!r}")
    for k, d in enumerate(noise_shape):
        if d is not None and (isinstance(d, bool) or not isinstance(d, numbers.Integral) or d <= 0):
            raise ValueError(f"Dropout noise_shape entries must be positive ints or None, got {d!r} at index {k}")
    return tuple(None if d is None else int(d) for d in noise_shape)


@register("layer")
class Dropout(Layer):
    """Zeroes a fraction ``rate`` of the inputs and scales the rest by ``1 / (1 - rate)`` while
    training (``fit`` or ``training=True``); the identity otherwise.

    Args:
        rate: fraction of the inputs to drop, in [0, 1].
        noise_shape: shape of the binary mask, broadcast over the input (None entries take the
            input's size), e.g. ``(batch, 1, features)`` drops the same features at every step.
        seed: integer seed: a reproducible sequence of masks (else torch's global RNG).
    """

    def __init__(self, rate: float, noise_shape: Sequence[int | None] | None = None, seed: int | None = None,
                 **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate <= 1:
            raise ValueError(f"Dropout rate must be a float in [0, 1], got {rate!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise ValueError(f"Dropout seed must be an int or None, got {seed!r}")
        self.rate = float(rate)
        self.noise_shape = _noise_shape(noise_shape)
        self.seed = seed
        self.supports_masking = True
        self._generators: dict[str, torch.Generator] = {}

    def _generator(self, device: torch.device) -> torch.Generator | None:
        if self.seed is None:
            return None
        key = str(device)
        if key not in self._generators:
            self._generators[key] = torch.Generator(device=device).manual_seed(int(self.seed))
        return self._generators[key]

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        if not training or self.rate == 0.0:
            return inputs
        x = inputs if inputs.is_floating_point() else to_float(inputs, self.compute_dtype)
        if self.rate == 1.0:
            return torch.zeros_like(x)
        if self.noise_shape is None and self.seed is None:
            return F.dropout(x, self.rate, training=True)
        shape = tuple(x.shape)
        if self.noise_shape is not None:
            if len(self.noise_shape) != x.dim():
                raise ValueError(f"Dropout {self.name!r}: noise_shape {self.noise_shape} has {len(self.noise_shape)} "
                                 f"entries, the inputs have rank {x.dim()} (shape {shape})")
            shape = tuple(s if d is None else d for d, s in zip(self.noise_shape, shape))
        keep = 1.0 - self.rate
        mask = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(keep, generator=self._generator(x.device))
        try:
            return x * mask / keep
        except RuntimeError:
            raise ValueError(f"Dropout {self.name!r}: noise_shape {self.noise_shape} does not broadcast to the inputs' "
                             f"shape {tuple(x.shape)}") from None

    def get_config(self) -> dict[str, Any]:
        noise = None if self.noise_shape is None else list(self.noise_shape)
        return {**super().get_config(), "rate": self.rate, "seed": self.seed, "noise_shape": noise}


@register("layer")
class Masking(Layer):
    """Marks timesteps whose features all equal ``mask_value`` as padding: the output mask is
    ``any(inputs != mask_value, axis=-1)`` and masked timesteps are zeroed in the output.

    Args:
        mask_value: the padding value.
    """

    def __init__(self, mask_value: float = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(mask_value, dict) and "config" in mask_value:
            mask_value = mask_value["config"].get("value", mask_value)
        if not isinstance(mask_value, numbers.Number):
            raise ValueError(f"Masking mask_value must be a number, got {mask_value!r}")
        self.mask_value = mask_value
        self.supports_masking = True

    def _keep(self, inputs: torch.Tensor) -> torch.Tensor:
        return (inputs != self.mask_value).any(dim=-1)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = check_tensor(self, inputs, min_ndim=2)
        keep = self._keep(x)
        return torch.where(keep.unsqueeze(-1), x, torch.zeros((), dtype=x.dtype, device=x.device))

    def compute_mask(self, inputs: torch.Tensor, mask: Any = None) -> torch.Tensor:
        return self._keep(inputs)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mask_value": self.mask_value}
