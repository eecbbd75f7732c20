"""Confusion-matrix metrics (Keras 3 semantics): counts of true/false positives/negatives at
thresholds, Precision, Recall and AUC.

A prediction counts as positive at threshold ``t`` when ``y_pred > t``; labels are positive
when non-zero. AUC's evenly spaced thresholds use Keras' bucketing (each prediction falls into
one bucket, a reversed cumulative sum gives the counts at all thresholds), so a batch costs
O(N + thresholds) and never builds a (thresholds x N) matrix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from lstmkit.keras.engine.layer import as_tensor
from lstmkit.keras.engine.registry import register
from lstmkit.keras.losses.base import squeeze_or_expand_to_same_rank
from lstmkit.keras.metrics.base import Metric, divide_no_nan

__all__ = ["TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives", "Precision", "Recall",
           "confusion_counts"]

EPSILON = 1e-7
NEG_INF = -1e10


def _parse_thresholds(thresholds: Any, default: float) -> list[float]:
    values = [default] if thresholds is None else (list(thresholds) if isinstance(thresholds, (list, tuple,
                                                                                                np.ndarray))
                                                   else [thresholds])
    if thresholds is not None:
        bad = [t for t in values if t is None or not 0 <= t <= 1]
        if bad:
            raise ValueError(f"Threshold values must be in [0, 1]. Received: {bad}")
    return [float(t) for t in values]


def _evenly_distributed(thresholds: Sequence[float]) -> bool:
    n = len(thresholds)
    if n < 3:
        return False
    even = np.arange(n, dtype=np.float32) / (n - 1)
    return bool(np.allclose(thresholds, even, atol=EPSILON))


def _filter_top_k(x: torch.Tensor, k: int) -> torch.Tensor:
    idx = torch.topk(x, k, dim=-1).indices
    keep = torch.zeros_like(x).scatter_(-1, idx, 1.0)
    return x * keep + NEG_INF * (1 - keep)


def confusion_counts(y_true: Any, y_pred: Any, thresholds: torch.Tensor, *, wanted: Sequence[str] = ("tp", "fp", "tn",
                                                                                                      "fn"),
                     top_k: int | None = None, class_id: int | None = None, sample_weight: Any = None,
                     multi_label: bool = False, label_weights: torch.Tensor | None = None,
                     buckets: bool = False) -> dict[str, torch.Tensor]:
    """Weighted counts ``{"tp", "fp", "tn", "fn"}`` at each threshold (shape (T,), or (T, L)
    with ``multi_label``), as Keras' ``update_confusion_matrix_variables``. ``buckets=True`` is
    the fast path for the evenly spaced thresholds ``[-eps, 1/(T-1), ..., 1+eps]``."""
    dtype = thresholds.dtype
    y_pred = as_tensor(y_pred)
    y_pred = y_pred.to(dtype) if y_pred.dtype != dtype else y_pred
    y_true = as_tensor(y_true).to(device=y_pred.device, dtype=dtype)
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true of shape {tuple(y_true.shape)} and y_pred of shape {tuple(y_pred.shape)} must have "
                         "the same shape for confusion-matrix metrics (one score per label)")
    if sample_weight is not None:
        sample_weight = as_tensor(sample_weight).to(device=y_pred.device, dtype=dtype).unsqueeze(-1)
        _, sample_weight = squeeze_or_expand_to_same_rank(y_true, sample_weight, expand_rank_1=False)
        try:
            sample_weight = torch.broadcast_to(sample_weight, y_pred.shape)
        except RuntimeError:
            raise ValueError(f"sample_weight of shape {tuple(sample_weight.shape)} does not broadcast to y_pred of "
                             f"shape {tuple(y_pred.shape)}") from None
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.dim() == 1:
            raise ValueError("When class_id is provided, y_pred must be a 2D array with shape (num_samples, "
                             f"num_classes), found shape: {tuple(y_pred.shape)}")
        y_true, y_pred = y_true[..., class_id, None], y_pred[..., class_id, None]
        if sample_weight is not None:
            sample_weight = sample_weight[..., class_id, None]
    weights = sample_weight
    if label_weights is not None:
        lw = torch.broadcast_to(label_weights.to(device=y_pred.device, dtype=dtype), y_pred.shape)
        weights = lw if weights is None else weights * lw
    if not multi_label:
        y_true, y_pred = y_true.reshape(-1), y_pred.reshape(-1)
        weights = None if weights is None else weights.reshape(-1)
    elif y_pred.dim() != 2:
        raise ValueError(f"`y_pred` must have rank 2 when `multi_label=True`. Found shape {tuple(y_pred.shape)}")
    if buckets:
        return _bucket_counts(y_true, y_pred, weights, thresholds.shape[0], wanted)
    positive = y_true != 0
    above = y_pred.unsqueeze(0) > thresholds.reshape(-1, *([1] * y_pred.dim()))
    w = torch.ones((), dtype=dtype, device=y_pred.device) if weights is None else weights
    counts = {}
    conditions = {"tp": (positive, above), "fp": (~positive, above), "tn": (~positive, ~above),
                  "fn": (positive, ~above)}
    for key in wanted:
        label, pred = conditions[key]
        counts[key] = torch.where(label & pred, w, torch.zeros((), dtype=dtype, device=w.device)).sum(dim=1)
    return counts


def _bucket_counts(y_true: torch.Tensor, y_pred: torch.Tensor, weights: torch.Tensor | None, num_thresholds: int,
                   wanted: Sequence[str]) -> dict[str, torch.Tensor]:
    y_pred = torch.clamp(y_pred, 0.0, 1.0)
    y_true = (y_true != 0).to(y_pred.dtype)
    true_labels = y_true if weights is None else y_true * weights
    false_labels = (1.0 - y_true) if weights is None else (1.0 - y_true) * weights
    bucket = torch.relu(torch.ceil(y_pred * (num_thresholds - 1)) - 1).long()
    shape = (num_thresholds, *y_pred.shape[1:])
    tp = torch.zeros(shape, dtype=y_pred.dtype, device=y_pred.device).scatter_add_(0, bucket, true_labels)
    fp = torch.zeros(shape, dtype=y_pred.dtype, device=y_pred.device).scatter_add_(0, bucket, false_labels)
    tp = torch.flip(torch.cumsum(torch.flip(tp, (0,)), 0), (0,))
    fp = torch.flip(torch.cumsum(torch.flip(fp, (0,)), 0), (0,))
    counts = {"tp": tp, "fp": fp}
    if "tn" in wanted:
        counts["tn"] = false_labels.sum(0) - fp
    if "fn" in wanted:
        counts["fn"] = true_labels.sum(0) - tp
    return counts


class _ThresholdMetric(Metric):
    """Shared plumbing: thresholds as a tensor on the data's device."""

    def _threshold_tensor(self, device: torch.device) -> torch.Tensor:
        cached = getattr(self, "_thresholds_t", None)
        if cached is None or cached.device != device:
            cached = torch.tensor(self._threshold_values, dtype=self._dtype, device=device)
            self._thresholds_t = cached
        return cached


