"""Metrics that average a loss-like function over all samples seen (Keras 3 names and
defaults): regression errors, crossentropies, hinge losses, plus ``RootMeanSquaredError`` and
``CosineSimilarity`` (where, unlike the loss, larger is better)."""

from __future__ import annotations

from typing import Any

import torch

from lstmkit.keras.engine.registry import register
from lstmkit.keras.losses import functions as F
from lstmkit.keras.losses.base import convert_inputs, squeeze_or_expand_to_same_rank
from lstmkit.keras.metrics.base import Mean, MeanMetricWrapper

__all__ = ["MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError",
           "RootMeanSquaredError", "LogCoshError", "CosineSimilarity", "BinaryCrossentropy", "CategoricalCrossentropy",
           "SparseCategoricalCrossentropy", "KLDivergence", "Poisson", "Hinge", "SquaredHinge", "CategoricalHinge",
           "cosine_similarity"]


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> torch.Tensor:
    """``sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)`` (1 is best)."""
    return -F.cosine_similarity(y_true, y_pred, axis=axis)


class _FunctionMetric(MeanMetricWrapper):
    """A built-in function metric: its config holds its own arguments, not the function."""

    _extra: tuple[str, ...] = ()

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, **{key: getattr(self, key) for key in self._extra}}


def _simple(cls_name: str, function: Any, default_name: str, direction: str, doc: str) -> type[_FunctionMetric]:
    def __init__(self, name: str = default_name, dtype: Any = None):
        _FunctionMetric.__init__(self, function, name=name, dtype=dtype)

    cls = type(cls_name, (_FunctionMetric,), {"__init__": __init__, "_direction": direction, "__module__": __name__,
                                              "__doc__": f"{doc}\n\n    Args:\n        name: the metric name.\n"
                                                         "        dtype: accumulator dtype.\n"})
    return register("metric")(cls)


MeanSquaredError = _simple("MeanSquaredError", F.mean_squared_error, "mean_squared_error", "down",
                           "Mean of ``(y_true - y_pred) ** 2``.")
MeanAbsoluteError = _simple("MeanAbsoluteError", F.mean_absolute_error, "mean_absolute_error", "down",
                            "Mean of ``abs(y_true - y_pred)``.")
MeanAbsolutePercentageError = _simple("MeanAbsolutePercentageError", F.mean_absolute_percentage_error,
                                      "mean_absolute_percentage_error", "down",
                                      "Mean of ``100 * abs((y_true - y_pred) / y_true)``.")
MeanSquaredLogarithmicError = _simple("MeanSquaredLogarithmicError", F.mean_squared_logarithmic_error,
                                      "mean_squared_logarithmic_error", "down",
                                      "Mean of ``(log(y_pred + 1) - log(y_true + 1)) ** 2``.")
LogCoshError = _simple("LogCoshError", F.log_cosh, "logcosh", "down", "Mean of ``log(cosh(y_pred - y_true))``.")
KLDivergence = _simple("KLDivergence", F.kl_divergence, "kl_divergence", "down",
                       "Mean Kullback-Leibler divergence ``sum(y_true * log(y_true / y_pred))``.")
Poisson = _simple("Poisson", F.poisson, "poisson", "down", "Mean of ``y_pred - y_true * log(y_pred)``.")
Hinge = _simple("Hinge", F.hinge, "hinge", "down", "Mean hinge loss.")
SquaredHinge = _simple("SquaredHinge", F.squared_hinge, "squared_hinge", "down", "Mean squared hinge loss.")
CategoricalHinge = _simple("CategoricalHinge", F.categorical_hinge, "categorical_hinge", "down",
                           "Mean categorical hinge loss.")


@register("metric")
class CosineSimilarity(_FunctionMetric):
    """Mean cosine similarity between labels and predictions (1 is best).

    Args:
        name: the metric name.
        dtype: accumulator dtype.
        axis: the axis along which the similarity is computed.
    """

    _direction = "up"
    _extra = ("axis",)

    def __init__(self, name: str = "cosine_similarity", dtype: Any = None, axis: int = -1):
        super().__init__(cosine_similarity, name=name, dtype=dtype, axis=axis)
        self.axis = axis


@register("metric")
class RootMeanSquaredError(Mean):
    """``sqrt(mean((y_true - y_pred) ** 2))`` over all values seen.

    Args:
        name: the metric name.
        dtype: accumulator dtype.
    """

    _direction = "down"

    def __init__(self, name: str = "root_mean_squared_error", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true, y_pred = squeeze_or_expand_to_same_rank(*convert_inputs(y_true, y_pred, self._dtype))
        super().update_state(torch.square(y_pred - y_true), sample_weight=sample_weight)

    def result(self) -> torch.Tensor:
        return torch.sqrt(super().result())


@register("metric")
class BinaryCrossentropy(_FunctionMetric):
    """Mean binary crossentropy.

    Args:
        name: the metric name.
        dtype: accumulator dtype.
        from_logits: ``y_pred`` holds logits.
        label_smoothing: squeeze labels towards 0.5 by this amount.
    """

    _direction = "down"
    _extra = ("from_logits", "label_smoothing")

    def __init__(self, name: str = "binary_crossentropy", dtype: Any = None, from_logits: bool = False,
                 label_smoothing: float = 0):
        super().__init__(F.binary_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing


@register("metric")
class CategoricalCrossentropy(_FunctionMetric):
    """Mean categorical crossentropy (one-hot labels).

    Args:
        name: the metric name.
        dtype: accumulator dtype.
        from_logits: ``y_pred`` holds logits.
        label_smoothing: mix the labels with the uniform distribution by this amount.
        axis: the class axis.
    """

    _direction = "down"
    _extra = ("from_logits", "label_smoothing", "axis")

    def __init__(self, name: str = "categorical_crossentropy", dtype: Any = None, from_logits: bool = False,
                 label_smoothing: float = 0, axis: int = -1):
        super().__init__(F.categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis


@register("metric")
class SparseCategoricalCrossentropy(_FunctionMetric):
    """Mean sparse categorical crossentropy (integer labels).

    Args:
        name: the metric name.
        dtype: accumulator dtype.
        from_logits: ``y_pred`` holds logits.
        ignore_class: a label value left out of the mean.
        axis: the class axis.
    """

    _direction = "down"
    _extra = ("from_logits", "ignore_class", "axis")

    def __init__(self, name: str = "sparse_categorical_crossentropy", dtype: Any = None, from_logits: bool = False,
                 ignore_class: int | None = None, axis: int = -1):
        super().__init__(F.sparse_categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         ignore_class=ignore_class, axis=axis)
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self.axis = axis
