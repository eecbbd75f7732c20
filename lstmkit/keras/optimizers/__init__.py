"""Keras optimizers on torch (``lstmkit.keras.optimizers``, as ``tensorflow.keras.optimizers``).

``Adam(...)``, ``SGD(...)`` and friends keep Keras 3's constructor arguments and update rules and
run on ``torch.optim``; ``get("adam")`` resolves the strings ``model.compile`` accepts.
``optimizers.schedules`` holds the learning-rate schedules.
"""

from __future__ import annotations

from typing import Any

from lstmkit.keras.engine.registry import Resolver
from lstmkit.keras.optimizers import schedules
from lstmkit.keras.optimizers.base import Optimizer
from lstmkit.keras.optimizers.optimizers import SGD, Adadelta, Adagrad, Adam, AdamW, Nadam, RMSprop
from lstmkit.keras.optimizers.schedules import LearningRateSchedule

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Nadam", "Adadelta", "LearningRateSchedule",
           "schedules", "get", "serialize", "deserialize"]

_BY_NAME: dict[str, type[Optimizer]] = {cls.__name__.lower(): cls
                                        for cls in (SGD, Adam, AdamW, RMSprop, Adagrad, Nadam, Adadelta)}


_OPTIMIZERS = Resolver("optimizer", "a name such as 'adam', a serialized dict or an Optimizer instance",
                       base=Optimizer, names=_BY_NAME, callables=False)


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """``{"class_name": ..., "config": ...}`` for an optimizer."""
    return _OPTIMIZERS.serialize(optimizer)


def deserialize(config: dict[str, Any]) -> Optimizer:
    """Inverse of ``serialize`` (class names are looked up case-insensitively)."""
    return _OPTIMIZERS.deserialize(config)


def get(identifier: Any) -> Optimizer | None:
    """An ``Optimizer`` from a name (case-insensitive: "adam", "SGD", "rmsprop", ...), a serialized
    dict or an instance (returned as is); None gives None (as Keras)."""
    return _OPTIMIZERS.get(identifier)


