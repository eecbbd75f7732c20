"""Error analyses (Karpathy et al. 2015, Sec. 4.3): hand-built texts whose answers are counted by hand.

Alignment throughout: arrays have len(text) entries, index t is the prediction of text[t], index 0 is unscored.
"""

from __future__ import annotations

import numpy as np
import pytest

from lstmkit.viz.errors import (
    CATEGORIES,
    align_to_text,
    closing_accuracy_by_distance,
    compare_models,
    error_breakdown,
    error_categories,
    plot_closing_accuracy,
    plot_error_breakdown,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# ---- error breakdown ------------------------------------------------------------------------------
#            0123456789...
TEXT = "the cat. (dog) the,\n(cat)"
TRAIN = "the cat sat. " * 10 + "dog "  # the, cat, sat: 10 times each; dog: once
#: the LSTM's errors and the category each must get (with rare_max_count=5)
EXPECTED = {
    1: "n-gram", 2: "n-gram",  # an n-gram order gives them >= 0.5 (index 2: exactly 0.5)
    16: "dynamic memory", 17: "dynamic memory",  # "th", "the" of the second "the" occurred at 0
    22: "dynamic memory", 23: "dynamic memory",  # "ca", "cat" of the second "cat" occurred at 4
    10: "rare words", 11: "rare words",  # "dog" occurs once in TRAIN; its first character too
    4: "word start", 15: "word start", 21: "word start",  # first characters ("the" at 15: not dynamic)
    8: "after newline/punctuation",  # after "."
    9: "after newline/punctuation",  # after ". " (a space after punctuation)
    14: "after newline/punctuation", 19: "after newline/punctuation",  # after ")" and ","
    20: "after newline/punctuation",  # after "\n"
    3: "boost/other", 24: "boost/other", 6: "boost/other",  # after letters; "t" of the first "cat" is new
}


def lstm_probs() -> np.ndarray:
    probs = np.full(len(TEXT), 0.9)
    probs[0] = 0.0  # index 0 is unscored: its value is ignored
    probs[list(EXPECTED)] = 0.1
    probs[5] = 0.5  # exactly the threshold: not an error
    return probs


def ngram_probs() -> dict[int, np.ndarray]:
    low = np.full(len(TEXT), 0.2)
    low[0] = np.nan
    order3, order5 = low.copy(), low.copy()
    order3[1] = 0.8
    order5[2] = 0.5
    order5[5] = 0.99  # not an LSTM error: an n-gram right there changes nothing
    return {3: order3, 5: order5}


def test_each_error_gets_its_hand_counted_category() -> None:
    labels = error_categories(TEXT, lstm_probs(), ngram_probs(), TRAIN)
    assert {t: label for t, label in enumerate(labels) if label is not None} == EXPECTED


@pytest.mark.parametrize(("rare_max_count", "counts"), [
    (5, {"n-gram": 2, "dynamic memory": 4, "rare words": 2, "word start": 3, "after newline/punctuation": 5,
         "boost/other": 3}),
    (0, {"n-gram": 2, "dynamic memory": 4, "rare words": 0, "word start": 4, "after newline/punctuation": 5,
         "boost/other": 4}),  # "dog" is not rare any more: "d" starts a word, "o" is other
    (10, {"n-gram": 2, "dynamic memory": 4, "rare words": 6, "word start": 0, "after newline/punctuation": 5,
          "boost/other": 2}),  # "the" and "cat" (10 each) are rare too
])
def test_breakdown_counts(rare_max_count: int, counts: dict[str, int]) -> None:
    result = error_breakdown(TEXT, lstm_probs(), ngram_probs(), TRAIN, rare_max_count=rare_max_count)
    assert list(result) == [*CATEGORIES, "errors", "characters"]
    assert result == {**counts, "errors": 19, "characters": len(TEXT) - 1}


def test_breakdown_threshold_and_no_ngrams() -> None:
    result = error_breakdown(TEXT, lstm_probs(), {}, TRAIN, threshold=0.05)
    assert result["errors"] == 0
    result = error_breakdown(TEXT, lstm_probs(), {}, TRAIN)
    assert result["n-gram"] == 0 and result["errors"] == 19
    assert result["dynamic memory"] == 4  # index 2 ("e" of the first "the") moves to other, index 1 too
    assert result["boost/other"] == 5


def test_breakdown_accepts_next_character_arrays_aligned_by_align_to_text() -> None:
    probs = lstm_probs()
    aligned = align_to_text(probs[1:])
    assert np.isnan(aligned[0]) and aligned.shape == (len(TEXT),)
    assert error_breakdown(TEXT, aligned, ngram_probs(), TRAIN) == error_breakdown(TEXT, probs, ngram_probs(), TRAIN)


# ---- model comparison -----------------------------------------------------------------------------

def test_compare_models_counts_and_bits() -> None:
    text = "abcdef"
    lstm = [np.nan, 0.5, 0.2, 0.3, 0.9, 0.4]
    other = [0.7, 0.25, 0.8, 0.3 + 5e-10, 0.9, 0.4 + 1e-6]  # index 0 ignored; 3 is a tie; 5 is not
    result = compare_models(text, lstm, other)
    assert (result["characters"], result["lstm_better"], result["other_better"], result["ties"]) == (5, 1, 2, 2)
    assert result["lstm_better_fraction"] == pytest.approx(0.2)
    assert result["other_better_fraction"] == pytest.approx(0.4)
    assert result["tie_fraction"] == pytest.approx(0.4)
    expected = (1.0 - 2.0 + np.log2(0.3 / (0.3 + 5e-10)) + 0.0 + np.log2(0.4 / (0.4 + 1e-6))) / 5
    assert result["mean_log2_diff"] == pytest.approx(expected, abs=1e-12)
    assert result["winner"].tolist() == [0, 1, -1, 0, 0, -1]


def test_compare_models_zero_probability_stays_finite() -> None:
    result = compare_models("ab", [np.nan, 0.0], [np.nan, 1.0])
    assert np.isfinite(result["mean_log2_diff"]) and result["mean_log2_diff"] < -1000
    assert result["other_better"] == 1


# ---- closing brackets and quotes ------------------------------------------------------------------
#: closings at 4 (dist 3), 10 (2), 12 (6), 16 (2), 24 (6), 39 (13); ")" at 0 unmatched, "(" at 40 unclosed
BRACKETS = ')(ab) [x(y)z] "q" "hello" (' + "a" * 12 + ")("
RIGHT_AT = [10, 12, 39]  # the model's top-1 was right on these closings, wrong on 4, 16, 24


@pytest.mark.parametrize("elsewhere", [False, True])  # correct[] off the closings does not matter
def test_closing_accuracy_per_bin(elsewhere: bool) -> None:
    correct = np.full(len(BRACKETS), elsewhere)
    correct[[4, 16, 24]] = False
    correct[RIGHT_AT] = True
    result = closing_accuracy_by_distance(BRACKETS, correct, bins=(2, 5, 10))
    summary = [(b["label"], b["low"], b["high"], b["count"], b["correct"], b["accuracy"]) for b in result["bins"]]
    assert summary == [("1-2", 1, 2, 2, 1, 0.5), ("3-5", 3, 5, 1, 0, 0.0), ("6-10", 6, 10, 2, 1, 0.5),
                       (">10", 11, None, 1, 1, 1.0)]
    assert (result["count"], result["accuracy"], result["unmatched"], result["unclosed"]) == (6, 0.5, 1, 1)
    assert result["positions"].tolist() == [4, 10, 12, 16, 24, 39]
    assert result["distances"].tolist() == [3, 2, 6, 2, 6, 13]
    assert result["hits"].tolist() == [False, True, True, False, False, True]


def test_closing_accuracy_default_bins_report_empty_bins_without_nan() -> None:
    correct = np.zeros(len(BRACKETS), dtype=bool)
    correct[RIGHT_AT] = True
    result = closing_accuracy_by_distance(BRACKETS, correct)
    assert [b["label"] for b in result["bins"]] == ["1-5", "6-10", "11-20", "21-40", "41-80", "81-160", ">160"]
    assert [b["count"] for b in result["bins"]] == [3, 2, 1, 0, 0, 0, 0]
    assert [b["accuracy"] for b in result["bins"]] == [pytest.approx(1 / 3), 0.5, 1.0, None, None, None, None]


@pytest.mark.parametrize(("text", "pairs", "distances"), [
    ('("a)"', (("(", ")"), ('"', '"')), [3, 3]),  # pairs have their own stacks: interleaving is fine
    ("((()))", (("(", ")"),), [1, 3, 5]),  # nesting: innermost closes first
    ("'a' 'bc'", (("'", "'"),), [2, 3]),  # a symmetric pair alternates open / close
    ("<a>", (("<", ">"),), [2]),
    ("no brackets", (("(", ")"),), []),
])
def test_closing_matching(text: str, pairs, distances: list[int]) -> None:
    result = closing_accuracy_by_distance(text, np.ones(len(text), dtype=bool), pairs=pairs, bins=(1, 2))
    assert result["distances"].tolist() == distances
    assert [b["label"] for b in result["bins"]] == ["1", "2", ">2"]
    assert result["accuracy"] == (1.0 if distances else None)


# ---- bad input ------------------------------------------------------------------------------------

GOOD = np.full(len(TEXT), 0.5)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"text": ""}, "text must be at least 2"),
    ({"text": "a"}, "text must be at least 2"),
    ({"text": b"the cat"}, "text must be a str"),
    ({"lstm_prob": GOOD[1:]}, "lstm_prob must have shape .*align_to_text"),
    ({"lstm_prob": np.full(3, 0.5)}, "lstm_prob must have shape"),
    ({"lstm_prob": np.where(np.arange(len(TEXT)) == 3, np.nan, 0.5)}, "lstm_prob must not be NaN after index 0"),
    ({"lstm_prob": np.where(np.arange(len(TEXT)) == 3, 1.5, 0.5)}, r"lstm_prob must hold probabilities in \[0, 1\]"),
    ({"lstm_prob": np.where(np.arange(len(TEXT)) == 3, -0.1, 0.5)}, "lstm_prob must hold probabilities"),
    ({"ngram_prob": {3: GOOD[:-1]}}, r"ngram_prob\[3\] must have shape"),
    ({"ngram_prob": [GOOD]}, "ngram_prob must be a mapping"),
    ({"train_text": ""}, "train_text must be non-empty"),
    ({"threshold": 0.0}, "threshold"),
    ({"threshold": 1.5}, "threshold"),
    ({"rare_max_count": -1}, "rare_max_count"),
    ({"rare_max_count": 2.5}, "rare_max_count"),
])
def test_breakdown_bad_input(kwargs: dict, message: str) -> None:
    args = {"text": TEXT, "lstm_prob": GOOD, "ngram_prob": {3: GOOD}, "train_text": TRAIN, **kwargs}
    with pytest.raises(ValueError, match=message):
        error_breakdown(args.pop("text"), args.pop("lstm_prob"), args.pop("ngram_prob"), args.pop("train_text"), **args)


