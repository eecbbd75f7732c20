"""Point-forecast error measures, each a plain function of ``(actual, forecast)`` arrays.

Scale-dependent (MAE, RMSE) and scale-free (MAPE, sMAPE, MASE) measures are reported side by
side because each has a blind spot: MAPE explodes near zero (sunspot minima are near zero, so zero
actuals are skipped and counted), sMAPE is bounded but asymmetric, and MASE divides by the in-sample
seasonal-naive MAE so that "below 1" means "better than the seasonal naive forecast on the
training data" (Hyndman & Koehler, 2006).
"""

from __future__ import annotations

import math

import numpy as np

ZERO = 1e-12  # actual values with |y| below this are "zero" for MAPE


def _pair(actual: np.ndarray, forecast: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(actual, dtype=np.float64).ravel()
    f = np.asarray(forecast, dtype=np.float64).ravel()
    if a.shape != f.shape:
        raise ValueError(f"actual and forecast differ in length: {a.size} vs {f.size}")
    if a.size == 0:
        raise ValueError("no values to score: actual and forecast are empty")
    return a, f


def mae(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Mean absolute error, in the series' units."""
    a, f = _pair(actual, forecast)
    return float(np.mean(np.abs(a - f)))


def rmse(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Root mean squared error, in the series' units (weighs large misses more than MAE)."""
    a, f = _pair(actual, forecast)
    return float(math.sqrt(np.mean((a - f) ** 2)))


def mape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Mean absolute percentage error (%) over the actuals that are not zero.

    A zero actual has no percentage error, so it is left out; NaN when every actual is zero.
    """
    a, f = _pair(actual, forecast)
    keep = np.abs(a) > ZERO
    if not keep.any():
        return float("nan")
    return float(100.0 * np.mean(np.abs((a[keep] - f[keep]) / a[keep])))


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric MAPE (%) in [0, 200]: ``200 |f - a| / (|a| + |f|)``, a pair of zeros scoring 0."""
    a, f = _pair(actual, forecast)
    denom = np.abs(a) + np.abs(f)
    terms = np.divide(200.0 * np.abs(f - a), denom, out=np.zeros_like(denom), where=denom > 0)
    return float(np.mean(terms))


def seasonal_naive_scale(insample: np.ndarray, season: int = 1) -> float:
    """In-sample MAE of the seasonal naive forecast ``y[t] = y[t - season]``: MASE's denominator."""
    y = np.asarray(insample, dtype=np.float64).ravel()
    if season < 1:
        raise ValueError(f"season must be >= 1, got {season}")
    if y.size <= season:
        raise ValueError(f"MASE needs more than season={season} in-sample values, got {y.size}")
    return float(np.mean(np.abs(y[season:] - y[:-season])))


def mase(actual: np.ndarray, forecast: np.ndarray, insample: np.ndarray, season: int = 1) -> float:
    """Mean absolute scaled error: MAE divided by the in-sample seasonal naive MAE.

    NaN when that scale is 0 (a constant training series, where any error is infinitely worse).
    """
    scale = seasonal_naive_scale(insample, season)
    return mae(actual, forecast) / scale if scale > 0 else float("nan")


def count_zero_actuals(actual: np.ndarray) -> int:
    """How many actuals MAPE skipped (reported beside it so a low MAPE is not misread)."""
    return int(np.sum(np.abs(np.asarray(actual, dtype=np.float64)) <= ZERO))


def score(actual: np.ndarray, forecast: np.ndarray, insample: np.ndarray, season: int = 1) -> dict[str, float]:
    """All five measures as a dict: mae, rmse, mape, smape, mase."""
    return {"mae": mae(actual, forecast), "rmse": rmse(actual, forecast), "mape": mape(actual, forecast),
            "smape": smape(actual, forecast), "mase": mase(actual, forecast, insample, season)}
