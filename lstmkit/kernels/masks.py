"""Zoneout keep masks from a counter-based hash, the same bits in torch and in the kernels' op.

One draw from torch's generator (so ``torch.manual_seed`` still fixes everything) seeds a whole
(T, B, W) mask; element i keeps its previous value iff ``hash(i, seed) >> 8 < z * 2**24`` (the
24-bit resolution of ``torch.rand``). Why not ``torch.rand(...) < z``: its Mersenne Twister is
sequential, about 3.4 ns an element on a 2-core EPYC, and at T=50, B=32, H=64 the two masks of an
LSTM cost a third of the whole fused training call. The op (``lstmkit/csrc/masks.cpp``) computes the hash
in parallel SIMD lanes; the torch code here is its reference and the plain-torch loop's source,
so the fused and loop paths draw identical masks for one seed.
"""

from __future__ import annotations

import math

import torch

M32 = 0xFFFFFFFF
#: Multipliers below 2**31: a 32-bit value times one stays inside int64 (torch has no uint32 math).
C1, C2 = 0x7FEB352D, 0x2C1B3C6D
SCALE = 1 << 24


def _mix(x: torch.Tensor) -> torch.Tensor:
    """A 32-bit avalanche round (xorshift-multiply, as in Wellons' hash prospector), in int64."""
    x = x ^ (x >> 16)
    x = (x * C1) & M32
    x = x ^ (x >> 15)
    x = (x * C2) & M32
    return x ^ (x >> 16)


def keep_threshold(z: float) -> int:
    """Hashes (24 bits) below this keep the previous value: probability z to 2**-24."""
    if not 0.0 <= z < 1.0:
        raise ValueError(f"zoneout rate must be in [0, 1), got {z}")
    return int(z * SCALE)


def draw_seeds() -> tuple[int, int]:
    """Two 32-bit seeds from torch's default generator."""
    s0, s1 = torch.randint(0, 1 << 32, (2,), dtype=torch.int64).tolist()
    return s0, s1


def keep_mask_torch(seeds: tuple[int, int], shape: tuple[int, ...], z: float,
                    device: torch.device | str = "cpu") -> torch.Tensor:
    """The keep mask (bool, ``shape``) for ``seeds`` in plain torch: the reference of the op."""
    i = torch.arange(math.prod(shape), dtype=torch.int64, device=device)
    x = _mix((i & M32) ^ seeds[0])
    x = _mix(x ^ (i >> 32) ^ seeds[1])
    return ((x >> 8) < keep_threshold(z)).reshape(shape)


def zoneout_keep(shape: tuple[int, int, int], z: float, device: torch.device, kernel: bool) -> torch.Tensor:
    """A training-mode zoneout keep mask (True keeps the previous value), one seed per call;
    ``kernel``: computed by the fused kernels' op (CPU; the library must be loaded)."""
    seeds = draw_seeds()
    if kernel:
        return torch.ops.lstmkit.zoneout_keep(seeds[0], seeds[1], list(shape), float(z))
    return keep_mask_torch(seeds, shape, z, device)
