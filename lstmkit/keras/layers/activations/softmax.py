"""``Softmax``: the softmax over one axis (or several) as a layer, masks honoured as Keras 3."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch

from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.common import check_tensor, to_float


def _large_negative(dtype: torch.dtype) -> float:
    """What masked logits become before the exponential (Keras' values)."""
    return -30000.0 if dtype == torch.float16 else -1e9


@register("layer")
class Softmax(Layer):
    """``exp(x) / sum(exp(x))`` over ``axis``.

    With a mask (the input's, or ``mask=``; broadcast to the inputs from the right, float masks
    read as ``> 0.5``): masked entries get a large negative logit, so they take no weight, and
    their output is 0. The mask passes on to the next layer.

    Args:
        axis: the axis, or a list of axes, to normalise over (default: the last).
    """

    def __init__(self, axis: int | list[int] | tuple[int, ...] = -1, **kwargs: Any):
        super().__init__(**kwargs)
        axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
        if not axes or any(isinstance(a, bool) or not isinstance(a, numbers.Integral) for a in axes):
            raise TypeError(f"Softmax axis must be an int or a non-empty list of ints, got {axis!r}")
        self.axis = axis
        self._axes = [int(a) for a in axes]
        self.supports_masking = True

    def call(self, inputs: torch.Tensor, mask: Any = None) -> torch.Tensor:
        x = to_float(check_tensor(self, inputs), self.compute_dtype)
        if mask is not None:
            if not isinstance(mask, torch.Tensor):
                mask = torch.as_tensor(np.asarray(mask))
            mask = mask.to(x.device)
            if mask.dim() > x.dim() or any(m != 1 and m != i for m, i in zip(mask.shape[::-1], x.shape[::-1])):
                raise ValueError(f"The `mask` must be broadcastable to `inputs`: each mask dimension must be 1 or "
                                 f"match the input dimension, and it must not have more dimensions. Received: "
                                 f"inputs.shape="
                                 f"{tuple(x.shape)}, mask.shape={tuple(mask.shape)}")
            if mask.dtype != torch.bool:
                mask = mask > 0.5
            x = torch.where(mask, x, torch.tensor(_large_negative(x.dtype), dtype=x.dtype, device=x.device))
        if len(self._axes) > 1:
            out = torch.exp(x - torch.logsumexp(x, dim=self._axes, keepdim=True))
        else:
            out = torch.softmax(x, dim=self._axes[0])
        if mask is not None:
            out = torch.where(mask, out, torch.zeros((), dtype=out.dtype, device=out.device))
        return out

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}
