"""Dropout (with Keras' ``noise_shape`` and ``seed``)."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.common import (
    to_float,
)


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
