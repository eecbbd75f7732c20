"""Data adapters: turn what ``fit``/``evaluate``/``predict`` accept into batches of tensors.

- ``ArrayData``: NumPy arrays / torch tensors (or lists/dicts of them for several inputs or
  outputs). They are converted to tensors ONCE, checked (lengths, NaN/inf), and each batch is a
  slice of them, so a batch costs a few microseconds. Shuffling draws from torch's global RNG, so
  ``torch.manual_seed`` (or ``keras.utils.set_random_seed``) makes training reproducible.
- ``IterableData``: a torch ``DataLoader``, a Python generator/iterator, or a Keras-like dataset
  (``PyDataset``/``Sequence`` with ``__getitem__``/``__len__``, or any re-iterable) yielding
  ``x``, ``(x, y)`` or ``(x, y, sample_weight)`` batches.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from lstmkit.keras.engine.layer import as_tensor

_FULL_COPY_LIMIT = 512 * 2**20  # up to this many bytes, a shuffled epoch is gathered in one go


def map_struct(fn: Callable[[Any], Any], s: Any) -> Any:
    if isinstance(s, dict):
        return {k: map_struct(fn, v) for k, v in s.items()}
    if isinstance(s, (list, tuple)):
        return type(s)(map_struct(fn, v) for v in s)
    return None if s is None else fn(s)


def flat_struct(s: Any) -> list[Any]:
    if isinstance(s, dict):
        return [t for v in s.values() for t in flat_struct(v)]
    if isinstance(s, (list, tuple)):
        return [t for v in s for t in flat_struct(v)]
    return [] if s is None else [s]


def _named(s: Any, prefix: str) -> list[tuple[str, Any]]:
    """Leaves with a readable path: ``x``, ``x[1]``, ``y['out1']``."""
    if isinstance(s, dict):
        return [p for k, v in s.items() for p in _named(v, f"{prefix}[{k!r}]")]
    if isinstance(s, (list, tuple)):
        return [p for k, v in enumerate(s) for p in _named(v, f"{prefix}[{k}]")]
    return [] if s is None else [(prefix, s)]


def is_array_like(x: Any) -> bool:
    return isinstance(x, (np.ndarray, torch.Tensor, np.generic)) or (
        hasattr(x, "__array__") and not hasattr(x, "__next__"))


def is_array_data(x: Any) -> bool:
    """Arrays/tensors, nested lists/dicts of them, or nested Python lists of numbers."""
    if x is None or is_array_like(x):
        return True
    if isinstance(x, dict):
        return all(is_array_data(v) for v in x.values())
    if isinstance(x, (list, tuple)):
        return True  # a list of arrays (several inputs) or nested numbers (converted by NumPy)
    return False


def to_tensors(s: Any) -> Any:
    """Arrays (in lists/tuples/dicts) to tensors; a list holding no arrays is one array."""
    if s is None:
        return None
    if isinstance(s, dict):
        return {k: to_tensors(v) for k, v in s.items()}
    if isinstance(s, (list, tuple)):
        if any(is_array_like(v) or isinstance(v, dict) for v in s):
            return [to_tensors(v) for v in s]
        return _convert(s)
    return _convert(s)


def _convert(x: Any) -> torch.Tensor:
    try:
        t = as_tensor(x)
    except (TypeError, ValueError) as e:
        raise TypeError(f"cannot use data of type {type(x).__name__} as an array: {e}") from None
    if t.dim() == 0:
        raise ValueError(f"expected an array with a batch dimension, got a scalar {x!r}")
    return t


def unpack(data: Any) -> tuple[Any, Any, Any]:
    """A batch (or validation_data) as ``(x, y, sample_weight)``, as Keras does: a tuple (or the
    list a DataLoader collates) of 1-3 elements, or x alone."""
    if isinstance(data, list) and 1 <= len(data) <= 3 and not all(isinstance(v, (int, float)) for v in data):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data
    raise ValueError(f"a batch must be x, (x,), (x, y) or (x, y, sample_weight); got a tuple of {len(data)} elements")


def class_weight_to_sample_weight(y: torch.Tensor, class_weight: dict[Any, float]) -> torch.Tensor:
    """Keras' rule: the class of a sample is ``argmax`` of one-hot targets, else the rounded label."""
    if not isinstance(class_weight, dict):
        raise TypeError(f"class_weight must be a dict {{class index: weight}}, got {type(class_weight).__name__}")
    if not isinstance(y, torch.Tensor):
        raise ValueError("class_weight is only supported for models with a single output (one y array)")
    labels = y
    if labels.dim() > 1:
        labels = labels.argmax(-1) if labels.shape[-1] != 1 else labels.squeeze(-1)
    if labels.dim() != 1:
        raise ValueError(f"class_weight needs one class per sample: y of shape {tuple(y.shape)} has several "
                         "(use sample_weight for per-timestep weights)")
    labels = torch.round(labels.double()).long()
    weights = torch.ones(labels.shape[0], dtype=torch.float32, device=labels.device)
    for cls, w in class_weight.items():
        weights[labels == int(cls)] = float(w)
    return weights


