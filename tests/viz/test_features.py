"""lstmkit.viz.features: each feature on hand-made texts with known values; rank_cells finds a
planted unit, follows |r|, skips NaN and invalid steps, scores constant columns 0 (never NaN)."""

from __future__ import annotations

import numpy as np
import pytest

from lstmkit.viz.features import (
    FEATURES,
    CellMatch,
    after_newline,
    best_cell_per_feature,
    compute_features,
    correlation_matrix,
    in_parens,
    in_quotes,
    position_in_line,
    rank_cells,
    speaker_line,
    vowel,
    word_position,
)

NAN = np.nan


def test_in_quotes_opening_quote_is_inside_closing_is_outside():
    np.testing.assert_array_equal(in_quotes('a"bc"d"e'), [0, 1, 1, 1, 0, 0, 1, 1])
    np.testing.assert_array_equal(in_quotes("it's 'x'"), np.zeros(8))  # single quotes are not quotes


def test_in_parens_nests_and_ignores_unmatched_closers():
    np.testing.assert_array_equal(in_parens("a(b[c]d)e)f("), [0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1])


def test_position_in_line_and_after_newline():
    text = "ab\ncd\n\ne"
    np.testing.assert_array_equal(position_in_line(text), [0, 1, 2, 0, 1, 2, 0, 0])
    np.testing.assert_array_equal(after_newline(text), [1, 0, 0, 1, 0, 0, 1, 1])


def test_speaker_line_marks_play_format_names_only():
    text = "ROMEO:\nO, she doth teach.\nSIR HUGH EVANS:\nKING RICHARD III.\nFirst Citizen:\nNO, not I:\n"
    out = speaker_line(text)
    expected = []
    for line in text.split("\n")[:-1]:
        is_speaker = line in ("ROMEO:", "SIR HUGH EVANS:", "KING RICHARD III.")
        expected.extend([float(is_speaker)] * len(line) + [0.0])  # the newline itself is 0
    np.testing.assert_array_equal(out, expected)


def test_speaker_line_on_the_shipped_format():
    text = "SHALLOW:\nSir Hugh, persuade me not.\n\nSLENDER:\nIn the county"
    out = speaker_line(text)
    assert out[: len("SHALLOW:")].all() and out[text.index("SLENDER:")] == 1
    assert not out[text.index("Sir") : text.index("SLENDER:")].any()


def test_vowel_is_nan_off_letters():
    np.testing.assert_array_equal(vowel("aB e!Ü"), [1, 0, NAN, 1, NAN, NAN])


def test_word_position_counts_inside_words():
    np.testing.assert_array_equal(word_position("to be, don't"), [0, 1, NAN, 0, 1, NAN, NAN, 0, 1, 2, 3, 4])


def test_registry_functions_give_one_float_per_character():
    text = 'ROMEO:\nHe said "go (now)" to 3 men.\n'
    assert list(compute_features(text)) == list(FEATURES)
    for name, (fn, description) in FEATURES.items():
        out = fn(text)
        assert out.dtype == np.float64 and out.shape == (len(text),), name
        assert description and "\n" not in description
    assert compute_features("", ["in_quotes"])["in_quotes"].shape == (0,)


def test_compute_features_rejects_unknown_names_and_non_text():
    with pytest.raises(ValueError, match="names: .*unknown \\['nope'\\]"):
        compute_features("abc", ["in_quotes", "nope"])
    with pytest.raises(ValueError, match="text: expected a str, got bytes"):
        in_quotes(b"abc")


def _planted(seed=0, steps=300, units=8):
    rng = np.random.default_rng(seed)
    feature = (rng.random(steps) < 0.4).astype(float)
    values = rng.normal(size=(steps, units))
    values[:, 5] = 2.0 * feature + 0.05 * rng.normal(size=steps)
    values[:, 2] = -feature + 0.3 * rng.normal(size=steps)
    return values, {"noise": rng.normal(size=steps), "planted": feature}


