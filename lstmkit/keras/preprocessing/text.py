"""The legacy Keras text ``Tokenizer`` (``keras.preprocessing.text``), with the exact behaviour of
Keras 2's keras_preprocessing: word ids by descending frequency from 1 (0 is never a word),
optional OOV token at id 1, ``num_words`` cutting at the ``num_words - 1`` most frequent ids,
bag-of-words matrices, and JSON round trips (``to_json`` / ``tokenizer_from_json``).

Plain Python and NumPy; nothing here touches torch.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
_MODES = ("binary", "count", "tfidf", "freq")

__all__ = ["Tokenizer", "hashing_trick", "one_hot", "text_to_word_sequence", "tokenizer_from_json"]


def text_to_word_sequence(input_text: str, filters: str = DEFAULT_FILTERS, lower: bool = True,
                          split: str = " ") -> list[str]:
    """Split a text into words: optionally lowercase, turn every ``filters`` character into
    ``split``, split on ``split`` and drop empty pieces.

    Args:
        input_text: the text.
        filters: characters to remove (each becomes a separator).
        lower: lowercase the text first.
        split: the word separator.
    """
    if not isinstance(input_text, str):
        raise TypeError(f"text_to_word_sequence expects a str, got {type(input_text).__name__}: {input_text!r}")
    if lower:
        input_text = input_text.lower()
    input_text = input_text.translate(str.maketrans({c: split for c in filters}))
    return [w for w in input_text.split(split) if w]


def hashing_trick(text: str, n: int, hash_function: Callable[[str], int] | str | None = None,
                  filters: str = DEFAULT_FILTERS, lower: bool = True, split: str = " ",
                  analyzer: Callable[[str], list[str]] | None = None) -> list[int]:
    """Words to ids in ``[1, n - 1]`` by hashing (collisions possible; 0 is never used).

    Args:
        text: the text.
        n: size of the hashing space.
        hash_function: a callable, "md5" (stable across runs), or None for Python's ``hash``
            (which varies between interpreter runs unless PYTHONHASHSEED is set).
        filters, lower, split: as ``text_to_word_sequence``.
        analyzer: a callable that splits the text into words instead.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"hashing_trick: n must be an integer >= 2, got {n!r}")
    if hash_function is None:
        hash_function = hash
    elif hash_function == "md5":
        def hash_function(w: str) -> int:
            return int(hashlib.md5(w.encode()).hexdigest(), 16)
    seq = text_to_word_sequence(text, filters=filters, lower=lower, split=split) if analyzer is None \
        else analyzer(text)
    return [hash_function(w) % (n - 1) + 1 for w in seq]


def one_hot(input_text: str, n: int, filters: str = DEFAULT_FILTERS, lower: bool = True, split: str = " ",
            analyzer: Callable[[str], list[str]] | None = None) -> list[int]:
    """``hashing_trick`` with Python's ``hash`` (Keras' legacy ``one_hot``, not a one-hot encoding)."""
    return hashing_trick(input_text, n, hash_function=hash, filters=filters, lower=lower, split=split,
                         analyzer=analyzer)