class _ConfusionMatrixConditionCount(_ThresholdMetric):
    _condition = "tp"

    def __init__(self, thresholds: Any = None, name: str | None = None, dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = self._threshold_values = _parse_thresholds(thresholds, 0.5)
        self.accumulator = self.add_variable((len(self.thresholds),), name="accumulator")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        device = as_tensor(y_pred).device
        self._to_device(device)
        counts = confusion_counts(y_true, y_pred, self._threshold_tensor(device), wanted=(self._condition,),
                                  sample_weight=sample_weight)
        self.accumulator.add_(counts[self._condition])

    def result(self) -> torch.Tensor:
        return self.accumulator[0].clone() if len(self.thresholds) == 1 else self.accumulator.clone()

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.init_thresholds}


def _count_metric(cls_name: str, condition: str, what: str) -> type[_ConfusionMatrixConditionCount]:
    doc = (f"Weighted number of {what} at each threshold (a prediction is positive when ``y_pred > threshold``).\n\n"
           "    Args:\n        thresholds: a float or list of floats in [0, 1] (default 0.5).\n"
           "        name: the metric name.\n        dtype: accumulator dtype.\n")
    cls = type(cls_name, (_ConfusionMatrixConditionCount,), {"_condition": condition, "__doc__": doc,
                                                              "__module__": __name__})
    return register("metric")(cls)


TruePositives = _count_metric("TruePositives", "tp", "true positives")
FalsePositives = _count_metric("FalsePositives", "fp", "false positives")
TrueNegatives = _count_metric("TrueNegatives", "tn", "true negatives")
FalseNegatives = _count_metric("FalseNegatives", "fn", "false negatives")


class _PrecisionRecall(_ThresholdMetric):
    _direction = "up"
    _other = "fp"

    def __init__(self, thresholds: Any = None, top_k: int | None = None, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        self.thresholds = self._threshold_values = _parse_thresholds(thresholds, 0.5 if top_k is None else NEG_INF)
        n = len(self.thresholds)
        self.true_positives = self.add_variable((n,), name="true_positives")
        setattr(self, self._other_name, self.add_variable((n,), name=self._other_name))

    @property
    def _other_name(self) -> str:
        return "false_positives" if self._other == "fp" else "false_negatives"

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        device = as_tensor(y_pred).device
        self._to_device(device)
        counts = confusion_counts(y_true, y_pred, self._threshold_tensor(device), wanted=("tp", self._other),
                                  top_k=self.top_k, class_id=self.class_id, sample_weight=sample_weight)
        self.true_positives.add_(counts["tp"])
        getattr(self, self._other_name).add_(counts[self._other])

    def result(self) -> torch.Tensor:
        value = divide_no_nan(self.true_positives, self.true_positives + getattr(self, self._other_name))
        return value[0] if len(self.thresholds) == 1 else value

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


@register("metric")
class Precision(_PrecisionRecall):
    """``TP / (TP + FP)``: the fraction of predicted positives that are positive.

    Args:
        thresholds: a float or list of floats in [0, 1]; a prediction is positive above it
            (default 0.5; with ``top_k``, any of the top k).
        top_k: count only the k highest-scoring classes of each sample as predicted positive.
        class_id: measure only this class (column) of multi-class predictions.
        name: the metric name.
        dtype: accumulator dtype.
    """

    _other = "fp"


@register("metric")
class Recall(_PrecisionRecall):
    """``TP / (TP + FN)``: the fraction of positives that are predicted positive.

    Args:
        thresholds: a float or list of floats in [0, 1]; a prediction is positive above it
            (default 0.5; with ``top_k``, any of the top k).
        top_k: count only the k highest-scoring classes of each sample as predicted positive.
        class_id: measure only this class (column) of multi-class predictions.
        name: the metric name.
        dtype: accumulator dtype.
    """

    _other = "fn"
