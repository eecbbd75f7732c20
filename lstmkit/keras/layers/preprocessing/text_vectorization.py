"""``TextVectorization``: strings to token ids (or bag-of-words vectors) with Keras 3's rules,
in plain Python: no TensorFlow, so it runs eagerly on lists/arrays of strings, which is how Keras
itself recommends using it with a non-TensorFlow backend (preprocess the data, then feed the
model the resulting tensors).

Keras' pipeline, step by step: standardise each string (ASCII lowercasing, as
``tf.strings.lower``, and/or stripping ASCII punctuation), split it (ASCII whitespace, or into
characters), add n-grams, then look each token up. In "int" mode id 0 is the padding/mask token
"" and id 1 the out-of-vocabulary token "[UNK]"; in the other modes slot 0 counts unknown tokens.
``adapt`` ranks tokens by count, ties by the token itself in descending order (Keras' ``lexsort``).
"""

from __future__ import annotations

import os
import re
import string
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import torch

from lstmkit.keras.engine.keras_tensor import is_symbolic
from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.engine.registry import register

MASK_TOKEN = ""
OOV_TOKEN = "[UNK]"
_STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
_SPLIT = ("whitespace", "character")
_MODES = ("int", "multi_hot", "count", "tf_idf")
_MODE_ALIASES = {"binary": "multi_hot", "tf-idf": "tf_idf"}
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)  # tf.strings.lower is ASCII-only
_NO_PUNCTUATION = str.maketrans("", "", string.punctuation)  # the set of Keras' regex
_WHITESPACE = re.compile(r"[ \t\n\r\x0b\x0c]+")  # tf.strings.split: ASCII whitespace


