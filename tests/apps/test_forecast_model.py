"""The Forecaster API: fit/predict shapes for both strategies, determinism, save/load round trip."""

from pathlib import Path

import numpy as np
import pytest

from lstmkit.apps.forecast.model import Forecaster
from lstmkit.errors import AppError

TINY = {"lookback": 6, "horizon": 3, "units": 4, "epochs": 3, "patience": 2, "paths": 20}


@pytest.fixture(scope="module")
def series() -> np.ndarray:
    t = np.arange(80)
    return 10 + 5 * np.sin(2 * np.pi * t / 11) + np.random.default_rng(0).normal(0, 0.3, 80)


@pytest.fixture(scope="module")
def recursive(series: np.ndarray) -> Forecaster:
    return Forecaster(**TINY, seed=1).fit(series[:70], validation=10)


def test_recursive_shapes(recursive: Forecaster, series: np.ndarray) -> None:
    fc = recursive.predict()
    assert fc.values.shape == (3, 3) and fc.levels == (0.1, 0.5, 0.9)
    assert np.all(fc.lower <= fc.point) and np.all(fc.point <= fc.upper)
    assert recursive.predict(horizon=7).point.shape == (7,)  # a recursive model goes past its horizon
    assert recursive.one_step(series, 70).values.shape == (10, 3)
    assert recursive.forecast_from(series, range(70, 78), 3).values.shape == (8, 3, 3)
    assert recursive.training_["train_windows"] == 70 - 10 - 6  # targets only from the training part
    assert recursive.training_["validation_windows"] == 10


def test_direct_shapes_and_limit(series: np.ndarray) -> None:
    fc = Forecaster(**TINY, strategy="direct", quantiles=None).fit(series[:70], validation=10)
    assert fc.outputs_per_window == 3
    out = fc.predict()
    assert out.values.shape == (3, 1) and out.lower is None and out.point.shape == (3,)
    assert fc.forecast_from(series, range(70, 78)).values.shape == (8, 3, 1)
    with pytest.raises(AppError, match="at most 3 steps"):
        fc.predict(horizon=4)


def test_same_seed_same_forecasts(recursive: Forecaster, series: np.ndarray) -> None:
    again = Forecaster(**TINY, seed=1).fit(series[:70], validation=10)
    np.testing.assert_array_equal(again.predict().values, recursive.predict().values)


def test_save_load_round_trip_gives_identical_predictions(recursive: Forecaster, series: np.ndarray,
                                                          tmp_path: Path) -> None:
    recursive.save(tmp_path / "fc", extra_state={"note": "hi"})
    assert {p.name for p in (tmp_path / "fc").iterdir()} >= {"app.json", "model.keras", "arrays.safetensors"}
    loaded = Forecaster.load(tmp_path / "fc")
    assert loaded.config == recursive.config and loaded.extra_state == {"note": "hi"}
    np.testing.assert_array_equal(loaded.predict().values, recursive.predict().values)
    np.testing.assert_array_equal(loaded.one_step(series, 70).values, recursive.one_step(series, 70).values)


def test_evaluate_reports_one_step_and_backtest(recursive: Forecaster, series: np.ndarray) -> None:
    result = recursive.evaluate(series, 70, season=11)
    assert set(result) == {"one_step", "multi_step"}
    assert result["one_step"]["mae"] >= 0 and 0 <= result["one_step"]["interval"]["coverage"] <= 1
    assert result["multi_step"]["origins"] == 8 and len(result["multi_step"]["mae_by_step"]) == 3


def test_covariates_are_inputs_and_recursive_needs_their_future(series: np.ndarray) -> None:
    cov = np.stack([np.arange(80.0)], axis=1)
    fc = Forecaster(**TINY).fit(series[:70], covariates=cov[:70], validation=10)
    assert fc.model_.input_shape[-1] == 2
    assert fc.predict(future_covariates=cov[70:72]).point.shape == (3,)
    with pytest.raises(AppError, match="covariates of the next 2 steps"):
        fc.predict()
    with pytest.raises(AppError, match="trained with 1 covariate"):
        fc.predict(history=series[:70])


@pytest.mark.parametrize(
    ("data", "kwargs", "message"),
    [
        ([], {}, "empty"),
        ([1.0, np.nan, 2.0], {}, "NaN"),
        (np.arange(8.0), {"validation": 2}, "too short"),
        (np.arange(30.0), {"validation": 30}, "validation must hold"),
    ],
)
def test_bad_series_raise_clear_errors(data: list, kwargs: dict, message: str) -> None:
    with pytest.raises(AppError, match=message):
        Forecaster(**TINY).fit(data, **kwargs)


def test_bad_settings_and_untrained_use() -> None:
    with pytest.raises(AppError, match="unknown strategy"):
        Forecaster(strategy="sideways")
    with pytest.raises(AppError, match="dropout"):
        Forecaster(dropout=1.5)
    with pytest.raises(AppError, match="not trained"):
        Forecaster().predict()
