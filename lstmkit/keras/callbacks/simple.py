"""Small Keras callbacks (Keras 3 semantics): ``LearningRateScheduler`` (rate per epoch from a
function), ``CSVLogger`` (epoch logs to a CSV file), ``TerminateOnNaN`` (stop on a NaN/inf
loss) and ``LambdaCallback`` (hooks from plain functions)."""

from __future__ import annotations

import collections
import csv
import inspect
import math
import numbers
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from lstmkit.keras.callbacks.base import Callback
from lstmkit.keras.engine.registry import register

__all__ = ["LearningRateScheduler", "CSVLogger", "TerminateOnNaN", "LambdaCallback", "TimeBudget"]


def _takes_two_arguments(fn: Callable[..., Any]) -> bool | None:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params)


@register("callback")
class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch to ``schedule(epoch, lr)`` (or
    ``schedule(epoch)``), epochs counted from 0.

    Args:
        schedule: a function of the epoch index (and the current rate) returning the new rate.
        verbose: 1 prints the new rate each epoch.
    """

    def __init__(self, schedule: Callable[..., float], verbose: int = 0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"schedule must be a function (epoch, lr) -> lr, got {schedule!r}")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        optimizer = self.model.optimizer
        if not hasattr(optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        lr = float(optimizer.learning_rate)
        two = _takes_two_arguments(self.schedule)
        if two is None:
            try:
                new_lr = self.schedule(epoch, lr)
            except TypeError:  # Keras' fallback for one-argument schedules
                new_lr = self.schedule(epoch)
        else:
            new_lr = self.schedule(epoch, lr) if two else self.schedule(epoch)
        if isinstance(new_lr, torch.Tensor) and new_lr.numel() == 1:
            new_lr = float(new_lr)
        if isinstance(new_lr, bool) or not isinstance(new_lr, (numbers.Real, np.floating, np.integer)):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {new_lr!r}")
        optimizer.learning_rate = float(new_lr)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {float(new_lr)}.")

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


@register("callback")
class CSVLogger(Callback):
    """Stream epoch results to a CSV file: one row per epoch, columns ``epoch`` and the sorted
    log keys (plus ``val_`` columns, "NA" until validation logs appear).

    Args:
        filename: the CSV file.
        separator: the field separator.
        append: append to an existing file (writing the header only if the file is empty)
            instead of overwriting it.
    """

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False):
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer: Any = None
        self.keys: list[str] | None = None
        self.append_header = True
        self.csv_file: Any = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename) as f:
                    self.append_header = not bool(len(f.readline()))
            mode = "a"
        else:
            mode = "w"
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = open(self.filename, mode, newline="")  # closed in on_train_end
        self.writer = None
        self.keys = None

    @staticmethod
    def _handle_value(value: Any) -> Any:
        if isinstance(value, str):
            return value
        if isinstance(value, collections.abc.Iterable) and not (isinstance(value, np.ndarray) and value.ndim == 0):
            return f'"[{", ".join(map(str, value))}]"'
        return value

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        if self.csv_file is None:
            raise RuntimeError("CSVLogger: on_epoch_end called before on_train_begin")
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys.extend([f"val_{k}" for k in self.keys])
        if self.writer is None:
            sep = self.sep

            class Dialect(csv.excel):
                delimiter = sep

            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch", *self.keys], dialect=Dialect)
            if self.append_header:
                self.writer.writeheader()
        row = collections.OrderedDict({"epoch": epoch})
        row.update((key, self._handle_value(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None


@register("callback")
class TerminateOnNaN(Callback):
    """Stop training (``model.stop_training = True``, with a message) as soon as a batch loss is
    NaN or infinite.

    Args:
        raise_error: raise a RuntimeError instead of stopping quietly.
    """

    def __init__(self, raise_error: bool = False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        value = float(loss)
        if math.isnan(value) or math.isinf(value):
            if self.raise_error:
                raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. Loss value: {value}. Terminating "
                                   "training immediately.")
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


@register("callback")
class LambdaCallback(Callback):
    """A callback from plain functions, one per hook, each called like the hook:
    ``on_epoch_begin(epoch, logs)``, ``on_epoch_end(epoch, logs)``, ``on_train_begin(logs)``,
    ``on_train_end(logs)``, ``on_train_batch_begin(batch, logs)``,
    ``on_train_batch_end(batch, logs)``; any other hook (``on_batch_end=...``,
    ``on_test_end=...``) may be given by keyword too.

    Args:
        on_epoch_begin: called at the start of every epoch.
        on_epoch_end: called at the end of every epoch.
        on_train_begin: called at the start of training.
        on_train_end: called at the end of training.
        on_train_batch_begin: called before every training batch.
        on_train_batch_end: called after every training batch.
        **kwargs: other ``on_*`` hooks.
    """

    def __init__(self, on_epoch_begin: Callable[..., Any] | None = None, on_epoch_end: Callable[..., Any] | None = None,
                 on_train_begin: Callable[..., Any] | None = None, on_train_end: Callable[..., Any] | None = None,
                 on_train_batch_begin: Callable[..., Any] | None = None,
                 on_train_batch_end: Callable[..., Any] | None = None, **kwargs: Any):
        super().__init__()
        hooks = {"on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end, "on_train_begin": on_train_begin,
                 "on_train_end": on_train_end, "on_train_batch_begin": on_train_batch_begin,
                 "on_train_batch_end": on_train_batch_end, **kwargs}
        for name, fn in hooks.items():
            if fn is None:
                continue
            if not name.startswith("on_") or not callable(getattr(Callback, name, None)):
                raise TypeError(f"LambdaCallback got an unknown hook {name!r}")
            if not callable(fn):
                raise TypeError(f"LambdaCallback {name} must be a function, got {fn!r}")
            setattr(self, name, fn)


class TimeBudget(Callback):
    """Stop training once ``seconds`` of training have passed (an lstmkit extra, for demos and
    time-boxed runs). ``per_batch=False`` checks only at epoch ends, so a run that fits its
    budget is unaffected by timing; ``per_batch=True`` stops within a batch of the limit (the
    epoch in progress still gets its validation pass). ``hit`` says whether it stopped training.
    """

    def __init__(self, seconds: float, per_batch: bool = False):
        super().__init__()
        if not isinstance(seconds, (int, float)) or seconds <= 0:
            raise ValueError(f"seconds must be a positive number, got {seconds!r}")
        self.seconds = float(seconds)
        self.per_batch = bool(per_batch)
        self.start = 0.0
        self.hit = False
        if self.per_batch:  # only then a per-batch hook (the training loop skips hooks nobody implements)
            self.on_train_batch_end = lambda batch, logs=None: self._check()

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.start = time.perf_counter()

    def _check(self) -> None:
        if time.perf_counter() - self.start > self.seconds:
            self.hit = True
            self.model.stop_training = True

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._check()
