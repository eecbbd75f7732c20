"""The base of lstmkit.keras initializers: the ``Initializer`` class (fill a torch tensor in
place, or Keras-style return a new one from a shape), Keras' ``compute_fans``, and the CPU
sampling helpers every random initializer uses (see ``lstmkit.keras.initializers``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

Shape = Sequence[int]


def compute_fans(shape: Shape, input_axes: Sequence[int] | None = None,
                 output_axes: Sequence[int] | None = None) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a Keras-layout weight shape, exactly as Keras: a 2-D ``(in, out)``
    kernel gives ``(in, out)``; for more dimensions the leading ones are a receptive field."""
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        return int(math.prod(shape[a] for a in input_axes)), int(math.prod(shape[a] for a in output_axes))
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return int(shape[0]), int(shape[0])
    if len(shape) == 2:
        return int(shape[0]), int(shape[1])
    receptive = math.prod(shape[:-2])
    return int(shape[-2] * receptive), int(shape[-1] * receptive)


def _float_dtype(dtype: Any) -> torch.dtype:
    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    name = str(dtype).removeprefix("torch.")
    value = getattr(torch, name, None)
    if not isinstance(value, torch.dtype):
        raise ValueError(f"unknown dtype {dtype!r}")
    return value


def _check_seed(seed: Any) -> int | None:
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an int or None, got {seed!r}")
    return int(seed)


class Initializer:
    """Base class. Subclasses implement ``_sample(shape, dtype, generator) -> CPU tensor``;
    ``__call__`` fills a given tensor in place (our contract) or, given a shape, returns a new
    tensor (Keras' ``initializer(shape, dtype)``).

    A user subclass that overrides ``__call__(shape, dtype=None)`` Keras-style also works with
    ``get``: its result is copied into the weight.
    """

    seed: int | None = None

    def _sample(self, shape: tuple[int, ...], dtype: torch.dtype, generator: torch.Generator | None) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement _sample() or __call__(shape, dtype)")

    def __call__(self, tensor_or_shape: Any = None, dtype: Any = None, *, shape: Shape | None = None) -> torch.Tensor:
        if isinstance(tensor_or_shape, torch.Tensor):
            return self._fill(tensor_or_shape)
        if shape is None:
            shape = tensor_or_shape
        if shape is None:
            raise TypeError(f"{type(self).__name__}() needs a tensor to fill or a shape")
        return self._fill(torch.empty(tuple(int(d) for d in shape), dtype=_float_dtype(dtype)))

    def _fill(self, tensor: torch.Tensor) -> torch.Tensor:
        generator = None
        if self.seed is not None:
            generator = torch.Generator().manual_seed(self.seed)
        # Sample in float32 (float64 for float64 weights) on the CPU: the same values on every device.
        work = torch.float64 if tensor.dtype == torch.float64 else torch.float32
        values = self._sample(tuple(tensor.shape), work, generator)
        with torch.no_grad():
            tensor.copy_(values)
        return tensor

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Initializer:
        return cls(**config)

    def clone(self) -> Initializer:
        return type(self).from_config(self.get_config())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _uniform(shape, dtype, generator, low: float, high: float) -> torch.Tensor:
    return torch.empty(shape, dtype=dtype).uniform_(low, high, generator=generator)


def _normal(shape, dtype, generator, mean: float, std: float) -> torch.Tensor:
    return torch.empty(shape, dtype=dtype).normal_(mean, std, generator=generator)


def _truncated_normal(shape, dtype, generator, mean: float, std: float) -> torch.Tensor:
    """Normal(mean, std) restricted to [mean - 2 std, mean + 2 std] (Keras' truncation), by the
    inverse CDF of a uniform draw between the CDF values of the bounds."""
    lo, hi = (1.0 + math.erf(-2.0 / math.sqrt(2.0))) / 2.0, (1.0 + math.erf(2.0 / math.sqrt(2.0))) / 2.0
    u = torch.empty(shape, dtype=dtype).uniform_(2 * lo - 1, 2 * hi - 1, generator=generator)
    x = u.erfinv_().mul_(math.sqrt(2.0)).clamp_(-2.0, 2.0)
    return x.mul_(std).add_(mean)
