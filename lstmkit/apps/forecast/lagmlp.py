"""The lag-MLP baseline: scikit-learn's ``MLPRegressor`` on the last ``lags`` values, tuned on the
validation part, refit on train + validation, forecasting recursively.

Why this baseline: on short yearly series such as the sunspots a small feed-forward network on
lags is much better than ARIMA, so an LSTM that only beats ARIMA has not shown that its recurrence
is worth anything. The protocol mirrors the LSTM's own, like for like:

- the same window scaling and variance-stabilising transform as the LSTM's preset (``Scaler``);
- every grid point (lags x hidden units x L2 ``alpha``) is the average of ``seeds`` networks
  (the LSTM averages as many members), scored by one-step MAE on the validation part, with
  training targets only from before the validation part;
- the chosen setting is refit on all values before the test part; forecasts of later values use
  the true history (one-step) or feed the forecasts back (multi-step, recursive).

L-BFGS (full batch) is the right solver at a few hundred samples: no learning-rate or epoch
choice left to tune, and it is deterministic for a given ``random_state``.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from lstmkit.apps.forecast.windows import Scaler, create_sequences
from lstmkit.apps.threads import limited_threads
from lstmkit.errors import AppError

LAGS: tuple[int, ...] = (6, 9, 12, 15, 20)
HIDDEN: tuple[int, ...] = (4, 8, 16)
ALPHAS: tuple[float, ...] = (0.01, 0.1, 1.0)
MAX_ITER = 1000


class LagMLP:
    """A seed-averaged ``MLPRegressor`` on lagged values, its settings chosen on validation.

    Args:
        seeds: networks averaged per setting (``random_state`` 0 .. seeds - 1, offset by ``seed``).
        lags, hidden, alphas: the validation grid (one value each fixes it).
        scaling, transform, period: the ``Scaler`` (as for the LSTM of the same data set).
        seed: offset of the networks' random states (same seed, same forecasts).
    """

    def __init__(self, seeds: int = 5, lags: Sequence[int] = LAGS, hidden: Sequence[int] = HIDDEN,
                 alphas: Sequence[float] = ALPHAS, scaling: str = "global", transform: str = "none", period: int = 1,
                 seed: int = 0):
        if int(seeds) < 1 or not lags or not hidden or not alphas:
            raise ValueError("LagMLP needs seeds >= 1 and non-empty lags, hidden and alphas grids")
        self.seeds, self.seed = int(seeds), int(seed)
        lags = sorted({int(v) for v in lags})
        if scaling == "seasonal":  # the seasonal scaler needs a season of context in every window
            season, default = int(period), lags == sorted(LAGS)
            lags = sorted({v for v in lags if v >= season} | ({season, 2 * season} if default else set()))
            if not lags:
                raise ValueError(f"seasonal scaling needs lags of at least one season ({period}), got none")
        self.grid = list(itertools.product(lags, [int(v) for v in hidden],
                                           [float(v) for v in alphas]))
        self.scaling, self.transform, self.period = scaling, transform, int(period)
        self.lags = self.hidden = 0
        self.alpha = 0.0
        self.validation_scores: dict[str, float] = {}
        self._nets: list[Any] = []
        self._scaler: Scaler | None = None

    def describe(self) -> str:
        return f"MLP(lags {self.lags}, hidden {self.hidden}, alpha {self.alpha:g}, {self.seeds} seeds)"

    def fit(self, train: np.ndarray, validation: int) -> LagMLP:
        """Tune on the last ``validation`` values of ``train`` (the values before the test part),
        then refit the best setting on all of ``train``."""
        train = np.asarray(train, dtype=np.float64)
        validation = int(validation)
        n_fit = train.size - validation
        if validation < 1 or n_fit < max(self.grid)[0] + 10:
            raise AppError(f"the lag MLP needs a validation part (got {validation}) and at least "
                           f"{max(self.grid)[0] + 10} values before it (got {n_fit})")
        with limited_threads(1), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # lbfgs's iteration-limit notices: validation judges the fits
            for lags, hidden, alpha in self.grid:
                self._fit_setting(train[:n_fit], lags, hidden, alpha)
                pred = self._predict_windows(train[:n_fit + validation], range(n_fit, train.size))
                self.validation_scores[f"{lags}/{hidden}/{alpha:g}"] = float(np.mean(np.abs(pred - train[n_fit:])))
            best = min(self.grid, key=lambda g: self.validation_scores[f"{g[0]}/{g[1]}/{g[2]:g}"])
            self._fit_setting(train, *best)
        return self

    def _fit_setting(self, train: np.ndarray, lags: int, hidden: int, alpha: float) -> None:
        from sklearn.neural_network import MLPRegressor

        self.lags, self.hidden, self.alpha = lags, hidden, alpha
        self._scaler = Scaler(self.scaling, self.transform, self.period).fit(train)
        self._scaler.check_lookback(lags)
        x, y, _ = create_sequences(train, lags, 1)
        ref = self._scaler.reference(x)
        inputs = self._scaler.inputs(x)[..., 0].astype(np.float64)  # (n, lags)
        targets = self._scaler.targets(y, ref)[:, 0].astype(np.float64)  # (n,)
        self._nets = [MLPRegressor(hidden_layer_sizes=(hidden,), alpha=alpha, solver="lbfgs", max_iter=MAX_ITER,
                                   random_state=self.seed + k).fit(inputs, targets) for k in range(self.seeds)]

    def _predict_raw(self, windows: np.ndarray) -> np.ndarray:
        """Forecasts (raw units) of the value after each raw window ``(m, lags)``."""
        z = self._scaler.inputs(windows)[..., 0].astype(np.float64)
        out = np.mean([net.predict(z) for net in self._nets], axis=0)
        return self._scaler.restore(out, self._scaler.reference(windows))

    def _predict_windows(self, values: np.ndarray, targets: Iterable[int]) -> np.ndarray:
        x, _, _ = create_sequences(values, self.lags, 1, range(0) if not targets else targets)
        return self._predict_raw(x)

    def _require_fit(self) -> None:
        if not self._nets:
            raise AppError("the lag MLP is not fitted: call fit() first")

    def one_step(self, values: np.ndarray, start: int, stop: int | None = None) -> np.ndarray:
        """One-step forecasts of ``values[t]``, ``t`` in ``[start, stop)``, each from ``values[:t]``."""
        self._require_fit()
        values = np.asarray(values, dtype=np.float64)
        stop = len(values) if stop is None else stop
        if start < self.lags:
            raise AppError(f"the lag MLP needs {self.lags} values before its first forecast, got {start}")
        with limited_threads(1):
            return self._predict_windows(values, range(start, stop))

    def multi_step(self, values: np.ndarray, origins: Iterable[int], horizon: int) -> np.ndarray:
        """Recursive forecasts ``(len(origins), horizon)`` of ``values[o:o + horizon]`` from ``values[:o]``."""
        self._require_fit()
        values = np.asarray(values, dtype=np.float64)
        origins = list(origins)
        if not origins:
            return np.zeros((0, horizon))
        hist = np.stack([values[o - self.lags:o] for o in origins])  # (m, lags)
        out = np.empty((len(origins), horizon))
        with limited_threads(1):
            for h in range(horizon):
                out[:, h] = self._predict_raw(hist)
                hist = np.concatenate([hist[:, 1:], out[:, h:h + 1]], axis=1)
        return out
