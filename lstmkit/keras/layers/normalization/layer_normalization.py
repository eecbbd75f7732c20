"""``LayerNormalization``: normalise each sample over the given axes (the features by default),
then scale by ``gamma`` and shift by ``beta`` (Keras 3 semantics; biased variance)."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.common import (
    add_configured_weight,
    check_single_shape,
    check_tensor,
    serialize_options,
    set_weight_options,
    to_float,
)


@register("layer")
class LayerNormalization(Layer):
    """``gamma * (x - mean) / sqrt(var + epsilon) + beta`` with mean and variance over ``axis``.

    Args:
        axis: the axis or list of axes to normalise over (default: the last).
        epsilon: added to the variance for numerical stability.
        center: whether to add the learned offset ``beta``.
        scale: whether to multiply by the learned ``gamma``.
        beta_initializer: initializer of beta.
        gamma_initializer: initializer of gamma.
        beta_regularizer: penalty on beta.
        gamma_regularizer: penalty on gamma.
        beta_constraint: projection applied to beta after each update.
        gamma_constraint: projection applied to gamma after each update.
    """

    def __init__(self, axis: int | Sequence[int] = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: Any = "zeros", gamma_initializer: Any = "ones",
                 beta_regularizer: Any = None, gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, **kwargs: Any):
        kwargs.pop("rms_scaling", None)  # deprecated in Keras 3; accepted in saved configs and ignored
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            if not axis or not all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axis):
                raise TypeError(f"LayerNormalization axis must be an int or a non-empty list of ints, got {axis!r}")
            self.axis: int | list[int] = [int(a) for a in axis]
        elif isinstance(axis, numbers.Integral) and not isinstance(axis, bool):
            self.axis = int(axis)
        else:
            raise TypeError(f"LayerNormalization axis must be an int or a list of ints, got {axis!r}")
        if not isinstance(epsilon, numbers.Real) or epsilon < 0:
            raise ValueError(f"LayerNormalization epsilon must be a non-negative float, got {epsilon!r}")
        self.epsilon = float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        set_weight_options(self, beta_initializer=beta_initializer, gamma_initializer=gamma_initializer,
                           beta_regularizer=beta_regularizer, gamma_regularizer=gamma_regularizer,
                           beta_constraint=beta_constraint, gamma_constraint=gamma_constraint)
        self.supports_masking = True

    def build(self, input_shape: Any) -> None:
        shape = check_single_shape(self, input_shape)
        ndim = len(shape)
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        for a in axes:
            if not -ndim <= a < ndim:
                raise ValueError(f"LayerNormalization {self.name!r}: axis {a} is out of bounds for inputs of shape "
                                 f"{shape}")
        self.axis = sorted(axes)
        self._axes = sorted(a % ndim for a in axes)
        if len(set(self._axes)) != len(self._axes):
            raise ValueError(f"LayerNormalization {self.name!r}: repeated axes in {axes}")
        param_shape = tuple(shape[a] for a in self._axes)
        if any(d is None for d in param_shape):
            raise ValueError(f"LayerNormalization {self.name!r} needs known sizes on the normalised axes, got shape "
                             f"{shape}")
        self._ndim, self._param_shape = ndim, param_shape
        self._trailing = self._axes == list(range(ndim - len(self._axes), ndim))
        add_configured_weight(self, "gamma", param_shape if self.scale else None)
        add_configured_weight(self, "beta", param_shape if self.center else None)
        self.built = True  # also when build() is called directly, as in Keras

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = check_tensor(self, inputs, ndim=self._ndim)
        x = to_float(x, self.compute_dtype)
        if tuple(x.shape[a] for a in self._axes) != self._param_shape:
            raise ValueError(f"LayerNormalization {self.name!r} was built for sizes {self._param_shape} on axes "
                             f"{self._axes}, got inputs of shape {tuple(x.shape)}")
        if self._trailing:
            return F.layer_norm(x, self._param_shape, self.gamma, self.beta, self.epsilon)
        var, mean = torch.var_mean(x, dim=self._axes, keepdim=True, correction=0)
        inv = torch.rsqrt(var + self.epsilon)
        bshape = [x.shape[d] if d in self._axes else 1 for d in range(x.dim())]
        if self.gamma is not None:
            inv = inv * self.gamma.reshape(bshape)
        out = x * inv - mean * inv
        return out + self.beta.reshape(bshape) if self.beta is not None else out

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale,
                **serialize_options(self, "beta_initializer", "gamma_initializer", "beta_regularizer",
                                    "gamma_regularizer", "beta_constraint", "gamma_constraint")}