def check_finite(s: Any, name: str) -> None:
    """A clear error for NaN/inf in float data, naming the array and counting the bad values."""
    for path, t in _named(s, name):
        if isinstance(t, torch.Tensor) and t.is_floating_point():
            bad = ~torch.isfinite(t)
            count = int(bad.sum())
            if count:
                first = int(bad.reshape(bad.shape[0], -1).any(1).nonzero()[0, 0])
                raise ValueError(f"{path} contains {count} NaN/inf value(s) (first in sample {first}); remove or "
                                 "impute them before training or evaluating")


def num_samples(x: Any, y: Any, sample_weight: Any, what: str) -> int:
    counts = [(p, t.shape[0]) for name, s in (("x", x), ("y", y), ("sample_weight", sample_weight))
              for p, t in _named(s, name)]
    if not counts:
        raise ValueError(f"{what}() got no data: pass x (and y)")
    sizes = {n for _, n in counts}
    if len(sizes) > 1:
        desc = ", ".join(f"{p} has {n}" for p, n in counts)
        raise ValueError(f"all arrays given to {what}() must have the same number of samples: {desc}")
    n = counts[0][1]
    if n == 0:
        raise ValueError(f"{what}() got empty data: {counts[0][0]} has 0 samples")
    return n


def split_validation(x: Any, y: Any, sw: Any, split: float) -> tuple[tuple, tuple]:
    """Keras' validation_split: the LAST ``split`` fraction of the samples (taken before shuffling)."""
    if not 0.0 < split < 1.0:
        raise ValueError(f"validation_split must be in (0, 1), got {split}")
    n = flat_struct(x)[0].shape[0] if flat_struct(x) else 0
    at = int(math.floor(n * (1.0 - split)))
    if at == 0 or at == n:
        raise ValueError(f"the training data has {n} samples, too few to split with validation_split={split}")
    head = (map_struct(lambda t: t[:at], x), map_struct(lambda t: t[:at], y), map_struct(lambda t: t[:at], sw))
    tail = (map_struct(lambda t: t[at:], x), map_struct(lambda t: t[at:], y), map_struct(lambda t: t[at:], sw))
    return head, tail


