"""The strong forecast baselines and the no-peeking rule: SARIMA against statsmodels called
directly, the lag MLP tuned on validation only (and deterministic), the seasonal input channel,
and a poisoned test part that must leave the LSTM forecaster and every fitted baseline unchanged."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from lstmkit.apps.forecast.windows import Scaler


def _seasonal_series(n: int = 120, period: int = 12, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 10 + 0.05 * t + 2 * np.sin(2 * np.pi * t / period) + 0.3 * rng.normal(size=n)


def test_sarima_matches_statsmodels_called_directly() -> None:
    pytest.importorskip("statsmodels")
    from statsmodels.tsa.arima.model import ARIMA

    from lstmkit.apps.forecast.sarima import Sarima

    values = _seasonal_series()
    train = values[:96]
    ours = Sarima(12, order=(1, 1, 0), seasonal=(0, 1, 1)).fit(train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = ARIMA(train, order=(1, 1, 0), seasonal_order=(0, 1, 1, 12), trend="n").fit()
        ref_one = ref.append(values[96:], refit=False).predict(start=96, end=119)
        ref_multi = ref.forecast(12)
    assert ours.describe() == "SARIMA(1, 1, 0)x(0, 1, 1, 12)"
    np.testing.assert_allclose(ours.aic, ref.aic, rtol=1e-6)
    np.testing.assert_allclose(ours.one_step(values, 96), ref_one, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours.multi_step(values, [96], 12)[0], ref_multi, rtol=1e-6, atol=1e-8)


def test_sarima_search_picks_a_seasonal_part_with_the_lowest_aic_it_tried() -> None:
    pytest.importorskip("statsmodels")
    from lstmkit.apps.forecast.sarima import SEASONAL_GRID, Sarima

    model = Sarima(12, start=(1, 1, 0)).fit(_seasonal_series()[:96])
    assert model.seasonal_order[:3] in SEASONAL_GRID and model.seasonal_order[3] == 12
    assert len(SEASONAL_GRID) <= model.fits <= len(SEASONAL_GRID) + 4 * model.max_steps
    fixed = Sarima(12, order=model.order, seasonal=model.seasonal_order[:3]).fit(_seasonal_series()[:96])
    np.testing.assert_allclose(fixed.aic, model.aic, rtol=1e-9)


def test_lag_mlp_is_tuned_on_validation_and_deterministic() -> None:
    pytest.importorskip("sklearn")
    from lstmkit.apps.forecast.lagmlp import LagMLP

    values = _seasonal_series(160)
    grid = {"lags": (6, 12), "hidden": (4,), "alphas": (0.1,), "seeds": 2}
    a = LagMLP(**grid).fit(values[:130], validation=20)
    b = LagMLP(**grid).fit(values[:130], validation=20)
    np.testing.assert_array_equal(a.one_step(values, 130), b.one_step(values, 130))
    assert set(a.validation_scores) == {"6/4/0.1", "12/4/0.1"}
    assert a.lags == min((6, 12), key=lambda lag: a.validation_scores[f"{lag}/4/0.1"])
    # the validation choice uses only the first 130 values: later ones cannot change it
    poisoned = values.copy()
    poisoned[130:] = 1e6
    c = LagMLP(**grid).fit(poisoned[:130], validation=20)
    assert c.validation_scores == a.validation_scores
    seasonal = LagMLP(scaling="seasonal", period=12)
    assert {g[0] for g in seasonal.grid} == {12, 15, 20, 24}


def test_seasonal_scaling_adds_the_change_from_a_season_earlier() -> None:
    values = np.arange(40, dtype=np.float64) ** 1.5
    scaler = Scaler("seasonal", period=4).fit(values[:30])
    windows = np.stack([values[i:i + 8] for i in range(3)])  # (3, 8)
    x = scaler.inputs(windows)
    assert x.shape == (3, 8, 2) and scaler.channels == 2
    np.testing.assert_allclose(x[..., 1][:, 4:], (windows[:, 4:] - windows[:, :-4]) / scaler.scale, rtol=1e-5)
    assert np.all(x[:, :4, 1] == 0)
    old = Scaler.from_state({k: v for k, v in scaler.to_state().items() if k != "season_channel"})
    assert old.channels == 1 and old.inputs(windows).shape == (3, 8, 1)  # checkpoints written before it
    assert Scaler.from_state(scaler.to_state()).channels == 2


def test_poisoned_test_part_changes_no_fitted_model(monkeypatch, tmp_path) -> None:
    """train_run on a series whose test values are replaced by garbage: the forecaster (weights, chosen
    epoch, intervals) and the fitted baselines' choices are the same; only the test scores differ."""
    pytest.importorskip("statsmodels")
    import lstmkit.apps.forecast.pipeline as pipeline
    from lstmkit.apps.forecast.data import load_series

    clean = load_series("sunspots")
    test = 30

    def run(series, out):
        monkeypatch.setattr(pipeline, "load_from_spec", lambda spec: series)
        options = {"lookback": None, "horizon": None, "test": test, "validation": None, "scaling": None, "seed": 0,
                   "epochs": 3, "members": 2, "units": 4}
        return pipeline.train_run({"data": "sunspots"}, options, out, verbose=0, plot=False, log=lambda *_: None)

    poisoned_values = clean.values.copy()
    poisoned_values[-test:] = poisoned_values[-test:][::-1] * 3 + 50
    poisoned = type(clean)(**{**vars(clean), "values": poisoned_values})
    a, b = run(clean, tmp_path / "a"), run(poisoned, tmp_path / "b")
    wa, wb = a.forecaster.model_.get_weights(), b.forecaster.model_.get_weights()
    assert len(wa) == len(wb) and all(np.array_equal(x, y) for x, y in zip(wa, wb))
    untimed = [{k: v for k, v in r.forecaster.training_.items() if "seconds" not in k} for r in (a, b)]
    assert untimed[0] == untimed[1] and "best_epoch" in untimed[0]
    np.testing.assert_array_equal(a.forecaster.shifts_, b.forecaster.shifts_)
    for key in ("arima_order", "sarima_order", "mlp_setting"):
        assert a.result.get(key) == b.result.get(key)
    assert a.result["one_step"]["lstm"]["mae"] != b.result["one_step"]["lstm"]["mae"]
