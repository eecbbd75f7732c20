"""The NB-LR baseline (Wang & Manning 2012) against a direct NumPy computation on a tiny corpus:
the binarised n-gram counts, the log-count ratios r, the interpolated weights and the scores."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")

from lstmkit.apps.sentiment.nblr import NBLogReg, interpolate, log_count_ratio  # noqa: E402

TRAIN = ["a great great film", "great acting", "a moving story", "dull and boring", "a boring boring mess",
         "dull acting", "great story", "boring film"]
LABELS = np.array([1, 1, 1, 0, 0, 0, 1, 0])
VAL = ["a great story", "a dull film", "moving acting", "boring mess"]
VAL_LABELS = np.array([1, 0, 1, 0])


def _binary_counts(texts: list[str], vocab: list[str]) -> np.ndarray:
    """Dense 0/1 matrix of the word unigrams and bigrams of ``vocab`` (sklearn's pattern keeps words of 2+ chars)."""
    out = np.zeros((len(texts), len(vocab)))
    index = {g: j for j, g in enumerate(vocab)}
    for i, text in enumerate(texts):
        words = [w for w in text.lower().split() if len(w) >= 2]
        for gram in words + [f"{a} {b}" for a, b in zip(words, words[1:])]:
            if gram in index:
                out[i, index[gram]] = 1.0
    return out


@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_log_count_ratio_matches_numpy(alpha: float) -> None:
    model = NBLogReg(c_grid=(1.0,), beta_grid=(1.0,), alpha_grid=(alpha,)).fit(TRAIN, LABELS, VAL, VAL_LABELS)
    vocab = model._vectorizer.get_feature_names_out().tolist()
    x = _binary_counts(TRAIN, vocab)
    np.testing.assert_array_equal(model._vectorizer.transform(TRAIN).toarray(), x)  # binarised: "great great" -> 1
    p = alpha + x[LABELS == 1].sum(0)
    q = alpha + x[LABELS == 0].sum(0)
    expected = np.log((p / p.sum()) / (q / q.sum()))
    np.testing.assert_allclose(model.r, expected, rtol=1e-12)
    np.testing.assert_allclose(log_count_ratio(x, LABELS, alpha), expected, rtol=1e-12)
    assert model.r[vocab.index("great")] > 0 > model.r[vocab.index("boring")]


@pytest.mark.parametrize("beta", [1.0, 0.25])
def test_weights_and_scores_match_numpy(beta: float) -> None:
    from sklearn.linear_model import LogisticRegression

    model = NBLogReg(c_grid=(2.0,), beta_grid=(beta,)).fit(TRAIN, LABELS, VAL, VAL_LABELS)
    vocab = model._vectorizer.get_feature_names_out().tolist()
    x = _binary_counts(TRAIN, vocab)
    reference = LogisticRegression(C=2.0, solver="liblinear", random_state=0).fit(x * model.r, LABELS)
    w = reference.coef_.ravel()
    expected_w = (1 - beta) * np.abs(w).mean() + beta * w
    np.testing.assert_allclose(model.weights, expected_w, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(interpolate(w, beta), expected_w)
    assert model.bias == pytest.approx(float(reference.intercept_[0]), rel=1e-6)
    texts = VAL + ["an unseen zzz word"]
    score = _binary_counts(texts, vocab) @ (model.r * expected_w) + model.bias
    np.testing.assert_allclose(model.decision_function(texts), score, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(model.predict_proba(texts), 1 / (1 + np.exp(-score)), rtol=1e-6)
    assert model.evaluate(VAL, VAL_LABELS)["n"] == len(VAL)


def test_settings_are_chosen_on_validation_accuracy() -> None:
    model = NBLogReg(c_grid=(0.01, 1.0, 100.0), beta_grid=(1.0, 0.5)).fit(TRAIN, LABELS, VAL, VAL_LABELS)
    assert model.chosen["C"] in (0.01, 1.0, 100.0) and model.chosen["beta"] in (1.0, 0.5)
    accuracy = float(np.mean((model.decision_function(VAL) >= 0) == (VAL_LABELS == 1)))
    assert model.chosen["val_accuracy"] == pytest.approx(accuracy)
    assert accuracy == 1.0  # the tiny corpus is separable by its sentiment words


def test_errors() -> None:
    with pytest.raises(RuntimeError, match="not fitted"):
        NBLogReg().predict_proba(["good"])
    with pytest.raises(ValueError, match="alpha must be positive"):
        log_count_ratio(np.ones((2, 2)), np.array([0, 1]), alpha=0.0)
    with pytest.raises(ValueError, match="both classes"):
        NBLogReg().fit(TRAIN[:3], LABELS[:3], VAL, VAL_LABELS)
