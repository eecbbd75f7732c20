"""One PNG that shows what the numbers mean: the held-out one-step forecasts of every method with
the LSTM's interval (top), and the multi-step forecasts from the first test origin (bottom).

matplotlib is imported here, lazily, with the Agg backend (no display needed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lstmkit.io import atomic_write_bytes

STYLE = {"lstm": ("C3", "-", "LSTM"), "naive": ("C7", ":", "naive"),
         "seasonal_naive": ("C2", "--", "seasonal naive"), "arima": ("C0", "-.", "ARIMA"),
         "sarima": ("C1", "-.", "SARIMA"), "mlp": ("C4", "--", "lag MLP")}


def plot_forecast(path: str | Path, series: Any, test_start: int, evaluation: Any, *, title: str | None = None,
                  context: int | None = None) -> Path:
    """Write the two-panel PNG to ``path`` (atomically) and return it.

    ``series`` is a ``data.Series``; ``evaluation`` an ``evaluation.Evaluation``; ``context`` is how
    many values before the test part to show (default: three times the test length).
    """
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values, times = np.asarray(series.values), np.asarray(series.times)
    n_test = len(values) - test_start
    context = 3 * n_test if context is None else context
    lo = max(0, test_start - context)
    test_t = times[test_start:]
    fig, axes = plt.subplots(2, 1, figsize=(10, 7.5), constrained_layout=True)

    ax = axes[0]
    ax.plot(times[lo:], values[lo:], color="k", lw=1.4, label="actual")
    ax.axvline(times[test_start], color="0.6", lw=0.8)
    if evaluation.lstm_interval is not None:
        lower, upper = evaluation.lstm_interval
        ax.fill_between(test_t, lower, upper, color="C3", alpha=0.18, lw=0, label="LSTM interval")
    for name, pred in evaluation.one_step.items():
        color, ls, label = STYLE.get(name, ("C4", "-", name))
        ax.plot(test_t, pred, color=color, ls=ls, lw=1.6 if name == "lstm" else 1.1, label=f"{label} (one-step)")
    ax.set_title(title or f"{series.name}: one-step forecasts of the last {n_test} values (held out)")
    ax.legend(loc="upper left", fontsize=8, ncol=2)

    ax = axes[1]
    if evaluation.first_origin:
        horizon = len(next(iter(evaluation.first_origin.values())))
        span = slice(test_start, test_start + horizon)
        before = max(0, test_start - 2 * horizon)
        ax.plot(times[before:span.stop], values[before:span.stop], color="k", lw=1.4, label="actual")
        ax.axvline(times[test_start], color="0.6", lw=0.8)
        if evaluation.first_interval is not None:
            ax.fill_between(times[span], *evaluation.first_interval, color="C3", alpha=0.18, lw=0,
                            label="LSTM interval")
        for name, pred in evaluation.first_origin.items():
            color, ls, label = STYLE.get(name, ("C4", "-", name))
            ax.plot(times[span], pred, color=color, ls=ls, lw=1.6 if name == "lstm" else 1.1, label=label)
        ax.set_title(f"{horizon}-step forecasts from the first test origin ({series.labels[test_start]})")
        ax.legend(loc="upper left", fontsize=8, ncol=2)
    else:
        ax.set_axis_off()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return atomic_write_bytes(path, buffer.getvalue(), create_dirs=True)


def plot_future(path: str | Path, series: Any, forecast: Any, labels: list[str], *, context: int = 60) -> Path:
    """PNG of the last ``context`` values and the forecast beyond them, with its interval."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values, times = np.asarray(series.values), np.asarray(series.times)
    steps = len(forecast.point)
    future_t = times[-1] + series.step * np.arange(1, steps + 1)
    fig, ax = plt.subplots(figsize=(10, 4), constrained_layout=True)
    ax.plot(times[-context:], values[-context:], color="k", lw=1.4, label="history")
    if forecast.has_interval:
        ax.fill_between(future_t, forecast.lower, forecast.upper, color="C3", alpha=0.2, lw=0,
                        label=f"{forecast.nominal:.0%} interval")
    ax.plot(future_t, forecast.point, color="C3", lw=1.6, label="LSTM forecast (median)")
    ax.set_title(f"{series.name}: next {steps} values ({labels[0]} to {labels[-1]})")
    ax.legend(loc="upper left", fontsize=8)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return atomic_write_bytes(path, buffer.getvalue(), create_dirs=True)