class ArrayData:
    """In-memory arrays cut into batches.

    Args:
        x, y, sample_weight: tensors (or structures of tensors), already converted.
        batch_size: samples per batch (default 32, or n / steps when only steps is given).
        steps: batches per epoch (the data is cycled through when it is larger than one pass).
        shuffle: reshuffle each pass (``True``), shuffle inside batch-sized chunks (``"batch"``) or not.
        class_weight: {class: weight} turned into per-sample weights.
    """

    def __init__(self, x: Any, y: Any = None, sample_weight: Any = None, batch_size: int | None = None,
                 steps: int | None = None, shuffle: bool | str = False, class_weight: dict | None = None,
                 what: str = "fit"):
        self.n = num_samples(x, y, sample_weight, what)
        if class_weight is not None:
            if sample_weight is not None:
                raise ValueError("pass either class_weight or sample_weight, not both")
            sample_weight = class_weight_to_sample_weight(y, class_weight)
        self.x, self.y, self.sw = x, y, sample_weight
        if batch_size is not None and (not isinstance(batch_size, (int, np.integer)) or batch_size <= 0):
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        self.batch_size = int(batch_size) if batch_size else (math.ceil(self.n / steps) if steps else 32)
        self.steps = steps
        self.shuffle = shuffle
        self.passes_per_epoch = math.ceil(self.n / self.batch_size)
        self.num_batches = steps if steps else self.passes_per_epoch
        self._stream: Iterator | None = None
        self.device = torch.device("cpu")

    def to(self, device: torch.device) -> ArrayData:
        """Move the data to the model's device once (per batch later if it is too large)."""
        self.device = torch.device(device)
        if self.device.type != "cpu" and self.nbytes() <= 2 * _FULL_COPY_LIMIT:
            self.x, self.y, self.sw = (map_struct(lambda t: t.to(self.device), s) for s in (self.x, self.y, self.sw))
        return self

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in flat_struct((self.x, self.y, self.sw)))

    def _one_pass(self) -> Iterator[tuple[Any, Any, Any]]:
        x, y, sw, bs, n = self.x, self.y, self.sw, self.batch_size, self.n
        index = None
        if self.shuffle == "batch":
            perm = torch.arange(n)
            for start in range(0, n, bs):
                perm[start:start + bs] = perm[start:start + bs][torch.randperm(min(bs, n - start))]
            index = perm
        elif self.shuffle:
            index = torch.randperm(n)
        if index is not None and self.nbytes() <= _FULL_COPY_LIMIT:
            index = index.to(flat_struct(x)[0].device)
            x, y, sw = (map_struct(lambda t: t.index_select(0, index), s) for s in (x, y, sw))
            index = None
        move = self.device.type != "cpu" and flat_struct(x)[0].device != self.device
        for start in range(0, n, bs):
            if index is None:
                batch = (_slice(x, start, start + bs), _slice(y, start, start + bs), _slice(sw, start, start + bs))
            else:
                batch = _gather((x, y, sw), index[start:start + bs])
            if move:
                batch = tuple(map_struct(lambda t: t.to(self.device, non_blocking=True), s) for s in batch)
            yield batch

    def epoch(self) -> Iterator[tuple[Any, Any, Any]]:
        """The batches of one epoch."""
        return bounded_epoch(self)


_END = object()


def bounded_epoch(source: Any) -> Iterator[Any]:
    """One epoch of ``source``: a whole ``source._one_pass()`` when ``source.steps`` is unset, else
    exactly ``steps`` items, continuing the pass in ``source._stream`` across epochs and starting
    a new pass whenever one runs out (Keras' ``steps_per_epoch`` over finite data)."""
    if not source.steps:
        yield from source._one_pass()
        return
    for _ in range(source.steps):
        if source._stream is None:
            source._stream = source._one_pass()
        item = next(source._stream, _END)
        if item is _END:
            source._stream = source._one_pass()
            item = next(source._stream)
        yield item


def _gather(structs: tuple, idx: torch.Tensor) -> tuple:
    return tuple(map_struct(lambda t: t.index_select(0, idx.to(t.device)), s) for s in structs)


def _slice(s: Any, a: int, b: int) -> Any:
    if s is None:
        return None
    if isinstance(s, torch.Tensor):
        return s[a:b]
    return map_struct(lambda t: t[a:b], s)


