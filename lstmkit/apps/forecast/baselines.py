"""The forecasts an LSTM has to beat, on exactly the same split and origins.

- naive: every future value equals the last observed one (a random walk's best forecast);
- seasonal naive: the value one season earlier (11 years for sunspots' cycle, 12 months for CO2);
- ARIMA (statsmodels): fit once on the data before the test part; one-step forecasts over the
  test part then condition on the true history with the fitted parameters unchanged (Kalman
  filter, no refit, so the test values never inform the parameters), and multi-step forecasts
  start from each rolling origin the same way.

The ARIMA order is chosen by AIC over a small grid (p <= 3, q <= 2; d = 0 with a constant, or d = 1
when an ADF test cannot reject a unit root on the training part), 11 fits, about 2 s on 300 values;
a seasonal series (``seasonal_period`` > 1) gets a fixed seasonal part (0, 1, 1) with that period,
the "airline" structure that suits monthly data such as CO2, and a smaller grid (d = 1, p <= 2,
q <= 1) because each seasonal fit costs several times more.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np

from lstmkit.apps.threads import limited_threads
from lstmkit.errors import AppError


def naive_forecast(history: np.ndarray, horizon: int) -> np.ndarray:
    """``horizon`` copies of the last value of ``history``."""
    history = np.asarray(history, dtype=np.float64)
    if history.size == 0:
        raise AppError("the naive forecast needs at least one past value")
    return np.full(horizon, history[-1])


def seasonal_naive_forecast(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """Step ``h`` (1-based) repeats ``history[-season + (h - 1) % season]``: last season's value."""
    history = np.asarray(history, dtype=np.float64)
    if season < 1:
        raise ValueError(f"season must be >= 1, got {season}")
    if history.size < season:
        raise AppError(f"the seasonal naive forecast needs a full season ({season} values) of history, "
                       f"got {history.size}")
    last = history[-season:]
    return np.asarray([last[h % season] for h in range(horizon)])


def one_step(method: str, values: np.ndarray, start: int, stop: int | None = None, season: int = 1) -> np.ndarray:
    """One-step-ahead forecasts of ``values[t]`` for ``t`` in ``[start, stop)`` from the true history."""
    values = np.asarray(values, dtype=np.float64)
    stop = len(values) if stop is None else stop
    lag = {"naive": 1, "seasonal_naive": season}.get(method)
    if lag is None:
        raise ValueError(f"unknown baseline {method!r}")
    if start < lag:
        raise AppError(f"the {method} forecast needs {lag} values before the first forecast, got {start}")
    return values[start - lag:stop - lag].copy()


def multi_step(method: str, values: np.ndarray, origins: Iterable[int], horizon: int, season: int = 1) -> np.ndarray:
    """Forecasts ``(len(origins), horizon)`` of ``values[o:o + horizon]`` from ``values[:o]``."""
    values = np.asarray(values, dtype=np.float64)
    rows = []
    for o in origins:
        if method == "naive":
            rows.append(naive_forecast(values[:o], horizon))
        elif method == "seasonal_naive":
            rows.append(seasonal_naive_forecast(values[:o], horizon, season))
        else:
            raise ValueError(f"unknown baseline {method!r}")
    return np.asarray(rows).reshape(-1, horizon)


class Arima:
    """A statsmodels ARIMA fit on the training part; forecasts condition on later true values
    without refitting. ``order=None`` searches the small AIC grid described in the module doc."""

    def __init__(self, order: tuple[int, int, int] | None = None, seasonal_period: int = 0):
        self.order = order
        self.seasonal_period = seasonal_period
        self._seasonal: tuple[int, int, int] = (0, 1, 1)  # (P, D, Q) with seasonal_period > 1
        self._result: Any = None
        self._n_train = 0

    @property
    def seasonal_order(self) -> tuple[int, int, int, int]:
        return (*self._seasonal, self.seasonal_period) if self.seasonal_period > 1 else (0, 0, 0, 0)

    def describe(self) -> str:
        text = f"ARIMA{self.order}"
        return text + (f"x{self.seasonal_order}" if self.seasonal_period > 1 else "")

    @property
    def aic(self) -> float:
        return float(self._result.aic) if self._result is not None else float("nan")

    def fit(self, train: np.ndarray) -> Arima:
        """Fit on ``train`` (the values before the test part), searching the order if none was given."""
        with limited_threads(1):
            return self._fit_all(np.asarray(train, dtype=np.float64))

    def _fit_all(self, train: np.ndarray) -> Arima:
        if train.size < 10:
            raise AppError(f"ARIMA needs at least 10 training values, got {train.size}")
        if self.order is None:
            if self.seasonal_period > 1:
                candidates = [(p, 1, q) for p in range(3) for q in range(2) if p + q > 0]
            else:
                d = _differences(train)
                candidates = [(p, d, q) for p in range(4) for q in range(3) if p + q > 0]
            fits = [(res.aic, order, res) for order in candidates if (res := self._fit(train, order)) is not None]
            if not fits:
                raise AppError("no ARIMA order could be fit to the training part")
            _, self.order, self._result = min(fits, key=lambda item: item[0])
        else:
            self._result = self._fit(train, self.order)
            if self._result is None:
                raise AppError(f"ARIMA{self.order} could not be fit to the training part")
        self._n_train = train.size
        return self

    def _fit(self, train: np.ndarray, order: tuple[int, int, int]) -> Any:
        from statsmodels.tsa.arima.model import ARIMA

        seasonal = self.seasonal_order
        trend = "c" if order[1] == 0 and seasonal[1] == 0 else "n"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter on bad grid points; AIC judges them
            try:
                result = ARIMA(train, order=order, seasonal_order=seasonal, trend=trend).fit()
            except (ValueError, np.linalg.LinAlgError):
                return None
        return result if np.isfinite(result.aic) else None

    def one_step(self, values: np.ndarray, start: int, stop: int | None = None) -> np.ndarray:
        """One-step forecasts of ``values[t]``, ``t`` in ``[start, stop)``, each from ``values[:t]``.

        ``values[:n_train]`` must be the training part; later values are filtered, never fit.
        """
        values = np.asarray(values, dtype=np.float64)
        stop = len(values) if stop is None else stop
        if start < self._n_train:
            raise ValueError(f"one-step forecasts start after the training part ({self._n_train}), got {start}")
        with warnings.catch_warnings(), limited_threads(1):
            warnings.simplefilter("ignore")
            extended = self._result.append(values[self._n_train:stop], refit=False)
            return np.asarray(extended.predict(start=start, end=stop - 1), dtype=np.float64)

    def multi_step(self, values: np.ndarray, origins: Iterable[int], horizon: int) -> np.ndarray:
        """Forecasts ``(len(origins), horizon)`` from each origin, conditioning on ``values[:o]``."""
        values = np.asarray(values, dtype=np.float64)
        rows = []
        with warnings.catch_warnings(), limited_threads(1):
            warnings.simplefilter("ignore")
            for o in origins:
                result = self._result if o == self._n_train else self._result.apply(values[:o], refit=False)
                rows.append(np.asarray(result.forecast(horizon), dtype=np.float64))
        return np.asarray(rows).reshape(-1, horizon)


def _differences(train: np.ndarray) -> int:
    """0 when an augmented Dickey-Fuller test rejects a unit root at 5 %, else 1."""
    from statsmodels.tsa.stattools import adfuller

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # statsmodels 0.15 warns about its future return type
            pvalue = adfuller(train, autolag="AIC")[1]
    except (ValueError, np.linalg.LinAlgError):
        return 1
    return 0 if pvalue < 0.05 else 1