class Tokenizer:
    """Turns texts into sequences of word ids (or bag-of-words matrices), Keras 2's legacy way.

    After ``fit_on_texts``, ``word_index`` maps every word seen to an id, the most frequent word
    first at id 1 (ties keep first-seen order); with ``oov_token`` that token takes id 1 and
    unknown words map to it. Conversions keep only ids below ``num_words``.

    Args:
        num_words: keep only the ``num_words - 1`` most frequent ids when converting (None: all).
            The full ``word_index`` is kept regardless.
        filters: characters removed from the texts (each becomes a separator).
        lower: lowercase the texts.
        split: the word separator.
        char_level: treat every character as a token.
        oov_token: token that replaces out-of-vocabulary words (None: drop them).
        analyzer: callable that turns a text into its list of words, instead of
            ``text_to_word_sequence`` (not saved by ``to_json``).
    """

    def __init__(self, num_words: int | None = None, filters: str = DEFAULT_FILTERS, lower: bool = True,
                 split: str = " ", char_level: bool = False, oov_token: str | None = None,
                 analyzer: Callable[[str], list[str]] | None = None, **kwargs: Any):
        if "nb_words" in kwargs:  # Keras 1 name
            num_words = kwargs.pop("nb_words")
        document_count = kwargs.pop("document_count", 0)
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments: {kwargs}")
        if num_words is not None and (isinstance(num_words, bool) or not isinstance(num_words, (int, np.integer))
                                      or num_words < 0):
            raise ValueError(f"num_words must be None or a non-negative integer, got {num_words!r}")
        if analyzer is not None and not callable(analyzer):
            raise TypeError(f"analyzer must be a callable (text -> list of words) or None, got {analyzer!r}")
        self.word_counts: OrderedDict[str, int] = OrderedDict()
        self.word_docs: defaultdict[str, int] = defaultdict(int)
        self.filters = filters
        self.split = split
        self.lower = lower
        self.num_words = num_words
        self.document_count = document_count
        self.char_level = char_level
        self.oov_token = oov_token
        self.index_docs: defaultdict[int, int] = defaultdict(int)
        self.word_index: dict[str, int] = {}
        self.index_word: dict[int, str] = {}
        self.analyzer = analyzer

    # ------------------------------------------------------------------ tokenising
    def _tokens(self, text: Any) -> Any:
        """The token sequence of one text (a list of words given as a list is taken as is)."""
        if self.char_level or isinstance(text, list):
            if not isinstance(text, (str, list)):
                raise TypeError(f"Tokenizer: each text must be a str (or a list of words), got "
                                f"{type(text).__name__}: {text!r}")
            if self.lower:
                text = [w.lower() for w in text] if isinstance(text, list) else text.lower()
            return text
        if self.analyzer is not None:
            return self.analyzer(text)
        if not isinstance(text, str):
            raise TypeError(f"Tokenizer: each text must be a str (or a list of words), got "
                            f"{type(text).__name__}: {text!r}")
        return text_to_word_sequence(text, filters=self.filters, lower=self.lower, split=self.split)

    @staticmethod
    def _check_texts(texts: Any) -> None:
        # A single string is iterated character by character, as in Keras (char-level models rely on it).
        if not isinstance(texts, Iterable):
            raise TypeError(f"Tokenizer expects a list of texts, got {type(texts).__name__}")

    def fit_on_texts(self, texts: Iterable[Any]) -> None:
        """Count words over ``texts`` (strings, or lists of words) and rebuild ``word_index``."""
        self._check_texts(texts)
        for text in texts:
            self.document_count += 1
            seq = self._tokens(text)
            for w in seq:
                self.word_counts[w] = self.word_counts.get(w, 0) + 1
            for w in set(seq):
                self.word_docs[w] += 1
        ranked = sorted(self.word_counts.items(), key=lambda wc: wc[1], reverse=True)  # stable: ties keep order
        vocab = ([] if self.oov_token is None else [self.oov_token]) + [w for w, _ in ranked]
        self.word_index = {w: i for i, w in enumerate(vocab, start=1)}  # 0 is reserved (padding)
        self.index_word = {i: w for w, i in self.word_index.items()}
        for w, c in list(self.word_docs.items()):
            self.index_docs[self.word_index[w]] = c

    def fit_on_sequences(self, sequences: Iterable[Iterable[int]]) -> None:
        """Count, per id, the documents it occurs in (for "tfidf" matrices of id sequences)."""
        sequences = list(sequences)
        self.document_count += len(sequences)
        for seq in sequences:
            for i in set(seq):
                self.index_docs[i] += 1

    def texts_to_sequences(self, texts: Iterable[Any]) -> list[list[int]]:
        """Each text as its list of word ids (unknown or cut words dropped, or the OOV id)."""
        return list(self.texts_to_sequences_generator(texts))

    def texts_to_sequences_generator(self, texts: Iterable[Any]) -> Iterator[list[int]]:
        """``texts_to_sequences`` one text at a time."""
        self._check_texts(texts)
        num_words = self.num_words
        oov_index = self.word_index.get(self.oov_token)
        for text in texts:
            vect = []
            for w in self._tokens(text):
                i = self.word_index.get(w)
                if i is not None:
                    if num_words and i >= num_words:
                        if oov_index is not None:
                            vect.append(oov_index)
                    else:
                        vect.append(i)
                elif self.oov_token is not None:
                    vect.append(oov_index)
            yield vect

    def sequences_to_texts(self, sequences: Iterable[Iterable[int]]) -> list[str]:
        """Each id sequence back to a space-joined text (unknown or cut ids dropped, or the OOV token)."""
        return list(self.sequences_to_texts_generator(sequences))

    def sequences_to_texts_generator(self, sequences: Iterable[Iterable[int]]) -> Iterator[str]:
        """``sequences_to_texts`` one sequence at a time."""
        num_words = self.num_words
        oov_index = self.word_index.get(self.oov_token)
        for seq in sequences:
            vect = []
            for num in seq:
                word = self.index_word.get(num)
                if word is not None:
                    if num_words and num >= num_words:
                        if oov_index is not None:
                            vect.append(self.index_word[oov_index])
                    else:
                        vect.append(word)
                elif self.oov_token is not None:
                    vect.append(self.index_word[oov_index])
            yield " ".join(vect)

    # ------------------------------------------------------------------ matrices
    def texts_to_matrix(self, texts: Iterable[Any], mode: str = "binary") -> np.ndarray:
        """Bag-of-words matrix ``(len(texts), num_words)`` of the texts; see ``sequences_to_matrix``."""
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode=mode)

    def sequences_to_matrix(self, sequences: Iterable[Iterable[int]], mode: str = "binary") -> np.ndarray:
        """Bag-of-words matrix (float64) of id sequences: column ``j`` is id ``j``.

        Modes: "binary" (1 if present), "count", "freq" (count / sequence length), "tfidf"
        (``(1 + log count) * log(1 + docs / (1 + docs containing j))``). Ids at or above
        ``num_words`` (or ``len(word_index) + 1`` when num_words is None) are ignored.
        """
        if mode not in _MODES:
            raise ValueError(f"Unknown vectorization mode: {mode!r}; expected one of {list(_MODES)}")
        if not self.num_words:
            if not self.word_index:
                raise ValueError("Specify a dimension (`num_words` argument), or fit on some text data first.")
            num_words = len(self.word_index) + 1
        else:
            num_words = self.num_words
        if mode == "tfidf" and not self.document_count:
            raise ValueError("Fit the Tokenizer on some data before using tfidf mode.")
        sequences = list(sequences)
        x = np.zeros((len(sequences), num_words))
        for i, seq in enumerate(sequences):
            if not len(seq):
                continue
            counts: dict[int, int] = defaultdict(int)
            for j in seq:
                if j < num_words:
                    counts[j] += 1
            for j, c in counts.items():
                if mode == "count":
                    x[i][j] = c
                elif mode == "freq":
                    x[i][j] = c / len(seq)
                elif mode == "binary":
                    x[i][j] = 1
                else:  # tfidf, weighting scheme 2 of https://en.wikipedia.org/wiki/Tf%E2%80%93idf
                    tf = 1 + np.log(c)
                    idf = np.log(1 + self.document_count / (1 + self.index_docs.get(j, 0)))
                    x[i][j] = tf * idf
        return x

    # ------------------------------------------------------------------ saving
    def get_config(self) -> dict[str, Any]:
        """Everything but ``analyzer``, the dictionaries as JSON strings (Keras' format)."""
        return {
            "num_words": self.num_words,
            "filters": self.filters,
            "lower": self.lower,
            "split": self.split,
            "char_level": self.char_level,
            "oov_token": self.oov_token,
            "document_count": self.document_count,
            "word_counts": json.dumps(self.word_counts),
            "word_docs": json.dumps(self.word_docs),
            "index_docs": json.dumps(self.index_docs),
            "index_word": json.dumps(self.index_word),
            "word_index": json.dumps(self.word_index),
        }

    def to_json(self, **kwargs: Any) -> str:
        """The tokenizer as a JSON string (``json.dumps`` keyword arguments pass through)."""
        return json.dumps({"class_name": type(self).__name__, "config": self.get_config()}, **kwargs)


def tokenizer_from_json(json_string: str) -> Tokenizer:
    """Rebuild a ``Tokenizer`` from ``Tokenizer.to_json()`` (Keras' format, so Keras-saved
    tokenizers load too)."""
    try:
        config = dict(json.loads(json_string)["config"])
        word_counts = json.loads(config.pop("word_counts"))
        word_docs = json.loads(config.pop("word_docs"))
        index_docs = json.loads(config.pop("index_docs"))
        index_word = json.loads(config.pop("index_word"))
        word_index = json.loads(config.pop("word_index"))
    except (TypeError, KeyError, ValueError) as e:
        raise ValueError(f"not a Tokenizer JSON string (from Tokenizer.to_json()): {e}") from e
    tokenizer = Tokenizer(**config)
    tokenizer.word_counts = OrderedDict(word_counts)
    tokenizer.word_docs = defaultdict(int, word_docs)
    tokenizer.index_docs = defaultdict(int, {int(k): v for k, v in index_docs.items()})  # JSON keys are strings
    tokenizer.index_word = {int(k): v for k, v in index_word.items()}
    tokenizer.word_index = word_index
    return tokenizer
