"""Permute: reorder the non-batch axes (``Permute((2, 1))`` swaps steps and features), e.g. to
run a recurrent layer over the features of a ``(batch, features, steps)`` tensor."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import torch

from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.common import check_single_shape, check_tensor
from lstmkit.keras.layers.convolutional.spatial import drop_mask


@register("layer")
class Permute(Layer):
    """``inputs.permute(0, *dims)``: output axis ``i`` is input axis ``dims[i - 1]``. Masks are not
    supported (dropped with Keras' warning).

    Args:
        dims: a permutation of ``1 .. rank - 1`` (the batch axis 0 stays first).
    """

    def __init__(self, dims: Sequence[int], **kwargs: Any):
        if isinstance(dims, (str, bytes)) or not isinstance(dims, Sequence) or not all(
                isinstance(d, numbers.Integral) and not isinstance(d, bool) for d in dims):
            raise ValueError(f"Invalid permutation argument `dims` for Permute Layer. Expected a tuple of ints, "
                             f"received dims={dims!r}")
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError("Invalid permutation argument `dims` for Permute Layer. The set of indices in `dims` "
                             f"must be consecutive and start from 1. Received dims={dims}")
        super().__init__(**kwargs)
        self.dims = tuple(int(d) for d in dims)

    def build(self, input_shape: Any) -> None:
        """No weights; checks the rank (as Keras' input spec)."""
        shape = check_single_shape(self, input_shape)
        if len(shape) != len(self.dims) + 1:
            raise ValueError(f"Permute {self.name!r} expects inputs of rank {len(self.dims) + 1}, got shape {shape}")

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        return (shape[0], *(shape[d] for d in self.dims))

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = check_tensor(self, inputs, ndim=len(self.dims) + 1)
        return x.permute(0, *self.dims)

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        drop_mask(self, mask)
        return None

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "dims": self.dims}
