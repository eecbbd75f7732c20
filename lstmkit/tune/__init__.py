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

from lstmkit._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "HyperParameters": "hyperparameters",
    "HyperModel": "hypermodel",
    "Objective": "objective",
    "Tuner": "tuner",
    "RandomSearch": "tuners",
    "GridSearch": "tuners",
    "BayesianOptimization": "tuners",
    "Hyperband": "tuners",
})
