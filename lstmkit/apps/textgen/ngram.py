"""A smoothed character n-gram language model: the baseline an LSTM text generator has to beat.

Why this smoothing: interpolated modified Kneser-Ney (Chen & Goodman 1998) is the strongest of
the classic n-gram estimators. Each order subtracts a discount from the counts it saw (three
discounts, for counts 1, 2 and 3+, estimated in closed form from the training counts-of-counts,
never tuned on held-out text) and hands the freed mass to the next lower order; lower orders count
in how many distinct contexts a character sequence occurs (continuation counts) rather than how
often, and the lowest one interpolates with the uniform distribution over the vocabulary, so
every character of the vocabulary, even one never seen in training, gets a probability > 0 and
every conditional distribution sums to 1.

Everything is NumPy: an n-gram is an integer code (base = vocabulary size), counts come from
``np.unique``, lookups are ``np.searchsorted`` over whole texts at once, so fitting a 5-gram on the
4 M characters of Shakespeare and scoring half a million characters takes seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstmkit.apps.textgen.vocab import Vocab
from lstmkit.errors import AppError


@dataclass
class _Level:
    """Counts of one order k (k-grams) and the statistics of their (k-1)-character contexts."""

    grams: np.ndarray  # sorted unique k-gram codes
    counts: np.ndarray  # raw counts (highest order) or continuation counts (lower orders)
    contexts: np.ndarray  # sorted unique context codes (k-gram code // V)
    totals: np.ndarray  # per context: sum of counts
    gamma: np.ndarray  # per context: D1*N1 + D2*N2 + D3*N3+ (the mass handed to the lower order)
    discounts: tuple[float, float, float]  # D1, D2, D3+


def _discounts(counts: np.ndarray) -> tuple[float, float, float]:
    """Chen & Goodman's closed-form discounts from the counts-of-counts n1..n4."""
    n1, n2, n3, n4 = (int(np.count_nonzero(counts == c)) for c in (1, 2, 3, 4))
    if min(n1, n2, n3) == 0:  # too little text for the estimate: a standard fixed discount
        return 0.5, 1.0, 1.5
    y = n1 / (n1 + 2 * n2)
    d = (1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3)
    return tuple(float(np.clip(v, 0.05, limit)) for v, limit in zip(d, (1.0, 2.0, 3.0), strict=True))


