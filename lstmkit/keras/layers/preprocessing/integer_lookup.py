"""``IntegerLookup``: integer values (ids, codes, years...) to contiguous vocabulary indices, or
one/multi-hot, count and tf-idf vectors; back with ``invert=True``. Keras 3's layer needs
TensorFlow; this one is a normal lstmkit layer, so it also works inside a functional model (on an
integer ``Input``), on the input's device.

Inputs: Python ints, (nested) lists, NumPy integer arrays or torch tensors (floats are truncated
to int64, as Keras converts them). Outputs are torch tensors of the input's shape ("int", and
``invert=True``) or of encoded vectors: int64 for "one_hot"/"multi_hot"/"count", float32 for
"tf_idf", as Keras computes them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lstmkit.keras.engine.keras_tensor import is_symbolic
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.preprocessing.index_lookup import IndexLookup

__all__ = ["IntegerLookup"]

_OOV_METHODS = ("floormod", "farmhash")


@register("layer")
class IntegerLookup(IndexLookup):
    """Maps integers to indices through a vocabulary (given, or learned by ``adapt``).

    Args:
        max_tokens: maximum vocabulary size, mask and OOV slots included (None: unlimited).
        num_oov_indices: number of out-of-vocabulary slots (0: unknown values are an error; more
            than 1: value ``v`` goes to slot ``v % num_oov_indices``, or is hashed with
            ``oov_method="farmhash"``, see ``index_lookup``).
        mask_token: the value that maps to index 0 ("int" mode) or to nothing (other modes).
        oov_token: the value ``invert=True`` returns for OOV indices (default -1).
        vocabulary: list/array of ints, or a text file with one per line.
        vocabulary_dtype: only "int64" (as Keras).
        idf_weights: "tf_idf" mode with ``vocabulary``: one weight per vocabulary entry.
        invert: map indices back to values.
        output_mode: "int", "one_hot", "multi_hot" (alias "binary"), "count" or "tf_idf".
        sparse: only False (Keras' sparse outputs need TensorFlow).
        pad_to_max_tokens: make encoded vectors ``max_tokens`` long.
        oov_method: "floormod" or "farmhash" (how values pick an OOV slot).
        salt: an int or two ints keying the OOV hash ("farmhash" only).
    """

    _what = "integers"

    def __init__(self, max_tokens: int | None = None, num_oov_indices: int = 1, mask_token: int | None = None,
                 oov_token: int = -1, vocabulary: Any = None, vocabulary_dtype: str = "int64", idf_weights: Any = None,
                 invert: bool = False, output_mode: str = "int", sparse: bool = False, pad_to_max_tokens: bool = False,
                 oov_method: str = "floormod", salt: Any = None, name: str | None = None, **kwargs: Any):
        if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int)
                                       or max_tokens <= 1):
            raise ValueError(f"If `max_tokens` is set for `IntegerLookup`, it must be greater than 1. "
                             f"Received: max_tokens={max_tokens}")
        if isinstance(num_oov_indices, int) and num_oov_indices < 0:
            raise ValueError(f"The value of `num_oov_indices` argument for `IntegerLookup` must >= 0. "
                             f"Received: num_oov_indices={num_oov_indices}")
        if vocabulary_dtype != "int64":
            raise ValueError(f"Only `vocabulary_dtype='int64'` is supported at this time. "
                             f"Received: vocabulary_dtype={vocabulary_dtype}")
        if oov_method not in _OOV_METHODS:
            raise ValueError(f"Invalid value for argument `oov_method` of IntegerLookup: expected one of "
                             f"{list(_OOV_METHODS)}. Received: oov_method={oov_method!r}")
        if salt is not None and oov_method != "farmhash":
            raise ValueError(f"`salt` can only be used when `oov_method='farmhash'`. Received: oov_method={oov_method}")
        self.vocabulary_dtype = vocabulary_dtype
        self.oov_method = oov_method
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                         mask_token=None if mask_token is None else int(mask_token),
                         oov_token=None if oov_token is None else int(oov_token), vocabulary=vocabulary,
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode, sparse=sparse,
                         pad_to_max_tokens=pad_to_max_tokens, salt=salt, name=name, **kwargs)

    def _hashes(self) -> bool:
        return self.oov_method == "farmhash"

    def _tokens_of(self, data: Any, what: str) -> np.ndarray:
        if isinstance(data, torch.Tensor):
            data = data.detach().cpu().numpy()
        arr = np.asarray(data)
        if arr.size and arr.dtype.kind not in "iuf":
            raise TypeError(f"IntegerLookup: {what} must be integers, got an array of dtype {arr.dtype}")
        return arr.astype(np.int64)

    def _read_vocabulary_file(self, path: str) -> list[int]:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        while lines and lines[-1] == "":
            lines.pop()
        try:
            return [int(line) for line in lines]
        except ValueError as e:
            raise ValueError(f"IntegerLookup: the vocabulary file {path} must hold one integer per line: {e}") from e

    def _lookup(self, tokens: np.ndarray) -> np.ndarray:
        # Vectorised: sorted vocabulary + searchsorted, instead of one dict lookup per value.
        start = self._token_start()
        ids = np.full(tokens.shape, -2, dtype=np.int64)
        if self._tokens:
            vocab = np.asarray(self._tokens, dtype=np.int64)
            order = np.argsort(vocab, kind="stable")
            pos = np.searchsorted(vocab[order], tokens).clip(0, len(vocab) - 1)
            found = vocab[order][pos] == tokens
            ids[found] = order[pos[found]] + start
        if self.num_oov_indices == 1:
            ids[ids == -2] = self._oov_start()
        is_mask = tokens == self.mask_token if self.mask_token is not None else np.zeros(tokens.shape, bool)
        ids[is_mask] = 0 if self.output_mode == "int" else -1
        oov = ids == -2
        if oov.any():
            if self.num_oov_indices == 0:
                raise ValueError(f"When `num_oov_indices=0` all inputs should be in vocabulary, found OOV values "
                                 f"{tokens[oov].tolist()}, consider setting `num_oov_indices=1`.")
            ids[oov] = self._oov_slots(tokens[oov].tolist())
        return ids

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        # A (nested) Python list is one array of values here, not a list of inputs.
        if isinstance(inputs, (list, tuple)) and not is_symbolic(inputs):
            inputs = torch.as_tensor(np.asarray(inputs))
        return super().__call__(inputs, *args, **kwargs)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        tokens = inputs.detach().cpu().numpy().astype(np.int64)
        if self.invert:
            out = self._invert(tokens)
            return torch.from_numpy(out.astype(np.int64)).to(inputs.device)
        return self._encode(self._lookup(tokens), device=inputs.device)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "vocabulary_dtype": self.vocabulary_dtype, "oov_method": self.oov_method}
