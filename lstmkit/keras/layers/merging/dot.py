"""``Dot`` (and ``dot``): the per-sample dot product of two tensors along given axes, e.g. the
similarity of two encodings (``normalize=True``: their cosine similarity). Keras 3 semantics:
``batch_dot`` contracts one axis of each input; the other non-batch axes of the first input come
first in the output, then the second's; a 2-D pair gives ``(batch, 1)``. No output mask."""

from __future__ import annotations

import numbers
from typing import Any

import torch

from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.engine.registry import register

__all__ = ["Dot", "dot", "batch_dot", "l2_normalize"]

_EPSILON = 1e-7  # Keras' backend.epsilon(), the floor of a norm


def l2_normalize(x: torch.Tensor, axis: int) -> torch.Tensor:
    """``x / max(||x||, 1e-7)`` along ``axis`` (Keras' ``ops.normalize``: ``x * min(rsqrt(sum x^2), 1e7)``)."""
    inv = torch.rsqrt(x.square().sum(dim=axis, keepdim=True))
    return x * torch.clamp(inv, max=1.0 / _EPSILON)


def batch_dot(x: torch.Tensor, y: torch.Tensor, axes: tuple[int, int]) -> torch.Tensor:
    """Contract ``x``'s axis ``axes[0]`` with ``y``'s axis ``axes[1]`` (both positive, not the
    batch axis), one sample at a time."""
    a0, a1 = axes
    x2, y2 = x.dim() == 2, y.dim() == 2
    if x2:
        x, a0 = x.unsqueeze(1), a0 + 1  # (B, 1, n)
    if y2:
        y = y.unsqueeze(2)  # (B, n, 1)
    x = x.movedim(a0, -1)  # (B, ..., n)
    y = y.movedim(a1, 1)  # (B, n, ...)
    x_mid, y_rest = x.shape[1:-1], y.shape[2:]
    out = torch.matmul(x.reshape(x.shape[0], -1, x.shape[-1]), y.reshape(y.shape[0], y.shape[1], -1))
    out = out.reshape(out.shape[0], *x_mid, *y_rest)
    if x2:
        out = out.squeeze(1)
    elif y2:
        out = out.squeeze(-1)
    return out


def _check_axes(axes: Any) -> int | tuple[int, int]:
    if isinstance(axes, bool):
        raise TypeError(f"Invalid type for argument `axes`: it should be a list or an int. Received: axes={axes}")
    if isinstance(axes, numbers.Integral):
        return int(axes)
    if not isinstance(axes, (list, tuple)):
        raise TypeError(f"Invalid type for argument `axes`: it should be a list or an int. Received: axes={axes}")
    if len(axes) != 2:
        raise ValueError(f"Invalid format for argument `axes`: it should contain two elements. Received: axes={axes}")
    if not all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axes):
        raise ValueError(f"Invalid format for argument `axes`: list elements should be integers. Received: axes={axes}")
    return axes


@register("layer")
class Dot(Layer):
    """Dot product of two tensors ``[x, y]`` along ``axes``.

    Args:
        axes: one axis for both inputs, or a pair ``(axis of x, axis of y)``; negative axes
            count from the end. The batch axis cannot be contracted.
        normalize: L2-normalise both inputs along their axis first (cosine similarity).
    """

    def __init__(self, axes: int | tuple[int, int] | list[int], normalize: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.axes = _check_axes(axes)
        self.normalize = bool(normalize)
        self.supports_masking = True

    def _resolved_axes(self, shapes: list[tuple]) -> list[int]:
        if isinstance(self.axes, int):
            pair = [self.axes, self.axes]
        else:
            pair = list(self.axes)
        return [a % len(s) if a < 0 else a for a, s in zip(pair, shapes)]

    def build(self, input_shape: Any) -> None:
        if (not isinstance(input_shape, (list, tuple)) or len(input_shape) != 2
                or not isinstance(input_shape[0], (list, tuple))):
            raise ValueError(f"A `Dot` layer should be called on a list of 2 inputs. Received: "
                             f"input_shape={input_shape}")
        self._check(list(input_shape))

    def _check(self, shapes: list[tuple]) -> list[int]:
        shape1, shape2 = (tuple(s) for s in shapes)
        if len(shape1) < 2 or len(shape2) < 2:
            raise ValueError(f"Cannot do batch_dot on inputs with rank < 2. Received inputs with shapes {shape1} and "
                             f"{shape2}.")
        axes = self._resolved_axes([shape1, shape2])
        if any(not 0 <= a < len(s) for a, s in zip(axes, (shape1, shape2))):
            raise ValueError(f"Dot {self.name!r}: axes {self.axes} are out of range for inputs of shapes {shape1} and "
                             f"{shape2}")
        if 0 in axes:
            raise ValueError("Cannot perform batch_dot over axis 0. If your inputs are not batched, add a dummy batch "
                             "dimension to your inputs")
        d1, d2 = shape1[axes[0]], shape2[axes[1]]
        if d1 is not None and d2 is not None and d1 != d2:
            raise ValueError(f"Incompatible input shapes: axis values {d1} (at axis {axes[0]}) != {d2} (at axis "
                             f"{axes[1]}). Full input shapes: {shape1}, {shape2}")
        return axes

    def call(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(f"A `Dot` layer should be called on exactly 2 inputs. Received: inputs={inputs!r}")
        x, y = inputs
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"Cannot do batch_dot on inputs with different batch sizes. Received inputs with shapes "
                             f"{tuple(x.shape)} and {tuple(y.shape)}.")
        axes = self._check([tuple(x.shape), tuple(y.shape)])
        dtype = torch.promote_types(x.dtype, y.dtype)
        x, y = x.to(dtype), y.to(dtype)
        if self.normalize:
            x, y = l2_normalize(x, axes[0]), l2_normalize(y, axes[1])
        return batch_dot(x, y, (axes[0], axes[1]))

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        return None

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def dot(inputs: list[Any], axes: int | tuple[int, int] = -1, **kwargs: Any) -> Any:
    """``Dot(axes=axes, **kwargs)(inputs)``."""
    return Dot(axes=axes, **kwargs)(inputs)
