"""Loss names: every string ``model.compile(loss=...)`` and saved configs may use, and
``get``/``serialize``/``deserialize`` (through the shared ``Resolver``)."""

from __future__ import annotations

from typing import Any

from lstmkit.keras.engine.registry import Resolver, snake_case
from lstmkit.keras.losses.base import Loss, LossFunctionWrapper
from lstmkit.keras.losses.classes import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CategoricalHinge,
    CosineSimilarity,
    Hinge,
    Huber,
    KLDivergence,
    LogCosh,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    Poisson,
    SparseCategoricalCrossentropy,
    SquaredHinge,
)

_CLASSES = (MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError, Huber,
            LogCosh, BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy, KLDivergence, Poisson,
            Hinge, SquaredHinge, CategoricalHinge, CosineSimilarity)
#: every string ``get`` accepts -> the loss class it builds
NAMES: dict[str, type[Loss]] = {}
for _cls in _CLASSES:
    NAMES[_cls.__name__] = _cls
    NAMES[snake_case(_cls.__name__)] = _cls
    NAMES[_cls._fn.__name__] = _cls
NAMES.update({"mse": MeanSquaredError, "mae": MeanAbsoluteError, "mape": MeanAbsolutePercentageError,
              "msle": MeanSquaredLogarithmicError, "kld": KLDivergence, "kullback_leibler_divergence": KLDivergence,
              "logcosh": LogCosh, "bce": BinaryCrossentropy, "huber_loss": Huber})


_LOSSES = Resolver("loss", "a loss name such as 'mse', a serialized dict, a Loss instance or a "
                   "callable(y_true, y_pred)", base=Loss, names=NAMES, callables=LossFunctionWrapper)


def serialize(loss: Loss) -> dict[str, Any]:
    """``{"class_name": ..., "config": ...}`` for a loss."""
    return _LOSSES.serialize(loss)


def deserialize(config: dict[str, Any]) -> Loss:
    """Inverse of ``serialize``."""
    return _LOSSES.deserialize(config)


def get(identifier: Any) -> Loss | None:
    """A ``Loss`` from a Keras name ("mse", "mean_squared_error", "MeanSquaredError", "mae",
    "mape", "huber", "log_cosh", "binary_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy", ...; case-insensitive), a serialized dict, a ``Loss``
    instance or class, or a plain ``callable(y_true, y_pred)`` returning per-sample losses (wrapped
    in a ``LossFunctionWrapper`` named after the function). None gives None (as Keras)."""
    return _LOSSES.get(identifier)


