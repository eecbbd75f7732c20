"""The vocabulary machinery shared by ``StringLookup`` and ``IntegerLookup`` (Keras 3's
``IndexLookup``), in plain Python and NumPy: Keras' own version needs TensorFlow's hash tables.

Index layout, as in Keras: ``[mask]`` (only in "int" mode with a ``mask_token``), then
``num_oov_indices`` out-of-vocabulary slots, then the tokens. ``adapt`` ranks tokens by count,
ties by the token in descending order (Keras' ``np.lexsort(...)[::-1]``); every row of a 2-D batch
is one document for "tf_idf" (a 1-D array passed to ``adapt`` is a column: one token per
document; a 1-D batch from an iterable is one document), ``idf = log(1 + docs / (1 + df))``.

With ``num_oov_indices > 1`` integers go to OOV slot ``value % num_oov_indices`` (Keras'
"floormod"). Strings (and ints with ``oov_method="farmhash"`` or a ``salt``) are hashed with
BLAKE2b, stable across runs and machines but NOT TensorFlow's FarmHash/SipHash: the slot a given
unknown string lands in differs from Keras's.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

from lstmkit.keras.engine.keras_tensor import is_symbolic
from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.layers.preprocessing.category_encoding import encode_categorical

_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")
_ALIASES = {"binary": "multi_hot", "tf-idf": "tf_idf"}
_DROP = -1  # the id of a masked token in the encoded modes: encodes as nothing


class IndexLookup(Layer):
    """Maps tokens to indices (or back, with ``invert=True``) through a vocabulary that is given
    or learned by ``adapt``. Subclasses say what a token is (``_tokens_of``) and how results are
    returned. See ``StringLookup`` / ``IntegerLookup`` for the arguments."""

    _what = "tokens"

    def __init__(self, max_tokens: int | None, num_oov_indices: int, mask_token: Any, oov_token: Any,
                 vocabulary: Any = None, idf_weights: Any = None, invert: bool = False, output_mode: str = "int",
                 sparse: bool = False, pad_to_max_tokens: bool = False, salt: Any = None, name: str | None = None,
                 **kwargs: Any):
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        kwargs.pop("vocabulary_size", None)  # Keras' bookkeeping key in saved configs
        super().__init__(name=name, **kwargs)
        cls = type(self).__name__
        if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int)
                                       or max_tokens <= 1):
            raise ValueError(f"If set, `max_tokens` must be greater than 1. Received: max_tokens={max_tokens}")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"If pad_to_max_tokens is True, must set `max_tokens`. Received: max_tokens={max_tokens}")
        if isinstance(num_oov_indices, bool) or not isinstance(num_oov_indices, int) or num_oov_indices < 0:
            raise ValueError(f"`num_oov_indices` must be greater than or equal to 0. "
                             f"Received: num_oov_indices={num_oov_indices}")
        output_mode = _ALIASES.get(output_mode, output_mode)
        if output_mode not in _MODES:
            raise ValueError(f"Invalid value for argument `output_mode` of {cls}: expected one of {list(_MODES)}. "
                             f"Received: output_mode={output_mode!r}")
        if invert and output_mode != "int":
            raise ValueError("`output_mode` must be `'int'` when `invert` is true. "
                             f"Received: output_mode={output_mode}")
        if sparse:
            raise ValueError("`sparse=True` can only be used with the TensorFlow backend.")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError("`idf_weights` should only be set if `output_mode` is `'tf_idf'`. "
                             f"Received: idf_weights={idf_weights} and output_mode={output_mode}")
        if output_mode == "tf_idf" and has_input_vocabulary and idf_weights is None:
            raise ValueError("When specifying the `vocabulary` argument, in TF-IDF output mode, the `idf_weights` "
                             "argument must also be provided.")
        if salt is not None:
            if isinstance(salt, (tuple, list)) and len(salt) == 2:
                salt = [int(s) for s in salt]
            elif isinstance(salt, int) and not isinstance(salt, bool):
                salt = [salt, salt]
            else:
                raise ValueError(f"The `salt` argument for `IndexLookup` can only be a tuple of 2 integers, or a "
                                 f"single integer. Received: salt={salt}.")
        self.max_tokens = max_tokens
        self.num_oov_indices = num_oov_indices
        self.mask_token = mask_token
        self.oov_token = oov_token
        self.invert = bool(invert)
        self.output_mode = output_mode
        self.sparse = False
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self.salt = salt
        self._has_input_vocabulary = bool(has_input_vocabulary)
        self._tokens: list[Any] = []
        self._index: dict[Any, int] = {}
        self._idf: np.ndarray | None = None
        self._vocabulary_set = False
        self.built = True  # no weights
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # ------------------------------------------------------------------ subclass hooks
    def _tokens_of(self, data: Any, what: str) -> np.ndarray:
        """``data`` as a NumPy array of tokens (object array of str, or int64)."""
        raise NotImplementedError

    def _read_vocabulary_file(self, path: str) -> list[Any]:
        raise NotImplementedError

    def _hash_key(self, token: Any) -> bytes:
        return str(token).encode("utf-8")

    def _hashes(self) -> bool:
        """Whether OOV tokens are hashed into the OOV slots (True) or taken modulo
        ``num_oov_indices`` (False, integers only)."""
        return True

    # ------------------------------------------------------------------ index layout
    def _oov_start(self) -> int:
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start(self) -> int:
        return self._oov_start() + self.num_oov_indices

    def vocabulary_size(self) -> int:
        """The vocabulary's size, mask and OOV slots included."""
        return self._token_start() + len(self._tokens)

    def get_vocabulary(self, include_special_tokens: bool = True) -> list[Any]:
        """The vocabulary in index order (a token's position is its index when the special tokens
        are included)."""
        specials = [self.mask_token] * self._oov_start() + [self.oov_token] * self.num_oov_indices
        return (specials + list(self._tokens)) if include_special_tokens else list(self._tokens)

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        """Use this vocabulary (list/array, or a text file with one token per line), optionally
        starting with the special tokens in ``get_vocabulary()`` order; ``idf_weights`` (same
        length) are required in "tf_idf" mode."""
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ValueError("`idf_weights` must be set if output_mode is 'tf_idf'.")
        if self.output_mode != "tf_idf" and idf_weights is not None:
            raise ValueError(f"`idf_weights` should only be set if output_mode is `'tf_idf'`. Received: "
                             f"output_mode={self.output_mode} and idf_weights={idf_weights}")
        if isinstance(vocabulary, (str, os.PathLike)):
            if not os.path.isfile(vocabulary):
                raise ValueError(f"Vocabulary file {vocabulary} does not exist.")
            if self.output_mode == "tf_idf":
                raise ValueError("output_mode `'tf_idf'` does not support loading a vocabulary from file.")
            vocabulary = self._read_vocabulary_file(os.fspath(vocabulary))
        vocab = list(self._tokens_of(vocabulary, "vocabulary").reshape(-1)) if len(vocabulary) else []
        if not vocab:
            raise ValueError(f"Cannot set an empty vocabulary. Received: vocabulary={vocabulary!r}")
        vocab = [self._plain(t) for t in vocab]
        start = self._token_start()
        specials = [self.mask_token] * self._oov_start() + [self.oov_token] * self.num_oov_indices
        found_specials = vocab[:start] == specials
        tokens = vocab[start:] if found_specials else vocab
        repeated = [t for t, c in Counter(tokens).items() if c > 1]
        if repeated:
            raise ValueError(f"The passed vocabulary has at least one repeated term. Please uniquify your dataset. "
                             f"The repeated terms are: {repeated}")
        for token, what in ((self.mask_token, "mask_token"), (self.oov_token if self.invert else None, "oov_token")):
            if token is not None and token in tokens:
                where = len(vocab) - 1 - vocab[::-1].index(token)
                raise ValueError(f"Found reserved {'mask' if what == 'mask_token' else 'OOV'} token at unexpected "
                                 "location in `vocabulary`. Note that passed `vocabulary` does not need to include the "
                                 "OOV and mask tokens. Either remove all mask and OOV tokens, or include them only at "
                                 f"the start of the vocabulary in precisely this order: {specials}. Received: "
                                 f"{what}={token} at vocabulary index {where}")
        if self.max_tokens is not None and start + len(tokens) > self.max_tokens:
            raise ValueError(f"Attempted to set a vocabulary larger than the maximum vocab size. Received vocabulary "
                             f"size is {start + len(tokens)}; `max_tokens` is {self.max_tokens}.")
        idf = None
        if self.output_mode == "tf_idf":
            idf = np.asarray(idf_weights.detach().cpu().numpy() if isinstance(idf_weights, torch.Tensor)
                             else idf_weights, dtype=np.float64)
            if idf.ndim != 1:
                raise ValueError(f"TF-IDF data must be a 1-index array. Received: shape {idf.shape}")
            if len(idf) != len(vocab):
                raise ValueError(f"`idf_weights` must be the same length as vocabulary. len(idf_weights) is "
                                 f"{len(idf)}; len(vocabulary) is {len(vocab)}")
            if not found_specials:
                idf = np.concatenate([np.full(start, np.average(idf)), idf])
        self._set(tokens, idf)

    def _plain(self, token: Any) -> Any:
        return token.item() if isinstance(token, np.generic) else token

    def _set(self, tokens: list[Any], idf: np.ndarray | None) -> None:
        start = self._token_start()
        self._tokens = tokens
        self._index = {t: i for i, t in enumerate(tokens, start=start)}
        if idf is not None and self.pad_to_max_tokens:
            idf = np.pad(idf, (0, self.max_tokens - len(idf)))
        self._idf = None if idf is None else idf.astype(np.float32)
        self._vocabulary_set = True

    # ------------------------------------------------------------------ adapt
    def adapt(self, data: Any, steps: int | None = None) -> None:
        """Learn the vocabulary (and document frequencies for "tf_idf") from ``data``: an array or
        list of tokens (one batch), or an iterable of batches (``steps`` limits them)."""
        if self._has_input_vocabulary:
            raise ValueError(f"Cannot adapt layer '{self.name}' after setting a static vocabulary via `vocabulary` "
                             "argument or `set_vocabulary()` method.")
        if is_symbolic(data):
            raise TypeError(f"{type(self).__name__}.adapt needs data, not symbolic model inputs")
        single = isinstance(data, (list, tuple, np.ndarray, torch.Tensor, str, bytes, int, np.generic))
        if not single and not isinstance(data, Iterable):
            raise TypeError(f"{type(self).__name__}.adapt expects an array or list of {self._what}, or an iterable "
                            f"of such batches; got {type(data).__name__}")
        counts: Counter[Any] = Counter()
        doc_counts: Counter[Any] = Counter()
        num_docs = 0
        for k, batch in enumerate([data] if single else data):
            if steps is not None and k >= steps:
                break
            arr = self._tokens_of(batch, "adapt data")
            if arr.ndim == 0:
                arr = arr.reshape(1, 1)
            elif arr.ndim == 1:
                arr = arr.reshape(-1, 1) if single else arr.reshape(1, -1)
            counts.update(self._plain(t) for t in arr.reshape(-1))
            if self.output_mode == "tf_idf":
                rows = arr.reshape(arr.shape[0], -1)
                for row in rows:
                    doc_counts.update({self._plain(t) for t in row})
                num_docs += len(rows)
        for special in (self.mask_token, self.oov_token):
            if special is not None:
                counts.pop(special, None)
        ranked = [t for t, _ in sorted(counts.items(), key=lambda tc: (tc[1], tc[0]), reverse=True)]
        if self.max_tokens:
            ranked = ranked[:self.max_tokens - self._token_start()]
        idf = None
        if self.output_mode == "tf_idf":
            df = np.array([doc_counts[t] for t in ranked], dtype=np.float64)
            idf = np.log(1 + num_docs / (1 + df)).astype(np.float32)
            idf = np.concatenate([np.full(self._token_start(), idf.mean() if len(idf) else 0.0), idf])
        self._set(ranked, idf)

    # ------------------------------------------------------------------ lookups
    def _oov_slots(self, tokens: list[Any]) -> np.ndarray:
        n = self.num_oov_indices
        if not self._hashes():
            return np.mod(np.asarray(tokens, dtype=np.int64), n) + self._oov_start()
        key = b"" if self.salt is None else b"".join(int(s).to_bytes(8, "little", signed=True) for s in self.salt)
        return np.array([int.from_bytes(hashlib.blake2b(self._hash_key(t), digest_size=8, key=key).digest(), "little")
                         % n for t in tokens], dtype=np.int64) + self._oov_start()

    def _lookup(self, tokens: np.ndarray) -> np.ndarray:
        """Token array -> int64 index array of the same shape (masked tokens: 0 in "int" mode,
        else a value that encodes as nothing)."""
        flat = [self._plain(t) for t in tokens.reshape(-1)]
        default = self._oov_start() if self.num_oov_indices == 1 else -2
        ids = np.array([self._index.get(t, default) for t in flat], dtype=np.int64)
        if self.mask_token is not None:
            is_mask = np.array([t == self.mask_token for t in flat], dtype=bool)
            ids[is_mask] = 0 if self.output_mode == "int" else _DROP
        else:
            is_mask = np.zeros(len(flat), dtype=bool)
        oov = (ids == -2) & ~is_mask
        if oov.any():
            if self.num_oov_indices == 0:
                found = [flat[i] for i in np.flatnonzero(oov)]
                raise ValueError(f"When `num_oov_indices=0` all inputs should be in vocabulary, found OOV values "
                                 f"{found}, consider setting `num_oov_indices=1`.")
            ids[oov] = self._oov_slots([flat[i] for i in np.flatnonzero(oov)])
        return ids.reshape(tokens.shape)

    def _invert(self, ids: np.ndarray) -> np.ndarray:
        """Index array -> token array (object dtype) of the same shape."""
        start = self._token_start()
        out = np.empty(ids.shape, dtype=object)
        for pos, i in np.ndenumerate(ids):
            i = int(i)
            if self.mask_token is not None and i == 0:
                out[pos] = self.mask_token
            elif start <= i < start + len(self._tokens):
                out[pos] = self._tokens[i - start]
            else:
                out[pos] = self.oov_token
        return out

    def _encode(self, ids: np.ndarray, device: Any = None) -> torch.Tensor:
        """Index array -> the output tensor of ``output_mode``."""
        tensor = torch.from_numpy(np.array(ids, dtype=np.int64))  # (not ascontiguousarray: it makes 0-d 1-d)
        if device is not None:
            tensor = tensor.to(device)
        if self.output_mode == "int":
            return tensor
        if not self.pad_to_max_tokens and not self._vocabulary_set:
            raise RuntimeError(f"When using `output_mode={self.output_mode}` and `pad_to_max_tokens=False`, you must "
                               "set the layer's vocabulary before calling it. Either pass a `vocabulary` argument to "
                               "the layer, or call `adapt` with some sample data.")
        depth = self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()
        if self.output_mode != "tf_idf":
            return encode_categorical(tensor, self.output_mode, depth, torch.int64)
        counts = encode_categorical(tensor, "count", depth, torch.float32)
        return counts * torch.from_numpy(self._idf[:depth]).to(counts.device)

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "invert": self.invert, "max_tokens": self.max_tokens,
                "num_oov_indices": self.num_oov_indices, "oov_token": self.oov_token, "mask_token": self.mask_token,
                "output_mode": self.output_mode, "sparse": False, "pad_to_max_tokens": self.pad_to_max_tokens,
                "vocabulary": self.get_vocabulary() if self._vocabulary_set else None,
                "idf_weights": None if self._idf is None else self._idf[:self.vocabulary_size()].tolist(),
                "vocabulary_size": self.vocabulary_size(), "salt": self.salt,
                "has_input_vocabulary": self._has_input_vocabulary}
