"""Helpers shared by the fused-kernel parity tests."""

from __future__ import annotations

import torch
from torch.nn.utils.rnn import PackedSequence


def flat(obj) -> list[torch.Tensor]:
    """Every tensor in a nest of tuples/lists/PackedSequences, in order (None: nothing)."""
    if obj is None:
        return []
    if isinstance(obj, PackedSequence):
        return [obj.data]
    if isinstance(obj, torch.Tensor):
        return [obj]
    return [t for item in obj for t in flat(item)]


def weighted_loss(*objs) -> torch.Tensor:
    """Weighted sums, so every element's gradient differs (a plain sum hides permutations)."""
    total = 0
    for k, t in enumerate(flat(objs)):
        w = torch.linspace(-1.0 + 0.1 * k, 1.5, t.numel(), dtype=t.dtype).reshape(t.shape)
        total = total + (t * w).sum()
    return total


def assert_same(a, b, tol: dict, what: str = "") -> None:
    """Every tensor of two nests equal within ``tol`` (b cast to a's dtype), named by position."""
    fa, fb = flat(a), flat(b)
    assert len(fa) == len(fb), what
    for k, (u, v) in enumerate(zip(fa, fb)):
        torch.testing.assert_close(u, v.to(u.dtype), **tol, msg=lambda msg, k=k: f"{what}[{k}]: {msg}")
