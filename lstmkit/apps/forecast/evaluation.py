"""Score a trained forecaster and the baselines on the same held-out part, the same way.

Two protocols over the test part ``[test_start, n)``:

- one-step (the primary one): each test value is forecast from the true history before it, so
  every method is judged on the same ``n - test_start`` forecasts;
- rolling-origin multi-step backtest: from each origin ``o`` in the test part with ``o + H <= n``
  every method forecasts ``H`` steps from ``values[:o]``; errors are averaged over all (origin,
  step) pairs and also reported per step (errors grow with the step).

Nothing here is fit on the test part: the forecaster was trained before, ARIMA and SARIMA are fit
on ``values[:test_start]`` and only filter later values, the lag MLP is tuned on the validation
part and refit on ``values[:test_start]``, MASE is scaled by ``values[:test_start]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lstmkit.apps.forecast import baselines, metrics
from lstmkit.apps.forecast.intervals import interval_report
from lstmkit.apps.forecast.windows import rolling_origins

BASELINES = ("naive", "seasonal_naive", "arima", "sarima", "mlp")


@dataclass
class Evaluation:
    """Metrics (JSON-ready) and the arrays the plot needs."""

    metrics: dict[str, Any]
    one_step: dict[str, np.ndarray] = field(default_factory=dict)  # name -> forecasts of values[test_start:]
    lstm_interval: tuple[np.ndarray, np.ndarray] | None = None
    first_origin: dict[str, np.ndarray] = field(default_factory=dict)  # name -> H-step forecast from test_start
    first_interval: tuple[np.ndarray, np.ndarray] | None = None


def evaluate_model(forecaster: Any, values: np.ndarray, test_start: int, covariates: np.ndarray | None = None,
                   season: int = 1, horizon: int | None = None) -> tuple[dict[str, Any], Evaluation]:
    """The forecaster's own metrics (``{"one_step": ..., "multi_step": ...}``) and arrays."""
    values = np.asarray(values, dtype=np.float64)
    actual, insample = values[test_start:], values[:test_start]
    horizon = forecaster.config.horizon if horizon is None else horizon
    fc = forecaster.one_step(values, test_start, covariates=covariates)
    one = metrics.score(actual, fc.point, insample, season)
    if fc.has_interval:
        one["interval"] = interval_report(actual, fc.lower, fc.upper, fc.nominal)
    ev = Evaluation({}, one_step={"lstm": fc.point},
                    lstm_interval=(fc.lower, fc.upper) if fc.has_interval else None)
    origins = rolling_origins(test_start, len(values), horizon)
    multi: dict[str, Any] = {"horizon": horizon, "origins": len(origins)}
    if len(origins):
        cov = covariates
        mf = forecaster.forecast_from(values, origins, horizon, cov)
        truth = np.stack([values[o:o + horizon] for o in origins])
        multi.update(_multi_scores(truth, mf.point, insample, season))
        if mf.has_interval:
            multi["interval"] = interval_report(truth, mf.lower, mf.upper, mf.nominal)
        ev.first_origin["lstm"] = mf.point[0]
        if mf.has_interval:
            ev.first_interval = (mf.lower[0], mf.upper[0])
    ev.metrics = {"one_step": one, "multi_step": multi}
    return ev.metrics, ev


def _multi_scores(truth: np.ndarray, forecast: np.ndarray, insample: np.ndarray, season: int) -> dict[str, Any]:
    out: dict[str, Any] = metrics.score(truth, forecast, insample, season)
    out["mae_by_step"] = [round(float(v), 4) for v in np.mean(np.abs(truth - forecast), axis=0)]
    return out


