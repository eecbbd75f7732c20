"""Per-sample loss functions (``losses.mean_squared_error(y_true, y_pred)`` and friends), with
Keras 3's formulas, clipping constants and shape rules. Each returns one value per sample (the
last axis reduced); the ``Loss`` classes weight and reduce these.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import torch
import torch.nn.functional as F

from lstmkit.keras.losses.shapes import check_broadcast, convert_inputs, squeeze_or_expand_to_same_rank

__all__ = ["mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
           "mean_squared_logarithmic_error", "huber", "log_cosh", "binary_crossentropy", "categorical_crossentropy",
           "sparse_categorical_crossentropy", "kl_divergence", "poisson", "hinge", "squared_hinge",
           "categorical_hinge", "cosine_similarity", "FUNCTIONS", "EPSILON"]

#: Keras' fuzz factor (``keras.backend.epsilon()``).
EPSILON = 1e-7


def _prepare(y_true: Any, y_pred: Any, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    y_true, y_pred = convert_inputs(y_true, y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    check_broadcast(y_true, y_pred, what)
    return y_true, y_pred


def mean_squared_error(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``mean((y_true - y_pred) ** 2, axis=-1)``."""
    y_true, y_pred = _prepare(y_true, y_pred, "mean_squared_error")
    return torch.mean(torch.square(y_true - y_pred), dim=-1)


def mean_absolute_error(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``mean(abs(y_true - y_pred), axis=-1)``."""
    y_true, y_pred = _prepare(y_true, y_pred, "mean_absolute_error")
    return torch.mean(torch.abs(y_true - y_pred), dim=-1)


def mean_absolute_percentage_error(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``100 * mean(abs((y_true - y_pred) / max(abs(y_true), epsilon)), axis=-1)``."""
    y_true, y_pred = _prepare(y_true, y_pred, "mean_absolute_percentage_error")
    diff = torch.abs((y_true - y_pred) / torch.clamp(torch.abs(y_true), min=EPSILON))
    return 100.0 * torch.mean(diff, dim=-1)


def mean_squared_logarithmic_error(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1)) ** 2, axis=-1)``."""
    y_true, y_pred = _prepare(y_true, y_pred, "mean_squared_logarithmic_error")
    first = torch.log(torch.clamp(y_pred, min=EPSILON) + 1.0)
    second = torch.log(torch.clamp(y_true, min=EPSILON) + 1.0)
    return torch.mean(torch.square(first - second), dim=-1)


def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> torch.Tensor:
    """``mean(0.5 * e**2 if |e| <= delta else delta * |e| - 0.5 * delta**2, axis=-1)``."""
    y_true, y_pred = _prepare(y_true, y_pred, "huber")
    error = y_pred - y_true
    abs_error = torch.abs(error)
    return torch.mean(torch.where(abs_error <= delta, 0.5 * torch.square(error), delta * abs_error - 0.5 * delta ** 2),
                      dim=-1)


def log_cosh(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``mean(log(cosh(y_pred - y_true)), axis=-1)``, computed stably as ``x + softplus(-2x) - log 2``."""
    y_true, y_pred = _prepare(y_true, y_pred, "log_cosh")
    x = y_pred - y_true
    return torch.mean(x + F.softplus(x * -2.0) - math.log(2.0), dim=-1)


def binary_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0,
                        axis: int = -1) -> torch.Tensor:
    """Element-wise binary crossentropy averaged over ``axis``; probabilities are clipped to
    ``[eps, 1 - eps]``; ``label_smoothing`` squeezes the labels towards 0.5."""
    y_true, y_pred = _prepare(y_true, y_pred, "binary_crossentropy")
    if y_true.shape != y_pred.shape:
        raise ValueError("binary_crossentropy: y_true and y_pred must have the same shape, got "
                         f"{tuple(y_true.shape)} and {tuple(y_pred.shape)}")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        values = F.binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
    else:
        values = F.binary_cross_entropy(torch.clamp(y_pred, EPSILON, 1.0 - EPSILON), y_true, reduction="none")
    return torch.mean(values, dim=axis)


def categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0,
                             axis: int = -1) -> torch.Tensor:
    """Crossentropy of one-hot (or soft) labels; probabilities are renormalised and clipped to
    ``[eps, 1 - eps]``; ``label_smoothing`` mixes the labels with the uniform distribution."""
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise ValueError(f"`axis` must be of type `int`. Received: axis={axis!r}")
    y_true, y_pred = convert_inputs(y_true, y_pred)
    if y_true.shape != y_pred.shape or y_pred.dim() < 1:
        raise ValueError("categorical_crossentropy: y_true (one-hot) and y_pred must have the same shape, got "
                         f"{tuple(y_true.shape)} and {tuple(y_pred.shape)} (for integer labels use "
                         "sparse_categorical_crossentropy)")
    if y_pred.shape[-1] == 1:
        warnings.warn("In loss categorical_crossentropy, expected y_pred.shape to be (batch_size, num_classes) with "
                      f"num_classes > 1. Received: y_pred.shape={tuple(y_pred.shape)}. Consider using "
                      "'binary_crossentropy' if you only have 2 classes.", SyntaxWarning, stacklevel=2)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]
    if from_logits:
        log_prob = F.log_softmax(y_pred, dim=axis)
    else:
        output = y_pred / torch.sum(y_pred, dim=axis, keepdim=True)
        log_prob = torch.log(torch.clamp(output, EPSILON, 1.0 - EPSILON))
    return -torch.sum(y_true * log_prob, dim=axis)


