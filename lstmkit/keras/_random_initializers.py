"""The random Keras 3 initializers: RandomNormal, RandomUniform, TruncatedNormal,
VarianceScaling and its named cases (Glorot, He, LeCun), and Orthogonal. Re-exported by
``lstmkit.keras.initializers``; formulas and fans exactly as ``keras/src/initializers``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from lstmkit.keras._initializer_base import (
    Initializer,
    _check_seed,
    _normal,
    _truncated_normal,
    _uniform,
    compute_fans,
)
from lstmkit.keras.engine.registry import register


class RandomInitializer(Initializer):
    """Base of the random initializers: holds the optional integer ``seed``."""

    def __init__(self, seed: int | None = None):
        self.seed = _check_seed(seed)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed}


@register("initializer", "random_normal", "normal")
class RandomNormal(RandomInitializer):
    """Normal distribution.

    Args:
        mean: mean of the values.
        stddev: standard deviation of the values.
        seed: integer seed (same values on every call) or None (torch's global RNG).
    """

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        self.mean, self.stddev = mean, stddev
        super().__init__(seed)

    def _sample(self, shape, dtype, generator):
        return _normal(shape, dtype, generator, self.mean, self.stddev)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


@register("initializer", "truncated_normal")
class TruncatedNormal(RandomInitializer):
    """Normal distribution with values further than two standard deviations from the mean re-drawn.

    Args:
        mean: mean of the (untruncated) distribution.
        stddev: standard deviation of the (untruncated) distribution.
        seed: integer seed or None.
    """

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        self.mean, self.stddev = mean, stddev
        super().__init__(seed)

    def _sample(self, shape, dtype, generator):
        return _truncated_normal(shape, dtype, generator, self.mean, self.stddev)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


@register("initializer", "random_uniform", "uniform")
class RandomUniform(RandomInitializer):
    """Uniform distribution on ``[minval, maxval)`` (the default for Embedding).

    Args:
        minval: lower bound.
        maxval: upper bound.
        seed: integer seed or None.
    """

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None):
        self.minval, self.maxval = minval, maxval
        super().__init__(seed)

    def _sample(self, shape, dtype, generator):
        return _uniform(shape, dtype, generator, self.minval, self.maxval)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")


@register("initializer", "variance_scaling")
class VarianceScaling(RandomInitializer):
    """Scale adapted to the weight's fans: with ``n`` = fan_in, fan_out or their mean (``mode``),
    normal distributions have ``stddev = sqrt(scale / n)`` (after truncation for
    "truncated_normal"), "uniform" draws from ``[-limit, limit]`` with ``limit = sqrt(3 scale / n)``.

    Args:
        scale: positive scaling factor.
        mode: "fan_in", "fan_out" or "fan_avg".
        distribution: "truncated_normal" ("normal" is an alias), "untruncated_normal" or "uniform".
        seed: integer seed or None.
        input_axes: optional axes of the weight counted as inputs (with ``output_axes``).
        output_axes: optional axes of the weight counted as outputs.
    """

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal",
                 seed: int | None = None, input_axes: Sequence[int] | None = None,
                 output_axes: Sequence[int] | None = None):
        if not isinstance(scale, (int, float)) or scale <= 0.0:
            raise ValueError(f"VarianceScaling scale must be a positive float, got {scale!r}")
        if mode not in _MODES:
            raise ValueError(f"VarianceScaling mode must be one of {list(_MODES)}, got {mode!r}")
        distribution = str(distribution).lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in _DISTRIBUTIONS:
            raise ValueError(f"VarianceScaling distribution must be one of {list(_DISTRIBUTIONS)} (or 'normal'), "
                             f"got {distribution!r}")
        self.scale, self.mode, self.distribution = scale, mode, distribution
        self.input_axes = None if input_axes is None else list(input_axes)
        self.output_axes = None if output_axes is None else list(output_axes)
        super().__init__(seed)

    def _sample(self, shape, dtype, generator):
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, n)
        if self.distribution == "truncated_normal":
            # 0.8796...: the standard deviation of a unit normal truncated to [-2, 2].
            return _truncated_normal(shape, dtype, generator, 0.0, math.sqrt(scale) / 0.87962566103423978)
        if self.distribution == "untruncated_normal":
            return _normal(shape, dtype, generator, 0.0, math.sqrt(scale))
        limit = math.sqrt(3.0 * scale)
        return _uniform(shape, dtype, generator, -limit, limit)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "input_axes": self.input_axes, "output_axes": self.output_axes}


class _FixedVarianceScaling(VarianceScaling):
    """The named special cases (Glorot, He, LeCun): only the seed (and axes) are configurable."""

    _preset: tuple[float, str, str] = (1.0, "fan_in", "truncated_normal")

    def __init__(self, seed: int | None = None, input_axes: Sequence[int] | None = None,
                 output_axes: Sequence[int] | None = None):
        scale, mode, distribution = self._preset
        super().__init__(scale, mode, distribution, seed, input_axes, output_axes)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed, "input_axes": self.input_axes, "output_axes": self.output_axes}


@register("initializer", "glorot_uniform")
class GlorotUniform(_FixedVarianceScaling):
    """Uniform on ``[-limit, limit]``, ``limit = sqrt(6 / (fan_in + fan_out))`` (Keras' default
    kernel initializer). Args: seed, input_axes, output_axes as VarianceScaling."""

    _preset = (1.0, "fan_avg", "uniform")


@register("initializer", "glorot_normal")
class GlorotNormal(_FixedVarianceScaling):
    """Truncated normal with ``stddev = sqrt(2 / (fan_in + fan_out))``."""

    _preset = (1.0, "fan_avg", "truncated_normal")


@register("initializer", "he_normal")
class HeNormal(_FixedVarianceScaling):
    """Truncated normal with ``stddev = sqrt(2 / fan_in)``."""

    _preset = (2.0, "fan_in", "truncated_normal")


@register("initializer", "he_uniform")
class HeUniform(_FixedVarianceScaling):
    """Uniform on ``[-limit, limit]``, ``limit = sqrt(6 / fan_in)``."""

    _preset = (2.0, "fan_in", "uniform")


@register("initializer", "lecun_normal")
class LecunNormal(_FixedVarianceScaling):
    """Truncated normal with ``stddev = sqrt(1 / fan_in)``."""

    _preset = (1.0, "fan_in", "truncated_normal")


@register("initializer", "lecun_uniform")
class LecunUniform(_FixedVarianceScaling):
    """Uniform on ``[-limit, limit]``, ``limit = sqrt(3 / fan_in)``."""

    _preset = (1.0, "fan_in", "uniform")


@register("initializer", "orthogonal", "OrthogonalInitializer")
class Orthogonal(RandomInitializer):
    """An orthogonal matrix (Keras' default recurrent kernel initializer): the Q of the QR
    decomposition of a normal matrix, sign-corrected so the distribution is uniform. A weight of
    more than 2 dimensions is treated as ``(prod(shape[:-1]), shape[-1])``; a wide matrix gets
    orthonormal rows, a tall one orthonormal columns.

    Args:
        gain: multiplicative factor.
        seed: integer seed or None.
    """

    def __init__(self, gain: float = 1.0, seed: int | None = None):
        self.gain = gain
        super().__init__(seed)

    def _sample(self, shape, dtype, generator):
        if len(shape) < 2:
            raise ValueError(f"Orthogonal initializer needs a weight of at least 2 dimensions, got shape {shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = _normal((max(rows, cols), min(rows, cols)), dtype, generator, 0.0, 1.0)
        q, r = torch.linalg.qr(a)
        q = q * torch.sign(torch.diagonal(r))
        if rows < cols:
            q = q.T
        return self.gain * q.reshape(shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "gain": self.gain}
