"""``keras.random.SeedGenerator`` and how a ``seed=`` argument becomes a torch generator.

Why our own generator per draw, as Keras 3's torch backend: Keras' random functions are
stateless in an integer seed (``normal(s, seed=42)`` twice gives the same numbers) and step
through a ``SeedGenerator`` (its state ``[seed, counter]``; each draw seeds a fresh
``torch.Generator`` with ``(seed + counter) mod 2**32`` and adds 1 to the counter). Doing the
same gives Keras' exact numbers on the CPU. ``seed=None`` draws from torch's global RNG
(``torch.manual_seed`` / ``keras.utils.set_random_seed``), like the unseeded noise layers.
"""

from __future__ import annotations

import numbers
import random as python_random
from typing import Any

import torch

from lstmkit.keras.engine import layer as engine_layer
from lstmkit.keras.engine.layer import unique_name

__all__ = ["SeedGenerator", "torch_generator"]


class SeedGenerator:
    """A seed that changes at every draw: pass it as ``seed=`` to the ``keras.random`` functions
    (a layer keeps one as an attribute, ``self.seed_generator = keras.random.SeedGenerator(1337)``).

    Args:
        seed: the initial seed (an int); None picks one at random (Python's ``random``, as Keras).
        name: a name, for ``get_config``.
    """

    def __init__(self, seed: int | None = None, name: str | None = None, **kwargs: Any):
        kwargs.pop("backend", None)
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments: {kwargs}")
        self.name = name or unique_name("seed_generator")
        self._initial_seed = seed
        if seed is None:
            seed = python_random.randint(1, int(1e9))
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise ValueError(f"Argument `seed` must be an integer. Received: seed={seed!r}")
        self.state = torch.tensor([int(seed), 0], dtype=torch.int64)  # [seed, counter], Keras' layout

    def next(self, ordered: bool = True) -> torch.Tensor:
        """The current ``[seed, counter]``, then step the state (counter + 1, or Keras' unordered hop)."""
        value = self.state.clone()
        if ordered:
            self.state[1] += 1
        else:
            self.state = (self.state + 1) * 5387 % 933199
        return value

    def get_config(self) -> dict[str, Any]:
        return {"seed": self._initial_seed, "name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SeedGenerator:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<SeedGenerator name={self.name}, state={self.state.tolist()}>"


def torch_generator(seed: Any, device: torch.device | str | None = None) -> torch.Generator | None:
    """The generator one draw uses: None (torch's global RNG) for ``seed=None`` and during a
    symbolic shape pass (which must not step a SeedGenerator), else one seeded as Keras does."""
    if seed is None or engine_layer.TRACING:
        return None
    if isinstance(seed, SeedGenerator):
        first, second = (int(v) for v in seed.next())
    elif isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        first, second = int(seed), 0
    else:
        raise ValueError("Argument `seed` must be either an integer or an instance of `SeedGenerator`. "
                         f"Received: seed={seed!r} (of type {type(seed)})")
    generator = torch.Generator(device=device or "cpu")
    generator.manual_seed((first + second) & 0xFFFFFFFF)
    return generator
