"""``AUC``: area under the ROC or precision-recall curve, approximated from confusion counts at
a fixed set of thresholds (Keras 3's algorithm, Riemann sums or the Davis & Goadrich
interpolation for PR), streaming over batches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from lstmkit.keras.engine.layer import as_tensor
from lstmkit.keras.engine.registry import register
from lstmkit.keras.metrics.base import divide_no_nan
from lstmkit.keras.metrics.confusion import EPSILON, _evenly_distributed, _ThresholdMetric, confusion_counts

__all__ = ["AUC"]

_CURVES = ("ROC", "PR", "PRGAIN")
_SUMMATIONS = ("interpolation", "minoring", "majoring")


@register("metric")
class AUC(_ThresholdMetric):
    """Area under the ROC (or PR) curve.

    Args:
        num_thresholds: number of thresholds (> 1), evenly spaced over [0, 1].
        curve: "ROC", "PR" or "PRGAIN".
        summation_method: "interpolation" (trapezoids; the Davis & Goadrich formula for PR),
            "minoring" or "majoring".
        name: the metric name.
        dtype: accumulator dtype.
        thresholds: explicit thresholds in [0, 1] (then ``num_thresholds`` is ignored).
        multi_label: one curve per label column (rank-2 data), averaged; otherwise all values
            are pooled into one curve.
        num_labels: number of label columns (with ``multi_label``; else taken from the data).
        label_weights: per-label weights (pooled counts, or the average of per-label AUCs).
        from_logits: apply a sigmoid to ``y_pred`` first.
    """

    _direction = "up"

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC", summation_method: str = "interpolation",
                 name: str | None = None, dtype: Any = None, thresholds: Sequence[float] | None = None,
                 multi_label: bool = False, num_labels: int | None = None,
                 label_weights: Sequence[float] | None = None, from_logits: bool = False):
        curve_name = str(getattr(curve, "value", curve)).upper()
        if curve_name not in _CURVES:
            raise ValueError(f'Invalid AUC curve value "{curve}". Expected one of: {list(_CURVES)}')
        summation = str(getattr(summation_method, "value", summation_method)).lower()
        if summation not in _SUMMATIONS:
            raise ValueError(f'Invalid AUC summation method value "{summation_method}". Expected one of: '
                             f"{list(_SUMMATIONS)}")
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(float(t) for t in thresholds)
            if any(not 0 <= t <= 1 for t in inner):
                raise ValueError(f"Threshold values must be in [0, 1]. Received: {list(thresholds)}")
            self.num_thresholds = len(inner) + 2
            self._buckets = _evenly_distributed([0.0, *inner, 1.0])
        else:
            if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, int) or num_thresholds <= 1:
                raise ValueError(f"Argument `num_thresholds` must be an integer > 1. Received: "
                                 f"num_thresholds={num_thresholds!r}")
            self.num_thresholds = num_thresholds
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._buckets = True
        self._threshold_values = [0.0 - EPSILON, *inner, 1.0 + EPSILON]
        self.curve = curve_name
        self.summation_method = summation
        super().__init__(name=name, dtype=dtype)
        self.multi_label = bool(multi_label)
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else torch.tensor(list(label_weights), dtype=self._dtype)
        self._from_logits = bool(from_logits)
        self._built = False
        if self.multi_label:
            if num_labels:
                self._build([None, num_labels])
        else:
            if num_labels:
                raise ValueError("`num_labels` is needed only when `multi_label` is True.")
            self._build(None)

    @property
    def thresholds(self) -> list[float]:
        """The thresholds used for evaluating AUC (including the two end points)."""
        return list(self._threshold_values)

    def _build(self, shape: Any) -> None:
        if self.multi_label:
            if len(shape) != 2:
                raise ValueError(f"`y_pred` must have rank 2 when `multi_label=True`. Found rank {len(shape)}. "
                                 f"Full shape received for `y_pred`: {tuple(shape)}")
            self._num_labels = int(shape[1])
            var_shape: tuple[int, ...] = (self.num_thresholds, self._num_labels)
        else:
            var_shape = (self.num_thresholds,)
        for name in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
            self.add_variable(var_shape, name=name)
        self._built = True

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = as_tensor(y_pred)
        if not self._built:
            self._build(tuple(y_pred.shape))
        self._to_device(y_pred.device)
        if self._from_logits:
            y_pred = torch.sigmoid(y_pred.float() if not y_pred.is_floating_point() else y_pred)
        counts = confusion_counts(y_true, y_pred, self._threshold_tensor(y_pred.device), sample_weight=sample_weight,
                                  multi_label=self.multi_label,
                                  label_weights=None if self.multi_label else self.label_weights,
                                  buckets=self._buckets)
        self.true_positives.add_(counts["tp"])
        self.false_positives.add_(counts["fp"])
        self.true_negatives.add_(counts["tn"])
        self.false_negatives.add_(counts["fn"])

    def _average(self, by_label: torch.Tensor) -> torch.Tensor:
        if not self.multi_label:
            return by_label.sum()
        per_label = by_label.sum(0)
        if self.label_weights is None:
            return per_label.mean()
        weights = self.label_weights.to(per_label.device)
        return divide_no_nan((per_label * weights).sum(), weights.sum())

    def interpolate_pr_auc(self) -> torch.Tensor:
        """PR-AUC by Davis & Goadrich's interpolation: precision varies hyperbolically between
        thresholds, integrated in closed form."""
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        n = self.num_thresholds
        dtp = tp[: n - 1] - tp[1:]
        p = tp + fp
        dp = p[: n - 1] - p[1:]
        prec_slope = divide_no_nan(dtp, torch.clamp(dp, min=0))
        intercept = tp[1:] - prec_slope * p[1:]
        safe_p_ratio = torch.where((p[: n - 1] > 0) & (p[1:] > 0), divide_no_nan(p[: n - 1], torch.clamp(p[1:], min=0)),
                                   torch.ones_like(p[1:]))
        increment = divide_no_nan(prec_slope * (dtp + intercept * torch.log(safe_p_ratio)),
                                  torch.clamp(tp[1:] + fn[1:], min=0))
        return self._average(increment)

    def result(self) -> torch.Tensor:
        if not self._built:
            return torch.zeros((), dtype=self._dtype)
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self.interpolate_pr_auc()
        tp, fp, tn, fn = self.true_positives, self.false_positives, self.true_negatives, self.false_negatives
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, divide_no_nan(tp, tp + fp)
        else:  # PRGAIN
            scaling = divide_no_nan(tp + fn, tn + fp)
            recall_gain = 1.0 - scaling * divide_no_nan(fn, tp)
            precision_gain = 1.0 - scaling * divide_no_nan(fp, tp)
            recall_gain = torch.clamp(torch.where(tp == 0, torch.zeros_like(tp), recall_gain), min=0.0)
            precision_gain = torch.where(tp == 0, torch.ones_like(tp), precision_gain)
            x, y = recall_gain, precision_gain
        n = self.num_thresholds
        if self.summation_method == "interpolation":
            heights = (y[: n - 1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = torch.minimum(y[: n - 1], y[1:])
        else:
            heights = torch.maximum(y[: n - 1], y[1:])
        return self._average((x[: n - 1] - x[1:]) * heights)

    def reset_state(self) -> None:
        if self._built:
            super().reset_state()

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "num_thresholds": self.num_thresholds, "curve": self.curve,
                  "summation_method": self.summation_method, "multi_label": self.multi_label,
                  "num_labels": self.num_labels,
                  "label_weights": None if self.label_weights is None else self.label_weights.tolist(),
                  "from_logits": self._from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config
