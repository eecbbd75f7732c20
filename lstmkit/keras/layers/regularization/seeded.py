"""Seeded randomness as Keras 3's torch backend draws it, shared by the noise layers.

Why not one long-lived ``torch.Generator``: Keras seeds a *fresh* generator for every call of a
seeded layer, with ``(seed + k) mod 2**32`` on the k-th call (its ``SeedGenerator`` counter).
Doing the same here makes ``GaussianNoise(0.1, seed=3)`` draw exactly Keras' numbers on the CPU,
call after call, and any seed reproducible run to run. Unseeded layers use torch's global RNG
(``torch.manual_seed`` / ``keras.utils.set_random_seed``).
"""

from __future__ import annotations

import numbers
from typing import Any

import torch

from lstmkit.keras.engine import layer as engine_layer


def check_seed(layer: str, seed: Any) -> int | None:
    """``seed`` as an int or None, else the ValueError Keras raises."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise ValueError(f"{layer} seed must be an integer or None. Received: seed={seed!r}")
    return None if seed is None else int(seed)


def check_fraction(layer: str, what: str, value: Any) -> float:
    """A float in [0, 1] (Keras' rule for ``rate`` and ``stddev``), else a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
        raise ValueError(f"Invalid value received for argument `{what}` of {layer}. Expected a float value between 0 "
                         f"and 1. Received: {what}={value!r}")
    return float(value)


class SeedStream:
    """The generators of one layer's calls: None when unseeded (torch's global RNG), else a new
    generator per call seeded ``(seed + calls so far) mod 2**32``, as Keras 3 on torch."""

    def __init__(self, seed: int | None):
        self.seed = seed
        self.calls = 0

    def next(self, device: torch.device) -> torch.Generator | None:
        if self.seed is None or engine_layer.TRACING:  # a symbolic shape pass draws nothing from the stream
            return None
        generator = torch.Generator(device=device)
        generator.manual_seed((self.seed + self.calls) & 0xFFFFFFFF)
        self.calls += 1
        return generator