class IterableData:
    """Batches from a DataLoader, a generator, or a Keras-like dataset.

    Args:
        source: the batch source.
        steps: batches per epoch; without it an epoch runs until the source is exhausted.
        class_weight: {class: weight} applied to each batch's y.
    """

    def __init__(self, source: Any, steps: int | None = None, class_weight: dict | None = None):
        self.source = source
        self.steps = steps
        self.class_weight = class_weight
        self.keras_sequence = _is_keras_sequence(source)
        length = None
        try:
            length = source.num_batches if self.keras_sequence else len(source)
        except (TypeError, NotImplementedError, AttributeError):
            pass
        # batches by index: Keras' PyDataset/Sequence (unless endless), or anything with only __getitem__/__len__
        self.indexed = length is not None and (self.keras_sequence or (
            hasattr(source, "__getitem__") and not hasattr(source, "__iter__")))
        self.one_shot = hasattr(source, "__next__") and not self.indexed
        self.length = length
        self.num_batches = steps if steps else length
        self._it: Iterator | None = None
        self.device = torch.device("cpu")
        self.exhausted = False

    def to(self, device: torch.device) -> IterableData:
        self.device = torch.device(device)
        return self

    def _fresh(self) -> Iterator:
        if self.indexed:
            return (self.source[i] for i in range(self.length))
        if self.one_shot:
            return self.source
        return iter(self.source)

    def _convert(self, batch: Any) -> tuple[Any, Any, Any]:
        x, y, sw = unpack(batch)
        x, y, sw = to_tensors(x), to_tensors(y), to_tensors(sw)
        if self.class_weight is not None and sw is None and y is not None:
            sw = class_weight_to_sample_weight(y, self.class_weight)
        if self.device.type != "cpu":
            x, y, sw = (map_struct(lambda t: t.to(self.device, non_blocking=True), s) for s in (x, y, sw))
        return x, y, sw

    def epoch(self) -> Iterator[tuple[Any, Any, Any]]:
        count = 0
        if self.keras_sequence and hasattr(self.source, "on_epoch_begin"):
            self.source.on_epoch_begin()
        if self._it is None or not self.steps:
            self._it = self._fresh()
        while self.steps is None or count < self.steps:
            try:
                batch = next(self._it)
            except StopIteration:
                self._it = None
                if self.one_shot or count == 0 or self.steps is None:
                    break
                self._it = self._fresh()  # a re-iterable source: start its next pass
                continue
            count += 1
            yield self._convert(batch)
        if count == 0:
            self.exhausted = True
            warnings.warn("the input ran out of data before this epoch began; training stops here. Make sure the "
                          "generator can yield steps_per_epoch * epochs batches (or pass a re-iterable dataset).",
                          RuntimeWarning, stacklevel=4)
        if self.keras_sequence and hasattr(self.source, "on_epoch_end"):
            self.source.on_epoch_end()


def _is_keras_sequence(source: Any) -> bool:
    names = {c.__name__ for c in type(source).__mro__}
    return bool(names & {"PyDataset", "Sequence"}) and hasattr(source, "__getitem__")


def make_data(x: Any, y: Any = None, sample_weight: Any = None, batch_size: int | None = None,
              steps: int | None = None, shuffle: bool | str = False, class_weight: dict | None = None,
              what: str = "fit", check: bool = True) -> ArrayData | IterableData:
    """The adapter for whatever the user passed."""
    if x is None:
        raise ValueError(f"{what}() needs x (the input data)")
    if steps is not None and (not isinstance(steps, (int, np.integer)) or steps <= 0):
        raise ValueError(f"steps must be a positive int or None, got {steps!r}")
    if is_array_data(x) and not _is_keras_sequence(x):
        x, y, sample_weight = to_tensors(x), to_tensors(y), to_tensors(sample_weight)
        if check:
            check_finite(x, "x")
            check_finite(y, "y")
            check_finite(sample_weight, "sample_weight")
        return ArrayData(x, y, sample_weight, batch_size=batch_size, steps=steps, shuffle=shuffle,
                         class_weight=class_weight, what=what)
    if y is not None:
        raise ValueError(f"y must be None when x is a {type(x).__name__} (it yields the targets itself)")
    if sample_weight is not None:
        raise ValueError(f"sample_weight must be None when x is a {type(x).__name__} (yield (x, y, sample_weight) "
                         "batches instead)")
    if not (hasattr(x, "__iter__") or hasattr(x, "__next__") or hasattr(x, "__getitem__")):
        raise TypeError(f"unsupported input data of type {type(x).__name__}: pass NumPy arrays, torch tensors, "
                        "a DataLoader, a generator, or a dataset")
    return IterableData(x, steps=steps, class_weight=class_weight)
