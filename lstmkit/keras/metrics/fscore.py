"""F-beta and F1 scores (Keras 3 semantics) for multi-class / multi-label predictions of shape
(batch, classes): per class, or averaged "micro", "macro" or "weighted"."""

from __future__ import annotations

from typing import Any

import torch

from lstmkit.keras.engine.registry import register
from lstmkit.keras.losses.base import convert_inputs
from lstmkit.keras.metrics.base import Metric

__all__ = ["FBetaScore", "F1Score"]

EPSILON = 1e-7


@register("metric")
class FBetaScore(Metric):
    """``(1 + beta**2) * precision * recall / (beta**2 * precision + recall)``.

    Args:
        average: None (one score per class), "micro" (pooled counts), "macro" (mean of the
            class scores) or "weighted" (class scores weighted by their label counts).
        beta: weight of recall relative to precision (> 0).
        threshold: predictions above it are positive; None marks each sample's highest score.
        name: the metric name.
        dtype: accumulator dtype.
    """

    _direction = "up"

    def __init__(self, average: str | None = None, beta: float = 1.0, threshold: float | None = None,
                 name: str = "fbeta_score", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError("Invalid `average` argument value. Expected one of: {None, 'micro', 'macro', "
                             f"'weighted'}}. Received: average={average!r}")
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or beta <= 0:
            raise ValueError(f"Invalid `beta` argument value. It should be a float > 0. Received: beta={beta!r}")
        if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, (int, float))
                                      or not 0 < threshold <= 1):
            raise ValueError("Invalid `threshold` argument value. It should verify 0 < threshold <= 1. "
                             f"Received: threshold={threshold!r}")
        self.average = average
        self.beta = float(beta)
        self.threshold = threshold
        self.axis = None if average == "micro" else 0
        self._built = False

    def _build(self, y_true_shape: tuple[int, ...], y_pred_shape: tuple[int, ...]) -> None:
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError("FBetaScore expects 2D inputs with shape (batch_size, output_dim). Received input shapes: "
                             f"y_pred.shape={y_pred_shape} and y_true.shape={y_true_shape}.")
        shape = () if self.average == "micro" else (y_pred_shape[-1],)
        for name in ("true_positives", "false_positives", "false_negatives", "intermediate_weights"):
            self.add_variable(shape, name=name)
        self._built = True

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true, y_pred = convert_inputs(y_true, y_pred, self._dtype)
        if not self._built:
            self._build(tuple(y_true.shape), tuple(y_pred.shape))
        if y_true.shape != y_pred.shape:
            raise ValueError(f"FBetaScore: y_true {tuple(y_true.shape)} and y_pred {tuple(y_pred.shape)} must have "
                             "the same shape")
        self._to_device(y_pred.device)
        if self.threshold is None:
            top = torch.amax(y_pred, dim=-1, keepdim=True)
            y_pred = (y_pred >= top) & (torch.abs(y_pred) > 1e-9)
        else:
            y_pred = y_pred > self.threshold
        y_pred = y_pred.to(self._dtype)
        weight = None
        if sample_weight is not None:
            from lstmkit.keras.engine.layer import as_tensor

            weight = as_tensor(sample_weight).to(device=y_pred.device, dtype=self._dtype).unsqueeze(1)

        def weighted_sum(value: torch.Tensor) -> torch.Tensor:
            if weight is not None:
                value = value * weight
            return value.sum() if self.axis is None else value.sum(dim=self.axis)

        self.true_positives.add_(weighted_sum(y_pred * y_true))
        self.false_positives.add_(weighted_sum(y_pred * (1 - y_true)))
        self.false_negatives.add_(weighted_sum((1 - y_pred) * y_true))
        self.intermediate_weights.add_(weighted_sum(y_true))

    def result(self) -> torch.Tensor:
        if not self._built:
            return torch.zeros((), dtype=self._dtype)
        tp = self.true_positives
        precision = tp / (tp + self.false_positives + EPSILON)
        recall = tp / (tp + self.false_negatives + EPSILON)
        mean = precision * recall / (self.beta ** 2 * precision + recall + EPSILON)
        f_score = mean * (1 + self.beta ** 2)
        if self.average == "weighted":
            weights = self.intermediate_weights / (self.intermediate_weights.sum() + EPSILON)
            return (f_score * weights).sum()
        if self.average is not None:
            return f_score.mean()
        return f_score

    def reset_state(self) -> None:
        if self._built:
            super().reset_state()

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "average": self.average, "beta": self.beta, "threshold": self.threshold}


@register("metric")
class F1Score(FBetaScore):
    """F1: the harmonic mean of precision and recall (``FBetaScore`` with beta=1).

    Args:
        average: None, "micro", "macro" or "weighted" (see ``FBetaScore``).
        threshold: predictions above it are positive; None marks each sample's highest score.
        name: the metric name.
        dtype: accumulator dtype.
    """

    def __init__(self, average: str | None = None, threshold: float | None = None, name: str = "f1_score",
                 dtype: Any = None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["beta"]
        return config
