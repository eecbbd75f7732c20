"""The Kneser-Ney character n-gram baseline: proper distributions, sensible bits per character."""

import numpy as np
import pytest

from lstmkit.apps.textgen.ngram import NGramModel
from lstmkit.apps.textgen.vocab import Vocab
from lstmkit.errors import AppError

TEXT = "the cat sat on the mat. the dog sat on the log. " * 30 + "a quick brown fox jumps over the lazy dog. " * 10


@pytest.mark.parametrize("order", [1, 2, 3, 5, 7])
def test_distributions_sum_to_one(order: int) -> None:
    vocab = Vocab.from_text(TEXT, "XYZ")  # X, Y, Z never occur in training
    model = NGramModel(order, vocab).fit(TEXT)
    for history in ["", "t", "the c", "on the ", "XYZ", "zzzz", "g. the d"]:
        dist = model.distribution(history)
        assert dist.shape == (len(vocab),)
        assert np.all(dist > 0)  # unseen characters too
        assert dist.sum() == pytest.approx(1.0, abs=1e-12)


def test_log2_probs_agree_with_distribution() -> None:
    vocab = Vocab.from_text(TEXT)
    model = NGramModel(5, vocab).fit(TEXT)
    text = "the lazy cat sat on the dog."
    logp = model.log2_probs(text)
    assert len(logp) == len(text) - 1
    for t in [1, 3, 4, 5, 10, len(text) - 1]:
        expected = model.distribution(text[:t])[vocab.index[text[t]]]
        assert logp[t - 1] == pytest.approx(np.log2(expected), abs=1e-12)


def test_deterministic_text_costs_fewer_bits_than_random_text() -> None:
    rng = np.random.default_rng(0)
    chars = list("abcdefgh")
    periodic = "abcdefgh" * 200
    random_text = "".join(rng.choice(chars, size=1600))
    vocab = Vocab(chars)
    for order in (3, 5):
        on_periodic = NGramModel(order, vocab).fit(periodic).bits_per_char("abcdefgh" * 20)
        on_random = NGramModel(order, vocab).fit(random_text).bits_per_char("".join(rng.choice(chars, size=160)))
        assert on_periodic < 0.2
        assert on_random > 2.5  # close to log2(8) = 3 bits: nothing to learn
        assert on_periodic < on_random


def test_higher_order_helps_on_structured_text() -> None:
    vocab = Vocab.from_text(TEXT)
    held = "the dog sat on the mat. the cat sat on the log. "
    bpc = [NGramModel(n, vocab).fit(TEXT).bits_per_char(held) for n in (1, 3, 5)]
    assert bpc[0] > bpc[1] > bpc[2]


def test_errors() -> None:
    vocab = Vocab.from_text(TEXT)
    with pytest.raises(AppError, match="does not know"):
        NGramModel(3, vocab).fit(TEXT).bits_per_char("Q!")
    with pytest.raises(AppError, match="needs more"):
        NGramModel(5, vocab).fit("the")


def _reference_prob(text: str, order: int, size: int, history: str, char: str) -> float:
    """Interpolated modified Kneser-Ney written out with dictionaries, straight from the definition."""
    from collections import Counter

    counts = {order: Counter(text[i : i + order] for i in range(len(text) - order + 1))}
    for k in range(order - 1, 0, -1):  # continuation counts: distinct left neighbours
        counts[k] = Counter(gram[1:] for gram in counts[k + 1])

    def discounts(table: Counter) -> tuple[float, float, float]:
        n = [sum(1 for c in table.values() if c == i) for i in (1, 2, 3, 4)]
        if min(n[:3]) == 0:
            return 0.5, 1.0, 1.5
        y = n[0] / (n[0] + 2 * n[1])
        raw = (1 - 2 * y * n[1] / n[0], 2 - 3 * y * n[2] / n[1], 3 - 4 * y * n[3] / n[2])
        return tuple(min(max(d, 0.05), limit) for d, limit in zip(raw, (1.0, 2.0, 3.0)))

    def prob(k: int, context: str) -> float:
        if k == 0:
            return 1.0 / size
        lower = prob(k - 1, context[1:])
        table = counts[k]
        seen = {g: c for g, c in table.items() if g[:-1] == context}
        if not seen:
            return lower
        d = discounts(table)
        gamma = sum(d[min(c, 3) - 1] for c in seen.values())
        c = seen.get(context + char, 0)
        return (max(c - (d[min(c, 3) - 1] if c else 0.0), 0.0) + gamma * lower) / sum(seen.values())

    top = min(order, len(history) + 1)  # a short history uses the orders it has (as the model does)
    return prob(top, history[len(history) - (top - 1) :] if top > 1 else "")


@pytest.mark.parametrize("order", [2, 3, 4, 6, 7])
def test_matches_the_textbook_definition(order: int) -> None:
    text = TEXT[:700]
    vocab = Vocab.from_text(text, "Q")
    model = NGramModel(order, vocab).fit(text)
    for history in ["the c", "on th", "tt QQ", "dog. ", "the mat", "sat on the "]:
        dist = model.distribution(history)
        for char in "tacQ .":
            assert dist[vocab.index[char]] == pytest.approx(_reference_prob(text, order, len(vocab), history, char),
                                                            rel=1e-12)


def test_the_app_reports_orders_3_5_6_7(monkeypatch: pytest.MonkeyPatch) -> None:
    from lstmkit.apps.textgen import experiment

    vocab = Vocab.from_text(TEXT)
    corpus = experiment.Corpus(name="t", train=TEXT, heldout=TEXT[:300], vocab=vocab, description="")
    bpc = experiment.ngram_baselines(corpus)
    assert list(bpc) == ["ngram3", "ngram5", "ngram6", "ngram7"]
    for n in (3, 5, 6, 7):
        assert bpc[f"ngram{n}"] == NGramModel(n, vocab).fit(TEXT).bits_per_char(TEXT[:300])


@pytest.mark.parametrize("order", [1, 3, 5])
def test_distributions_of_a_text_are_each_positions_distribution(order: int) -> None:
    text = "to be, or not to be: that is the question. " * 4
    model = NGramModel(order, Vocab.from_text(text)).fit(text)
    probe = text[:40]
    rows = model.distributions(probe, chunk=7)  # a chunk that does not divide the length
    assert rows.shape == (len(probe), len(model.vocab))
    for t in (0, 1, order, 39):
        np.testing.assert_allclose(rows[t], model.distribution(probe[:t]), rtol=1e-12, atol=0)
    ids = model.vocab.encode(probe)
    np.testing.assert_allclose(np.log2(rows[np.arange(1, len(probe)), ids[1:]]), model.log2_probs(probe), atol=1e-12)
