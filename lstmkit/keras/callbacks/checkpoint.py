"""``ModelCheckpoint``: save the model (or its weights) every epoch or every N batches,
optionally only when ``monitor`` improves (Keras 3 semantics). The file format is the model's:
this callback only calls ``model.save(path)`` / ``model.save_weights(path)``."""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np
import torch

from lstmkit.keras.callbacks._save_freq import save_due_on_batch
from lstmkit.keras.callbacks.monitor import MonitorCallback
from lstmkit.keras.engine.registry import register

__all__ = ["ModelCheckpoint"]


@register("callback")
class ModelCheckpoint(MonitorCallback):
    """Save the model or its weights during training.

    Args:
        filepath: where to save; may hold ``str.format`` fields filled from the epoch (1-based)
            and the logs, e.g. ``"ckpt-{epoch:02d}-{val_loss:.2f}.keras"``.
        monitor: the logs key compared when ``save_best_only``.
        verbose: 1 prints a message per save.
        save_best_only: save only when ``monitor`` improves on the best value so far.
        save_weights_only: call ``model.save_weights`` instead of ``model.save``.
        mode: "min", "max" or "auto" (how ``monitor`` improves).
        save_freq: "epoch", or an int: save every that many batches.
        initial_value_threshold: the best value to beat at the start (with ``save_best_only``).
    """

    def __init__(self, filepath: str | os.PathLike, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False, mode: str = "auto",
                 save_freq: str | int = "epoch", initial_value_threshold: float | None = None):
        super().__init__(monitor, mode, initial_value_threshold)
        if not isinstance(filepath, (str, os.PathLike)) or not os.fspath(filepath):
            raise ValueError(f"filepath must be a non-empty path, got {filepath!r}")
        self.verbose = verbose
        self.filepath = os.fspath(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1):
            raise ValueError(f"Unrecognized save_freq: {save_freq!r}. Expected save_freq are 'epoch' or integer values "
                             ">= 1 (a number of batches)")
        self.save_freq = save_freq
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen: int | None = None
        self._current_epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._current_epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self._should_save_on_batch(batch):
            self._save_model(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs)

    def _should_save_on_batch(self, batch: int) -> bool:
        return save_due_on_batch(self, batch)

    def _should_save(self, epoch: int, logs: dict[str, Any], filepath: str) -> bool:
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available. Available metrics are: "
                          f"{','.join(logs)}", stacklevel=3)
            return True
        if isinstance(current, (np.ndarray, torch.Tensor)) and np.ndim(current) > 0:
            warnings.warn(f"Can save best model only when `monitor` is a scalar value. Received: {current}. Falling "
                          "back to `save_best_only=False`.", stacklevel=3)
            return True
        if self.monitor_op is None:
            self._set_monitor_op()
        best = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to {current:.5f}, saving model to "
                      f"{filepath}")
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}")
        return False

    def _save_model(self, epoch: int, batch: int | None, logs: dict[str, Any] | None) -> None:
        logs = logs or {}
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save(epoch, logs, filepath):
            return
        if os.path.isdir(filepath):
            raise OSError(f"Please specify a non-directory filepath for ModelCheckpoint. Filepath used is an existing "
                          f"directory: {filepath}")
        dirname = os.path.dirname(filepath)
        if dirname:
            os.makedirs(dirname, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath)
        else:
            self.model.save(filepath)

    def _get_file_path(self, epoch: int, batch: int | None, logs: dict[str, Any]) -> str:
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except (KeyError, IndexError) as e:
            raise ValueError(f'Failed to format this callback filepath: "{self.filepath}". Reason: {e!r} is not '
                             f"available; available fields: epoch, batch, {', '.join(logs)}") from None
