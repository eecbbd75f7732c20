"""The LSTM + NB-LR blend: its weight follows the validation evidence (all on the model that is
informative, none on one that is noise), scales are per model, and bad input is refused."""

from __future__ import annotations

import numpy as np
import pytest

from lstmkit.apps.sentiment.hybrid import Blend, fit_blend


def _scores(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    informative = (2 * y - 1) * 1.5 + rng.normal(size=n)  # right about 93% of the time
    noise = rng.normal(size=n) * 40.0  # unrelated to the labels, on another scale
    return informative, noise, y


@pytest.mark.parametrize("informative_is_lstm", [True, False])
def test_weight_goes_to_the_informative_model(informative_is_lstm: bool) -> None:
    good, noise, y = _scores()
    lstm, nblr = (good, noise) if informative_is_lstm else (noise, good)
    blend = fit_blend(lstm, nblr, y)
    assert blend.weight >= 0.8 if informative_is_lstm else blend.weight <= 0.2
    accuracy = np.mean((blend.score(lstm, nblr) >= 0) == (y == 1))
    assert accuracy >= np.mean((good >= 0) == (y == 1)) - 0.01


def test_two_equal_views_get_an_even_mix_and_beat_either() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 2000)
    a = (2 * y - 1) + rng.normal(size=2000) * 1.2
    b = 10.0 * ((2 * y - 1) + rng.normal(size=2000) * 1.2)  # as good, ten times the scale
    blend = fit_blend(a, b, y)
    assert 0.3 <= blend.weight <= 0.7
    mixed = np.mean((blend.score(a, b) >= 0) == (y == 1))
    assert mixed > max(np.mean((a >= 0) == (y == 1)), np.mean((b >= 0) == (y == 1)))


def test_proba_is_the_logistic_of_the_score() -> None:
    blend = Blend(0.25, 2.0, 4.0)
    lstm, nblr = np.array([2.0, -4.0]), np.array([4.0, 8.0])
    np.testing.assert_allclose(blend.score(lstm, nblr), [0.25 + 0.75, -0.5 + 1.5])
    np.testing.assert_allclose(blend.proba(lstm, nblr), 1 / (1 + np.exp(-blend.score(lstm, nblr))))


def test_mismatched_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="one label per validation text"):
        fit_blend(np.zeros(3), np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match="different numbers of texts"):
        Blend(0.5, 1.0, 1.0).score(np.zeros(3), np.zeros(4))
