"""Metric names: what ``model.compile(metrics=[...])`` and saved configs may say, and Keras'
resolution of "accuracy" / "acc" from the loss and the output shape (``get``)."""

from __future__ import annotations

import inspect
from typing import Any

import torch

from lstmkit.keras.engine.registry import Resolver, register, snake_case
from lstmkit.keras.losses import functions as _loss_functions
from lstmkit.keras.metrics.accuracy import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from lstmkit.keras.metrics.auc import AUC
from lstmkit.keras.metrics.base import Mean, MeanMetricWrapper, Metric, Sum
from lstmkit.keras.metrics.confusion import (
    FalseNegatives,
    FalsePositives,
    Precision,
    Recall,
    TrueNegatives,
    TruePositives,
)
from lstmkit.keras.metrics.fscore import F1Score, FBetaScore
from lstmkit.keras.metrics.regression import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CategoricalHinge,
    CosineSimilarity,
    Hinge,
    KLDivergence,
    LogCoshError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    Poisson,
    RootMeanSquaredError,
    SparseCategoricalCrossentropy,
    SquaredHinge,
    cosine_similarity,
)

_CLASSES = (Mean, Sum, Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
            TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, MeanSquaredError, MeanAbsoluteError,
            MeanAbsolutePercentageError, MeanSquaredLogarithmicError, RootMeanSquaredError, LogCoshError,
            CosineSimilarity, BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy, KLDivergence,
            Poisson, Hinge, SquaredHinge, CategoricalHinge, TruePositives, FalsePositives, TrueNegatives,
            FalseNegatives, Precision, Recall, AUC, F1Score, FBetaScore)


#: built-in per-sample functions by name (what a MeanMetricWrapper config may name)
FUNCTIONS = {fn.__name__: fn for fn in (accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
                                        top_k_categorical_accuracy, sparse_top_k_categorical_accuracy)}
FUNCTIONS.update(_loss_functions.FUNCTIONS)
FUNCTIONS["cosine_similarity"] = cosine_similarity

#: every string ``get`` accepts (besides "accuracy"/"acc") -> the metric class it builds
NAMES: dict[str, type[Metric]] = {}
for _cls in _CLASSES:
    NAMES[_cls.__name__] = _cls
    NAMES[snake_case(_cls.__name__)] = _cls
NAMES.update({"mse": MeanSquaredError, "mae": MeanAbsoluteError, "mape": MeanAbsolutePercentageError,
              "msle": MeanSquaredLogarithmicError, "rmse": RootMeanSquaredError, "bce": BinaryCrossentropy,
              "logcosh": LogCoshError, "log_cosh": LogCoshError, "kld": KLDivergence,
              "kullback_leibler_divergence": KLDivergence, "fbeta_score": FBetaScore, "recall_score": Recall,
              "precision_score": Precision})


def serialize(metric: Metric) -> dict[str, Any]:
    """``{"class_name": ..., "config": ...}`` for a metric."""
    return _METRICS.serialize(metric)


def deserialize(config: dict[str, Any]) -> Metric:
    """Inverse of ``serialize``."""
    return _METRICS.deserialize(config)


def _loss_kind(loss: Any) -> str | None:
    """"binary" / "sparse" / "categorical" when ``loss`` is that crossentropy, else None."""
    from lstmkit.keras import losses

    if loss is None:
        return None
    if isinstance(loss, str):
        try:
            loss = losses.get(loss)
        except ValueError:
            return None
    if inspect.isclass(loss):
        loss = loss if not issubclass(loss, losses.Loss) else loss()
    fn = getattr(loss, "fn", loss)
    if fn is _loss_functions.binary_crossentropy:
        return "binary"
    if fn is _loss_functions.sparse_categorical_crossentropy:
        return "sparse"
    if fn is _loss_functions.categorical_crossentropy:
        return "categorical"
    return None


@register("metric")
class _AutoAccuracy(MeanMetricWrapper):
    """"accuracy" when neither the loss nor the output shape decides: picks binary, sparse
    categorical or categorical accuracy from the first batch's shapes, as Keras 3's compile."""

    _direction = "up"

    def __init__(self, name: str = "accuracy", dtype: Any = None):
        super().__init__(self._resolve, name=name, dtype=dtype)
        self._chosen: Any = None

    def _resolve(self, y_true: Any, y_pred: Any) -> torch.Tensor:
        if self._chosen is None:
            t_shape, p_shape = tuple(getattr(y_true, "shape", ())), tuple(getattr(y_pred, "shape", ()))
            p_last = p_shape[-1] if p_shape else 1
            t_last = t_shape[-1] if t_shape else 1
            if p_last == 1:
                self._chosen = binary_accuracy
            elif len(t_shape) < len(p_shape) or (t_last == 1 and p_last > 1):
                self._chosen = sparse_categorical_accuracy
            else:
                self._chosen = categorical_accuracy
        return self._chosen(y_true, y_pred)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}


def _accuracy(name: str, loss: Any, output_shape: Any) -> Metric:
    kind = _loss_kind(loss)
    last = None
    if output_shape is not None:
        shape = tuple(output_shape)
        last = shape[-1] if shape else 1
    if kind == "binary" or last == 1:
        return BinaryAccuracy(name=name)
    if kind == "sparse":
        return SparseCategoricalAccuracy(name=name)
    if kind == "categorical" or last is not None or loss is not None:
        return CategoricalAccuracy(name=name)
    return _AutoAccuracy(name=name)


def _wrap(fn: Any) -> Metric:
    """A plain ``callable(y_true, y_pred)``, averaged over batches, named after itself."""
    name = getattr(fn, "name", None)
    return MeanMetricWrapper(fn, name=name if isinstance(name, str) and name else None)


_METRICS = Resolver("metric", "a metric name such as 'mae', a serialized dict, a Metric instance or a "
                    "callable(y_true, y_pred)", base=Metric,
                    names={**NAMES, "accuracy": _AutoAccuracy, "acc": _AutoAccuracy},
                    make=lambda cls, name: cls(name=name), callables=_wrap)


def get(identifier: Any, loss: Any = None, output_shape: Any = None) -> Metric | None:
    """A ``Metric`` from a Keras name ("mae", "mse", "accuracy"/"acc", "binary_accuracy",
    "precision", "auc", ...), a ``Metric`` instance or class, a serialized dict, or a
    ``callable(y_true, y_pred)`` (averaged by a ``MeanMetricWrapper``). A metric built from a
    string is named by that string (the logs key), as Keras' compile does.

    "accuracy" / "acc" become binary accuracy if ``loss`` is binary crossentropy or the
    output's last dimension (``output_shape[-1]``) is 1, sparse categorical accuracy if ``loss``
    is sparse categorical crossentropy, categorical accuracy otherwise; with neither ``loss`` nor
    ``output_shape`` known, the first batch's shapes decide (Keras 3's rule). None gives None."""
    if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
        return _accuracy(identifier, loss, output_shape)
    return _METRICS.get(identifier)


