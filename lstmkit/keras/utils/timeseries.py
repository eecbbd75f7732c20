"""Sliding windows over a time series as a dataset of NumPy batches:
``timeseries_dataset_from_array`` with Keras' window arithmetic and argument checks, returning a
small re-iterable ``TimeseriesDataset`` instead of a ``tf.data.Dataset`` (no TensorFlow here).

Windows are gathered lazily, one batch at a time, by fancy indexing, so a long series is never
copied once per window.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from lstmkit.keras.utils.dataset_ops import DatasetOps, as_batch


def _as_array(name: str, x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    arr = np.asarray(x)
    if arr.ndim == 0:
        raise ValueError(f"`{name}` must be an array with time on axis 0, got a scalar {x!r}")
    return arr


def _check_int(name: str, value: Any, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"`{name}` must be an integer{' or None' if allow_none else ''}. Received: {name}={value!r}")


class TimeseriesDataset(DatasetOps):
    """Batches of windows (and their targets) over an array; built by ``timeseries_dataset_from_array``.

    Iterating yields ``(x, y)`` NumPy batches, or ``x`` alone when there are no targets;
    ``len()`` is the number of batches (of samples when ``batch_size`` is None) and ``ds[i]`` is
    batch ``i`` of the current epoch. With ``shuffle=True`` the first epoch's order is Keras'
    (``np.random.RandomState(seed).shuffle`` of the window starts) and every later pass over the
    dataset reshuffles from the same generator, so a given seed always gives the same epochs.
    Batches are ``BatchArray`` s (NumPy arrays with ``.numpy()``), and ``take``/``skip``/``map``/
    ``cache``/``prefetch``/``as_numpy_iterator`` work as on a ``tf.data.Dataset``.
    """

    def __init__(self, data: np.ndarray, targets: np.ndarray | None, starts: np.ndarray, sequence_length: int,
                 sampling_rate: int, batch_size: int | None, shuffle: bool, seed: int | None):
        self.data = data
        self.targets = targets
        self.sequence_length = sequence_length
        self.sampling_rate = sampling_rate
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self._offsets = np.arange(sequence_length) * sampling_rate
        self._rng = np.random.RandomState(seed) if shuffle else None
        self._starts = starts
        if self._rng is not None:
            self._rng.shuffle(self._starts)
        self._epochs = 0

    @property
    def num_samples(self) -> int:
        """Number of windows in one pass."""
        return len(self._starts)

    def __len__(self) -> int:
        if self.batch_size is None:
            return self.num_samples
        return -(-self.num_samples // self.batch_size)

    def _batch(self, starts: np.ndarray) -> Any:
        x = as_batch(self.data[starts[:, None] + self._offsets])
        if self.targets is None:
            return x
        return x, as_batch(self.targets[starts])

    def __getitem__(self, index: int) -> Any:
        n = len(self)
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"dataset index must be an integer, got {index!r}")
        if not -n <= index < n:
            raise IndexError(f"batch index {index} is out of range for a dataset of {n} batches")
        index = int(index) % n
        if self.batch_size is None:
            out = self._batch(self._starts[index:index + 1])
            return tuple(a[0] for a in out) if isinstance(out, tuple) else out[0]
        return self._batch(self._starts[index * self.batch_size:(index + 1) * self.batch_size])

    def __iter__(self) -> Iterator[Any]:
        if self._rng is not None and self._epochs > 0:
            self._rng.shuffle(self._starts)
        self._epochs += 1
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        return (f"<TimeseriesDataset samples={self.num_samples}, batch_size={self.batch_size}, "
                f"batches={len(self)}, targets={self.targets is not None}>")


def timeseries_dataset_from_array(data: Any, targets: Any, sequence_length: int, sequence_stride: int = 1,
                                  sampling_rate: int = 1, batch_size: int | None = 128, shuffle: bool = False,
                                  seed: int | None = None, start_index: int | None = None,
                                  end_index: int | None = None) -> TimeseriesDataset:
    """A dataset of sliding windows over ``data`` (time on axis 0), as Keras.

    Window ``k`` starts at ``start_index + k * sequence_stride`` and holds the steps
    ``start, start + sampling_rate, ..., start + (sequence_length - 1) * sampling_rate``; its
    target is ``targets[start_index:end_index][k * sequence_stride]`` (the target at the
    window's first step, shifted by ``start_index``). Windows that would run past ``end_index``
    (or past the end of ``targets``) are dropped.

    Args:
        data: array (or tensor) of consecutive data points, axis 0 = time.
        targets: targets per time step (``targets[i]`` belongs to the window starting at ``i``),
            or None to yield inputs only.
        sequence_length: length of each window, in steps.
        sequence_stride: steps between the starts of successive windows.
        sampling_rate: steps between successive elements of a window.
        batch_size: windows per batch (the last may be smaller); None yields single windows.
        shuffle: draw windows in random order instead of chronological order.
        seed: seed of the shuffle (None: drawn from NumPy's global generator, as Keras).
        start_index: data points before this index are not used.
        end_index: data points from this index on are not used.
    """
    data = _as_array("data", data)
    targets_arr = None if targets is None else _as_array("targets", targets)
    n = len(data)
    _check_int("sequence_length", sequence_length)
    _check_int("sequence_stride", sequence_stride)
    _check_int("sampling_rate", sampling_rate)
    _check_int("batch_size", batch_size, allow_none=True)
    _check_int("start_index", start_index, allow_none=True)
    _check_int("end_index", end_index, allow_none=True)
    _check_int("seed", seed, allow_none=True)
    if sequence_length <= 0:
        raise ValueError(f"`sequence_length` must be higher than 0. Received: sequence_length={sequence_length}")
    if batch_size is not None and batch_size <= 0:
        raise ValueError(f"`batch_size` must be higher than 0 (or None). Received: batch_size={batch_size}")
    # The checks below are Keras' own, in Keras' order (note: 0 skips the index checks, as in Keras).
    if start_index:
        if start_index < 0:
            raise ValueError(f"`start_index` must be 0 or greater. Received: start_index={start_index}")
        if start_index >= n:
            raise ValueError("`start_index` must be lower than the length of the data. "
                             f"Received: start_index={start_index}, for data of length {n}")
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError("`end_index` must be higher than `start_index`. "
                             f"Received: start_index={start_index}, and end_index={end_index} ")
        if end_index >= n:
            raise ValueError("`end_index` must be lower than the length of the data. "
                             f"Received: end_index={end_index}, for data of length {n}")
        if end_index <= 0:
            raise ValueError(f"`end_index` must be higher than 0. Received: end_index={end_index}")
    if sampling_rate <= 0:
        raise ValueError(f"`sampling_rate` must be higher than 0. Received: sampling_rate={sampling_rate}")
    if sampling_rate >= n:
        raise ValueError("`sampling_rate` must be lower than the length of the data. "
                         f"Received: sampling_rate={sampling_rate}, for data of length {n}")
    if sequence_stride <= 0:
        raise ValueError(f"`sequence_stride` must be higher than 0. Received: sequence_stride={sequence_stride}")
    if sequence_stride >= n:
        raise ValueError("`sequence_stride` must be lower than the length of the data. "
                         f"Received: sequence_stride={sequence_stride}, for data of length {n}")

    start = 0 if start_index is None else int(start_index)
    end = n if end_index is None else int(end_index)
    num_seqs = end - start - (sequence_length - 1) * sampling_rate
    sliced_targets = None
    if targets_arr is not None:
        sliced_targets = targets_arr[start:end]
        num_seqs = min(num_seqs, len(sliced_targets))
    index_dtype = np.int32 if num_seqs < 2147483647 else np.int64  # as Keras: the shuffle then matches it
    starts = np.arange(0, max(num_seqs, 0), sequence_stride, dtype=index_dtype)
    if shuffle and seed is None:
        seed = int(np.random.randint(1e6))
    return TimeseriesDataset(data[start:end], sliced_targets, starts, int(sequence_length), int(sampling_rate),
                             None if batch_size is None else int(batch_size), bool(shuffle), seed)
