"""The linear highway (LSTNet's autoregressive component) beside the LSTM forecaster."""

from pathlib import Path

import numpy as np
import pytest

from lstmkit.apps.forecast.model import Forecaster
from lstmkit.apps.forecast.network import build_network
from lstmkit.apps.forecast.pipeline import PRESETS

TINY = {"lookback": 6, "horizon": 3, "units": 4, "epochs": 40, "patience": 40, "quantiles": None,
        "learning_rate": 3e-2, "batch_size": 8}


@pytest.mark.parametrize("members", [1, 3])
def test_highway_adds_one_linear_map_of_the_window_per_member(members: int) -> None:
    plain = build_network(6, 2, 1, 4, 1, 0.0, members)
    with_highway = build_network(6, 2, 1, 4, 1, 0.0, members, highway=True)
    extra = with_highway.count_params() - plain.count_params()
    assert extra == members * (6 * 2 * 1 + 1)  # Dense(window of 6 x 2 features -> 1 output) per member
    x = np.random.default_rng(0).normal(size=(5, 6, 2)).astype(np.float32)
    assert with_highway.predict(x, verbose=0).shape == (5, members)


def test_highway_extrapolates_a_trend_the_plain_lstm_cannot() -> None:
    """A straight line whose test values lie far above training: with global scaling the tanh LSTM
    saturates, while the highway's linear part carries the trend on."""
    line = np.arange(120, dtype=np.float64)
    errors = {}
    for highway in (False, True):
        fc = Forecaster(**TINY, members=1, highway=highway, seed=0, refit=False).fit(line[:90], validation=10)
        errors[highway] = float(np.mean(np.abs(fc.one_step(line, 100).point - line[100:])))
    assert errors[True] < 0.5 * errors[False], errors


def test_highway_model_round_trips(tmp_path: Path) -> None:
    series = 10 + np.sin(np.arange(60) / 3)
    fc = Forecaster(**{**TINY, "epochs": 2}, members=2, highway=True).fit(series[:50], validation=5)
    fc.save(tmp_path / "fc")
    loaded = Forecaster.load(tmp_path / "fc")
    assert loaded.config.highway
    np.testing.assert_array_equal(loaded.one_step(series, 50).values, fc.one_step(series, 50).values)


def test_presets_turn_the_highway_on_for_co2_only() -> None:
    assert PRESETS["co2"]["highway"] and not PRESETS["co2"]["refit"]
    assert not PRESETS["sunspots"]["highway"] and PRESETS["sunspots"]["refit"]