@pytest.mark.parametrize(("text", "lstm", "other", "message"), [
    ("", [], [], "text"),
    ("abc", [np.nan, 0.5], [np.nan, 0.5, 0.5], "lstm_prob must have shape"),
    ("abc", [np.nan, 0.5, 0.5], [np.nan, 0.5, np.nan], "other_prob must not be NaN"),
    ("abc", [np.nan, 0.5, 0.5], [np.nan, 0.5, 2.0], "other_prob must hold probabilities"),
    ("abc", ["x", 0.5, 0.5], [np.nan, 0.5, 0.5], "lstm_prob must be an array"),
])
def test_compare_models_bad_input(text: str, lstm, other, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compare_models(text, lstm, other)


@pytest.mark.parametrize(("text", "correct", "kwargs", "message"), [
    ("", [], {}, "text must be non-empty"),
    ("(a)", [True, True], {}, "correct must have shape"),
    ("(a)", [1, 0, 1], {}, "correct must be a boolean"),
    ("(a)", [True] * 3, {"bins": ()}, "bins"),
    ("(a)", [True] * 3, {"bins": (5, 5)}, "bins"),
    ("(a)", [True] * 3, {"bins": (0, 5)}, "bins"),
    ("(a)", [True] * 3, {"bins": (2.5, 5)}, "bins"),
    ("(a)", [True] * 3, {"pairs": ()}, "pairs"),
    ("(a)", [True] * 3, {"pairs": (("(", "))"),)}, "pairs"),
    ("(a)", [True] * 3, {"pairs": (("(", ")"), (")", "]"))}, "pairs must not share"),
])
def test_closing_accuracy_bad_input(text: str, correct, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        closing_accuracy_by_distance(text, np.asarray(correct), **kwargs)


# ---- plots ----------------------------------------------------------------------------------------

def _check_png(path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > 10_000


@pytest.mark.parametrize("title", [None, "errors"])
def test_plot_error_breakdown(tmp_path, title) -> None:
    breakdown = error_breakdown(TEXT, lstm_probs(), ngram_probs(), TRAIN)
    _check_png(plot_error_breakdown(tmp_path / "breakdown.png", breakdown, title=title))


def test_plot_error_breakdown_without_errors(tmp_path) -> None:
    breakdown = error_breakdown(TEXT, np.ones(len(TEXT)), {}, TRAIN)
    _check_png(plot_error_breakdown(tmp_path / "none.png", breakdown))


def test_plot_error_breakdown_bad_input(tmp_path) -> None:
    with pytest.raises(ValueError, match="breakdown must hold"):
        plot_error_breakdown(tmp_path / "x.png", {"n-gram": 3})


def test_plot_closing_accuracy(tmp_path) -> None:
    correct = np.zeros(len(BRACKETS), dtype=bool)
    lstm = closing_accuracy_by_distance(BRACKETS, np.ones(len(BRACKETS), dtype=bool))
    ngram = closing_accuracy_by_distance(BRACKETS, correct)
    _check_png(plot_closing_accuracy(tmp_path / "closing.png", {"LSTM": lstm, "5-gram": ngram}, title="closing"))


@pytest.mark.parametrize("curves", [
    {},
    {"LSTM": {"count": 3}},
    {"a": closing_accuracy_by_distance("(a)", np.ones(3, dtype=bool)),
     "b": closing_accuracy_by_distance("(a)", np.ones(3, dtype=bool), bins=(2, 4))},
])
def test_plot_closing_accuracy_bad_input(tmp_path, curves) -> None:
    with pytest.raises(ValueError, match="curves"):
        plot_closing_accuracy(tmp_path / "x.png", curves)
