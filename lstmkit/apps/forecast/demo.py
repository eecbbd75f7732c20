"""The forecasting part of ``lstmkit demo``: one training run on the sunspots.

Same pipeline and defaults as ``lstmkit forecast train --data sunspots`` (so the demo shows what
the command does): the budget is the defaults' epoch counts (early stopping on validation, then
the refit for the chosen count), so a seed gives the same numbers on every run. ``budget_s`` is
only a safety net: training stops after the epoch that passes 60 % of it (on an idle 2-core
machine the whole part takes well under it), leaving the rest for the baselines (ARIMA, SARIMA,
the lag MLP), the backtest and the plot.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any


def demo(out_dir: Path, seed: int = 0, budget_s: float = 45, verbose: int = 1) -> dict[str, Any]:
    """Train an LSTM forecaster on the yearly sunspots, score it on the held-out last 30 years.

    Writes the checkpoint, ``metrics.json`` and ``forecast.png`` into ``out_dir`` and returns
    ``{"data": ..., "metrics": {"lstm": {...}, "naive": {...}, "seasonal_naive": {...},
    "arima": {...}, "sarima": {...}, "mlp": {...}}, "multi_step": {...}, "plot": path, "seconds": ...}``;
    ``metrics`` are the one-step-ahead errors (MAE, RMSE, MAPE, sMAPE, MASE; the LSTM's with
    interval coverage), ``multi_step`` the 11-step backtest of the same methods.
    """
    from lstmkit.apps.forecast.pipeline import json_ready, train_run

    started = time.perf_counter()
    options = {"lookback": None, "horizon": None, "test": None, "validation": None, "scaling": None, "seed": seed}

    def log(message: str) -> None:
        if verbose:
            print(message)

    run = train_run({"data": "sunspots"}, options, out_dir, verbose=verbose, time_limit_s=0.6 * budget_s, log=log)
    result = json_ready(run.result)
    data = result["data"]
    return {
        "data": f"sunspots {data['train'][0]}-{data['test'][1]}, yearly; test = last {data['test'][2]} years "
                f"({data['test'][0]}-{data['test'][1]}), one-step-ahead forecasts from the true history",
        "metrics": result["one_step"],
        "multi_step": result["multi_step"],
        "arima_order": result.get("arima_order"),
        "sarima_order": result.get("sarima_order"),
        "mlp_setting": result.get("mlp_setting"),
        "time_limit_hit": bool(result["model"]["training"].get("time_limit_hit")),
        "plot": str(run.plot) if run.plot else None,
        "checkpoint": str(run.out_dir),
        "seconds": round(time.perf_counter() - started, 1),
    }
