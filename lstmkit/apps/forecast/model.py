"""``Forecaster``: the Python face of the forecasting app.

    fc = Forecaster(lookback=20, horizon=11, seed=0).fit(values[:-30], validation=30)
    fc.one_step(values, start=len(values) - 30).point   # rolling one-step forecasts of the last 30
    fc.predict().point, fc.predict().lower               # the next 11 values after the training data
    fc.save("runs/fc"); Forecaster.load("runs/fc")        # JSON + safetensors, never pickle

Two multi-step strategies: ``recursive`` trains a one-step model and feeds its forecasts back
(any horizon; intervals from sample paths), ``direct`` trains one output per future step (at most
``horizon`` steps; no error feedback, but a harder training problem on short series). Both see the
same windows, scaler and split, so they are comparable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lstmkit.apps.forecast.intervals import (
    DEFAULT_QUANTILES,
    calibration_shifts,
    check_quantiles,
    inverse_cdf,
    sort_quantiles,
)
from lstmkit.apps.forecast.windows import (
    SCALINGS,
    TRANSFORMS,
    Scaler,
    as_series,
    covariate_windows,
    create_sequences,
    validation_count,
)
from lstmkit.apps.threads import limited_threads
from lstmkit.errors import AppError

STRATEGIES = ("recursive", "direct")
INTERVALS = ("residual", "heads")
APP = "forecast"


@dataclass(frozen=True)
class Forecast:
    """Forecast quantiles: ``values[..., j]`` is the level ``levels[j]`` (one column, level None,
    for a point model). ``point`` is the median; ``lower``/``upper`` the outermost levels."""

    values: np.ndarray
    levels: tuple[float, ...] | None

    @property
    def point(self) -> np.ndarray:
        return self.values[..., self.levels.index(0.5)] if self.levels else self.values[..., 0]

    @property
    def has_interval(self) -> bool:
        return bool(self.levels) and len(self.levels) > 1

    @property
    def lower(self) -> np.ndarray | None:
        return self.values[..., 0] if self.has_interval else None

    @property
    def upper(self) -> np.ndarray | None:
        return self.values[..., -1] if self.has_interval else None

    @property
    def nominal(self) -> float | None:
        """The intended coverage of ``[lower, upper]`` (0.8 for levels 0.1 and 0.9)."""
        return round(self.levels[-1] - self.levels[0], 6) if self.has_interval else None


@dataclass
class ForecastConfig:
    """Everything that defines a forecaster; stored in the checkpoint."""

    lookback: int = 20
    horizon: int = 11
    units: int = 16
    layers: int = 1
    dropout: float = 0.0
    epochs: int = 150
    seed: int = 0
    strategy: str = "recursive"
    quantiles: tuple[float, ...] | None = DEFAULT_QUANTILES
    scaling: str = "global"
    batch_size: int = 16
    learning_rate: float = 1e-2
    patience: int = 20
    paths: int = 500
    calibrate: bool = True
    members: int = 5
    interval: str = "residual"
    refit: bool = True
    transform: str = "none"
    period: int = 1
    highway: bool = False

    def check(self) -> None:
        for name in ("lookback", "horizon", "units", "layers", "epochs", "batch_size", "paths", "members", "period"):
            if int(getattr(self, name)) < 1:
                raise AppError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0 <= self.dropout < 1:
            raise AppError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.strategy not in STRATEGIES:
            raise AppError(f"unknown strategy {self.strategy!r}: expected one of {', '.join(STRATEGIES)}")
        if self.scaling not in SCALINGS:
            raise AppError(f"unknown scaling {self.scaling!r}: expected one of {', '.join(SCALINGS)}")
        if self.interval not in INTERVALS:
            raise AppError(f"unknown interval {self.interval!r}: expected one of {', '.join(INTERVALS)}")
        if self.transform not in TRANSFORMS:
            raise AppError(f"unknown transform {self.transform!r}: expected one of {', '.join(TRANSFORMS)}")
        if self.scaling == "seasonal" and self.lookback < self.period:
            raise AppError(f"seasonal scaling needs a lookback of at least one period ({self.period}), "
                           f"got {self.lookback}")
        if not self.learning_rate > 0 or self.patience < 0 or self.seed < 0:
            raise AppError("learning_rate must be > 0, patience and seed >= 0")
        self.quantiles = check_quantiles(self.quantiles)


class Forecaster:
    """An LSTM forecaster (a seed ensemble of small LSTMs) with a scaler fit on its training part.

    The default recipe, chosen on the sunspots' validation part (1949-1978; see pipeline.PRESETS):
    ``members`` LSTMs of 16 units trained side by side with MSE, Adam at 1e-2, batches of 16, the
    epoch count chosen by early stopping on the validation part, then (``refit``) the same
    ensemble retrained from the same seed on training + validation for that many epochs, so the
    forecast origin sees all history as ARIMA does. Intervals (``interval="residual"``) are the
    point forecast plus the quantiles of the selection run's validation errors, in transformed
    units (so they widen with the level after a sqrt transform); ``"heads"`` trains pinball-loss
    quantile heads instead (the point is then their median, which cost accuracy here).

    Args:
        lookback: past values in each input window.
        horizon: steps ahead to forecast (``predict``'s default; a direct model's maximum).
        units, layers, dropout: LSTM width, depth and the dropout before the output layer.
        epochs, batch_size, learning_rate, patience: training; early stopping waits ``patience``
            epochs for the validation loss to improve and keeps the best weights.
        seed: seeds weights, shuffling and the sample paths (same seed, same forecasts).
        strategy: "recursive" (one-step model fed back) or "direct" (one output per step).
        quantiles: levels of the quantile heads (the median is always included), or None for a
            point forecast trained with MSE and no intervals.
        scaling: "global" (standardise with training mean/std) or "last" (shift each window by
            its last value: for trending series).
        paths: sample paths per origin for recursive multi-step intervals.
        calibrate: shift the non-median quantiles so that they hold on the validation part.
        members: LSTMs averaged (a seed ensemble inside one model).
        interval: "residual" (MSE point model, intervals from validation errors) or "heads".
        refit: retrain on training + validation for the selected epoch count (needs a validation part).
        transform: "none" or "sqrt" (before scaling; for non-negative series with level-dependent noise).
        period: season length for ``scaling="seasonal"``.
        highway: add a linear map of the whole input window to each member's output (LSTNet's
            "autoregressive highway", Lai et al. 2018): the LSTM then models what a linear
            autoregression misses, and the linear part extrapolates to input levels the tanh
            units never saw in training (CO2's faster growth in the test years).
        verbose: 1 shows a progress bar over the epochs.

    Forecasts of a series that never went below zero in training are clipped at zero (counts,
    prices, sunspot numbers), so neither the point nor the interval goes negative.
    """

    def __init__(self, lookback: int = 20, horizon: int = 11, units: int = 16, layers: int = 1, dropout: float = 0.0,
                 epochs: int = 150, seed: int = 0, strategy: str = "recursive",
                 quantiles: Sequence[float] | None = DEFAULT_QUANTILES, scaling: str = "global", batch_size: int = 16,
                 learning_rate: float = 1e-2, patience: int = 20, paths: int = 500, calibrate: bool = True,
                 members: int = 5, interval: str = "residual", refit: bool = True, transform: str = "none",
                 period: int = 1, highway: bool = False, verbose: int = 0):
        self.config = ForecastConfig(lookback, horizon, units, layers, dropout, epochs, seed, strategy,
                                     None if quantiles is None else tuple(quantiles), scaling, batch_size,
                                     learning_rate, patience, paths, calibrate, members, interval, refit, transform,
                                     period, bool(highway))
        self.config.check()
        self.verbose = verbose
        self.model_: Any = None
        self.scaler_: Scaler | None = None
        self.history_: np.ndarray | None = None
        self.cov_history_: np.ndarray | None = None
        self.n_covariates_ = 0
        self.shifts_: np.ndarray | None = None  # (outputs_per_window, levels) interval calibration
        self.floor_: float | None = None  # 0.0 when the training series never went below zero
        self.training_: dict[str, Any] = {}
        self.extra_state: dict[str, Any] = {}

    # ------------------------------------------------------------------ training
    @property
    def outputs_per_window(self) -> int:
        """Steps the network predicts at once: ``horizon`` (direct) or 1 (recursive)."""
        return self.config.horizon if self.config.strategy == "direct" else 1

    @property
    def levels(self) -> tuple[float, ...] | None:
        return self.config.quantiles

    def fit(self, series: Sequence[float] | np.ndarray, covariates: np.ndarray | None = None,
            validation: int | float | None = 0.1, time_limit_s: float | None = None) -> Forecaster:
        """Train on ``series`` (all of it is training data: hold the test part out yourself).

        ``validation``: the last ``validation`` values (an int) or fraction (a float in (0, 1)) of
        ``series`` are used only for early stopping and interval calibration, never as targets; 0 or
        None trains for all epochs without calibration. ``covariates`` ``(len(series), k)`` are extra
        input features (their past values only). ``time_limit_s`` ends training after the epoch
        that exceeds it (the best weights are still kept).
        """
        cfg = self.config
        values, cov = as_series(series, covariates)
        n_val = validation_count(validation, len(values))
        n_train = len(values) - n_val
        h = self.outputs_per_window
        if n_train < cfg.lookback + h:
            raise AppError(f"the series has {len(values)} values, too short: lookback {cfg.lookback} + {h} target "
                           f"value(s) for one training window + {n_val} validation values needs at least "
                           f"{cfg.lookback + h + n_val}")
        if cfg.transform == "sqrt" and values.min() < 0:
            raise AppError(f"transform 'sqrt' needs a non-negative series, got a minimum of {values.min():g}")
        self.n_covariates_ = 0 if cov is None else cov.shape[1]
        val_targets = range(max(cfg.lookback, n_train), len(values) - h + 1)
        self._train(values[:n_train], None if cov is None else cov[:n_train], values, cov,
                    range(cfg.lookback, n_train - h + 1), val_targets if n_val else range(0), cfg.epochs, time_limit_s)
        self.training_.update(train_values=n_train, validation_values=n_val,
                              validation_windows=len(val_targets) if n_val else 0)
        self.shifts_ = None
        self.floor_ = 0.0 if values[:n_train].min() >= 0 else None
        if cfg.calibrate and cfg.quantiles and len(cfg.quantiles) > 1 and n_val and len(val_targets):
            raw_x, raw_y, raw_c = create_sequences(values, cfg.lookback, h, val_targets, cov)
            with limited_threads(1):
                if cfg.interval == "residual":  # transformed units: the errors of the model selected here
                    point = self.scaler_.forward(self._quantiles(raw_x, raw_c, point_only=True))  # (m, h, 1)
                    self.shifts_ = calibration_shifts(cfg.quantiles, np.repeat(point, len(cfg.quantiles), -1),
                                                      self.scaler_.forward(raw_y))
                else:
                    self.shifts_ = calibration_shifts(cfg.quantiles, self._quantiles(raw_x, raw_c), raw_y)
        if cfg.refit and n_val and "best_epoch" in self.training_:
            selection = dict(self.training_)
            self._train(values, cov, values, cov, range(cfg.lookback, len(values) - h + 1), range(0),
                        int(selection["best_epoch"]), time_limit_s)
            self.training_ = {**selection, "refit_epochs": int(selection["best_epoch"]),
                              "refit_windows": self.training_["train_windows"],
                              "seconds": round(selection["seconds"] + self.training_["seconds"], 2),
                              "time_limit_hit": selection["time_limit_hit"] or self.training_["time_limit_hit"]}
            self.floor_ = 0.0 if values.min() >= 0 else None
        self.history_ = values[-cfg.lookback:].copy()
        self.cov_history_ = None if cov is None else cov[-cfg.lookback:].copy()
        return self

    @property
    def network_outputs(self) -> int:
        """Outputs per member: one per (step, quantile level) for quantile heads, else one per step."""
        heads = len(self.config.quantiles) if self.config.quantiles and self.config.interval == "heads" else 1
        return self.outputs_per_window * heads

    def _train(self, fit_values: np.ndarray, fit_cov: np.ndarray | None, values: np.ndarray, cov: np.ndarray | None,
               targets: range, val_targets: range, epochs: int, time_limit_s: float | None) -> None:
        """Fit the scaler on ``fit_values`` and a fresh network (seeded) on windows with ``targets``
        (early stopping on ``val_targets`` when there are any)."""
        from lstmkit.apps.forecast.network import build_network, compile_network, train_network
        from lstmkit.keras.utils import set_random_seed

        cfg = self.config
        self.scaler_ = Scaler(cfg.scaling, cfg.transform, cfg.period).fit(fit_values, fit_cov)
        x, y = self._samples(values, cov, targets)
        val = self._samples(values, cov, val_targets) if len(val_targets) else None
        tile = (lambda t: np.tile(t, (1, cfg.members))) if cfg.members > 1 else (lambda t: t)  # (B, k * h)
        with limited_threads(1):
            set_random_seed(cfg.seed)
            features = self.scaler_.channels + self.n_covariates_
            self.model_ = build_network(cfg.lookback, features, self.network_outputs, cfg.units, cfg.layers,
                                        cfg.dropout, cfg.members, highway=cfg.highway)
            compile_network(self.model_, cfg.quantiles if cfg.interval == "heads" else None, cfg.learning_rate)
            self.training_ = train_network(self.model_, x, tile(y), None if val is None else (val[0], tile(val[1])),
                                           epochs=epochs, batch_size=cfg.batch_size, patience=cfg.patience,
                                           verbose=self.verbose, time_limit_s=time_limit_s)
        self.training_["train_windows"] = len(x)

    def _samples(self, values: np.ndarray, cov: np.ndarray | None, targets: range) -> tuple[np.ndarray, np.ndarray]:
        raw_x, raw_y, raw_c = create_sequences(values, self.config.lookback, self.outputs_per_window, targets, cov)
        scaler = self.scaler_
        return scaler.inputs(raw_x, raw_c), scaler.targets(raw_y, scaler.reference(raw_x))

    def _require_fit(self) -> None:
        if self.model_ is None or self.scaler_ is None:
            raise AppError("the forecaster is not trained: call fit() or Forecaster.load() first")

    # ------------------------------------------------------------------ forecasting
    def _quantiles(self, windows: np.ndarray, cov_windows: np.ndarray | None, point_only: bool = False) -> np.ndarray:
        """Raw-unit outputs ``(m, outputs_per_window, levels)`` for raw windows ``(m, lookback)``
        (``point_only``: one column, the point, of a residual-interval model)."""
        cfg = self.config
        x = self.scaler_.inputs(windows, cov_windows)
        z = self.model_.predict(x, batch_size=4096, verbose=0)
        z = z.reshape(len(x), cfg.members, self.outputs_per_window, -1).mean(axis=1)  # (m, h, heads)
        ref = self.scaler_.reference(windows)
        if cfg.interval == "residual":
            t = z * self.scaler_.scale + ref[:, None, None]  # transformed units
            if self.shifts_ is not None and not point_only:
                t = t + self.shifts_[None]  # (m, h, levels): the point plus validation-error quantiles
            elif self.levels and not point_only:  # not calibrated (no validation part): a zero-width interval
                t = np.repeat(t, len(self.levels), axis=-1)
            out = self.scaler_.backward(t)
        else:
            out = self.scaler_.restore(z, ref)
            if self.shifts_ is not None:
                out = out + self.shifts_[None]
        if self.floor_ is not None:
            out = np.maximum(out, self.floor_)
        return sort_quantiles(out) if self.levels and out.shape[-1] > 1 else out

    def forecast_from(self, values: np.ndarray, origins: Sequence[int], horizon: int | None = None,
                      covariates: np.ndarray | None = None) -> Forecast:
        """Forecasts of ``values[o:o + horizon]`` from ``values[:o]`` for each origin ``o``:
        ``Forecast.values`` has shape ``(len(origins), horizon, levels)``.

        A recursive model with covariates needs them up to ``o + horizon - 2`` (covariates must be
        known ahead: pass future rows appended to ``covariates``).
        """
        self._require_fit()
        cfg = self.config
        horizon = cfg.horizon if horizon is None else int(horizon)
        values, cov = as_series(values, covariates, self.n_covariates_)
        origins = np.asarray(list(origins), dtype=np.int64)
        if horizon < 1:
            raise AppError(f"horizon must be at least 1, got {horizon}")
        if origins.size and (origins.min() < cfg.lookback or origins.max() > len(values)):
            raise AppError(f"forecast origins need {cfg.lookback} past values (the lookback) and must not pass the end "
                           f"of the series ({len(values)} values)")
        if cfg.strategy == "direct" and horizon > cfg.horizon:
            raise AppError(f"this direct model forecasts at most {cfg.horizon} steps, asked for {horizon}: retrain "
                           f"with a larger --horizon or use --strategy recursive")
        windows = np.zeros((len(origins), cfg.lookback))
        for k, o in enumerate(origins):
            windows[k] = values[o - cfg.lookback:o]
        with limited_threads(1):
            if cfg.strategy == "direct":
                out = self._quantiles(windows, covariate_windows(cov, origins, cfg.lookback, 0))[:, :horizon]
            else:
                out = self._recursive(windows, cov, origins, horizon)
        return Forecast(out, self.levels)

    def _recursive(self, windows: np.ndarray, cov: np.ndarray | None, origins: np.ndarray, horizon: int) -> np.ndarray:
        """Feed forecasts back; with quantiles, ``paths`` sample paths per origin give each step's
        quantiles (step 1's are the model's own). Without quantiles the point is fed back."""
        cfg, levels = self.config, self.levels
        if cov is not None and horizon > 1 and (origins.max(initial=0) + horizon - 1 > len(cov)):
            raise AppError(f"a recursive forecast {horizon} steps ahead needs the covariates of the next "
                           f"{horizon - 1} steps (future_covariates= in Python); forecast 1 step, or train with "
                           "--strategy direct")
        m = len(windows)
        first = self._quantiles(windows, covariate_windows(cov, origins, cfg.lookback, 0))[:, 0]  # (m, levels)
        out = np.empty((m, horizon, first.shape[-1]))
        out[:, 0] = first
        if horizon == 1 or m == 0:
            return out
        rng = np.random.default_rng(cfg.seed)
        paths = cfg.paths if levels else 1
        draw = inverse_cdf(levels, np.repeat(first, paths, 0), rng.random(m * paths)) if levels else first[:, 0]
        if self.floor_ is not None:
            draw = np.maximum(draw, self.floor_)
        hist = np.concatenate([np.repeat(windows, paths, 0)[:, 1:], draw[:, None]], axis=1)
        path_origins = np.repeat(origins, paths)
        for h in range(1, horizon):
            step = self._quantiles(hist, covariate_windows(cov, path_origins, cfg.lookback, h))[:, 0]
            draw = inverse_cdf(levels, step, rng.random(len(step))) if levels else step[:, 0]
            if self.floor_ is not None:
                draw = np.maximum(draw, self.floor_)
            if levels:
                out[:, h] = np.quantile(draw.reshape(m, paths), levels, axis=1).T
            else:
                out[:, h, 0] = draw
            hist = np.concatenate([hist[:, 1:], draw[:, None]], axis=1)
        if levels and cfg.interval == "residual":  # the point: the MSE model's own forecasts fed back
            hist = windows
            for h in range(horizon):
                point = self._quantiles(hist, covariate_windows(cov, origins, cfg.lookback, h), point_only=True)
                out[:, h, levels.index(0.5)] = point[:, 0, 0]
                hist = np.concatenate([hist[:, 1:], point[:, 0]], axis=1)
        return out

    def one_step(self, values: np.ndarray, start: int, stop: int | None = None,
                 covariates: np.ndarray | None = None) -> Forecast:
        """Rolling one-step forecasts of ``values[t]`` for ``t`` in ``[start, stop)``, each from the
        true history ``values[:t]``; ``Forecast.values`` has shape ``(stop - start, levels)``."""
        stop = len(values) if stop is None else stop
        fc = self.forecast_from(values, range(start, stop), 1, covariates)
        return Forecast(fc.values[:, 0], fc.levels)

    def predict(self, horizon: int | None = None, history: np.ndarray | None = None,
                covariates: np.ndarray | None = None, future_covariates: np.ndarray | None = None) -> Forecast:
        """The next ``horizon`` values after ``history`` (default: the end of the training series);
        ``Forecast.values`` has shape ``(horizon, levels)``."""
        self._require_fit()
        if history is None:
            history, covariates = self.history_, self.cov_history_ if covariates is None else covariates
        values, cov = as_series(history, covariates, self.n_covariates_)
        if len(values) < self.config.lookback:
            raise AppError(f"predict needs at least lookback={self.config.lookback} past values, got {len(values)}")
        if future_covariates is not None and cov is not None:
            cov = np.concatenate([cov, np.asarray(future_covariates, dtype=np.float64).reshape(-1, cov.shape[1])])
        fc = self.forecast_from(values, [len(values)], horizon, cov)
        return Forecast(fc.values[0], fc.levels)

    def evaluate(self, values: np.ndarray, test_start: int, covariates: np.ndarray | None = None,
                 season: int = 1) -> dict[str, Any]:
        """Metrics on ``values[test_start:]``: rolling one-step forecasts and a rolling-origin
        ``horizon``-step backtest, scaled (MASE) by ``values[:test_start]``."""
        from lstmkit.apps.forecast.evaluation import evaluate_model

        return evaluate_model(self, np.asarray(values, dtype=np.float64), test_start, covariates, season)[0]

    # ------------------------------------------------------------------ persistence
    def save(self, out_dir: str | Path, extra_state: dict[str, Any] | None = None) -> Path:
        """Write a checkpoint folder (model, scaler, config, training history tail) atomically."""
        from lstmkit.checkpoint import save_checkpoint

        self._require_fit()
        config = asdict(self.config)
        config["quantiles"] = None if self.config.quantiles is None else list(self.config.quantiles)
        state = {"config": config, "scaler": self.scaler_.to_state(), "n_covariates": self.n_covariates_,
                 "training": self.training_, "extra": {**self.extra_state, **(extra_state or {})}}
        state["floor"] = self.floor_
        arrays = {"history": self.history_}
        if self.shifts_ is not None:
            arrays["shifts"] = self.shifts_
        if self.cov_history_ is not None:
            arrays["cov_history"] = self.cov_history_
        return save_checkpoint(out_dir, APP, state, keras_model=self.model_, arrays=arrays)

    @classmethod
    def load(cls, path: str | Path) -> Forecaster:
        """Rebuild a forecaster saved by ``save`` (raises AppError for other apps' checkpoints)."""
        from lstmkit.checkpoint import load_checkpoint
        from lstmkit.keras.layers import LSTM, Dense  # noqa: F401  (the layer registry fills lazily, on import)

        state, model, arrays = load_checkpoint(path, APP)
        try:
            forecaster = cls(**state["config"])
            forecaster.scaler_ = Scaler.from_state(state["scaler"])
            forecaster.n_covariates_ = int(state["n_covariates"])
            forecaster.history_ = np.asarray(arrays["history"], dtype=np.float64)
        except (KeyError, TypeError) as exc:
            raise AppError(f"{path} is not a complete forecast checkpoint (missing {exc})") from None
        forecaster.cov_history_ = arrays.get("cov_history")
        forecaster.shifts_ = arrays.get("shifts")
        forecaster.floor_ = state.get("floor")
        forecaster.training_ = state.get("training", {})
        forecaster.extra_state = state.get("extra", {})
        forecaster.model_ = model
        return forecaster

