"""Error measures against hand-computed values; baselines on toy series; ARIMA; interval helpers."""

import math

import numpy as np
import pytest

from lstmkit.apps.forecast import baselines, metrics
from lstmkit.apps.forecast.intervals import (
    PinballLoss,
    calibration_shifts,
    check_quantiles,
    coverage,
    interval_report,
    inverse_cdf,
    sort_quantiles,
)
from lstmkit.errors import AppError

ACTUAL = np.array([2.0, 4.0, 0.0, 5.0])
FORECAST = np.array([3.0, 2.0, 1.0, 5.0])  # errors 1, -2, 1, 0


def test_mae_rmse() -> None:
    assert metrics.mae(ACTUAL, FORECAST) == pytest.approx(4 / 4)
    assert metrics.rmse(ACTUAL, FORECAST) == pytest.approx(math.sqrt(6 / 4))


def test_mape_skips_zero_actuals() -> None:
    # |1/2| = 50 %, |2/4| = 50 %, (zero actual skipped), 0/5 = 0 %  -> 100/3 %
    assert metrics.mape(ACTUAL, FORECAST) == pytest.approx(100 / 3)
    assert metrics.count_zero_actuals(ACTUAL) == 1
    assert math.isnan(metrics.mape([0.0, 0.0], [1.0, 2.0]))


def test_smape() -> None:
    # 200*1/5, 200*2/6, 200*1/1, 0 -> (40 + 66.67 + 200 + 0) / 4
    assert metrics.smape(ACTUAL, FORECAST) == pytest.approx((40 + 400 / 6 + 200 + 0) / 4)
    assert metrics.smape([0.0], [0.0]) == 0.0


def test_mase_scales_by_in_sample_seasonal_naive_mae() -> None:
    insample = np.array([1.0, 3.0, 2.0, 6.0])
    # season 1: |3-1|, |2-3|, |6-2| -> 7/3 ; season 2: |2-1|, |6-3| -> 2
    assert metrics.seasonal_naive_scale(insample, 1) == pytest.approx(7 / 3)
    assert metrics.mase(ACTUAL, FORECAST, insample, 1) == pytest.approx(1 / (7 / 3))
    assert metrics.mase(ACTUAL, FORECAST, insample, 2) == pytest.approx(1 / 2)
    assert math.isnan(metrics.mase(ACTUAL, FORECAST, np.ones(5), 1))


def test_score_and_input_checks() -> None:
    assert set(metrics.score(ACTUAL, FORECAST, ACTUAL)) == {"mae", "rmse", "mape", "smape", "mase"}
    with pytest.raises(ValueError, match="differ in length"):
        metrics.mae([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="empty"):
        metrics.mae([], [])


def test_naive_of_a_constant_series_is_exact() -> None:
    values = np.full(30, 7.5)
    assert metrics.mae(values[20:], baselines.one_step("naive", values, 20)) == 0
    np.testing.assert_array_equal(baselines.naive_forecast(values, 4), [7.5] * 4)
    assert np.all(baselines.multi_step("naive", values, range(20, 27), 4) == 7.5)


def test_seasonal_naive_of_a_periodic_series_is_exact() -> None:
    values = np.tile([1.0, 5.0, 2.0, 8.0, 3.0], 8)
    assert metrics.mae(values[25:], baselines.one_step("seasonal_naive", values, 25, season=5)) == 0
    forecasts = baselines.multi_step("seasonal_naive", values, range(20, 29), 7, season=5)
    truth = np.stack([values[o:o + 7] for o in range(20, 29)])
    np.testing.assert_array_equal(forecasts, truth)
    with pytest.raises(AppError, match="full season"):
        baselines.seasonal_naive_forecast(values[:3], 2, 5)


def test_arima_fits_on_training_part_and_forecasts_the_same_split() -> None:
    rng = np.random.default_rng(0)
    values = np.zeros(120)
    for t in range(2, 120):  # an AR(2) process
        values[t] = 0.6 * values[t - 1] - 0.3 * values[t - 2] + rng.normal()
    model = baselines.Arima(order=(2, 0, 0)).fit(values[:100])
    one = model.one_step(values, 100)
    multi = model.multi_step(values, range(100, 116), 5)
    assert one.shape == (20,) and multi.shape == (16, 5) and np.all(np.isfinite(multi))
    assert metrics.mae(values[100:], one) < metrics.mae(values[100:], baselines.one_step("naive", values, 100))
    assert model.describe() == "ARIMA(2, 0, 0)"  # the order search runs in the CLI test (test_forecast_cli.py)


def test_quantile_helpers() -> None:
    assert check_quantiles([0.9, 0.1]) == (0.1, 0.5, 0.9)
    assert check_quantiles(None) is None
    with pytest.raises(AppError, match="strictly between 0 and 1"):
        check_quantiles([0.0, 0.5])
    np.testing.assert_array_equal(sort_quantiles(np.array([[3.0, 1.0, 2.0]])), [[1.0, 2.0, 3.0]])
    levels, q = (0.1, 0.5, 0.9), np.array([[0.0, 1.0, 2.0]])
    np.testing.assert_allclose(inverse_cdf(levels, np.repeat(q, 5, 0), np.array([0.1, 0.3, 0.5, 0.9, 1.0])),
                               [0.0, 0.5, 1.0, 2.0, 2.25])


def test_coverage_and_calibration() -> None:
    assert coverage([1, 2, 3, 4], [0, 0, 0, 5], [2, 2, 2, 6]) == 0.5
    report = interval_report(np.array([1.0, 3.0]), np.array([0.0, 0.0]), np.array([2.0, 2.0]), 0.8)
    assert report == {"nominal": 0.8, "coverage": 0.5, "mean_width": 2.0}
    actual = np.arange(100.0)[:, None]
    predicted = np.repeat(actual[..., None], 3, axis=2)  # every level says exactly the actual value
    shifts = calibration_shifts((0.1, 0.5, 0.9), predicted, actual)
    assert shifts.shape == (1, 3) and np.all(shifts == 0)


def test_pinball_loss_matches_its_definition_and_serialises() -> None:
    import torch

    loss = PinballLoss((0.1, 0.5, 0.9))
    y_true = torch.tensor([[1.0]])
    y_pred = torch.tensor([[0.0, 1.0, 3.0]])  # errors 1, 0, -2
    expected = (0.1 * 1 + 0 + (0.9 - 1) * -2) / 3
    assert float(loss(y_true, y_pred)) == pytest.approx(expected)
    assert PinballLoss.from_config(loss.get_config()).quantiles == (0.1, 0.5, 0.9)
