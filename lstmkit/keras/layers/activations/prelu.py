"""``PReLU``: a leaky rectifier whose negative slope ``alpha`` is learned (He et al., 2015)."""

from __future__ import annotations

import numbers
from typing import Any

import torch

from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.common import (
    check_single_shape,
    check_tensor,
    serialize_options,
    set_weight_options,
    to_float,
)


def _shared_axes(value: Any) -> list[int] | None:
    if value is None:
        return None
    axes = list(value) if isinstance(value, (list, tuple)) else [value]
    for a in axes:
        if isinstance(a, bool) or not isinstance(a, numbers.Integral):
            raise TypeError(f"PReLU shared_axes must be an int or a list of ints, got {value!r}")
    return [int(a) for a in axes]


@register("layer")
class PReLU(Layer):
    """``x`` for ``x >= 0``, ``alpha * x`` below, with one learned ``alpha`` per input entry
    (without the batch axis), shared along ``shared_axes``.

    Args:
        alpha_initializer: initializer of alpha (zeros: starts as a plain ReLU).
        alpha_regularizer: penalty on alpha.
        alpha_constraint: projection applied to alpha after each update.
        shared_axes: axes (1 = the first after the batch) along which one alpha is shared, e.g.
            ``[1]`` for one slope per feature of a sequence.
    """

    def __init__(self, alpha_initializer: Any = "Zeros", alpha_regularizer: Any = None, alpha_constraint: Any = None,
                 shared_axes: int | list[int] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        set_weight_options(self, alpha_initializer=alpha_initializer, alpha_regularizer=alpha_regularizer,
                           alpha_constraint=alpha_constraint)
        self.shared_axes = _shared_axes(shared_axes)
        self.supports_masking = True

    def build(self, input_shape: Any) -> None:
        shape = check_single_shape(self, input_shape)
        param_shape = list(shape[1:])
        for a in self.shared_axes or []:
            if not 1 <= a < len(shape):
                raise ValueError(f"PReLU {self.name!r}: shared axis {a} is not an axis of inputs of shape {shape} "
                                 "(axes count from 1, after the batch axis)")
            param_shape[a - 1] = 1
        if any(d is None for d in param_shape):
            raise ValueError(f"PReLU {self.name!r} needs known sizes on every axis that is not shared, got input "
                             f"shape {shape} with shared_axes={self.shared_axes}")
        self._ndim = len(shape)
        self.add_weight("alpha", tuple(param_shape), self.alpha_initializer, self.alpha_regularizer,
                        self.alpha_constraint)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = to_float(check_tensor(self, inputs, ndim=self._ndim), self.compute_dtype)
        return torch.relu(x) - self.alpha * torch.relu(-x)  # alpha (F...) broadcasts over the batch

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(),
                **serialize_options(self, "alpha_initializer", "alpha_regularizer", "alpha_constraint"),
                "shared_axes": self.shared_axes}
