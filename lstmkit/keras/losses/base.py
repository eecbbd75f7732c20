"""The Keras ``Loss`` base on torch: per-sample values from ``call``, then Keras' weighting,
masking and reduction, so ``loss(y_true, y_pred, sample_weight)`` equals Keras 3's value.

The shape rules are Keras': ranks that differ by one are reconciled by squeezing or expanding a
trailing size-1 axis (``y_true`` (B,) with ``y_pred`` (B, 1) works); a mask on ``y_pred``
(``_keras_mask``, set by masking layers) or on the per-sample losses excludes padded steps.
Those shape helpers live in ``shapes.py`` (re-exported here), shared with ``functions.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import torch

from lstmkit.keras.engine.layer import as_tensor
from lstmkit.keras.engine.registry import register
from lstmkit.keras.losses.shapes import check_broadcast, convert_inputs, squeeze_or_expand_to_same_rank

__all__ = ["Loss", "LossFunctionWrapper", "squeeze_or_expand_to_same_rank", "reduce_weighted_values", "apply_mask",
           "convert_inputs", "REDUCTIONS"]

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


def standardize_reduction(reduction: Any) -> Any:
    if reduction not in REDUCTIONS:
        raise ValueError(f"Invalid value for argument `reduction`. Expected one of {list(REDUCTIONS)}. "
                         f"Received: reduction={reduction!r}")
    return reduction


def _divide_no_nan(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.where(b == 0, torch.zeros_like(a), a / torch.where(b == 0, torch.ones_like(b), b))


def apply_mask(sample_weight: torch.Tensor | None, mask: torch.Tensor | None, dtype: torch.dtype,
               reduction: Any) -> torch.Tensor | None:
    """Fold a mask into the sample weights. For mean reductions the kept entries are scaled by
    ``total / kept`` so the mean runs over the kept entries only (as Keras)."""
    if mask is None:
        return sample_weight
    mask = mask.to(torch.bool)
    if reduction in ("mean", "sum_over_batch_size"):
        valid = mask.sum().to(dtype)
        weight = torch.where(valid == 0, torch.zeros_like(valid), mask.numel() / torch.clamp(valid, min=1))
        float_mask = torch.where(mask, weight, torch.zeros_like(weight))
    else:
        float_mask = mask.to(dtype)
    if sample_weight is None:
        return float_mask
    float_mask, sample_weight = _align_weights(float_mask, sample_weight.to(dtype))
    return sample_weight * float_mask


def _align_weights(values: torch.Tensor, sample_weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
    rank = sample_weight.dim()
    if 0 < rank < values.dim() and tuple(sample_weight.shape) == tuple(values.shape[:rank]):
        # per-sample weights for per-step losses: weight every step of a sample alike
        sample_weight = sample_weight.reshape(*sample_weight.shape, *([1] * (values.dim() - rank)))
    check_broadcast(values, sample_weight, "sample_weight", "losses (or mask)", "sample_weight")
    return values, sample_weight


def reduce_weighted_values(values: torch.Tensor, sample_weight: Any = None, mask: torch.Tensor | None = None,
                           reduction: Any = "sum_over_batch_size") -> torch.Tensor:
    """Weight, mask and reduce per-sample loss values exactly as Keras' ``reduce_weighted_values``."""
    reduction = standardize_reduction(reduction)
    if sample_weight is not None:
        sample_weight = as_tensor(sample_weight)
        if sample_weight.dtype != values.dtype or sample_weight.device != values.device:
            sample_weight = sample_weight.to(device=values.device, dtype=values.dtype)
    sample_weight = apply_mask(sample_weight, mask, values.dtype, reduction)
    if sample_weight is not None:
        values, sample_weight = _align_weights(values, sample_weight)
        values = values * sample_weight
    if reduction is None or reduction == "none" or values.dim() == 0 or tuple(values.shape) == (0,):
        return values
    loss = values.sum()
    if reduction in ("sum_over_batch_size", "mean", "mean_with_sample_weight"):
        if reduction == "mean_with_sample_weight" and sample_weight is not None:
            loss = _divide_no_nan(loss, sample_weight.sum().to(loss.dtype))
        else:
            loss = loss / values.numel() if values.numel() else torch.zeros_like(loss)
    return loss


