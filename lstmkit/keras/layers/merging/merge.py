"""Merge layers: ``Concatenate``, ``Add``, ``Multiply``, ``Average`` (and the functional forms
``concatenate``, ``add``, ``multiply``, ``average``), with Keras 3's shape and mask rules.

Elementwise merges broadcast like Keras: the non-batch shapes are aligned on the right and each
size must be equal or 1; a lower-rank input gets new axes after the batch axis. Their output mask
is the OR of the input masks when every input has one (else no mask). ``Concatenate``'s mask
marks a position valid where any concatenated part is valid, as in Keras.
"""

from __future__ import annotations

import numbers
from typing import Any

import torch

from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.engine.registry import register

__all__ = ["Concatenate", "Add", "Multiply", "Average", "concatenate", "add", "multiply", "average"]


def _inputs(layer: Layer, inputs: Any) -> list[torch.Tensor]:
    if not isinstance(inputs, (list, tuple)) or not inputs:
        raise ValueError(f"merge layer {layer.name!r} ({type(layer).__name__}) must be called on a non-empty list of "
                         f"tensors, got {type(inputs).__name__}")
    for x in inputs:
        if not isinstance(x, torch.Tensor):
            raise ValueError(f"merge layer {layer.name!r} got a non-tensor input: {type(x).__name__}")
    batches = {int(x.shape[0]) for x in inputs if x.dim() > 0}
    if len(batches) > 1:
        raise ValueError(f"merge layer {layer.name!r} cannot merge tensors with different batch sizes: shapes "
                         f"{[tuple(x.shape) for x in inputs]}")
    return list(inputs)


class _Merge(Layer):
    """Elementwise merge of a list of tensors; subclasses implement ``_merge``."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.supports_masking = True

    def build(self, input_shape: Any) -> None:
        if not isinstance(input_shape, (list, tuple)) or not input_shape or \
                not isinstance(input_shape[0], (list, tuple)):
            raise ValueError(f"merge layer {self.name!r} ({type(self).__name__}) must be called on a list of "
                             f"tensors, got an input of shape {input_shape}")

    def _check_shapes(self, inputs: list[torch.Tensor]) -> None:
        """Keras' rule: non-batch shapes, right-aligned, must agree where neither size is 1."""
        shapes = [tuple(x.shape[1:]) for x in inputs]
        out: tuple[int, ...] = ()
        for shape in shapes:
            longer, shorter = (out, shape) if len(out) >= len(shape) else (shape, out)
            merged = list(longer[:len(longer) - len(shorter)])
            for i, j in zip(longer[len(longer) - len(shorter):], shorter):
                if i != j and 1 not in (i, j):
                    raise ValueError(f"merge layer {self.name!r} ({type(self).__name__}): inputs have incompatible "
                                     f"shapes {[tuple(x.shape) for x in inputs]}")
                merged.append(j if i == 1 else i)
            out = tuple(merged)

    def _aligned(self, inputs: list[torch.Tensor]) -> tuple[list[torch.Tensor], bool]:
        """Inputs of lower rank get new axes after the batch axis (Keras' reshape rule)."""
        ndim = max(x.dim() for x in inputs)
        if all(x.dim() == ndim for x in inputs):
            return inputs, False
        return [x.reshape(x.shape[0], *([1] * (ndim - x.dim())), *x.shape[1:]) for x in inputs], True

    def call(self, inputs: list[torch.Tensor], mask: Any = None) -> torch.Tensor:
        xs = _inputs(self, inputs)
        self._check_shapes(xs)
        xs, reshaped = self._aligned(xs)
        masks = None if reshaped or not isinstance(mask, (list, tuple)) else list(mask)
        return self._merge(xs, masks)

    def _merge(self, inputs: list[torch.Tensor], masks: list[Any] | None) -> torch.Tensor:
        raise NotImplementedError

    def compute_mask(self, inputs: Any, mask: Any = None) -> torch.Tensor | None:
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)) or not isinstance(inputs, (list, tuple)) or len(mask) != len(inputs):
            raise ValueError(f"merge layer {self.name!r}: mask must be a list with one entry per input, got {mask!r}")
        if any(m is None for m in mask):
            return None
        out = mask[0]
        for m in mask[1:]:
            out = out | m
        return out


@register("layer")
class Add(_Merge):
    """Elementwise sum of a list of tensors of the same (broadcastable) shape."""

    def _merge(self, inputs, masks):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out


@register("layer")
class Average(_Merge):
    """Elementwise mean of a list of tensors of the same (broadcastable) shape."""

    def _merge(self, inputs, masks):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out / len(inputs)


@register("layer")
class Multiply(_Merge):
    """Elementwise product of a list of tensors. When every input has a mask (Keras 3), masked
    positions count as 1 in the product and positions masked in all inputs are 0."""

    def _merge(self, inputs, masks):
        use_masks = masks is not None and all(m is not None for m in masks)
        out, out_mask = None, None
        for k, x in enumerate(inputs):
            if masks is not None and masks[k] is not None:
                m = masks[k].unsqueeze(-1).expand(x.shape)
                x = torch.where(m, x, torch.ones((), dtype=x.dtype, device=x.device))
                if use_masks:
                    out_mask = m if out_mask is None else out_mask | m
            out = x if out is None else out * x
        if use_masks:
            out = torch.where(out_mask, out, torch.zeros((), dtype=out.dtype, device=out.device))
        return out


