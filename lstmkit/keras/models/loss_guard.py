"""Stop training on a NaN/inf loss without stalling an accelerator every batch.

On the CPU the loss is read every batch (a read costs nothing there) and a bad batch is refused
BEFORE its update, so the weights stay finite. On a GPU, reading the loss would make the host
wait for the device every batch and lose the overlap of Python and kernels; there the check
runs one batch behind: batch k's finiteness flag is copied to the host asynchronously and read
when batch k+1 is about to update. A bad batch k is then reported before batch k+1 changes
anything (batch k's own update has been applied, as with Keras' TerminateOnNaN).
"""

from __future__ import annotations

import math

import torch


class LossGuard:
    """Finiteness check of training losses (see module docstring)."""

    def __init__(self) -> None:
        self._pending: tuple[torch.Tensor, torch.cuda.Event, torch.Tensor] | None = None

    def check_now(self, loss: torch.Tensor) -> float:
        """Read the loss (CPU path); the caller compares with ``math.isfinite``."""
        return loss.item() if loss.numel() == 1 else float("nan")

    def push(self, loss: torch.Tensor) -> None:
        """Start the asynchronous check of a CUDA loss."""
        flag = torch.empty((), dtype=torch.bool, pin_memory=True)
        finite = torch.isfinite(loss.detach())
        flag.copy_(finite if finite.dim() == 0 else finite.all(), non_blocking=True)
        event = torch.cuda.Event()
        event.record()
        self._pending = (flag, event, loss.detach())

    def previous(self) -> float | None:
        """The value of the last pushed loss if it was NaN/inf (waits for it), else None."""
        if self._pending is None:
            return None
        flag, event, loss = self._pending
        self._pending = None
        event.synchronize()
        if bool(flag):
            return None
        value = loss.item() if loss.numel() == 1 else float("nan")
        return value if not math.isfinite(value) else float("nan")

    def reset(self) -> None:
        self._pending = None
