"""Keras optimizers on torch (``lstmkit.keras.optimizers``, as ``tensorflow.keras.optimizers``).

``Adam(...)``, ``SGD(...)`` and friends keep Keras 3's constructor arguments and update rules and
run on ``torch.optim``; ``get("adam")`` resolves the strings ``model.compile`` accepts.
``optimizers.schedules`` holds the learning-rate schedules.
"""

from __future__ import annotations

from typing import Any

from lstmkit.keras.engine.registry import deserialize as _deserialize
from lstmkit.keras.engine.registry import serialize as _serialize
from lstmkit.keras.optimizers import schedules
from lstmkit.keras.optimizers.base import Optimizer
from lstmkit.keras.optimizers.optimizers import SGD, Adadelta, Adagrad, Adam, AdamW, Nadam, RMSprop
from lstmkit.keras.optimizers.schedules import LearningRateSchedule

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Nadam", "Adadelta", "LearningRateSchedule",
           "schedules", "get", "serialize", "deserialize"]

_BY_NAME: dict[str, type[Optimizer]] = {cls.__name__.lower(): cls
                                        for cls in (SGD, Adam, AdamW, RMSprop, Adagrad, Nadam, Adadelta)}


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """``{"class_name": ..., "config": ...}`` for an optimizer."""
    return _serialize(optimizer)


def deserialize(config: dict[str, Any]) -> Optimizer:
    """Inverse of ``serialize`` (class names are looked up case-insensitively)."""
    if isinstance(config, dict) and isinstance(config.get("class_name"), str):
        cls = _BY_NAME.get(config["class_name"].lower())
        if cls is not None:
            return cls.from_config(dict(config.get("config") or {}))
    return _deserialize("optimizer", config)


def get(identifier: Any) -> Optimizer | None:
    """An ``Optimizer`` from a name (case-insensitive: "adam", "SGD", "rmsprop", ...), a serialized
    dict or an instance (returned as is); None gives None (as Keras)."""
    if identifier is None:
        return None
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}. "
                             f"Valid names: {sorted(_BY_NAME)}")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r} (expected a name such as 'adam', "
                     "a serialized dict or an Optimizer instance)")