@register("loss")
class Loss:
    """Base of the Keras losses. Subclasses implement ``call(y_true, y_pred)`` returning
    per-sample (or per-step) losses; calling the loss weights, masks and reduces them.

    Args:
        name: the loss name.
        reduction: "sum_over_batch_size" (default: the sum divided by the number of values),
            "sum", "mean" (the same as the default), "mean_with_sample_weight" (divided by the
            sum of the weights) or "none" / None (no reduction).
        dtype: computation dtype (default float32, or float64 for float64 predictions).
    """

    def __init__(self, name: str | None = None, reduction: Any = "sum_over_batch_size", dtype: Any = None):
        from lstmkit.keras.engine.layer import snake_case, unique_name

        self.name = name or unique_name(snake_case(type(self).__name__))
        self.reduction = standardize_reduction(reduction)
        self._dtype = None if dtype is None else getattr(torch, str(dtype).removeprefix("torch."))

    @property
    def dtype(self) -> str:
        return "float32" if self._dtype is None else str(self._dtype).removeprefix("torch.")

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> torch.Tensor:
        in_mask = getattr(y_pred, "_keras_mask", None)
        y_true, y_pred = convert_inputs(y_true, y_pred, self._dtype)
        losses = self.call(y_true, y_pred)
        if not isinstance(losses, torch.Tensor):
            losses = torch.as_tensor(losses, dtype=y_pred.dtype, device=y_pred.device)
        out_mask = getattr(losses, "_keras_mask", None)
        if in_mask is not None and out_mask is not None:
            mask = in_mask.to(torch.bool) & out_mask.to(torch.bool)
        else:
            mask = in_mask if in_mask is not None else out_mask
        if mask is not None:
            if mask.dim() > losses.dim():
                raise ValueError(f"{self.name}: y_pred carries a mask of shape {tuple(mask.shape)} (from a masking "
                                 f"layer) but the loss values have shape {tuple(losses.shape)}: the loss averaged "
                                 "over the masked axis. Give y_true the rank of y_pred, e.g. (batch, steps, 1) for "
                                 "per-step targets")
            if mask.device != losses.device:
                mask = mask.to(losses.device)
        return reduce_weighted_values(losses, sample_weight, mask, self.reduction)

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__}.call")

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


@register("loss")
class LossFunctionWrapper(Loss):
    """A ``Loss`` around a per-sample function ``fn(y_true, y_pred, **kwargs)``.

    Args:
        fn: the per-sample loss function.
        reduction: see ``Loss``.
        name: the loss name (default: the function's name).
        dtype: see ``Loss``.
        **kwargs: passed to ``fn``.
    """

    def __init__(self, fn: Callable[..., Any], reduction: Any = "sum_over_batch_size", name: str | None = None,
                 dtype: Any = None, **kwargs: Any):
        if isinstance(fn, str):
            from lstmkit.keras.losses.functions import FUNCTIONS

            if fn not in FUNCTIONS:
                raise ValueError(f"unknown loss function {fn!r}; known: {sorted(FUNCTIONS)}")
            fn = FUNCTIONS[fn]
        if not callable(fn):
            raise TypeError(f"LossFunctionWrapper expects a callable fn(y_true, y_pred), got {fn!r}")
        from lstmkit.keras.engine.layer import snake_case

        default = re.sub(r"\W+", "", getattr(fn, "__name__", type(fn).__name__))
        super().__init__(name=name or snake_case(default) or "loss", reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> dict[str, Any]:
        from lstmkit.keras.losses.functions import FUNCTIONS

        name = getattr(self.fn, "__name__", None)
        if FUNCTIONS.get(name) is not self.fn:
            raise TypeError(f"cannot serialize loss {self.name!r}: its function {self.fn!r} is not a built-in loss "
                            "function (pass the function again when loading)")
        return {**super().get_config(), "fn": name, **self._fn_kwargs}

    def __repr__(self) -> str:
        return f"<LossFunctionWrapper({getattr(self.fn, '__name__', self.fn)}, kwargs={self._fn_kwargs})>"
