"""What Keras examples do with a ``tf.data.Dataset`` of batches, on our NumPy datasets:
``for x, y in ds.take(1): x.numpy()``, ``ds.map(fn)``, ``ds.cache().prefetch(AUTOTUNE)``,
``ds.as_numpy_iterator()``, ``ds.skip(n)``, ``ds.cardinality()``.

Batches stay NumPy arrays (``BatchArray``, an ``ndarray`` subclass that adds ``.numpy()``, as
a TensorFlow eager tensor has), so NumPy code and ``fit`` keep working on them unchanged.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

__all__ = ["AUTOTUNE", "UNKNOWN_CARDINALITY", "BatchArray", "DatasetOps", "as_batch"]

AUTOTUNE = -1  # tf.data.AUTOTUNE: accepted by prefetch(), nothing to tune here
UNKNOWN_CARDINALITY = -2  # tf.data.UNKNOWN_CARDINALITY: what cardinality() says when it cannot count


class BatchArray(np.ndarray):
    """A NumPy array with ``.numpy()`` (returns it as a plain ``ndarray``)."""

    def numpy(self) -> np.ndarray:
        return self.view(np.ndarray)


def as_batch(x: Any) -> Any:
    """Arrays (also inside tuples/lists) as ``BatchArray``; anything else unchanged."""
    if isinstance(x, np.ndarray):
        return x.view(BatchArray)
    if isinstance(x, tuple):
        return tuple(as_batch(v) for v in x)
    return x


def _plain(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return x.view(np.ndarray)
    if isinstance(x, tuple):
        return tuple(_plain(v) for v in x)
    return x


class DatasetOps:
    """Mixin for re-iterable datasets (``__iter__`` yields batches): tf.data's common methods."""

    def take(self, count: int) -> _Derived:
        """The first ``count`` batches (all of them for -1)."""
        return _Derived(self, lambda it: it if count == -1 else itertools.islice(it, count), f"take({count})",
                        lambda n: n if count == -1 else min(n, count))

    def skip(self, count: int) -> _Derived:
        """All batches after the first ``count``."""
        return _Derived(self, lambda it: itertools.islice(it, count, None), f"skip({count})",
                        lambda n: max(n - count, 0))

    def map(self, fn: Callable[..., Any], num_parallel_calls: Any = None, deterministic: Any = None) -> _Derived:
        """``fn(*batch)`` (a tuple batch is unpacked, as tf.data does) for every batch, lazily."""
        def apply(it: Iterator[Any]) -> Iterator[Any]:
            for batch in it:
                yield as_batch(fn(*batch) if isinstance(batch, tuple) else fn(batch))
        return _Derived(self, apply, "map", lambda n: n)

    def cache(self, filename: str = "") -> DatasetOps:
        """Accepted for compatibility: batches are computed on each pass (cheap NumPy indexing)."""
        return self

    def prefetch(self, buffer_size: int = AUTOTUNE) -> DatasetOps:
        """Accepted for compatibility: there is no background pipeline to prefetch into."""
        return self

    def as_numpy_iterator(self) -> Iterator[Any]:
        """The batches as plain NumPy arrays."""
        return (_plain(b) for b in self)

    def _count(self) -> int:
        return len(self) if hasattr(self, "__len__") else UNKNOWN_CARDINALITY

    def cardinality(self) -> BatchArray:
        """The number of batches, as tf.data's (a 0-d int64 array: prints as the number, has
        ``.numpy()``); ``UNKNOWN_CARDINALITY`` (-2) where it cannot be known without iterating."""
        return np.asarray(self._count(), dtype=np.int64).view(BatchArray)


class _Derived(DatasetOps):
    """A lazily transformed view of another dataset; re-iterable like its source."""

    def __init__(self, source: Any, transform: Callable[[Iterator[Any]], Iterator[Any]], what: str,
                 size: Callable[[int], int] | None = None):
        self._source, self._transform, self._what = source, transform, what
        self._size = size  # the number of batches from the source's; None: unknown

    def _count(self) -> int:
        n = self._source._count() if isinstance(self._source, DatasetOps) else UNKNOWN_CARDINALITY
        return UNKNOWN_CARDINALITY if n < 0 or self._size is None else self._size(n)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._transform(iter(self._source)))

    def __repr__(self) -> str:
        return f"<{self._what} of {self._source!r}>"
