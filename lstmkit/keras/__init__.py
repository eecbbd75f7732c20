"""A Keras-compatible front end on PyTorch: change ``tensorflow.keras`` to ``lstmkit.keras``
and Keras code runs on lstmkit's layers (``from lstmkit.keras.layers import LSTM, Dense``,
``from lstmkit.keras.models import Sequential``, ...).

Submodules mirror tensorflow.keras: layers, models, optimizers, losses, metrics, callbacks,
regularizers, initializers, constraints, activations, utils, preprocessing, backend. They are
imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_SUBMODULES = ("layers", "models", "optimizers", "losses", "metrics", "callbacks", "regularizers", "initializers",
               "constraints", "activations", "utils", "preprocessing", "backend")
_NAMES = {
    "Sequential": "lstmkit.keras.models",
    "Model": "lstmkit.keras.models",
    "Input": "lstmkit.keras.engine.input_layer",
    "Layer": "lstmkit.keras.engine.layer",
    "clear_session": "lstmkit.keras.engine.layer",
}
__all__ = sorted([*_SUBMODULES, *_NAMES])


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        module = importlib.import_module(f"lstmkit.keras.{name}")
        globals()[name] = module
        return module
    if name in _NAMES:
        value = getattr(importlib.import_module(_NAMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lstmkit.keras' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
