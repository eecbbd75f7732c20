"""From one long series to supervised (window -> next values) samples, without peeking ahead.

Slide 9's ``create_sequences(data, seq_length)`` made every ``data[i:i+L] -> data[i+L]`` pair of
the whole series and scaled with the min/max of the whole series, so the test years leaked into
both training and scaling. Here the series is split chronologically first (train, validation,
test: the most recent values are the test), the scaler is fit on the training part only, and each
set of samples takes its *targets* from its own part (inputs may look back into earlier parts:
the past is known at forecast time). Targets are ``horizon`` values for direct multi-output
models or one value for recursive ones; covariate columns ride along as extra input features.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lstmkit.errors import AppError

SCALINGS = ("global", "last", "seasonal")
TRANSFORMS = ("none", "sqrt")


def create_sequences(values: np.ndarray, lookback: int, horizon: int = 1, targets: range | None = None,
                     covariates: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Windows of a series: for each target start ``t`` in ``targets`` (default: every ``t`` with a full
    window and ``horizon`` values after it), inputs ``values[t - lookback:t]`` and targets
    ``values[t:t + horizon]``.

    Returns ``(x, y, c)``: ``x`` of shape ``(n, lookback)``, ``y`` of shape ``(n, horizon)`` (NaN where
    ``t + k`` runs past the end) and ``c`` the covariate windows ``(n, lookback, k)`` or None.
    """
    values = np.asarray(values, dtype=np.float64)
    if lookback < 1 or horizon < 1:
        raise ValueError(f"lookback and horizon must be >= 1, got {lookback} and {horizon}")
    if targets is None:
        targets = range(lookback, len(values) - horizon + 1)
    starts = np.asarray(list(targets), dtype=np.int64)
    if starts.size and (starts.min() < lookback or starts.max() > len(values)):
        raise ValueError(f"target starts must lie in [{lookback}, {len(values)}], got {starts.min()}..{starts.max()}")
    if starts.size == 0:
        empty_c = None if covariates is None else np.zeros((0, lookback, np.asarray(covariates).shape[1]))
        return np.zeros((0, lookback)), np.zeros((0, horizon)), empty_c
    x = np.lib.stride_tricks.sliding_window_view(values, lookback)[starts - lookback]
    padded = np.concatenate([values, np.full(horizon, np.nan)])
    y = np.lib.stride_tricks.sliding_window_view(padded, horizon)[starts]
    c = None
    if covariates is not None:
        cov = np.asarray(covariates, dtype=np.float64)
        c = np.stack([cov[t - lookback:t] for t in starts])
    return x.copy(), y.copy(), c


@dataclass(frozen=True)
class Split:
    """Chronological split of ``n`` values: train ``[0, val_start)``, validation ``[val_start,
    test_start)``, test ``[test_start, n)``. Validation may be empty (no early stopping)."""

    n: int
    val_start: int
    test_start: int

    @property
    def train(self) -> slice:
        return slice(0, self.val_start)

    @property
    def validation(self) -> slice:
        return slice(self.val_start, self.test_start)

    @property
    def test(self) -> slice:
        return slice(self.test_start, self.n)

    def to_state(self) -> dict[str, int]:
        return {"n": self.n, "val_start": self.val_start, "test_start": self.test_start}


def chronological_split(n: int, test: int, validation: int, lookback: int, horizon: int = 1) -> Split:
    """The last ``test`` values for testing, the ``validation`` before them for early stopping, the
    rest for training; raises AppError when the training part cannot hold one full window."""
    if test < 1:
        raise AppError(f"the test part must hold at least 1 value, got {test}")
    if validation < 0:
        raise AppError(f"the validation part cannot be negative, got {validation}")
    need = lookback + horizon + validation + test
    if n < need:
        raise AppError(f"the series has {n} values, too short: one training window (lookback {lookback} + {horizon} "
                       f"target value{'s' if horizon > 1 else ''}) + validation {validation} + test {test} needs at "
                       f"least {need}; use a shorter --lookback/--horizon/--test/--validation or a longer series")
    return Split(n=n, val_start=n - test - validation, test_start=n - test)


