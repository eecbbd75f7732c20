"""The shape and dtype rules every loss and metric applies to ``(y_true, y_pred)`` before
computing anything: Keras' rank reconciliation, its broadcast check and its float conversion.

They live apart from ``base.py`` (which re-exports them) so that ``functions.py`` can use them
without importing ``base.py``: ``base.py`` looks loss functions up by name in ``functions.py``,
and the two modules importing each other would be a cycle (tests/test_architecture.py forbids it).
"""

from __future__ import annotations

from typing import Any

import torch

from lstmkit.keras.engine.layer import as_tensor

__all__ = ["squeeze_or_expand_to_same_rank", "check_broadcast", "convert_inputs"]


def squeeze_or_expand_to_same_rank(x1: torch.Tensor, x2: torch.Tensor,
                                   expand_rank_1: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Keras' rank reconciliation: when ranks differ by one and the longer one ends in a size-1
    axis, squeeze it (or, if the shorter is rank 1 and ``expand_rank_1``, expand the shorter)."""
    r1, r2 = x1.dim(), x2.dim()
    if r1 == r2:
        return x1, x2
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = x2.unsqueeze(-1)
        else:
            x1 = x1.squeeze(-1)
    if r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = x1.unsqueeze(-1)
        else:
            x2 = x2.squeeze(-1)
    return x1, x2


def check_broadcast(a: torch.Tensor, b: torch.Tensor, what: str, a_name: str = "y_true",
                    b_name: str = "y_pred") -> None:
    """Refuse shapes that do not broadcast with a message naming both, before torch's own error
    (which names neither the loss nor which argument is which)."""
    if a.shape != b.shape:
        try:
            torch.broadcast_shapes(a.shape, b.shape)
        except RuntimeError:
            raise ValueError(f"{what}: {a_name} of shape {tuple(a.shape)} and {b_name} of shape {tuple(b.shape)} "
                             "are incompatible (expected the same shape, or shapes that broadcast)") from None


def convert_inputs(y_true: Any, y_pred: Any, dtype: torch.dtype | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Tensors for a loss or metric: ``y_pred`` floating (float32 unless it is float64 or ``dtype``
    says otherwise), ``y_true`` in the same dtype on the same device."""
    y_pred = as_tensor(y_pred)
    if dtype is None:
        dtype = y_pred.dtype if y_pred.dtype == torch.float64 else torch.float32
    if y_pred.dtype != dtype:
        y_pred = y_pred.to(dtype)
    y_true = as_tensor(y_true)
    if y_true.dtype != dtype or y_true.device != y_pred.device:
        y_true = y_true.to(device=y_pred.device, dtype=dtype)
    return y_true, y_pred
