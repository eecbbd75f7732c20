"""``PyDataset`` (Keras 2's ``Sequence``): the base class of user-written datasets that hand out
whole batches by index. ``fit`` asks it for ``len()`` batches per epoch and calls its
``on_epoch_begin`` / ``on_epoch_end`` hooks; batches are loaded in the training process (the
Keras parallelism options are accepted for compatibility and not used)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any


class PyDataset:
    """Subclass it and implement ``__getitem__(index)`` (one full batch: ``x``, ``(x, y)`` or
    ``(x, y, sample_weight)``) and ``__len__()`` (batches per epoch), or a ``num_batches``
    property returning None for an endless dataset.

    Args:
        workers: Keras' number of loader workers (accepted, unused: batches load in-process).
        use_multiprocessing: Keras' multiprocessing switch (accepted, unused).
        max_queue_size: Keras' prefetch queue length (accepted, unused).
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False, max_queue_size: int = 10):
        self.workers = workers
        self.use_multiprocessing = use_multiprocessing
        self.max_queue_size = max_queue_size

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__(index) returning one batch")

    @property
    def num_batches(self) -> int | None:
        """Batches per epoch (``len(self)``), or None for an endless dataset."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(f"{type(self).__name__} must implement __len__() or the num_batches property")

    def __iter__(self) -> Iterator[Any]:
        n = self.num_batches
        for index in range(n) if n is not None else itertools.count():
            yield self[index]

    def on_epoch_begin(self) -> None:
        """Called at the start of every epoch of ``fit``."""

    def on_epoch_end(self) -> None:
        """Called at the end of every epoch of ``fit`` (e.g. to reshuffle)."""


Sequence = PyDataset  # Keras 2's name
