"""Label and vector helpers: ``to_categorical`` (class ids to one-hot rows) and ``normalize``
(unit-norm rows), as ``keras.utils``."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

_EPSILON = 1e-7  # Keras' backend.epsilon(), the floor of a norm for tensor inputs


def _np_dtype(dtype: Any) -> np.dtype:
    try:
        return np.dtype(str(dtype).removeprefix("torch.") if isinstance(dtype, torch.dtype) else dtype)
    except TypeError as e:
        raise TypeError(f"dtype must be a NumPy/torch dtype or its name (e.g. 'float32'), got {dtype!r}") from e


def _check_labels(labels: np.ndarray) -> np.ndarray:
    """Integer class ids (int64) from an array of ints, bools or whole-number floats."""
    if labels.dtype == np.bool_ or np.issubdtype(labels.dtype, np.integer):
        return labels.astype(np.int64)
    if np.issubdtype(labels.dtype, np.floating):
        if not np.all(np.isfinite(labels)) or np.any(labels != np.floor(labels)):
            bad = labels[~np.isfinite(labels) | (labels != np.floor(labels))][:3]
            raise ValueError(f"to_categorical: class labels must be whole numbers, found {bad.tolist()}")
        return labels.astype(np.int64)
    raise TypeError(f"to_categorical: class labels must be integers, got an array of dtype {labels.dtype}")


def to_categorical(x: Any, num_classes: int | None = None, dtype: Any = "float32") -> Any:
    """Convert class ids (integers ``0 .. num_classes-1``) to one-hot rows, class axis last.

    A trailing axis of size 1 is dropped first (``(n, 1)`` labels give ``(n, num_classes)``), as
    Keras does. A torch tensor gives a torch tensor; anything else gives a NumPy array.

    Args:
        x: array-like (or torch tensor) of class ids.
        num_classes: number of classes; ``None`` (or 0) infers ``max(x) + 1``.
        dtype: dtype of the result (Keras 2's argument; default float32).
    """
    is_torch = isinstance(x, torch.Tensor)
    labels = x.detach().cpu().numpy() if is_torch else np.asarray(x)
    labels = _check_labels(labels)
    shape = labels.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    flat = labels.reshape(-1)
    if not num_classes:
        if flat.size == 0:
            raise ValueError("to_categorical: cannot infer num_classes from empty labels; pass num_classes")
        num_classes = int(flat.max()) + 1
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"to_categorical: num_classes must be a positive integer, got {num_classes!r}")
    num_classes = int(num_classes)
    if flat.size and (flat.min() < 0 or flat.max() >= num_classes):
        bad = flat[(flat < 0) | (flat >= num_classes)][:3]
        raise ValueError(f"to_categorical: class labels must lie in [0, {num_classes - 1}] for "
                         f"num_classes={num_classes}, found {bad.tolist()}")
    out = np.zeros((flat.size, num_classes), dtype=_np_dtype(dtype))
    out[np.arange(flat.size), flat] = 1
    out = out.reshape(shape + (num_classes,))
    if is_torch:
        return torch.from_numpy(out).to(x.device)
    return out


def normalize(x: Any, axis: int = -1, order: int = 2) -> Any:
    """Scale ``x`` to unit ``order``-norm along ``axis`` (zero vectors stay zero).

    NumPy input gives a NumPy array (divided by the norm, zero norms treated as 1, as Keras);
    a torch tensor gives a tensor (norms floored at 1e-7, as Keras' backend path).

    Args:
        x: array to normalise.
        axis: axis along which to normalise.
        order: the norm order (2 for the L2 norm).
    """
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"normalize: axis must be an int, got {axis!r}")
    if isinstance(x, torch.Tensor):
        if not isinstance(order, int) or order < 1:
            raise ValueError(f"normalize: order must be an int >= 1 for tensors, got {order!r}")
        t = x if x.is_floating_point() else x.float()
        if t.ndim == 0:
            t = t.unsqueeze(0)
        norm = torch.linalg.vector_norm(t, ord=order, dim=int(axis), keepdim=True)
        return t / norm.clamp_min(_EPSILON)
    arr = np.asarray(x)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(f"normalize: expected a numeric array, got dtype {arr.dtype}")
    if not -arr.ndim <= axis < max(arr.ndim, 1):
        raise ValueError(f"normalize: axis {axis} is out of range for an array of rank {arr.ndim}")
    norm = np.atleast_1d(np.linalg.norm(arr, order, axis))
    norm[norm == 0] = 1
    return arr / np.expand_dims(norm, axis)