def rolling_origins(start: int, stop: int, horizon: int, step: int = 1) -> range:
    """Forecast origins for a rolling-origin backtest over ``[start, stop)``: origin ``o`` forecasts
    ``o .. o + horizon - 1`` from the true history before ``o``, so every forecast lies inside."""
    if horizon < 1 or step < 1:
        raise ValueError(f"horizon and step must be >= 1, got {horizon} and {step}")
    return range(start, stop - horizon + 1, step)


class Scaler:
    """Affine scaling fit on the training part only, after an optional variance-stabilising transform.

    ``global``: ``z = (x - mean) / std`` with the training mean and std; suits stationary series
    (sunspots). ``last``: every window is shifted by its own last value and divided by the training
    std of one-step changes, so the model sees shapes, not levels; suits trending series (CO2)
    whose test values lie above anything in training. ``seasonal``: inputs as for ``last``, but the
    targets are the change from one season (``period`` values) earlier, divided by the training std
    of those changes: the network models the residual of the seasonal naive forecast, which for a
    trending seasonal series (CO2) is small and smooth. Covariates always use ``global`` scaling.

    ``transform="sqrt"`` applies the square root first (to non-negative series whose noise grows
    with the level, such as sunspot numbers: the residuals become about homoscedastic); forecasts are
    squared back. A monotone transform keeps quantiles quantiles.
    """

    def __init__(self, mode: str = "global", transform: str = "none", period: int = 1):
        if mode not in SCALINGS:
            raise AppError(f"unknown scaling {mode!r}: expected one of {', '.join(SCALINGS)}")
        if transform not in TRANSFORMS:
            raise AppError(f"unknown transform {transform!r}: expected one of {', '.join(TRANSFORMS)}")
        if mode == "seasonal" and int(period) < 1:
            raise AppError(f"seasonal scaling needs a period of at least 1, got {period}")
        self.mode = mode
        self.transform = transform
        self.period = int(period)
        self.center = 0.0
        self.scale = 1.0
        self.cov_center = np.zeros(0)
        self.cov_scale = np.ones(0)
        #: ``seasonal`` only: a second input channel holds each step's change from one season earlier
        #: (what the targets are), so the LSTM need not carry ``period`` steps in its state to compare.
        self.season_channel = mode == "seasonal"

    def forward(self, x: np.ndarray) -> np.ndarray:
        """The transform (identity or square root) of raw values."""
        x = np.asarray(x, dtype=np.float64)
        return np.sqrt(np.maximum(x, 0.0)) if self.transform == "sqrt" else x

    def backward(self, z: np.ndarray) -> np.ndarray:
        """Raw values of transformed ones (the inverse of ``forward``)."""
        z = np.asarray(z, dtype=np.float64)
        return np.square(np.maximum(z, 0.0)) if self.transform == "sqrt" else z

    def fit(self, train: np.ndarray, covariates: np.ndarray | None = None) -> Scaler:
        """Learn the statistics from the training part ``train`` (and its covariate rows)."""
        train = self.forward(train)
        if self.mode == "global":
            self.center, spread = float(train.mean()), float(train.std())
        elif self.mode == "last":
            self.center, spread = 0.0, float(np.diff(train).std()) if train.size > 2 else 0.0
        else:
            p = self.period
            self.center, spread = 0.0, float((train[p:] - train[:-p]).std()) if train.size > p + 1 else 0.0
        self.scale = spread if spread > 0 else 1.0  # a constant training part: shift only
        if covariates is not None:
            cov = np.asarray(covariates, dtype=np.float64)
            self.cov_center = cov.mean(axis=0)
            std = cov.std(axis=0)
            self.cov_scale = np.where(std > 0, std, 1.0)
        return self

    def check_lookback(self, lookback: int) -> None:
        if self.mode == "seasonal" and lookback < self.period:
            raise AppError(f"seasonal scaling needs a lookback of at least one season ({self.period}), got {lookback}")

    def reference(self, windows: np.ndarray) -> np.ndarray:
        """Per-window target offset in transformed units: the training mean (``global``), each
        window's last value (``last``) or its value one season before the target (``seasonal``)."""
        windows = np.asarray(windows, dtype=np.float64)
        if self.mode == "global":
            return np.full(windows.shape[0], self.center)
        return self.forward(windows[:, -1] if self.mode == "last" else windows[:, -self.period])

    def inputs(self, windows: np.ndarray, covariates: np.ndarray | None = None) -> np.ndarray:
        """Model inputs ``(n, lookback, 1 + k)`` float32 for raw target windows ``(n, lookback)``."""
        z = self.forward(windows)
        shift = self.center if self.mode == "global" else z[:, -1:]
        parts = [((z - shift) / self.scale)[..., None]]  # (n, lookback, 1)
        if self.season_channel:
            p = self.period
            change = np.zeros_like(z)
            change[:, p:] = (z[:, p:] - z[:, :-p]) / self.scale  # the first season of the window has none
            parts.append(change[..., None])
        if covariates is not None:
            parts.append((np.asarray(covariates, dtype=np.float64) - self.cov_center) / self.cov_scale)
        return np.concatenate(parts, axis=-1).astype(np.float32)

    @property
    def channels(self) -> int:
        """Input features per step from the series itself (covariates come on top)."""
        return 2 if self.season_channel else 1

    def targets(self, y: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """Scaled targets for raw targets ``y`` ``(n, horizon)`` of windows with offsets ``reference``."""
        return ((self.forward(y) - reference[:, None]) / self.scale).astype(np.float32)

    def restore(self, z: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """Raw units for scaled model outputs ``z`` ``(n, ...)``: the inverse of ``targets``."""
        z = np.asarray(z, dtype=np.float64)
        return self.backward(z * self.scale + reference.reshape((-1,) + (1,) * (z.ndim - 1)))

    def to_state(self) -> dict[str, Any]:
        return {"mode": self.mode, "transform": self.transform, "period": self.period, "center": self.center,
                "scale": self.scale, "cov_center": [float(v) for v in self.cov_center],
                "cov_scale": [float(v) for v in self.cov_scale], "season_channel": self.season_channel}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Scaler:
        scaler = cls(state["mode"], state.get("transform", "none"), int(state.get("period", 1)))
        scaler.center, scaler.scale = float(state["center"]), float(state["scale"])
        scaler.cov_center = np.asarray(state["cov_center"], dtype=np.float64)
        scaler.cov_scale = np.asarray(state["cov_scale"], dtype=np.float64)
        scaler.season_channel = bool(state.get("season_channel", False))  # checkpoints before it had none
        return scaler


def as_series(series: Any, covariates: Any = None, n_covariates: int | None = None
               ) -> tuple[np.ndarray, np.ndarray | None]:
    """Float64 1-D values (finite, non-empty) and covariates ``(n, k)`` matching them."""
    try:
        values = np.asarray(series, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise AppError("the series must be numbers (a 1-D array or list of floats)") from None
    if values.size == 0:
        raise AppError("the series is empty: expected at least lookback + 1 values")
    if not np.all(np.isfinite(values)):
        raise AppError(f"the series holds {int((~np.isfinite(values)).sum())} NaN/inf values: fill or drop them first")
    if covariates is None:
        if n_covariates:
            raise AppError(f"this model was trained with {n_covariates} covariate column(s): pass covariates")
        return values, None
    cov = np.asarray(covariates, dtype=np.float64)
    cov = cov.reshape(len(cov), -1)
    if len(cov) < len(values) or not np.all(np.isfinite(cov)):
        raise AppError(f"covariates need {len(values)} finite rows (one per value), got {len(cov)}")
    if n_covariates is not None and cov.shape[1] != n_covariates:
        raise AppError(f"this model was trained with {n_covariates} covariate column(s), got {cov.shape[1]}")
    return values, cov


def covariate_windows(cov: np.ndarray | None, origins: np.ndarray, lookback: int, shift: int) -> np.ndarray | None:
    """Covariate windows ``cov[o + shift - lookback:o + shift]`` for each origin."""
    if cov is None:
        return None
    return np.stack([cov[o + shift - lookback:o + shift] for o in origins]) if len(origins) else \
        np.zeros((0, lookback, cov.shape[1]))


def validation_count(validation: int | float | None, n: int) -> int:
    """How many final values an int count or a (0, 1) fraction of ``n`` means."""
    if validation is None or validation == 0:
        return 0
    if isinstance(validation, float) and not float(validation).is_integer():
        if not 0 < validation < 1:
            raise AppError(f"validation as a fraction must be in (0, 1), got {validation}")
        return max(1, int(round(validation * n)))
    count = int(validation)
    if count < 0 or count >= n:
        raise AppError(f"validation must hold between 0 and {n - 1} values, got {count}")
    return count
