"""Accuracy metrics (Keras 3 formulas): exact-match, thresholded binary, arg-max categorical
(one-hot or integer labels) and top-k. Each is the mean of a per-sample 0/1 function, which is
also exported (``binary_accuracy(y_true, y_pred)`` ...)."""

from __future__ import annotations

from typing import Any

import torch

from lstmkit.keras.engine.layer import as_tensor
from lstmkit.keras.engine.registry import register
from lstmkit.keras.losses.base import squeeze_or_expand_to_same_rank
from lstmkit.keras.metrics.base import MeanMetricWrapper

__all__ = ["accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
           "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "Accuracy", "BinaryAccuracy",
           "CategoricalAccuracy", "SparseCategoricalAccuracy", "TopKCategoricalAccuracy",
           "SparseTopKCategoricalAccuracy"]


def _pred_and_true(y_true: Any, y_pred: Any) -> tuple[torch.Tensor, torch.Tensor]:
    y_pred = as_tensor(y_pred)
    y_true = as_tensor(y_true)
    if y_true.dtype != y_pred.dtype or y_true.device != y_pred.device:
        y_true = y_true.to(device=y_pred.device, dtype=y_pred.dtype)
    return y_true, y_pred


def accuracy(y_true: Any, y_pred: Any) -> torch.Tensor:
    """1.0 where ``y_pred == y_true`` exactly, else 0.0."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_pred_and_true(y_true, y_pred))
    return (y_true == y_pred).to(torch.float32)


def binary_accuracy(y_true: Any, y_pred: Any, threshold: float = 0.5) -> torch.Tensor:
    """1.0 where ``(y_pred > threshold) == y_true``."""
    y_pred = as_tensor(y_pred)
    y_true = as_tensor(y_true)
    if y_true.device != y_pred.device:
        y_true = y_true.to(y_pred.device)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return (y_true == (y_pred > threshold).to(y_true.dtype)).to(torch.float32)


def _check_classes(y_pred: torch.Tensor, what: str) -> None:
    if y_pred.dim() < 1 or y_pred.shape[-1] < 1:
        raise ValueError(f"{what}: y_pred must hold class scores on its last axis, got shape {tuple(y_pred.shape)}")


def categorical_accuracy(y_true: Any, y_pred: Any) -> torch.Tensor:
    """1.0 where ``argmax(y_pred) == argmax(y_true)`` (one-hot labels)."""
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    _check_classes(y_pred, "categorical_accuracy")
    if y_true.dim() < 1:
        raise ValueError("categorical_accuracy: y_true must be one-hot (classes on the last axis), got a scalar")
    labels = torch.argmax(y_true, dim=-1).to(y_pred.dtype)
    original_shape = labels.shape
    reshape = labels.dim() == y_pred.dim()
    if reshape:
        labels = labels.squeeze(-1)
    matches = (labels == torch.argmax(y_pred, dim=-1).to(labels.dtype)).to(torch.float32)
    return matches.reshape(original_shape) if reshape else matches


def sparse_categorical_accuracy(y_true: Any, y_pred: Any) -> torch.Tensor:
    """1.0 where ``argmax(y_pred) == y_true`` (integer labels)."""
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    _check_classes(y_pred, "sparse_categorical_accuracy")
    original_shape = y_true.shape
    reshape = y_true.dim() == y_pred.dim() and y_true.shape[-1] == 1
    if reshape:
        y_true = y_true.squeeze(-1)
    matches = (y_true == torch.argmax(y_pred, dim=-1).to(y_true.dtype)).to(torch.float32)
    if reshape:
        matches = matches.reshape(original_shape)
    if matches.dim() > 1 and matches.shape[-1] == 1:
        matches = matches.squeeze(-1)
    return matches


def _in_top_k(targets: torch.Tensor, predictions: torch.Tensor, k: int) -> torch.Tensor:
    """Whether the target's score is at least the k-th largest score (ties count as in)."""
    k = min(int(k), predictions.shape[-1])
    kth = torch.topk(predictions, k, dim=-1).values[..., -1:]
    target_scores = torch.gather(predictions, -1, targets.long().unsqueeze(-1))
    return (target_scores >= kth).squeeze(-1)


def _top_k(labels: torch.Tensor, y_pred: torch.Tensor, k: int) -> torch.Tensor:
    original_shape = labels.shape
    if y_pred.dim() > 2:
        y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    reshape = labels.dim() > 1
    if reshape:
        labels = labels.reshape(-1)
    if labels.shape[0] != y_pred.shape[0]:
        raise ValueError(f"top-k accuracy: {labels.shape[0]} labels for {y_pred.shape[0]} predictions")
    matches = _in_top_k(labels, y_pred, k).to(torch.float32)
    return matches.reshape(original_shape) if reshape else matches


def top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> torch.Tensor:
    """1.0 where the one-hot label's class is among the ``k`` highest scores."""
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    _check_classes(y_pred, "top_k_categorical_accuracy")
    return _top_k(torch.argmax(y_true, dim=-1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> torch.Tensor:
    """1.0 where the integer label is among the ``k`` highest scores."""
    y_pred = as_tensor(y_pred)
    _check_classes(y_pred, "sparse_top_k_categorical_accuracy")
    return _top_k(as_tensor(y_true).to(y_pred.device), y_pred, k)


class _AccuracyMetric(MeanMetricWrapper):
    _direction = "up"
    _extra: tuple[str, ...] = ()

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, **{key: getattr(self, key) for key in self._extra}}


@register("metric")
class Accuracy(_AccuracyMetric):
    """How often predictions equal labels exactly.

    Args:
        name: the metric name.
        dtype: accumulator dtype.
    """

    def __init__(self, name: str = "accuracy", dtype: Any = None):
        super().__init__(accuracy, name=name, dtype=dtype)


@register("metric")
class BinaryAccuracy(_AccuracyMetric):
    """How often ``y_pred > threshold`` matches the 0/1 labels.

    Args:
        name: the metric name.
        dtype: accumulator dtype.
        threshold: the decision threshold on ``y_pred``.
    """

    _extra = ("threshold",)

    def __init__(self, name: str = "binary_accuracy", dtype: Any = None, threshold: float = 0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold


@register("metric")
class CategoricalAccuracy(_AccuracyMetric):
    """How often the arg-max of ``y_pred`` matches the arg-max of one-hot labels.

    Args:
        name: the metric name.
        dtype: accumulator dtype.
    """

    def __init__(self, name: str = "categorical_accuracy", dtype: Any = None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


@register("metric")
class SparseCategoricalAccuracy(_AccuracyMetric):
    """How often the arg-max of ``y_pred`` matches integer labels.

    Args:
        name: the metric name.
        dtype: accumulator dtype.
    """

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: Any = None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


@register("metric")
class TopKCategoricalAccuracy(_AccuracyMetric):
    """How often the one-hot label is among the ``k`` highest scores.

    Args:
        k: how many top scores count.
        name: the metric name.
        dtype: accumulator dtype.
    """

    _extra = ("k",)

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype: Any = None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k


@register("metric")
class SparseTopKCategoricalAccuracy(_AccuracyMetric):
    """How often the integer label is among the ``k`` highest scores.

    Args:
        k: how many top scores count.
        name: the metric name.
        dtype: accumulator dtype.
    """

    _extra = ("k",)

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy", dtype: Any = None):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k
