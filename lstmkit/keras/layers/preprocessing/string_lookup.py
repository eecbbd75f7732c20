"""``StringLookup``: strings to vocabulary indices (or one/multi-hot, count, tf-idf vectors), and
back with ``invert=True``, as Keras 3's layer on the torch backend (which needs TensorFlow for
it; this one does not).

There are no string tensors in torch, so, like ``TextVectorization``, the layer runs eagerly on
Python data before the model: inputs are a ``str``/``bytes`` or (nested) lists/tuples or NumPy
arrays of them (dtype ``U``, ``S`` or object; bytes are decoded with ``encoding``). Forward
lookups return a torch tensor of the input's shape (int64 in "int" mode); "one_hot",
"multi_hot" and "count" give int64 vectors and "tf_idf" float32, as Keras computes them.
``invert=True`` takes integer ids (lists, NumPy or torch) and returns Python strings as Keras
does on torch: a list (nested lists for rank > 1, one str for a scalar).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lstmkit.keras.engine.keras_tensor import is_symbolic
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.preprocessing.index_lookup import IndexLookup

__all__ = ["StringLookup"]


@register("layer")
class StringLookup(IndexLookup):
    """Maps strings to integer indices through a vocabulary (given, or learned by ``adapt``).

    Args:
        max_tokens: maximum vocabulary size, mask and OOV slots included (None: unlimited).
        num_oov_indices: number of out-of-vocabulary slots (0: unknown strings are an error;
            more than 1: unknown strings are hashed into them, see ``index_lookup``).
        mask_token: the string that maps to index 0 ("int" mode) or to nothing (other modes);
            None: no mask slot.
        oov_token: the string that ``invert=True`` returns for OOV ids.
        vocabulary: list/array of strings, or a path to a text file with one per line.
        idf_weights: "tf_idf" mode with ``vocabulary``: one weight per vocabulary entry.
        invert: map indices back to strings.
        output_mode: "int", "one_hot", "multi_hot" (alias "binary"), "count" or "tf_idf".
        pad_to_max_tokens: make encoded vectors ``max_tokens`` long.
        sparse: only False (Keras' sparse outputs need TensorFlow).
        encoding: the text encoding of ``bytes`` inputs and vocabulary files.
        salt: an int or two ints keying the OOV hash.
    """

    _what = "strings"

    def __init__(self, max_tokens: int | None = None, num_oov_indices: int = 1, mask_token: str | None = None,
                 oov_token: str = "[UNK]", vocabulary: Any = None, idf_weights: Any = None, invert: bool = False,
                 output_mode: str = "int", pad_to_max_tokens: bool = False, sparse: bool = False,
                 encoding: str = "utf-8", name: str | None = None, salt: Any = None, **kwargs: Any):
        self.encoding = encoding
        kwargs.pop("vocabulary_dtype", None)
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices, mask_token=mask_token,
                         oov_token=oov_token, vocabulary=vocabulary, idf_weights=idf_weights, invert=invert,
                         output_mode=output_mode, sparse=sparse, pad_to_max_tokens=pad_to_max_tokens, salt=salt,
                         name=name, **kwargs)

    def _decode(self, value: Any, what: str) -> str:
        if isinstance(value, str):
            return str(value)
        if isinstance(value, bytes):
            return value.decode(self.encoding)
        raise TypeError(f"StringLookup: {what} must be strings (str or bytes), got {type(value).__name__}: {value!r}")

    def _tokens_of(self, data: Any, what: str) -> np.ndarray:
        if is_symbolic(data):
            raise TypeError("StringLookup works eagerly on Python strings, not on symbolic model inputs: apply it to "
                            "the data before the model (ids = lookup(strings)), as Keras advises for non-TensorFlow "
                            "backends")
        if isinstance(data, torch.Tensor):
            raise TypeError(f"StringLookup: {what} must be strings (a str, or a list/array of str), got a torch "
                            f"tensor of dtype {data.dtype}")
        try:
            arr = np.asarray(data, dtype=object) if isinstance(data, (list, tuple)) else np.asarray(data)
        except ValueError as e:
            raise ValueError(f"StringLookup: {what} must be a rectangular list/array of strings: {e}") from e
        if arr.size and arr.dtype.kind not in "USO":
            raise TypeError(f"StringLookup: {what} must be strings (a str, or a list/array of str), got an array of "
                            f"dtype {arr.dtype}")
        out = np.empty(arr.shape, dtype=object)
        for pos, value in np.ndenumerate(arr):
            out[pos] = self._decode(value, what)
        return out

    def _read_vocabulary_file(self, path: str) -> list[str]:
        with open(path, encoding=self.encoding) as f:
            lines = f.read().splitlines()
        while lines and lines[-1] == "":
            lines.pop()
        return lines

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        # Strings never become tensors, so the base class' conversion and shape tracing are skipped.
        unknown = set(kwargs) - {"training", "mask"}
        if args or unknown:
            raise TypeError(f"StringLookup takes only the inputs (and optionally training=), got extra "
                            f"{'positional arguments' if args else sorted(unknown)}")
        return self.call(inputs)

    def call(self, inputs: Any) -> Any:
        if self.invert:
            if isinstance(inputs, torch.Tensor):
                inputs = inputs.detach().cpu().numpy()
            ids = np.asarray(inputs)
            if ids.dtype.kind not in "iu":
                raise TypeError(f"StringLookup(invert=True) expects integer ids, got an array of dtype {ids.dtype}")
            return self._invert(ids).tolist()
        return self._encode(self._lookup(self._tokens_of(inputs, "inputs")))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "encoding": self.encoding}
