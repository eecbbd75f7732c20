"""Reshape: the non-batch axes to a target shape (one may be -1)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import torch

from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.common import check_tensor


@register("layer")
class Reshape(Layer):
    """Reshapes each sample to ``target_shape`` (without the batch axis; one entry may be -1).

    Args:
        target_shape: the new shape of one sample, e.g. ``(4, -1)``.
    """

    def __init__(self, target_shape: Sequence[int], **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(target_shape, numbers.Integral):
            target_shape = (target_shape,)
        if isinstance(target_shape, str) or not isinstance(target_shape, Sequence):
            raise ValueError(f"Reshape target_shape must be a tuple of ints, got {target_shape!r}")
        shape = tuple(target_shape)
        for d in shape:
            if isinstance(d, bool) or not isinstance(d, numbers.Integral) or (d <= 0 and d != -1):
                raise ValueError(f"Reshape target_shape entries must be positive ints or one -1, got {shape}")
        if sum(d == -1 for d in shape) > 1:
            raise ValueError(f"Reshape target_shape may contain at most one -1, got {shape}")
        self.target_shape = tuple(int(d) for d in shape)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = check_tensor(self, inputs, min_ndim=1)
        size = math.prod(x.shape[1:])
        known = math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            ok = known > 0 and size % known == 0
        else:
            ok = size == known
        if not ok:
            raise ValueError(f"Reshape {self.name!r}: cannot reshape samples of shape {tuple(x.shape[1:])} "
                             f"({size} values) into target_shape {self.target_shape}")
        shape = tuple(size // known if d == -1 else d for d in self.target_shape)
        return x.reshape(x.shape[0], *shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "target_shape": list(self.target_shape)}
