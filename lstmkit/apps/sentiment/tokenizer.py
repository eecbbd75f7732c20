"""Words to ids for the sentiment model: lstmkit.keras' Tokenizer with a capped vocabulary, an OOV
id for unknown words, and truncation to ``maxlen`` words; its state is a small JSON dict.

Why not save ``Tokenizer.to_json()``: it stores counts for every word ever seen (tens of thousands),
while the model only knows the ``num_words - 1`` ids below ``num_words``. The checkpoint keeps just
those words in id order, which is all that encoding needs.

Sequences are returned unpadded; ``pad`` post-pads (real words first, zeros after). Post-padding
with ``Embedding(mask_zero=True)`` lets the LSTM run on torch's fused kernels over each text's true
length, and padding each batch only to its own longest text (see ``model.py``) keeps short
snippets cheap.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from lstmkit.keras.preprocessing.text import DEFAULT_FILTERS, Tokenizer

__all__ = ["OOV_TOKEN", "TextEncoder", "pad"]

OOV_TOKEN = "<OOV>"
PAD_ID = 0
OOV_ID = 1


class TextEncoder:
    """Encode texts as word-id sequences.

    Args:
        num_words: ids run from 0 to ``num_words - 1``: 0 is padding, 1 the OOV token, and the
            ``num_words - 2`` most frequent training words get ids 2, 3, ... (Keras' convention,
            so ``num_words`` is also the Embedding's ``input_dim``).
        maxlen: longer texts keep their LAST ``maxlen`` words (Keras' default truncation: a
            review's verdict tends to come at its end).
    """

    def __init__(self, num_words: int = 10000, maxlen: int = 200):
        if num_words < 3:
            raise ValueError(f"num_words must be at least 3 (padding, OOV and one word), got {num_words}")
        if maxlen < 1:
            raise ValueError(f"maxlen must be at least 1, got {maxlen}")
        self.num_words = int(num_words)
        self.maxlen = int(maxlen)
        self.vocab: list[str] = []  # vocab[k] has id k + 1; vocab[0] is the OOV token
        self._tokenizer: Tokenizer | None = None

    @property
    def fitted(self) -> bool:
        return self._tokenizer is not None

    def fit(self, texts: Iterable[str]) -> TextEncoder:
        """Build the vocabulary from ``texts`` (the training texts only, so that validation and test
        words the model never saw count as unknown)."""
        tokenizer = Tokenizer(num_words=self.num_words, oov_token=OOV_TOKEN)
        tokenizer.fit_on_texts(list(texts))
        ranked = sorted(tokenizer.word_index.items(), key=lambda item: item[1])
        self.vocab = [word for word, index in ranked if index < self.num_words]
        self._tokenizer = tokenizer
        return self

    def words(self, text: str) -> list[str]:
        """The words of ``text`` as the encoder sees them (lowercased, punctuation removed)."""
        return self._require()._tokens(text)

    def encode(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Each text as an int64 array of ids (unknown words -> the OOV id, at most ``maxlen`` ids).
        A text with no words at all (only punctuation) becomes ``[OOV]``, so every sequence has at
        least one real step."""
        out = []
        for ids in self._require().texts_to_sequences(list(texts)):
            ids = ids[-self.maxlen:] if ids else [OOV_ID]
            out.append(np.asarray(ids, dtype=np.int64))
        return out

    def oov_fraction(self, texts: Sequence[str]) -> float:
        """The share of words in ``texts`` that map to the OOV id."""
        seqs = self._require().texts_to_sequences(list(texts))
        total = sum(len(s) for s in seqs)
        return sum(int(np.sum(np.asarray(s) == OOV_ID)) for s in seqs) / total if total else 0.0

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), maxlen)`` post-padded id matrix (the fixed-size form Keras code expects)."""
        return pad(self.encode(texts), self.maxlen)

    # ------------------------------------------------------------------ state
    def to_state(self) -> dict[str, Any]:
        """JSON-ready state: the settings and the vocabulary in id order."""
        self._require()
        return {"num_words": self.num_words, "maxlen": self.maxlen, "oov_token": OOV_TOKEN, "filters": DEFAULT_FILTERS,
                "lower": True, "vocab": list(self.vocab)}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TextEncoder:
        """Rebuild an encoder from ``to_state()``; ValueError if the state is malformed."""
        try:
            encoder = cls(int(state["num_words"]), int(state["maxlen"]))
            vocab = [str(w) for w in state["vocab"]]
            tokenizer = Tokenizer(num_words=encoder.num_words, oov_token=str(state["oov_token"]),
                                  filters=str(state.get("filters", DEFAULT_FILTERS)),
                                  lower=bool(state.get("lower", True)))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed tokenizer state ({exc!r})") from None
        if not vocab or vocab[0] != tokenizer.oov_token or len(vocab) >= encoder.num_words:
            raise ValueError("malformed tokenizer state: the vocabulary must start with the OOV token and hold fewer "
                             "than num_words entries")
        tokenizer.word_index = {w: i for i, w in enumerate(vocab, start=1)}
        tokenizer.index_word = {i: w for w, i in tokenizer.word_index.items()}
        encoder.vocab, encoder._tokenizer = vocab, tokenizer
        return encoder

    def _require(self) -> Tokenizer:
        if self._tokenizer is None:
            raise RuntimeError("the TextEncoder is not fitted: call fit(texts) first")
        return self._tokenizer


def pad(seqs: Sequence[np.ndarray], length: int | None = None) -> np.ndarray:
    """Post-pad id sequences with 0 to ``length`` (default: the longest one) as an int64 matrix."""
    length = max((len(s) for s in seqs), default=1) if length is None else length
    out = np.zeros((len(seqs), length), dtype=np.int64)
    for row, seq in zip(out, seqs):
        row[:len(seq)] = seq[:length]
    return out
