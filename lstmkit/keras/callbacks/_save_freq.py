"""Keras' integer ``save_freq`` rule, shared by ``ModelCheckpoint`` and ``BackupAndRestore``:
count the batches seen since the last save (a batch index not above the last one seen starts a
new epoch, so it counts ``batch + 1``) and save once ``save_freq`` of them have passed."""

from __future__ import annotations

from typing import Any


def save_due_on_batch(callback: Any, batch: int) -> bool:
    """Update ``callback._batches_seen_since_last_saving`` / ``_last_batch_seen`` (None: none yet)
    for ``batch``; True (and the count restarts) when an integer ``save_freq`` is reached."""
    if callback.save_freq == "epoch":
        return False
    last = callback._last_batch_seen
    added = batch + 1 if last is None or batch <= last else batch - last
    callback._batches_seen_since_last_saving += added
    callback._last_batch_seen = batch
    if callback._batches_seen_since_last_saving >= callback.save_freq:
        callback._batches_seen_since_last_saving = 0
        return True
    return False
