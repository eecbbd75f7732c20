"""A tuning demo on real data: search an LSTM forecaster of the yearly sunspot numbers, then
check on years no trial saw whether tuning paid off.

The series (1700-2008, shipped with lstmkit) is split in time: the last ``TEST_YEARS`` are the
test set, the ``VAL_YEARS`` before them score the trials (``val_loss``), the rest trains. The
best model's test error is compared on the same test years with the same architecture at its
default hyper-parameters (trained the same way) and with the naive "next year equals this year"
forecast, so the numbers say what tuning bought.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["demo"]

LOOKBACK = 20  # years of history per input window
TEST_YEARS = 30
VAL_YEARS = 30
BATCH_SIZE = 32


def _windows(scaled: np.ndarray, targets: range) -> tuple[np.ndarray, np.ndarray]:
    x = np.stack([scaled[t - LOOKBACK:t] for t in targets])[:, :, None].astype(np.float32)
    y = np.asarray([scaled[t] for t in targets], dtype=np.float32)[:, None]
    return x, y


def _build_model(hp: Any) -> Any:
    from lstmkit.keras.layers import LSTM, Dense
    from lstmkit.keras.models import Sequential
    from lstmkit.keras.optimizers import Adam

    model = Sequential([LSTM(hp.Int("units", 8, 64, step=8, default=32), input_shape=(LOOKBACK, 1)), Dense(1)])
    model.compile(optimizer=Adam(learning_rate=hp.Float("learning_rate", 1e-3, 3e-2, sampling="log", default=1e-2)),
                  loss="mse")
    return model


def demo(out_dir: str | Path = "runs/tune-demo", seed: int = 0, budget_s: float = 40.0, verbose: int = 1,
         max_trials: int = 12, epochs: int = 20) -> dict[str, Any]:
    """Run the search (a fresh study in ``out_dir/sunspots``), print and return the results.

    Trials run one after the other until ``max_trials`` or until ~60 % of ``budget_s`` is spent
    (at least 2 trials), leaving time for the comparison. Returns a dict with the number of
    trials, the best hyper-parameters and their validation loss, the test MAE (in sunspot numbers)
    of the tuned model, of the default-hyper-parameter model and of the naive forecast, the path
    of the PNG plot of the trials, and the seconds used.
    """
    started = time.perf_counter()
    from lstmkit.data import load_sunspots
    from lstmkit.keras.callbacks import EarlyStopping
    from lstmkit.keras.utils import set_random_seed
    from lstmkit.tune.hyperparameters import HyperParameters
    from lstmkit.tune.plot import plot_study
    from lstmkit.tune.tuners import RandomSearch

    data = load_sunspots()
    n = len(data)
    test_start, val_start = n - TEST_YEARS, n - TEST_YEARS - VAL_YEARS
    mean, std = data.values[:val_start].mean(), data.values[:val_start].std()  # training years only
    scaled = (data.values - mean) / std
    x_train, y_train = _windows(scaled, range(LOOKBACK, val_start))
    x_val, y_val = _windows(scaled, range(val_start, test_start))
    x_test, _ = _windows(scaled, range(test_start, n))
    actual = data.values[test_start:]

    def test_mae(model: Any) -> float:
        predicted = model.predict(x_test, verbose=0)[:, 0].astype(np.float64) * std + mean
        return float(np.abs(predicted - actual).mean())

    out_dir = Path(out_dir)
    tuner = RandomSearch(_build_model, objective="val_loss", max_trials=1, seed=seed, directory=out_dir,
                         project_name="sunspots", overwrite=True)
    if verbose:
        print(f"sunspots {data.years[0]}-{data.years[-1]}: {len(x_train)} training windows of {LOOKBACK} years; "
              f"trials scored on {data.years[val_start]}-{data.years[test_start - 1]}, "
              f"tested on {data.years[test_start]}-{data.years[-1]}")
    while True:  # one trial per search(): the study resumes, so the budget can be checked between trials
        tuner.search(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs, batch_size=BATCH_SIZE,
                     verbose=0)
        trial = tuner.study.trials[-1]
        if verbose:
            values = ", ".join(f"{k}={v:.3g}" for k, v in trial.user_attrs["hyperparameters"].items())
            print(f"trial {trial.number + 1}/{max_trials}: {values} -> val_loss {trial.value:.4f} "
                  f"(best {tuner.study.best_value:.4f}; {time.perf_counter() - started:.0f}s of {budget_s:.0f}s)",
                  flush=True)
        if tuner.max_trials >= max_trials or (tuner.max_trials >= 2 and
                                              time.perf_counter() - started > 0.6 * budget_s):
            break
        tuner.max_trials += 1
    best_hp = tuner.get_best_hyperparameters(1)[0]
    best_model = tuner.get_best_models(1)[0]

    # The same architecture at its defaults, trained the same way and, like every trial, kept at its
    # best validation epoch (EarlyStopping that never stops, restoring the best weights).
    set_random_seed(seed)
    default_model = _build_model(HyperParameters())
    keep_best = EarlyStopping(monitor="val_loss", patience=epochs, restore_best_weights=True)
    default_model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs, batch_size=BATCH_SIZE,
                      verbose=0, callbacks=[keep_best])
    result = {
        "trials": len(tuner.study.trials),
        "best_hyperparameters": dict(best_hp.values),
        "best_val_loss": float(tuner.study.best_value),
        "test_mae_tuned": test_mae(best_model),
        "test_mae_default": test_mae(default_model),
        "test_mae_naive": float(np.abs(data.values[test_start - 1:-1] - actual).mean()),
        "plot": str(plot_study(tuner.study, out_dir / "trials.png", title="sunspot LSTM: validation MSE per trial")),
        "project_dir": str(tuner.project_dir),
        "seconds": round(time.perf_counter() - started, 1),
    }
    if verbose:
        print(f"best of {result['trials']} trials: {result['best_hyperparameters']} "
              f"(val_loss {result['best_val_loss']:.4f})")
        print(f"test MAE {data.years[test_start]}-{data.years[-1]} (sunspot number): tuned LSTM "
              f"{result['test_mae_tuned']:.2f}, default LSTM {result['test_mae_default']:.2f}, naive last-value "
              f"{result['test_mae_naive']:.2f}")
        print(f"plot: {result['plot']}")
    return result
