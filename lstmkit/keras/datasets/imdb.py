"""``imdb.load_data()`` with Keras' arguments and processing (shuffle with ``seed``, start/OOV
characters, ``index_from``, ``num_words``, ``skip_top``, ``maxlen``), from a cached ``imdb.npz``.

Keras' own ``imdb.npz`` stores the reviews as pickled object arrays (ragged lists), and lstmkit
never unpickles a file. So this reads the same data stored flat: ``x_train_values`` (all word ids,
concatenated), ``x_train_lengths`` (one length per review), ``y_train``, and the same for
``x_test``. ``save_unpickled`` writes that file from arrays you loaded with real Keras once
(``keras.datasets.imdb.load_data(start_char=None, index_from=0)`` gives the raw ids); Keras'
pickled file is refused with one line that says this.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from lstmkit.keras.datasets.npz import load_arrays
from lstmkit.keras.utils.file_utils import get_file

__all__ = ["load_data", "save_unpickled"]

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb.npz"
_KEYS = ["x_train_values", "x_train_lengths", "y_train", "x_test_values", "x_test_lengths", "y_test"]
_HINT = ("; convert it once with real Keras: lstmkit.keras.datasets.imdb.save_unpickled(path, "
         "*keras.datasets.imdb.load_data(start_char=None, index_from=0))")


def save_unpickled(path: str | os.PathLike, train: tuple[Any, Any], test: tuple[Any, Any]) -> None:
    """Write ``(x_train, y_train), (x_test, y_test)`` (lists of word-id lists and labels) in the
    flat layout ``load_data`` reads."""
    arrays = {}
    for split, (x, y) in (("train", train), ("test", test)):
        seqs = [np.asarray(s, dtype=np.int32) for s in x]
        arrays[f"x_{split}_values"] = np.concatenate(seqs) if seqs else np.zeros(0, np.int32)
        arrays[f"x_{split}_lengths"] = np.array([len(s) for s in seqs], dtype=np.int64)
        arrays[f"y_{split}"] = np.asarray(y, dtype=np.int64)
    np.savez(path, **arrays)


def _split(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    if lengths.sum() != len(values):
        raise ValueError(f"corrupt imdb.npz: the review lengths add up to {lengths.sum()}, the word ids are "
                         f"{len(values)}")
    out = np.empty(len(lengths), dtype=object)
    out[:] = np.split(values, np.cumsum(lengths)[:-1]) if len(lengths) else []
    return out


def load_data(path: str = "imdb.npz", num_words: int | None = None, skip_top: int = 0, maxlen: int | None = None,
              seed: int = 113, start_char: int | None = 1, oov_char: int | None = 2, index_from: int = 3,
              **kwargs: Any) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Keras' ``imdb.load_data``: ``(x_train, y_train), (x_test, y_test)``, x as object arrays of
    lists of word ids (see the module docstring for the file layout)."""
    a = load_arrays(get_file(fname=path, origin=ORIGIN), _KEYS, _HINT)
    x_train, labels_train = _split(a["x_train_values"], a["x_train_lengths"]), a["y_train"]
    x_test, labels_test = _split(a["x_test_values"], a["x_test_lengths"]), a["y_test"]
    rng = np.random.RandomState(seed)
    indices = np.arange(len(x_train))
    rng.shuffle(indices)
    x_train, labels_train = x_train[indices], labels_train[indices]
    indices = np.arange(len(x_test))
    rng.shuffle(indices)
    x_test, labels_test = x_test[indices], labels_test[indices]
    shift = index_from or 0
    head = [] if start_char is None else [start_char]
    x_train = [head + [int(w) + shift for w in x] for x in x_train]
    x_test = [head + [int(w) + shift for w in x] for x in x_test]
    if maxlen:
        keep_train = [k for k, x in enumerate(x_train) if len(x) < maxlen]
        keep_test = [k for k, x in enumerate(x_test) if len(x) < maxlen]
        x_train, labels_train = [x_train[k] for k in keep_train], labels_train[keep_train]
        x_test, labels_test = [x_test[k] for k in keep_test], labels_test[keep_test]
        if not x_train or not x_test:
            raise ValueError(f"After filtering for sequences shorter than maxlen={maxlen}, no sequence was kept. "
                             "Increase maxlen.")
    xs = x_train + x_test
    labels = np.concatenate([labels_train, labels_test])
    if not num_words:
        num_words = max(max(x) for x in xs if x)
    if oov_char is not None:
        xs = [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    else:
        xs = [[w for w in x if skip_top <= w < num_words] for x in xs]
    idx = len(x_train)
    out_train, out_test = np.empty(idx, dtype=object), np.empty(len(xs) - idx, dtype=object)
    out_train[:], out_test[:] = xs[:idx], xs[idx:]
    return (out_train, labels[:idx]), (out_test, labels[idx:])
