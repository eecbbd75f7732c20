"""SARIMA baseline: a seasonal ARIMA whose seasonal and non-seasonal orders are both searched by
AIC on the data before the test part.

Why a second ARIMA: the plain ``Arima`` baseline either has no seasonal part (sunspots) or a fixed
airline part (0, 1, 1) (calendar data such as CO2). A seasonal model whose seasonal order is
chosen by the data is the classical model to beat on monthly series, and on the sunspots (period
11, the solar cycle) it is the strongest linear model with a cycle term, so the LSTM's multi-step
target is "below ARIMA and SARIMA".

The search is stepwise, in the spirit of ``auto.arima`` but kept small because a seasonal fit costs
0.1-1 s here: start from the plain ARIMA's AIC-chosen order, try each seasonal part in
``SEASONAL_GRID``, then move p and q one step at a time (p <= 4, q <= 3) under the best seasonal
part while the AIC improves (at most ``max_steps`` moves); about 10-15 fits. Like ``Arima`` it is
fit once on the training part; forecasts filter later true values with the parameters frozen.
(AIC values of models with different seasonal differencing D are compared as statsmodels reports
them, with its diffuse initialisation; that is the usual practical shortcut.)
"""

from __future__ import annotations

import numpy as np

from lstmkit.apps.forecast.baselines import Arima
from lstmkit.apps.threads import limited_threads
from lstmkit.errors import AppError

SEASONAL_GRID: tuple[tuple[int, int, int], ...] = ((1, 0, 0), (0, 0, 1), (1, 0, 1), (0, 1, 1), (1, 1, 1))
MAX_P, MAX_Q = 4, 3


class Sarima(Arima):
    """ARIMA(p, d, q) x (P, D, Q, period), both orders searched by AIC (or given).

    Args:
        period: the season length (> 1).
        order, seasonal: fix the non-seasonal (p, d, q) and/or seasonal (P, D, Q) order; None searches.
        start: the non-seasonal order the search starts from (default: the plain ARIMA search's pick).
        max_steps: stepwise moves of p/q after the seasonal part is chosen.
    """

    def __init__(self, period: int, order: tuple[int, int, int] | None = None,
                 seasonal: tuple[int, int, int] | None = None, start: tuple[int, int, int] | None = None,
                 max_steps: int = 3):
        if int(period) < 2:
            raise ValueError(f"a seasonal ARIMA needs a season of at least 2 values, got {period}")
        super().__init__(order, seasonal_period=int(period))
        self.fixed_seasonal = seasonal
        self.start = start
        self.max_steps = max_steps
        self.fits = 0

    def describe(self) -> str:
        return f"SARIMA{self.order}x{self.seasonal_order}"

    def fit(self, train: np.ndarray) -> Sarima:
        train = np.asarray(train, dtype=np.float64)
        if train.size < 2 * self.seasonal_period + 10:
            raise AppError(f"SARIMA with period {self.seasonal_period} needs at least "
                           f"{2 * self.seasonal_period + 10} training values, got {train.size}")
        with limited_threads(1):
            self._search(train)
        self._n_train = train.size
        return self

    def _try(self, train: np.ndarray, order: tuple[int, int, int], seasonal: tuple[int, int, int]) -> tuple:
        self._seasonal = seasonal
        self.fits += 1
        result = self._fit(train, order)
        return (result.aic if result is not None else np.inf, order, seasonal, result)

    def _search(self, train: np.ndarray) -> None:
        order = self.order or self.start
        if order is None:
            order = Arima(seasonal_period=0).fit(train).order
        seasonals = [self.fixed_seasonal] if self.fixed_seasonal else list(SEASONAL_GRID)
        best = min((self._try(train, order, s) for s in seasonals), key=lambda item: item[0])
        if self.order is None:
            seen = {best[1]}
            for _ in range(self.max_steps):
                p, d, q = best[1]
                moves = [(p + dp, d, q + dq) for dp, dq in ((1, 0), (-1, 0), (0, 1), (0, -1))]
                moves = [m for m in moves if 0 <= m[0] <= MAX_P and 0 <= m[2] <= MAX_Q and m[0] + m[2] > 0
                         and m not in seen]
                seen.update(moves)
                tried = [self._try(train, m, best[2]) for m in moves]
                better = min(tried, key=lambda item: item[0], default=best)
                if better[0] >= best[0]:
                    break
                best = better
        if not np.isfinite(best[0]):
            raise AppError(f"no SARIMA order with period {self.seasonal_period} could be fit to the training part")
        _, self.order, self._seasonal, self._result = best