def _lookup(sorted_keys: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of ``keys`` in ``sorted_keys`` and whether each was found."""
    pos = np.searchsorted(sorted_keys, keys)
    pos = np.minimum(pos, max(len(sorted_keys) - 1, 0))
    found = (sorted_keys[pos] == keys) if len(sorted_keys) else np.zeros(len(keys), dtype=bool)
    return pos, found


class NGramModel:
    """Interpolated modified Kneser-Ney character model of order ``order`` (3 = two characters of context).

    ``fit(text)`` counts; ``bits_per_char(text)`` scores; ``distribution(history)`` gives the
    next-character probabilities over the whole vocabulary.
    """

    def __init__(self, order: int, vocab: Vocab):
        if order < 1:
            raise ValueError("order must be at least 1")
        if float(len(vocab)) ** order >= 2.0**62:
            raise AppError(f"a {order}-gram over {len(vocab)} distinct characters is too large to index: "
                           "use a lower order or a text with fewer distinct characters")
        self.order = order
        self.vocab = vocab
        self.size = len(vocab)
        self.levels: list[_Level] = []

    def _codes(self, windows: np.ndarray, k: int) -> np.ndarray:
        """Codes of the k-grams that end each row of ``windows`` (rows of ``order`` ids)."""
        code = np.zeros(len(windows), dtype=np.int64)
        for column in range(self.order - k, self.order):
            code = code * self.size + windows[:, column]
        return code

    def fit(self, text: str) -> NGramModel:
        """Count the n-grams of ``text`` (it must be longer than ``order`` characters)."""
        ids = self.vocab.encode(text, what="training text")
        if len(ids) <= self.order:
            raise AppError(f"the training text has {len(ids)} characters: a {self.order}-gram model needs more "
                           f"than {self.order}")
        windows = np.lib.stride_tricks.sliding_window_view(ids, self.order)
        levels: list[_Level] = []
        higher: np.ndarray | None = None
        for k in range(self.order, 0, -1):
            if higher is None:  # highest order: raw counts of every k-gram occurrence
                grams, counts = np.unique(self._codes(windows, k), return_counts=True)
            else:  # lower order: in how many distinct contexts (one character to the left) a k-gram occurs
                grams, counts = np.unique(higher % self.size**k, return_counts=True)
            higher = grams
            discounts = _discounts(counts)
            contexts, inverse = np.unique(grams // self.size, return_inverse=True)
            totals = np.bincount(inverse, weights=counts).astype(np.float64)
            per_count = np.where(counts == 1, discounts[0], np.where(counts == 2, discounts[1], discounts[2]))
            gamma = np.bincount(inverse, weights=per_count)
            levels.append(_Level(grams, counts.astype(np.float64), contexts, totals, gamma, discounts))
        self.levels = levels[::-1]  # levels[k - 1] is order k
        return self

    def _probs(self, windows: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """P(last id of each row | the ids before it); ``valid[:, j]`` says column j holds a real id.

        Rows with missing leading ids (the first characters of a text) use the orders their
        history allows.
        """
        if not self.levels:
            raise RuntimeError("call fit() first")
        prob = np.full(len(windows), 1.0 / self.size)
        safe = np.where(valid, windows, 0)
        for k, level in enumerate(self.levels, start=1):
            usable = valid[:, self.order - k :].all(axis=1)
            codes = self._codes(safe, k)
            ctx_pos, ctx_found = _lookup(level.contexts, codes // self.size)
            gram_pos, gram_found = _lookup(level.grams, codes)
            count = np.where(gram_found, level.counts[gram_pos], 0.0)
            d1, d2, d3 = level.discounts
            discount = np.where(count == 0, 0.0, np.where(count == 1, d1, np.where(count == 2, d2, d3)))
            total = level.totals[ctx_pos]
            mixed = (np.maximum(count - discount, 0.0) + level.gamma[ctx_pos] * prob) / np.where(ctx_found, total, 1.0)
            prob = np.where(usable & ctx_found, mixed, prob)
        return prob

    def log2_probs(self, text: str) -> np.ndarray:
        """log2 P(text[t] | text[:t]) for every position t >= 1 (the first character has no history)."""
        ids = self.vocab.encode(text, what="evaluation text")
        if len(ids) < 2:
            raise AppError("the evaluation text needs at least 2 characters")
        padded = np.concatenate([np.zeros(self.order - 1, dtype=np.int64), ids])
        mask = np.concatenate([np.zeros(self.order - 1, dtype=bool), np.ones(len(ids), dtype=bool)])
        windows = np.lib.stride_tricks.sliding_window_view(padded, self.order)[1:]
        valid = np.lib.stride_tricks.sliding_window_view(mask, self.order)[1:]
        out = np.empty(len(windows))
        for start in range(0, len(windows), 1 << 20):  # bounded memory on long texts
            stop = start + (1 << 20)
            out[start:stop] = np.log2(self._probs(windows[start:stop], valid[start:stop]))
        return out

    def distributions(self, text: str, *, chunk: int = 1 << 14) -> np.ndarray:
        """(len(text), V): row t is P(text[t] = c | text[:t]) for each c of ``vocab.chars`` (row 0: no history).

        Why: top-1 accuracy and error analyses need the whole distribution at every position,
        not only the probability of the character that came (``log2_probs``).
        """
        ids = self.vocab.encode(text, what="evaluation text")
        V, n = self.size, len(ids)
        padded = np.concatenate([np.zeros(self.order - 1, dtype=np.int64), ids])
        mask = np.concatenate([np.zeros(self.order - 1, dtype=bool), np.ones(n, dtype=bool)])
        windows = np.lib.stride_tricks.sliding_window_view(padded, self.order)  # row t ends at text[t]
        valid = np.lib.stride_tricks.sliding_window_view(mask, self.order)
        out = np.empty((n, V))
        for start in range(0, n, chunk):
            rows = np.repeat(windows[start:start + chunk], V, axis=0)  # each history once per candidate
            rows[:, -1] = np.tile(np.arange(V), len(rows) // V)
            known = np.repeat(valid[start:start + chunk], V, axis=0)
            out[start:start + chunk] = self._probs(rows, known).reshape(-1, V)
        return out

    def bits_per_char(self, text: str) -> float:
        """Mean -log2 P over the characters of ``text`` after the first (as ``TextGenerator.bits_per_char``)."""
        return float(-self.log2_probs(text).mean())

    def distribution(self, history: str) -> np.ndarray:
        """P(next character | history) over ``vocab.chars`` (sums to 1)."""
        ids = self.vocab.encode(history, what="history")[-(self.order - 1) :] if self.order > 1 else np.zeros(0, int)
        context = np.concatenate([np.zeros(self.order - 1 - len(ids), dtype=np.int64), ids, [0]]).astype(np.int64)
        known = np.arange(self.order) >= self.order - 1 - len(ids)
        windows = np.repeat(context[None, :], self.size, axis=0)
        windows[:, -1] = np.arange(self.size)
        return self._probs(windows, np.repeat(known[None, :], self.size, axis=0))
