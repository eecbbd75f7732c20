"""Hyper-parameter tuning with Keras Tuner's API on Optuna: ``import lstmkit.tune as kt``.

    def build_model(hp):
        model = Sequential([LSTM(hp.Int("units", 32, 512, step=32), input_shape=(20, 1)), Dense(1)])
        model.compile(optimizer=hp.Choice("optimizer", ["adam", "rmsprop"]), loss="mse")
        return model

    tuner = kt.RandomSearch(build_model, objective="val_loss", max_trials=10)
    tuner.search(X_train, y_train, epochs=50, validation_data=(X_val, y_val))
    best_model = tuner.get_best_models(num_models=1)[0]

The study is an Optuna study stored in SQLite in ``directory/project_name`` (an interrupted
search resumes) or in any Optuna storage (``storage="postgresql://..."``), which several
processes or machines can work on at once (``lstmkit tune worker``). Names are imported on first
use, so ``import lstmkit.tune`` loads neither torch nor optuna.
"""

from __future__ import annotations

import importlib
from typing import Any

_NAMES = {
    "HyperParameters": "lstmkit.tune.hyperparameters",
    "HyperModel": "lstmkit.tune.hypermodel",
    "Objective": "lstmkit.tune.objective",
    "Tuner": "lstmkit.tune.tuner",
    "RandomSearch": "lstmkit.tune.tuners",
    "GridSearch": "lstmkit.tune.tuners",
    "BayesianOptimization": "lstmkit.tune.tuners",
    "Hyperband": "lstmkit.tune.tuners",
}
__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        value = getattr(importlib.import_module(_NAMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lstmkit.tune' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
