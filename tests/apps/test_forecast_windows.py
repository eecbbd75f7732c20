"""Windowing, chronological splits, rolling origins and scalers: shapes and no look-ahead."""

import numpy as np
import pytest

from lstmkit.apps.forecast.windows import Scaler, chronological_split, create_sequences, rolling_origins
from lstmkit.errors import AppError


def test_create_sequences_generalises_slide_9() -> None:
    values = np.arange(10.0)
    x, y, c = create_sequences(values, lookback=3)
    assert x.shape == (7, 3) and y.shape == (7, 1) and c is None
    np.testing.assert_array_equal(x[0], [0, 1, 2])
    np.testing.assert_array_equal(y[:, 0], np.arange(3, 10))  # slide 9: data[i:i+L] -> data[i+L]


def test_multi_output_targets_and_explicit_target_starts() -> None:
    values = np.arange(10.0)
    x, y, _ = create_sequences(values, lookback=3, horizon=4)
    assert x.shape == (4, 3) and y.shape == (4, 4)
    np.testing.assert_array_equal(y[-1], [6, 7, 8, 9])
    x, y, _ = create_sequences(values, lookback=3, horizon=2, targets=range(8, 11))
    np.testing.assert_array_equal(x[-1], [7, 8, 9])
    assert np.isnan(y[-1]).all() and y[0, 0] == 8 and np.isnan(y[1, 1])  # past the end: NaN, never wrapped


def test_covariate_windows_align_with_the_target_windows() -> None:
    values = np.arange(8.0)
    cov = np.stack([values * 10, values * 100], axis=1)
    x, _, c = create_sequences(values, lookback=2, horizon=1, covariates=cov)
    assert c.shape == (6, 2, 2)
    np.testing.assert_array_equal(c[:, :, 0], x * 10)


def test_bad_target_starts_raise() -> None:
    with pytest.raises(ValueError, match="target starts"):
        create_sequences(np.arange(5.0), lookback=3, targets=range(1, 3))


def test_split_is_chronological_train_validation_test() -> None:
    s = chronological_split(100, test=10, validation=15, lookback=5, horizon=2)
    assert (s.train, s.validation, s.test) == (slice(0, 75), slice(75, 90), slice(90, 100))
    assert s.train.stop <= s.validation.start <= s.validation.stop <= s.test.start


def test_split_too_short_says_what_is_needed() -> None:
    with pytest.raises(AppError, match="needs at least 41"):
        chronological_split(40, test=10, validation=10, lookback=20, horizon=1)


def test_rolling_origins_keep_every_forecast_inside_the_test_part() -> None:
    origins = rolling_origins(90, 100, horizon=3)
    assert list(origins) == list(range(90, 98))
    assert all(o + 3 <= 100 for o in origins)
    assert list(rolling_origins(90, 100, horizon=11)) == []


def test_scaler_statistics_come_from_the_training_part_only() -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(0, 1, 80), rng.normal(50, 10, 20)])  # the "future" is very different
    split = chronological_split(100, test=10, validation=10, lookback=5)
    train = values[split.train]
    scaler = Scaler("global").fit(train)
    assert scaler.center == pytest.approx(train.mean()) and scaler.scale == pytest.approx(train.std())
    leaky = Scaler("global").fit(values)
    assert abs(leaky.center - scaler.center) > 5  # would differ if the test part leaked in


def test_scaler_round_trip_and_state() -> None:
    values = np.arange(30.0) ** 1.5
    for mode in ("global", "last"):
        scaler = Scaler(mode).fit(values[:20], np.ones((20, 1)))
        x, y, c = create_sequences(values, 4, 2, covariates=np.ones((30, 1)))
        ref = scaler.reference(x)
        inputs = scaler.inputs(x, c)
        assert inputs.shape == (len(x), 4, 2) and inputs.dtype == np.float32
        np.testing.assert_allclose(scaler.restore(scaler.targets(y, ref), ref), y, rtol=1e-5)
        again = Scaler.from_state(scaler.to_state())
        np.testing.assert_array_equal(again.inputs(x, c), inputs)
    assert np.all(Scaler("last").fit(values[:20]).inputs(x)[:, -1, 0] == 0)  # shifted by each window's last value


def test_constant_training_part_does_not_divide_by_zero() -> None:
    scaler = Scaler("global").fit(np.full(10, 3.0))
    assert scaler.scale == 1.0 and np.all(np.isfinite(scaler.inputs(np.full((2, 3), 3.0))))
