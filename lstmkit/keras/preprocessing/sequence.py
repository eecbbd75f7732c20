"""``keras.preprocessing.sequence``: ``pad_sequences`` and the legacy ``TimeseriesGenerator``
(batches of past windows and the step that follows them), with Keras' semantics."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from lstmkit.keras.utils.py_dataset import PyDataset
from lstmkit.keras.utils.sequence import pad_sequences

__all__ = ["TimeseriesGenerator", "pad_sequences"]


class TimeseriesGenerator(PyDataset):
    """Batches ``(samples, targets)`` where sample ``i`` holds the ``length`` steps before row
    ``i`` (every ``sampling_rate``-th one) and its target is ``targets[i]``. A ``PyDataset``:
    ``len()`` batches, ``gen[k]`` is batch ``k``; iterate it or pass it to ``fit``.

    Args:
        data: indexable series (list or array), axis 0 = time.
        targets: targets per time step, same length as ``data``.
        length: steps of history in each sample.
        sampling_rate: period between the steps taken into a sample.
        stride: period between successive samples.
        start_index: data before this index is not used.
        end_index: data after this index is not used (default: the last step).
        shuffle: draw sample rows at random (NumPy's global generator, with replacement, as Keras).
        reverse: put the steps of each sample in reverse chronological order.
        batch_size: samples per batch (the last may be smaller).
        **kwargs: ``PyDataset`` options (workers, use_multiprocessing, max_queue_size).
    """

    def __init__(self, data: Any, targets: Any, length: int, sampling_rate: int = 1, stride: int = 1,
                 start_index: int = 0, end_index: int | None = None, shuffle: bool = False, reverse: bool = False,
                 batch_size: int = 128, **kwargs: Any):
        super().__init__(**kwargs)  # PyDataset's options; anything else is a TypeError
        if len(data) != len(targets):
            raise ValueError(f"Data and targets have to be of same length. Data length is {len(data)} "
                             f"while target length is {len(targets)}")
        for name, value in (("length", length), ("sampling_rate", sampling_rate), ("stride", stride),
                            ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"`{name}` must be a positive integer, got {value!r}")
        self.data = data
        self.targets = targets
        self.length = length
        self.sampling_rate = sampling_rate
        self.stride = stride
        self.start_index = start_index + length
        self.end_index = len(data) - 1 if end_index is None else end_index
        self.shuffle = shuffle
        self.reverse = reverse
        self.batch_size = batch_size
        if self.start_index > self.end_index:
            raise ValueError(f"`start_index+length={self.start_index} > end_index={self.end_index}` is disallowed, "
                             "as no part of the sequence would be left to be used as current step.")

    def __len__(self) -> int:
        span = self.batch_size * self.stride
        return (self.end_index - self.start_index + span) // span

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"batch index {index} is out of range for {len(self)} batches")
        index %= len(self)
        if self.shuffle:
            rows = np.random.randint(self.start_index, self.end_index + 1, size=self.batch_size)
        else:
            i = self.start_index + self.batch_size * self.stride * index
            rows = np.arange(i, min(i + self.batch_size * self.stride, self.end_index + 1), self.stride)
        samples = np.array([self.data[row - self.length:row:self.sampling_rate] for row in rows])
        targets = np.array([self.targets[row] for row in rows])
        if self.reverse:
            return samples[:, ::-1, ...], targets
        return samples, targets

    def get_config(self) -> dict[str, Any]:
        """Keras' config (data and targets as JSON strings; ``start_index`` already includes ``length``)."""
        def to_json(name: str, value: Any) -> str:
            value = value.tolist() if isinstance(value, np.ndarray) else value
            try:
                return json.dumps(value)
            except TypeError as e:
                raise TypeError(f"{name} not JSON serializable: {value}") from e

        return {"data": to_json("Data", self.data), "targets": to_json("Targets", self.targets),
                "length": self.length, "sampling_rate": self.sampling_rate, "stride": self.stride,
                "start_index": self.start_index, "end_index": self.end_index, "shuffle": self.shuffle,
                "reverse": self.reverse, "batch_size": self.batch_size}

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps({"class_name": type(self).__name__, "config": self.get_config()}, **kwargs)