@register("layer")
class Subtract(_Merge):
    """``inputs[0] - inputs[1]``: exactly two tensors of the same (broadcastable) shape."""

    def _merge(self, inputs, masks):
        if len(inputs) != 2:
            raise ValueError(f"merge layer {self.name!r} (Subtract) takes exactly 2 inputs, got {len(inputs)}")
        return inputs[0] - inputs[1]


def _masked_op(op: Any, inputs: list[torch.Tensor], masks: list[Any] | None) -> torch.Tensor:
    """Keras 3's rule for merges without an identity element (max, min): a masked position takes
    the other operand's value, so padding never wins; positions masked everywhere keep a value."""
    out, out_mask = None, None
    for k, x in enumerate(inputs):
        mask = masks[k] if masks is not None else None
        if mask is not None:
            mask = mask.unsqueeze(-1).expand(x.shape)
        if out is None:
            out, out_mask = x, mask
            continue
        if mask is not None:
            x = torch.where(mask, x, out)
        if out_mask is not None:
            out = torch.where(out_mask, out, x)
        out_mask = out_mask | mask if mask is not None and out_mask is not None else None
        out = op(out, x)
    return out


@register("layer")
class Maximum(_Merge):
    """Elementwise maximum of a list of tensors of the same (broadcastable) shape."""

    def _merge(self, inputs, masks):
        return _masked_op(torch.maximum, inputs, masks)


@register("layer")
class Minimum(_Merge):
    """Elementwise minimum of a list of tensors of the same (broadcastable) shape."""

    def _merge(self, inputs, masks):
        return _masked_op(torch.minimum, inputs, masks)


@register("layer")
class Concatenate(_Merge):
    """Concatenates a list of tensors along ``axis``; all other sizes must match.

    Args:
        axis: the concatenation axis (default: the last).
    """

    def __init__(self, axis: int = -1, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise ValueError(f"Concatenate axis must be an int, got {axis!r}")
        self.axis = int(axis)

    def call(self, inputs: list[torch.Tensor], mask: Any = None) -> torch.Tensor:
        xs = _inputs(self, inputs)
        ndim = xs[0].dim()
        shapes = [tuple(x.shape) for x in xs]
        if any(x.dim() != ndim for x in xs) or not -ndim <= self.axis < ndim:
            raise ValueError(f"Concatenate {self.name!r} (axis={self.axis}) needs inputs of equal rank that have that "
                             f"axis, got shapes {shapes}")
        axis = self.axis % ndim
        rest = [s[:axis] + s[axis + 1:] for s in shapes]
        if any(r != rest[0] for r in rest[1:]):  # not a set: traced sizes (ONNX export) hash by identity
            raise ValueError(f"Concatenate {self.name!r} needs inputs with matching shapes except on the "
                             f"concatenation axis {self.axis}, got shapes {shapes}")
        dtype = xs[0].dtype
        for x in xs[1:]:
            dtype = torch.promote_types(dtype, x.dtype)
        return torch.cat([x.to(dtype) for x in xs], dim=axis)

    def compute_mask(self, inputs: Any, mask: Any = None) -> torch.Tensor | None:
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)) or not isinstance(inputs, (list, tuple)) or len(mask) != len(inputs):
            raise ValueError(f"Concatenate {self.name!r}: mask must be a list with one entry per input, got {mask!r}")
        if all(m is None for m in mask):
            return None
        full = []
        for x, m in zip(inputs, mask):
            if m is None:
                full.append(torch.ones(x.shape, dtype=torch.bool, device=x.device))
            elif m.dim() < x.dim():
                full.append(m.reshape(*m.shape, *([1] * (x.dim() - m.dim()))).expand(x.shape))
            else:
                full.append(m.bool())
        return torch.cat(full, dim=self.axis).any(dim=-1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


def concatenate(inputs: list[Any], axis: int = -1, **kwargs: Any) -> Any:
    """``Concatenate(axis=axis, **kwargs)(inputs)``."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def add(inputs: list[Any], **kwargs: Any) -> Any:
    """``Add(**kwargs)(inputs)``."""
    return Add(**kwargs)(inputs)


def multiply(inputs: list[Any], **kwargs: Any) -> Any:
    """``Multiply(**kwargs)(inputs)``."""
    return Multiply(**kwargs)(inputs)


def average(inputs: list[Any], **kwargs: Any) -> Any:
    """``Average(**kwargs)(inputs)``."""
    return Average(**kwargs)(inputs)


def subtract(inputs: list[Any], **kwargs: Any) -> Any:
    """``Subtract(**kwargs)(inputs)``."""
    return Subtract(**kwargs)(inputs)


def maximum(inputs: list[Any], **kwargs: Any) -> Any:
    """``Maximum(**kwargs)(inputs)``."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs: list[Any], **kwargs: Any) -> Any:
    """``Minimum(**kwargs)(inputs)``."""
    return Minimum(**kwargs)(inputs)