def test_rank_cells_ranks_the_planted_unit_first_by_absolute_r():
    values, features = _planted()
    ranked = rank_cells(values, features, top=3)
    assert [(m.feature, m.unit) for m in ranked[:2]] == [("planted", 5), ("planted", 2)]
    assert ranked[0].correlation > 0.99 and ranked[1].correlation < -0.8
    assert all(isinstance(m, CellMatch) for m in ranked) and len(ranked) == 3
    with pytest.raises(AttributeError):
        ranked[0].unit = 1  # frozen


def test_rank_cells_matches_numpy_corrcoef():
    values, features = _planted(seed=1)
    r = correlation_matrix(values, features)
    for name, column in features.items():
        expected = [np.corrcoef(column, values[:, u])[0, 1] for u in range(values.shape[1])]
        np.testing.assert_allclose(r[name], expected, rtol=1e-10, atol=1e-12)


def test_rank_cells_top_and_per_feature_limits():
    values, features = _planted()
    assert len(rank_cells(values, features, top=100)) == 16
    limited = rank_cells(values, features, top=100, per_feature=2)
    assert len(limited) == 4 and sum(m.feature == "planted" for m in limited) == 2
    assert rank_cells(values, features, top=5) == rank_cells(values.copy(), dict(features), top=5)  # deterministic


def test_constant_columns_and_constant_features_score_zero_not_nan():
    values, features = _planted()
    values[:, 3] = 0.7
    features["constant"] = np.full(values.shape[0], 0.1)
    r = correlation_matrix(values, features)
    assert r["planted"][3] == 0.0 and np.all(r["constant"] == 0.0)
    assert all(np.isfinite(v).all() for v in r.values())


def test_nan_steps_are_left_out_pairwise():
    values, features = _planted()
    clean = correlation_matrix(values, features)["planted"][5]
    values[::7, 5] = np.nan  # this unit's NaN steps only
    features["planted_nan"] = features["planted"].copy()
    features["planted_nan"][::5] = np.nan
    r = correlation_matrix(values, features)
    assert np.isfinite(r["planted"]).all() and abs(r["planted"][5] - clean) < 0.01
    assert r["planted_nan"][5] > 0.99
    all_nan = np.full((10, 2), np.nan)
    assert np.all(correlation_matrix(all_nan, {"x": np.arange(10.0)})["x"] == 0.0)


def test_valid_excludes_steps():
    rng = np.random.default_rng(3)
    feature = rng.normal(size=200)
    values = rng.normal(size=(200, 3))
    valid = np.zeros(200, dtype=bool)
    valid[:100] = True
    values[:100, 1] = feature[:100]  # tracks the feature on the valid steps only
    assert correlation_matrix(values, {"f": feature})["f"][1] < 0.9
    assert rank_cells(values, {"f": feature}, valid=valid, top=1)[0] == CellMatch("f", 1, pytest.approx(1.0))


def test_best_cell_per_feature():
    values, features = _planted()
    best = best_cell_per_feature(values, features)
    assert list(best) == ["noise", "planted"]
    assert best["planted"].unit == 5 and best["planted"].correlation > 0.99


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"values": np.zeros(5)}, "values: expected a \\(time, units\\) array, got shape \\(5,\\)"),
        ({"features": {"f": np.zeros(4)}}, "features\\['f'\\]: expected shape \\(5,\\)"),
        ({"features": [np.zeros(5)]}, "features: expected a mapping"),
        ({"top": 0}, "top: expected a positive int, got 0"),
        ({"per_feature": 0}, "per_feature: expected None or a positive int"),
        ({"valid": np.ones(5)}, "valid: expected a bool array of shape \\(5,\\)"),
    ],
)
def test_rank_cells_errors_name_the_argument(kwargs, match):
    args = {"values": np.zeros((5, 2)), "features": {"f": np.arange(5.0)}, **kwargs}
    with pytest.raises(ValueError, match=match):
        rank_cells(**args)