def _check_choice(arg: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value is None or callable(value) or value in allowed:
        return
    raise ValueError(f"TextVectorization: `{arg}` must be None, a callable or one of {list(allowed)}. "
                     f"Received: {arg}={value!r}")


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


@register("layer")
class TextVectorization(Layer):
    """Maps strings to sequences of token ids ("int") or to one vector per string ("multi_hot",
    "count", "tf_idf"), with a vocabulary learned by ``adapt(texts)`` or given.

    Calling it on a list/array of strings (shape ``(batch,)`` or ``(batch, 1)``) returns an int64
    tensor ``(batch, output_sequence_length)`` in "int" mode (padded with 0 / truncated at the
    end; without ``output_sequence_length``, padded to the longest string in the batch), else a
    float32 tensor ``(batch, vocabulary_size())`` (``max_tokens`` with ``pad_to_max_tokens``).
    A single string gives one row without the batch axis. It has no weights; its vocabulary is
    part of ``get_config()``, so a saved model restores it.

    Args:
        max_tokens: maximum vocabulary size, special tokens included (None: unlimited).
        standardize: None, "lower_and_strip_punctuation", "lower", "strip_punctuation", or a
            callable taking a NumPy array of str and returning one of the same shape.
        split: None (each string is one token), "whitespace", "character", or a callable taking a
            1-D NumPy array of str and returning one list of tokens per string.
        ngrams: None, an int n (all 1..n-grams) or a tuple of n-gram sizes.
        output_mode: "int", "multi_hot" (alias "binary"), "count" or "tf_idf" (alias "tf-idf").
        output_sequence_length: "int" mode only: pad or truncate every row to this length.
        pad_to_max_tokens: non-"int" modes: make the feature axis ``max_tokens`` long.
        vocabulary: tokens (list, array, or a path to a file with one token per line); then no
            ``adapt`` is needed (nor allowed).
        idf_weights: "tf_idf" mode with ``vocabulary``: inverse document frequency per token.
        sparse: Keras' sparse output; only False is supported (as Keras off TensorFlow).
        ragged: Keras' ragged output; only False is supported (as Keras off TensorFlow).
        encoding: text encoding used to decode ``bytes`` inputs.
        name: layer name.
    """

    def __init__(self, max_tokens: int | None = None,
                 standardize: str | Callable | None = "lower_and_strip_punctuation",
                 split: str | Callable | None = "whitespace", ngrams: int | Sequence[int] | None = None,
                 output_mode: str = "int", output_sequence_length: int | None = None, pad_to_max_tokens: bool = False,
                 vocabulary: Sequence[str] | str | None = None, idf_weights: Sequence[float] | None = None,
                 sparse: bool = False, ragged: bool = False, encoding: str = "utf-8", name: str | None = None,
                 **kwargs: Any):
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        kwargs.pop("vocabulary_size", None)  # Keras' bookkeeping key in saved configs
        super().__init__(name=name, **kwargs)
        if sparse:
            raise ValueError("`sparse=True` can only be used with the TensorFlow backend.")
        if ragged:
            raise ValueError("`ragged=True` can only be used with the TensorFlow backend.")
        _check_choice("standardize", standardize, _STANDARDIZE)
        _check_choice("split", split, _SPLIT)
        output_mode = _MODE_ALIASES.get(output_mode, output_mode)
        if output_mode not in _MODES:
            raise ValueError(f"TextVectorization: `output_mode` must be one of {list(_MODES)}. "
                             f"Received: output_mode={output_mode!r}")
        if isinstance(ngrams, list):
            ngrams = tuple(ngrams)  # a JSON round trip turns the tuple into a list
        if not (ngrams is None or (_is_int(ngrams) and ngrams > 0)
                or (isinstance(ngrams, tuple) and ngrams and all(_is_int(n) and n > 0 for n in ngrams))):
            raise ValueError(f"`ngrams` must be None, a positive integer, or a tuple of positive integers. "
                             f"Received: ngrams={ngrams!r}")
        if output_mode == "int" and not (output_sequence_length is None
                                         or (_is_int(output_sequence_length) and output_sequence_length >= 0)):
            raise ValueError("`output_sequence_length` must be either None or an integer when `output_mode` is "
                             f"'int'. Received: output_sequence_length={output_sequence_length!r}")
        if output_mode != "int" and output_sequence_length is not None:
            raise ValueError("`output_sequence_length` must not be set if `output_mode` is not 'int'. "
                             f"Received output_sequence_length={output_sequence_length}.")
        if max_tokens is not None and (not _is_int(max_tokens) or max_tokens <= 1):
            raise ValueError(f"If set, `max_tokens` must be an integer greater than 1. "
                             f"Received: max_tokens={max_tokens!r}")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"If pad_to_max_tokens is True, must set `max_tokens`. Received: max_tokens={max_tokens}")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError("`idf_weights` should only be set if `output_mode` is 'tf_idf'. "
                             f"Received: output_mode={output_mode!r}")
        if output_mode == "tf_idf" and vocabulary is not None and idf_weights is None:
            raise ValueError("When specifying the `vocabulary` argument, in TF-IDF output mode, the `idf_weights` "
                             "argument must also be provided.")
        self.max_tokens = None if max_tokens is None else int(max_tokens)
        self.standardize = standardize
        self.split = split
        self.ngrams = ngrams
        self._ngram_sizes = tuple(range(1, ngrams + 1)) if _is_int(ngrams) else ngrams
        self.output_mode = output_mode
        self.output_sequence_length = output_sequence_length
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self.encoding = encoding
        self._has_input_vocabulary = bool(has_input_vocabulary)
        self._tokens: list[str] | None = None  # learned/given tokens, without the special ones
        self._index: dict[str, int] = {}
        self._idf: np.ndarray | None = None  # float32, one weight per output slot
        self.built = True  # nothing to build: no weights
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # ------------------------------------------------------------------ vocabulary
    @property
    def _specials(self) -> list[str]:
        return [MASK_TOKEN, OOV_TOKEN] if self.output_mode == "int" else [OOV_TOKEN]

    def get_vocabulary(self, include_special_tokens: bool = True) -> list[str]:
        """The vocabulary in id order; with the special tokens ("" and "[UNK]" in "int" mode,
        "[UNK]" otherwise) a token's position is its id."""
        tokens = list(self._tokens or [])
        return self._specials + tokens if include_special_tokens else tokens

    def vocabulary_size(self) -> int:
        """Size of the vocabulary, special tokens included."""
        return len(self._specials) + len(self._tokens or [])

    def _set_tokens(self, tokens: list[str], idf: np.ndarray | None) -> None:
        start = len(self._specials)
        self._tokens = tokens
        self._index = {t: i for i, t in enumerate(tokens, start=start)}
        if idf is not None and self.pad_to_max_tokens:
            idf = np.pad(idf, (0, self.max_tokens - len(idf)))
        self._idf = None if idf is None else idf.astype(np.float32)

    def set_vocabulary(self, vocabulary: Sequence[str] | str, idf_weights: Sequence[float] | None = None) -> None:
        """Use these tokens (list/array, or a file path with one per line) instead of ``adapt``.

        A vocabulary may start with the special tokens (as ``get_vocabulary()`` returns it) or
        leave them out. In "tf_idf" mode ``idf_weights`` (same length) are required; the unknown
        token's weight is their mean unless the special tokens are included.
        """
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ValueError("`idf_weights` must be set if output_mode is 'tf_idf'.")
        if self.output_mode != "tf_idf" and idf_weights is not None:
            raise ValueError(f"`idf_weights` should only be set if output_mode is 'tf_idf'. "
                             f"Received: output_mode={self.output_mode!r}")
        if isinstance(vocabulary, (str, os.PathLike)):
            if self.output_mode == "tf_idf":
                raise ValueError("output_mode 'tf_idf' does not support loading a vocabulary from file.")
            if not os.path.isfile(vocabulary):
                raise ValueError(f"Vocabulary file {vocabulary} does not exist.")
            with open(vocabulary, encoding=self.encoding) as f:
                vocabulary = f.read().splitlines()
            while vocabulary and vocabulary[-1] == "":
                vocabulary.pop()
        if isinstance(vocabulary, torch.Tensor):
            raise TypeError("TextVectorization: a vocabulary must be strings, got a torch tensor")
        vocab = np.asarray(vocabulary, dtype=object)
        if vocab.ndim != 1:
            raise ValueError(f"TextVectorization: the vocabulary must be 1-D, got shape {vocab.shape}")
        vocab = [self._decode(t, "vocabulary") for t in vocab]
        if not vocab:
            raise ValueError(f"Cannot set an empty vocabulary. Received: vocabulary={vocabulary!r}")
        specials = self._specials
        found_specials = vocab[:len(specials)] == specials
        tokens = vocab[len(specials):] if found_specials else vocab
        repeated = [t for t, c in Counter(tokens).items() if c > 1]
        if repeated:
            raise ValueError(f"The passed vocabulary has at least one repeated term. Please uniquify your dataset. "
                             f"The repeated terms are: {repeated}")
        if MASK_TOKEN in tokens:
            where = len(vocab) - 1 - vocab[::-1].index(MASK_TOKEN)
            raise ValueError(f"Found reserved mask token '' at vocabulary index {where}. The "
                             f"vocabulary need not include the special tokens; if it does, they must come first, "
                             f"in this order: {specials}")
        if self.max_tokens is not None and len(specials) + len(tokens) > self.max_tokens:
            raise ValueError(f"Attempted to set a vocabulary larger than the maximum vocab size. Received vocabulary "
                             f"size is {len(specials) + len(tokens)}; `max_tokens` is {self.max_tokens}.")
        idf = None
        if self.output_mode == "tf_idf":
            idf = np.asarray(idf_weights, dtype=np.float64)
            if idf.ndim != 1:
                raise ValueError(f"TF-IDF data must be a 1-index array. Received: shape {idf.shape}")
            if len(idf) != len(vocab):
                raise ValueError(f"`idf_weights` must be the same length as vocabulary. len(idf_weights) is "
                                 f"{len(idf)}; len(vocabulary) is {len(vocab)}")
            if not found_specials:
                idf = np.concatenate([np.full(len(specials), np.average(idf)), idf])
        self._set_tokens(tokens, idf)

    def adapt(self, data: Any, batch_size: int | None = None, steps: int | None = None) -> None:
        """Learn the vocabulary (and, in "tf_idf" mode, document frequencies) from ``data``: a
        list/array of strings, or any iterable of such batches (``steps`` limits the batches)."""
        if self._has_input_vocabulary:
            raise ValueError(f"Cannot adapt layer '{self.name}' after setting a static vocabulary via the "
                             "`vocabulary` argument.")
        if isinstance(data, (str, bytes, list, tuple, np.ndarray)):
            batches: Iterable[Any] = [data]
        elif isinstance(data, torch.Tensor) or is_symbolic(data) or not isinstance(data, Iterable):
            raise TypeError(f"TextVectorization.adapt expects a list/array of strings or an iterable of batches "
                            f"of strings, got {type(data).__name__}")
        else:
            batches = data
        counts: Counter[str] = Counter()
        doc_counts: Counter[str] = Counter()
        num_docs = 0
        for k, batch in enumerate(batches):
            if steps is not None and k >= steps:
                break
            rows, _ = self._tokenize(batch)
            for row in rows:
                counts.update(row)
                if self.output_mode == "tf_idf":
                    doc_counts.update(set(row))
            num_docs += len(rows)
        counts.pop(MASK_TOKEN, None)
        counts.pop(OOV_TOKEN, None)
        ranked = [t for t, _ in sorted(counts.items(), key=lambda tc: (tc[1], tc[0]), reverse=True)]
        if self.max_tokens:
            ranked = ranked[:self.max_tokens - len(self._specials)]
        idf = None
        if self.output_mode == "tf_idf":
            df = np.array([doc_counts[t] for t in ranked], dtype=np.float64)
            idf = np.log(1 + num_docs / (1 + df)).astype(np.float32)
            oov = idf.mean() if len(idf) else np.float32(0)
            idf = np.concatenate([np.full(len(self._specials), oov, dtype=np.float32), idf])
        self._set_tokens(ranked, idf)

    # ------------------------------------------------------------------ text processing
    def _decode(self, value: Any, what: str) -> str:
        if isinstance(value, str):
            return str(value)
        if isinstance(value, bytes):
            return value.decode(self.encoding)
        raise TypeError(f"TextVectorization: {what} must be strings, got {type(value).__name__}: {value!r}")

    def _strings(self, inputs: Any) -> np.ndarray:
        """Inputs as an object array of Python str (any rank)."""
        if is_symbolic(inputs):
            raise TypeError("TextVectorization works eagerly on Python strings, not on symbolic model inputs: "
                            "apply it to the data before the model (x = vectorizer(texts)), as Keras advises "
                            "for non-TensorFlow backends")
        if isinstance(inputs, torch.Tensor):
            raise TypeError(f"TextVectorization expects strings (a str, or a list/array of str), got a torch "
                            f"tensor of dtype {inputs.dtype}")
        try:
            arr = np.asarray(inputs)
        except ValueError as e:
            raise ValueError(f"TextVectorization expects a rectangular list/array of strings: {e}") from e
        if arr.size == 0:
            return np.empty(arr.shape, dtype=object)
        if arr.dtype.kind not in "USO":
            raise TypeError(f"TextVectorization expects strings (a str, or a list/array of str), got an array of "
                            f"dtype {arr.dtype}")
        out = np.empty(arr.shape, dtype=object)
        for pos, value in np.ndenumerate(arr):
            out[pos] = self._decode(value, "inputs")
        return out

    def _standardized(self, arr: np.ndarray) -> np.ndarray:
        mode = self.standardize
        if callable(mode):
            result = np.asarray(mode(arr.astype(str) if arr.size else np.empty(arr.shape, dtype=str)))
            if result.shape != arr.shape:
                raise ValueError(f"the `standardize` callable must return an array of the input's shape "
                                 f"{arr.shape}, got shape {result.shape}")
            return self._strings(result)
        if mode is None:
            return arr
        out = np.empty(arr.shape, dtype=object)
        for pos, s in np.ndenumerate(arr):
            if mode in ("lower", "lower_and_strip_punctuation"):
                s = s.translate(_ASCII_LOWER)
            if mode in ("strip_punctuation", "lower_and_strip_punctuation"):
                s = s.translate(_NO_PUNCTUATION)
            out[pos] = s
        return out

    def _tokenize(self, inputs: Any) -> tuple[list[list[str]], bool]:
        """One token list per example, and whether the input was a single string."""
        arr = self._standardized(self._strings(inputs))
        scalar = arr.ndim == 0
        if arr.ndim > 2:
            raise ValueError(f"TextVectorization takes inputs of rank 0, 1 or 2, got shape {arr.shape}")
        if self.split is None:  # every string is one token; a (batch, k) array gives k tokens per example
            rows = [[arr.item()]] if scalar else [[s] for s in arr] if arr.ndim == 1 else [list(r) for r in arr]
        else:
            if arr.ndim == 2:
                if arr.shape[-1] != 1:
                    raise ValueError("When using `TextVectorization` to tokenize strings, the input rank must be 1 "
                                     f"or the last shape dimension must be 1. Received: inputs.shape={arr.shape}")
                arr = arr[:, 0]
            texts = arr.reshape(-1)
            if self.split == "whitespace":
                rows = [[t for t in _WHITESPACE.split(s) if t] for s in texts]
            elif self.split == "character":
                rows = [list(s) for s in texts]
            else:
                result = self.split(texts.astype(str) if texts.size else np.empty(0, dtype=str))
                rows = [[self._decode(t, "split tokens") for t in row] for row in result]
                if len(rows) != len(texts):
                    raise ValueError(f"the `split` callable must return one token list per string: got {len(rows)} "
                                     f"lists for {len(texts)} strings")
        if self._ngram_sizes is not None:
            rows = [[" ".join(row[i:i + n]) for n in self._ngram_sizes for i in range(len(row) - n + 1)]
                    for row in rows]
        return rows, scalar

    # ------------------------------------------------------------------ calling
    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> torch.Tensor:
        # Strings never become tensors, so the base class' conversion and shape tracing are skipped.
        unknown = set(kwargs) - {"training", "mask"}
        if args or unknown:
            raise TypeError(f"TextVectorization takes only the inputs (and optionally training=), got extra "
                            f"{'positional arguments' if args else sorted(unknown)}")
        return self.call(inputs)

    def call(self, inputs: Any) -> torch.Tensor:
        if self._tokens is None:
            raise RuntimeError(f"TextVectorization layer '{self.name}' has no vocabulary yet: call adapt(texts) or "
                               "pass vocabulary= (or call set_vocabulary()) before using it")
        rows, scalar = self._tokenize(inputs)
        if self.output_mode == "int":
            length = self.output_sequence_length
            if length is None:
                length = max((len(r) for r in rows), default=0)
            out = np.zeros((len(rows), length), dtype=np.int64)
            for i, row in enumerate(rows):
                ids = [0 if t == MASK_TOKEN else self._index.get(t, 1) for t in row[:length]]
                out[i, :len(ids)] = ids
        else:
            depth = self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()
            out = np.zeros((len(rows), depth), dtype=np.float32)
            for i, row in enumerate(rows):
                for t in row:
                    if t != MASK_TOKEN:  # the mask token is dropped, as Keras
                        out[i, self._index.get(t, 0)] += 1
            if self.output_mode == "multi_hot":
                np.minimum(out, 1, out=out)
            elif self.output_mode == "tf_idf":
                out *= self._idf
        result = torch.from_numpy(out)
        return result[0] if scalar else result

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({
            "max_tokens": self.max_tokens,
            "standardize": self.standardize,
            "split": self.split,
            "ngrams": self.ngrams,
            "output_mode": self.output_mode,
            "output_sequence_length": self.output_sequence_length,
            "pad_to_max_tokens": self.pad_to_max_tokens,
            "sparse": False,
            "ragged": False,
            "vocabulary": None if self._tokens is None else self.get_vocabulary(),
            "idf_weights": None if self._idf is None else self._idf[:self.vocabulary_size()].tolist(),
            "encoding": self.encoding,
            "vocabulary_size": self.vocabulary_size(),
            "has_input_vocabulary": self._has_input_vocabulary,
        })
        return config

    def __repr__(self) -> str:
        return (f"<TextVectorization name={self.name}, output_mode={self.output_mode}, "
                f"vocabulary_size={self.vocabulary_size() if self._tokens is not None else None}>")