def sparse_categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                                    ignore_class: int | None = None, axis: int = -1) -> torch.Tensor:
    """Crossentropy of integer labels against class scores along ``axis``. Labels equal to
    ``ignore_class`` contribute 0 and are masked out of the mean."""
    y_true, y_pred = convert_inputs(y_true, y_pred)
    if y_pred.dim() < 1:
        raise ValueError(f"sparse_categorical_crossentropy: y_pred must be at least rank 1, got shape "
                         f"{tuple(y_pred.shape)}")
    if y_true.dim() == y_pred.dim() and y_true.shape[axis] == 1:
        y_true = y_true.squeeze(axis)
    class_axis = axis % y_pred.dim()
    expected = tuple(d for k, d in enumerate(y_pred.shape) if k != class_axis)
    if tuple(y_true.shape) != expected:
        raise ValueError("sparse_categorical_crossentropy: y_true (integer labels) must have the shape of y_pred "
                         f"without its class axis, {expected}; got y_true {tuple(y_true.shape)} and y_pred "
                         f"{tuple(y_pred.shape)} (for one-hot labels use categorical_crossentropy)")
    target = y_true.long()
    valid = None
    if ignore_class is not None:
        valid = target != int(ignore_class)
        target = torch.where(valid, target, torch.zeros_like(target))
    num_classes = y_pred.shape[class_axis]
    if not target.is_cuda and target.numel():  # on CUDA a check would cost a host sync per batch
        low, high = (int(v) for v in torch.aminmax(target))
        if low < 0 or high >= num_classes:
            raise ValueError(f"sparse_categorical_crossentropy: labels must be integers in [0, {num_classes}) for "
                             f"{num_classes} classes, got values from {low} to {high}")
    squeeze = y_pred.dim() == 1
    if squeeze:
        y_pred, target = y_pred.unsqueeze(0), target.unsqueeze(0)
    elif class_axis != 1:
        y_pred = y_pred.movedim(class_axis, 1)
    if from_logits:
        result = F.cross_entropy(y_pred, target, reduction="none")
    else:
        output = y_pred / torch.sum(y_pred, dim=1, keepdim=True)
        result = F.nll_loss(torch.log(torch.clamp(output, EPSILON, 1.0 - EPSILON)), target, reduction="none")
    if squeeze:
        result = result.squeeze(0)
    if valid is not None:
        result = torch.where(valid, result, torch.zeros_like(result))
        result._keras_mask = valid
    return result


def kl_divergence(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``sum(y_true * log(y_true / y_pred), axis=-1)`` with both clipped to ``[eps, 1]``."""
    y_true, y_pred = convert_inputs(y_true, y_pred)
    check_broadcast(y_true, y_pred, "kl_divergence")
    y_true = torch.clamp(y_true, EPSILON, 1.0)
    y_pred = torch.clamp(y_pred, EPSILON, 1.0)
    return torch.sum(y_true * torch.log(y_true / y_pred), dim=-1)


def poisson(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``mean(y_pred - y_true * log(y_pred + eps), axis=-1)``."""
    y_true, y_pred = convert_inputs(y_true, y_pred)
    check_broadcast(y_true, y_pred, "poisson")
    return torch.mean(y_pred - y_true * torch.log(y_pred + EPSILON), dim=-1)


def _hinge_labels(y_true: torch.Tensor) -> torch.Tensor:
    """Labels in {0, 1} become {-1, 1}; labels already in {-1, 1} are kept (as Keras)."""
    is_binary = torch.all((y_true == 0) | (y_true == 1))
    return torch.where(is_binary, 2.0 * y_true - 1.0, y_true)


def hinge(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``mean(max(1 - y_true * y_pred, 0), axis=-1)`` with {0, 1} labels mapped to {-1, 1}."""
    y_true, y_pred = _prepare(y_true, y_pred, "hinge")
    return torch.mean(torch.clamp(1.0 - _hinge_labels(y_true) * y_pred, min=0.0), dim=-1)


def squared_hinge(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``mean(max(1 - y_true * y_pred, 0) ** 2, axis=-1)`` with {0, 1} labels mapped to {-1, 1}."""
    y_true, y_pred = _prepare(y_true, y_pred, "squared_hinge")
    return torch.mean(torch.square(torch.clamp(1.0 - _hinge_labels(y_true) * y_pred, min=0.0)), dim=-1)


def categorical_hinge(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``max(0, 1 + max((1 - y_true) * y_pred) - sum(y_true * y_pred))`` per sample."""
    y_true, y_pred = convert_inputs(y_true, y_pred)
    check_broadcast(y_true, y_pred, "categorical_hinge")
    pos = torch.sum(y_true * y_pred, dim=-1)
    neg = torch.amax((1.0 - y_true) * y_pred, dim=-1)
    return torch.clamp(neg - pos + 1.0, min=0.0)


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> torch.Tensor:
    """``-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)`` (a loss: -1 is best)."""
    y_true, y_pred = _prepare(y_true, y_pred, "cosine_similarity")

    def normalize(x: torch.Tensor) -> torch.Tensor:
        inv_norm = torch.rsqrt(torch.sum(torch.square(x), dim=axis, keepdim=True))
        return x * torch.clamp(inv_norm, max=1.0 / EPSILON)

    return -torch.sum(normalize(y_true) * normalize(y_pred), dim=axis)


FUNCTIONS = {fn.__name__: fn for fn in (
    mean_squared_error, mean_absolute_error, mean_absolute_percentage_error, mean_squared_logarithmic_error, huber,
    log_cosh, binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy, kl_divergence, poisson,
    hinge, squared_hinge, categorical_hinge, cosine_similarity)}