def evaluate_all(forecaster: Any, values: np.ndarray, test_start: int, season: int,
                 covariates: np.ndarray | None = None, arima: bool = True, seasonal_arima: bool = False,
                 arima_order: tuple[int, int, int] | None = None, validation: int = 0, mlp: bool = True,
                 mlp_options: dict[str, Any] | None = None) -> Evaluation:
    """The forecaster beside naive, seasonal naive, (optionally) ARIMA and SARIMA (``arima``; SARIMA
    needs ``season`` > 1) and the lag MLP (``mlp``; tuned on the last ``validation`` values before
    ``test_start``, with ``mlp_options`` such as the LSTM's scaling and transform), on one split.

    Returns an ``Evaluation`` whose ``metrics`` is ``{"one_step": {"lstm": ..., "naive": ...,
    "seasonal_naive": ..., "arima": ..., "sarima": ..., "mlp": ...}, "multi_step": {"horizon": H,
    "origins": m, "lstm": ..., ...}, "arima_order": ..., "sarima_order": ..., "mlp_setting": ...}``.
    """
    values = np.asarray(values, dtype=np.float64)
    own, ev = evaluate_model(forecaster, values, test_start, covariates, season)
    actual, insample = values[test_start:], values[:test_start]
    horizon = own["multi_step"]["horizon"]
    origins = rolling_origins(test_start, len(values), horizon)
    truth = np.stack([values[o:o + horizon] for o in origins]) if len(origins) else None
    one: dict[str, Any] = {"lstm": own["one_step"]}
    multi: dict[str, Any] = {"horizon": horizon, "origins": len(origins),
                             "lstm": {k: v for k, v in own["multi_step"].items() if k not in ("horizon", "origins")}}
    for name in ("naive", "seasonal_naive"):
        pred = baselines.one_step(name, values, test_start, season=season)
        ev.one_step[name] = pred
        one[name] = metrics.score(actual, pred, insample, season)
        if truth is not None:
            mp = baselines.multi_step(name, values, origins, horizon, season)
            multi[name] = _multi_scores(truth, mp, insample, season)
            ev.first_origin[name] = mp[0]
    result: dict[str, Any] = {"one_step": one, "multi_step": multi}
    models: list[tuple[str, Any]] = []
    if arima:
        model = baselines.Arima(arima_order, seasonal_period=season if seasonal_arima else 0).fit(insample)
        models.append(("arima", model))
        result["arima_order"] = model.describe()
        if season > 1:
            from lstmkit.apps.forecast.sarima import Sarima

            start = None if seasonal_arima else model.order  # the plain ARIMA's pick seeds the stepwise search
            sarima = Sarima(season, start=start).fit(insample)
            models.append(("sarima", sarima))
            result["sarima_order"] = sarima.describe()
    if mlp and validation > 0:
        from lstmkit.apps.forecast.lagmlp import LagMLP

        net = LagMLP(**(mlp_options or {})).fit(insample, validation)
        models.append(("mlp", net))
        result["mlp_setting"] = net.describe()
    for name, model in models:
        pred = model.one_step(values, test_start)
        ev.one_step[name] = pred
        one[name] = metrics.score(actual, pred, insample, season)
        if truth is not None:
            mp = model.multi_step(values, origins, horizon)
            multi[name] = _multi_scores(truth, mp, insample, season)
            ev.first_origin[name] = mp[0]
    zeros = metrics.count_zero_actuals(actual)
    if zeros:
        result["mape_note"] = f"MAPE leaves out {zeros} test value(s) equal to zero"
    ev.metrics = result
    return ev


def table(result: dict[str, Any]) -> str:
    """The metrics as an aligned text table: one row per method, one-step then multi-step."""
    cols = ("mae", "rmse", "mape", "smape", "mase")
    blocks = [("one-step", result["one_step"])]
    if result.get("multi_step", {}).get("origins"):
        ms = result["multi_step"]
        blocks.append((f"{ms['horizon']}-step ({ms['origins']} origin{'s' if ms['origins'] > 1 else ''})", ms))

    def label(name: str) -> str:
        if name == "mlp":
            return f"lag {result.get('mlp_setting', 'MLP')}"
        detail = result.get(f"{name}_order")
        return name.replace("_", " ") + (f" {detail}" if detail else "")

    width = max(24, *(len(label(n)) + 4 for n in ("lstm", *BASELINES) if n in result["one_step"]))
    lines = []
    for title, block in blocks:
        lines.append(f"{title:<{width}}" + "".join(f"{c.upper():>9}" for c in cols) + "   interval coverage")
        for name in ("lstm", *BASELINES):
            row = block.get(name)
            if not isinstance(row, dict):
                continue
            cells = "".join(f"{row[c]:>9.3f}" if np.isfinite(row[c]) else f"{'n/a':>9}" for c in cols)
            iv = row.get("interval")
            extra = f"   {iv['coverage']:.0%} of nominal {iv['nominal']:.0%}, mean width {iv['mean_width']:.3g}" \
                if iv else ""
            lines.append(f"  {label(name):<{width - 2}}{cells}{extra}")
    return "\n".join(lines)
