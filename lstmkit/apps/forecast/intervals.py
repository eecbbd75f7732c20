"""Prediction intervals from quantile heads trained with the pinball loss.

Why quantile heads rather than MC dropout: dropout sampling only spreads the forecast by the
model's own uncertainty, not by the noise of the series, and its intervals are usually far too
narrow; a head per quantile level trained with the pinball (quantile) loss learns the spread of
the data directly and needs one forward pass. The median head (level 0.5) is the point forecast,
which is also the forecast that minimises MAE. Multi-step intervals of a recursive model come
from sample paths: each step draws from the one-step quantiles (a piecewise-linear inverse CDF)
and feeds the draw back. Heads trained on a few hundred windows come out too narrow (they fit the
training noise), so the non-median levels are shifted by what the validation part says
(``calibration_shifts``); coverage on the test part then tells whether the intervals are honest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from lstmkit.errors import AppError
from lstmkit.keras.engine.registry import register
from lstmkit.keras.losses.base import Loss

DEFAULT_QUANTILES = (0.1, 0.5, 0.9)


def check_quantiles(quantiles: Sequence[float] | None) -> tuple[float, ...] | None:
    """Sorted, de-duplicated levels in (0, 1) that include the median (added when missing)."""
    if quantiles is None:
        return None
    levels = sorted({float(q) for q in quantiles} | {0.5})
    bad = [q for q in levels if not 0 < q < 1]
    if bad:
        raise AppError(f"quantile levels must lie strictly between 0 and 1, got {bad[0]}")
    return tuple(levels)


@register("loss")
class PinballLoss(Loss):
    """Mean pinball loss over quantile heads: ``max(q e, (q - 1) e)`` with ``e = y - y_q``.

    ``y_pred`` is flat ``(batch, horizon * len(quantiles))``, quantiles varying fastest; ``y_true``
    is ``(batch, horizon)``. Registered so a saved model reloads with its compile arguments.
    """

    def __init__(self, quantiles: Sequence[float] = DEFAULT_QUANTILES, name: str = "pinball", **kwargs: Any):
        super().__init__(name=name, **kwargs)
        self.quantiles = tuple(float(q) for q in quantiles)

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        k = len(self.quantiles)
        pred = y_pred.reshape(y_pred.shape[0], -1, k)
        err = y_true.reshape(y_true.shape[0], -1, 1) - pred
        q = torch.tensor(self.quantiles, dtype=pred.dtype, device=pred.device)
        return torch.maximum(q * err, (q - 1) * err).mean(dim=(1, 2))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "quantiles": list(self.quantiles)}


def sort_quantiles(values: np.ndarray) -> np.ndarray:
    """Independent heads can cross (q10 above q50); sorting the last axis restores monotone
    quantiles without changing the set of predicted values."""
    return np.sort(values, axis=-1)


def inverse_cdf(levels: Sequence[float], values: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Evaluate the piecewise-linear quantile function through ``(levels[i], values[..., i])`` at
    probabilities ``u`` (same leading shape as ``values``), extrapolating the outer segments'
    slopes towards 0 and 1. With a single level the quantile function is that value."""
    lv = np.asarray(levels, dtype=np.float64)
    vals = np.asarray(values, dtype=np.float64)
    if lv.size == 1:
        return vals[..., 0].copy()
    knots_u = np.concatenate([[0.0], lv, [1.0]])
    lo = vals[..., 0] - lv[0] * (vals[..., 1] - vals[..., 0]) / (lv[1] - lv[0])
    hi = vals[..., -1] + (1 - lv[-1]) * (vals[..., -1] - vals[..., -2]) / (lv[-1] - lv[-2])
    knots_v = np.concatenate([lo[..., None], vals, hi[..., None]], axis=-1)
    seg = np.clip(np.searchsorted(knots_u, u, side="right") - 1, 0, len(knots_u) - 2)
    u0, u1 = knots_u[seg], knots_u[seg + 1]
    v0 = np.take_along_axis(knots_v, seg[..., None], axis=-1)[..., 0]
    v1 = np.take_along_axis(knots_v, (seg + 1)[..., None], axis=-1)[..., 0]
    return v0 + (u - u0) / (u1 - u0) * (v1 - v0)


def calibration_shifts(levels: Sequence[float], predicted: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """Per-step, per-level shifts that make the validation part's quantiles empirically right.

    For level ``tau`` the shift is the ``tau``-quantile of ``actual - predicted_tau`` over the
    validation windows, so that a ``tau`` share of them falls below the shifted quantile (the idea
    of conformalised quantile regression, Romano et al. 2019). The median is left alone: the point
    forecast stays the network's own. ``predicted`` is ``(m, steps, levels)``, ``actual`` ``(m, steps)``;
    returns ``(steps, levels)``.
    """
    predicted = np.asarray(predicted, dtype=np.float64)
    residual = np.asarray(actual, dtype=np.float64)[..., None] - predicted
    shifts = np.zeros(predicted.shape[1:])
    for j, tau in enumerate(levels):
        if tau != 0.5:
            shifts[:, j] = np.nanquantile(residual[..., j], tau, axis=0)
    return shifts


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of actual values inside ``[lower, upper]`` (NaN actuals are left out)."""
    a, lo, hi = (np.asarray(v, dtype=np.float64).ravel() for v in (actual, lower, upper))
    keep = ~np.isnan(a)
    if not keep.any():
        return float("nan")
    return float(np.mean((a[keep] >= lo[keep]) & (a[keep] <= hi[keep])))


def interval_report(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray, nominal: float) -> dict[str, float]:
    """Empirical coverage and mean width of a central interval with ``nominal`` coverage."""
    width = np.asarray(upper, dtype=np.float64) - np.asarray(lower, dtype=np.float64)
    keep = ~np.isnan(np.asarray(actual, dtype=np.float64))
    return {"nominal": round(nominal, 6), "coverage": coverage(actual, lower, upper),
            "mean_width": float(np.mean(width[keep])) if keep.any() else float("nan")}
