"""``pad_sequences``: make a batch of variable-length sequences rectangular, exactly as Keras
(``keras.utils.pad_sequences`` / ``keras.preprocessing.sequence.pad_sequences``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

_SIDES = ("pre", "post")


def pad_sequences(sequences: Iterable[Any], maxlen: int | None = None, dtype: Any = "int32", padding: str = "pre",
                  truncating: str = "pre", value: Any = 0.0) -> np.ndarray:
    """Pad (and truncate) sequences to a common length: a ``(num_samples, maxlen, ...)`` array.

    Sequences shorter than ``maxlen`` get ``value`` added on the ``padding`` side; longer ones
    lose steps on the ``truncating`` side. Each step may itself be an array (all steps of all
    sequences the same shape, taken from the first non-empty sequence).

    Args:
        sequences: list (or other iterable) of sequences, e.g. lists of token ids.
        maxlen: length of the output sequences; ``None`` means the longest sequence's length.
        dtype: dtype of the output (``object`` or a string dtype for padding strings).
        padding: "pre" or "post": pad before or after each sequence.
        truncating: "pre" or "post": drop steps from the start or the end of long sequences.
        value: padding value (float or string).
    """
    if padding not in _SIDES:
        raise ValueError(f'Padding type "{padding}" not understood: padding must be "pre" or "post"')
    if truncating not in _SIDES:
        raise ValueError(f'Truncating type "{truncating}" not understood: truncating must be "pre" or "post"')
    if isinstance(sequences, (str, bytes)) or not hasattr(sequences, "__iter__"):
        raise ValueError(f"`sequences` must be iterable (a list of sequences), got {type(sequences).__name__}")
    if not hasattr(sequences, "__len__"):
        sequences = list(sequences)
    if maxlen is not None and (isinstance(maxlen, bool) or not isinstance(maxlen, (int, np.integer)) or maxlen < 0):
        raise ValueError(f"`maxlen` must be None or a non-negative integer, got {maxlen!r}")

    lengths = []
    sample_shape: tuple[int, ...] = ()
    found = False
    for x in sequences:  # the step shape comes from the first non-empty sequence
        if isinstance(x, (str, bytes)) and dtype is not object:
            raise ValueError(f"`sequences` must be a list of iterables (e.g. lists of ints). Found a string: {x!r}")
        try:
            lengths.append(len(x))
        except TypeError as e:
            raise ValueError(f"`sequences` must be a list of iterables. Found non-iterable: {x!s}") from e
        if not found and len(x):
            sample_shape = np.asarray(x).shape[1:]
            found = True
    if maxlen is None:
        maxlen = max(lengths, default=0)
    maxlen = int(maxlen)

    is_dtype_str = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_)
    if isinstance(value, str) and dtype is not object and not is_dtype_str:
        raise ValueError(f"`dtype` {dtype} is not compatible with `value`'s type: {type(value)}\n"
                         "You should set `dtype=object` for variable length strings.")

    out = np.full((len(lengths), maxlen) + sample_shape, value, dtype=dtype)
    if maxlen == 0:
        return out
    for idx, s in enumerate(sequences):
        if not len(s):
            continue
        trunc = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        trunc = np.asarray(trunc, dtype=dtype)
        if trunc.shape[1:] != sample_shape:
            raise ValueError(f"Shape of sample {trunc.shape[1:]} of sequence at position {idx} is different from "
                             f"expected shape {sample_shape}")
        if padding == "post":
            out[idx, : len(trunc)] = trunc
        else:
            out[idx, -len(trunc):] = trunc
    return out
