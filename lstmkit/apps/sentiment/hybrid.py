"""The LSTM + NB-LR blend, reported beside the pure LSTM (never instead of it).

Why: on ~10k snippets the LSTM (word order, negation, "not bad") and NB-LR (strong, sparse
word and bigram evidence) make different mistakes; a weighted sum of their standardised scores
is better than either alone. It is NOT the LSTM: the app reports it as ``lstm_nblr`` next to
``lstm``, ``nblr`` and ``tfidf_logreg``, so the pure model's win or loss stays visible.

The blend weight is the one choice made here, on the validation split only (the test split is
scored, never looked at): each model's validation scores are divided by their own standard
deviation, so the weight means the same whatever the scales of a logit and an NB-LR margin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Blend", "fit_blend"]

WEIGHTS = tuple(round(w, 2) for w in np.linspace(0.0, 1.0, 21))  # the LSTM's share, 0 (NB-LR) .. 1 (LSTM)


@dataclass(frozen=True)
class Blend:
    """``weight * lstm / lstm_scale + (1 - weight) * nblr / nblr_scale`` (a logit-like score)."""

    weight: float
    lstm_scale: float
    nblr_scale: float

    def score(self, lstm: np.ndarray, nblr: np.ndarray) -> np.ndarray:
        lstm, nblr = np.asarray(lstm, dtype=np.float64), np.asarray(nblr, dtype=np.float64)
        if lstm.shape != nblr.shape:
            raise ValueError(f"the two models scored different numbers of texts: {lstm.shape} vs {nblr.shape}")
        return self.weight * lstm / self.lstm_scale + (1.0 - self.weight) * nblr / self.nblr_scale

    def proba(self, lstm: np.ndarray, nblr: np.ndarray) -> np.ndarray:
        """P(class 1) of the blended score (a logistic squash; its ranking is the score's)."""
        return 1.0 / (1.0 + np.exp(-self.score(lstm, nblr)))


def fit_blend(val_lstm: np.ndarray, val_nblr: np.ndarray, val_labels: np.ndarray) -> Blend:
    """The weight in ``WEIGHTS`` with the highest validation accuracy (ties: the one closest to an
    even 0.5 mix); scales are the validation standard deviations of each model's scores."""
    y = np.asarray(val_labels).astype(np.int64).reshape(-1)
    if y.size == 0 or y.size != np.size(val_lstm) or y.size != np.size(val_nblr):
        raise ValueError(f"fit_blend needs one LSTM score, one NB-LR score and one label per validation text, got "
                         f"{np.size(val_lstm)}, {np.size(val_nblr)} and {y.size}")
    scales = [float(np.std(v)) or 1.0 for v in (val_lstm, val_nblr)]

    def accuracy(w: float) -> float:
        return float(np.mean((Blend(w, *scales).score(val_lstm, val_nblr) >= 0) == (y == 1)))

    best = max(WEIGHTS, key=lambda w: (accuracy(w), -abs(w - 0.5)))
    return Blend(float(best), *scales)
