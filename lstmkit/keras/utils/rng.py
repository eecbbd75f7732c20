"""``set_random_seed``: one call that makes a Keras script reproducible by seeding every random
number generator it can touch (Python's ``random``, NumPy's global state, torch on all devices)."""

from __future__ import annotations

import random

import numpy as np
import torch


def set_random_seed(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and all GPUs).

    Layers, initialisers, dropout and shuffling in lstmkit.keras draw from these generators, so
    the same seed gives the same run (up to non-deterministic GPU kernels).

    Args:
        seed: integer seed in ``[0, 2**32 - 1]`` (NumPy's range).
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"Expected `seed` argument to be an integer. Received: seed={seed!r} (of type {type(seed)})")
    seed = int(seed)
    if not 0 <= seed < 2**32:
        raise ValueError(f"`seed` must be in [0, 2**32 - 1], got {seed}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # seeds every CUDA device too
