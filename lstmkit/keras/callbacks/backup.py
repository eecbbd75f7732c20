"""``BackupAndRestore``: a ``fit`` that was killed resumes where its last backup was taken
(Keras 3's ``keras.callbacks.BackupAndRestore``, same arguments and file names in ``backup_dir``).

What is backed up goes further than Keras' weights and epoch number: the optimizer state (moments,
step count, learning rate) and the random generators (torch CPU and CUDA, NumPy, Python) are in
the backup too, so a resumed ``fit(shuffle=True)`` with dropout draws the same permutations and
masks as a run that was never stopped and ends with bit-identical weights (with
``save_freq="epoch"``, data given as arrays and no ``steps_per_epoch`` that cuts passes across
epochs; a generator or DataLoader cannot be rewound).

Files: ``latest.weights.h5`` holds the whole state (a safetensors file whatever its Keras name:
see _state.py), written atomically; ``training_metadata.json`` repeats the epoch and batch for
people and tools. With ``double_checkpoint`` the previous backup is kept as ``*.bkp``; a ``*.bkp``
is used when the latest backup cannot be read.

Keras' semantics are kept for ``save_freq=N`` (a backup every N batches): the resumed ``fit``
restarts the epoch that was in progress, from the weights of the last backup.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from lstmkit.io import atomic_write_bytes, atomic_write_json
from lstmkit.keras.callbacks import _state
from lstmkit.keras.callbacks._save_freq import save_due_on_batch
from lstmkit.keras.callbacks.base import Callback
from lstmkit.keras.engine.registry import register

__all__ = ["BackupAndRestore"]


@register("callback")
class BackupAndRestore(Callback):
    """Back up the training state during ``fit`` and restore it when ``fit`` starts again.

    Args:
        backup_dir: the folder of the backup (used by this callback only).
        save_freq: ``"epoch"`` (a backup at the end of every epoch) or an int N (every N batches).
        double_checkpoint: keep the previous backup too, and fall back to it if the latest one is
            unreadable (a disk error, a file overwritten by hand).
        delete_checkpoint: delete ``backup_dir`` when ``fit`` completes.
    """

    def __init__(self, backup_dir: str | os.PathLike, save_freq: str | int = "epoch", double_checkpoint: bool = False,
                 delete_checkpoint: bool = True):
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int)):
            raise ValueError(f"Invalid value for argument `save_freq`. Received: save_freq={save_freq}. Expected "
                             "either 'epoch' or an integer value.")
        if save_freq != "epoch" and save_freq < 1:
            raise ValueError(f"Invalid value for argument `save_freq`. Received: save_freq={save_freq}. An integer "
                             "save_freq is a number of batches, >= 1.")
        self.save_freq = save_freq
        self.double_checkpoint = bool(double_checkpoint)
        self.delete_checkpoint = bool(delete_checkpoint)
        self.backup_dir = os.fspath(backup_dir)
        self._weights_path = os.path.join(self.backup_dir, "latest.weights.h5")
        self._training_metadata_path = os.path.join(self.backup_dir, "training_metadata.json")
        self._prev_weights_path = f"{self._weights_path}.bkp"
        self._prev_training_metadata_path = f"{self._training_metadata_path}.bkp"
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self._current_epoch = 0

    # ------------------------------------------------------------------ restore
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if not getattr(self.model, "built", False):
            raise ValueError("To use the BackupAndRestore callback, your model must be built before you call `fit()`. "
                             f"Model {getattr(self.model, 'name', self.model)!r} is unbuilt. You can build it "
                             "beforehand by calling it on a batch of data.")
        try:
            self._load(self._weights_path)
        except (OSError, ValueError):
            if not os.path.exists(self._prev_weights_path):
                raise
            self._load(self._prev_weights_path)

    def _load(self, path: str) -> None:
        if not os.path.exists(path):
            return
        with open(path, "rb") as f:
            data = f.read()
        meta, tensors = _state.read_state(data, repr(path))
        try:
            _state.restore_state(self.model, meta, tensors)
        except (KeyError, TypeError) as e:
            raise ValueError(f"{path!r} is an incomplete backup ({type(e).__name__}: {e})") from None
        self._current_epoch = int(meta["epoch"])
        self.model._initial_epoch = self._current_epoch  # fit() starts there (Keras' attribute)

    # ------------------------------------------------------------------ back up
    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self.save_freq == "epoch":
            self._save()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self._should_save_on_batch(batch):
            self._save()

    def _should_save_on_batch(self, batch: int) -> bool:
        return save_due_on_batch(self, batch)

    def _save(self) -> None:
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint:
            for src, dst in ((self._weights_path, self._prev_weights_path),
                             (self._training_metadata_path, self._prev_training_metadata_path)):
                if os.path.exists(src):
                    with open(src, "rb") as f:
                        atomic_write_bytes(dst, f.read())
        data = _state.state_bytes(self.model, self._current_epoch, self._last_batch_seen)
        atomic_write_bytes(self._weights_path, data)
        atomic_write_json(self._training_metadata_path, {"epoch": self._current_epoch, "batch": self._last_batch_seen})

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.delete_checkpoint and os.path.isdir(self.backup_dir):
            shutil.rmtree(self.backup_dir)

    def get_config(self) -> dict[str, Any]:
        return {"backup_dir": self.backup_dir, "save_freq": self.save_freq,
                "double_checkpoint": self.double_checkpoint, "delete_checkpoint": self.delete_checkpoint}

