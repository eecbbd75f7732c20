"""``keras.ops`` NumPy-like array ops: creation (``zeros``, ``eye``, ``arange`` ...), shape changes
(``reshape``, ``transpose``, ``expand_dims`` ...), joining and splitting, and indexing (``take``,
``where``, ``pad`` ...), with NumPy's semantics where torch differs (``split`` by sections or
indices, ``squeeze`` refusing a non-1 axis, ``take`` with negative indices, ``tile``, ``repeat``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from lstmkit.keras.ops.core import axes, same_dtype, standardize_dtype, tensor

__all__ = [
    "zeros", "ones", "full", "zeros_like", "ones_like", "full_like", "eye", "identity", "arange", "linspace", "tri",
    "array", "reshape", "transpose", "expand_dims", "squeeze", "ravel", "moveaxis", "swapaxes", "broadcast_to",
    "concatenate", "stack", "hstack", "vstack", "split", "array_split", "tile", "repeat", "flip", "roll", "take",
    "take_along_axis", "where", "pad", "tril", "triu", "diag", "sort", "argsort", "ndim", "size", "meshgrid",
    "nonzero", "get_item",
]


def _shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(d) for d in (shape.tolist() if isinstance(shape, torch.Tensor) else shape))


# ---------------------------------------------------------------------------------------------- creation
def zeros(shape: Any, dtype: Any = None) -> torch.Tensor:
    return torch.zeros(_shape(shape), dtype=standardize_dtype(dtype) or torch.float32)


def ones(shape: Any, dtype: Any = None) -> torch.Tensor:
    return torch.ones(_shape(shape), dtype=standardize_dtype(dtype) or torch.float32)


def full(shape: Any, fill_value: Any, dtype: Any = None) -> torch.Tensor:
    """``shape`` filled with ``fill_value`` (as Keras: float32 unless ``dtype`` is given or the value
    is a tensor or array with a dtype of its own)."""
    if dtype is None and not hasattr(fill_value, "dtype"):
        dtype = "float32"
    fill = tensor(fill_value, dtype)
    return torch.broadcast_to(fill, _shape(shape)).clone()


def zeros_like(x: Any, dtype: Any = None) -> torch.Tensor:
    return torch.zeros_like(tensor(x), dtype=standardize_dtype(dtype))


def ones_like(x: Any, dtype: Any = None) -> torch.Tensor:
    return torch.ones_like(tensor(x), dtype=standardize_dtype(dtype))


def full_like(x: Any, fill_value: Any, dtype: Any = None) -> torch.Tensor:
    t = tensor(x)
    return torch.broadcast_to(tensor(fill_value, dtype or t.dtype), t.shape).clone()


def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> torch.Tensor:
    """Ones on the ``k``-th diagonal of an ``N x M`` matrix."""
    for name, value in (("N", N), ("M", M), ("k", k)):
        if value is not None and not isinstance(value, (int, np.integer)):
            raise TypeError(f"Argument `{name}` must be an integer, got {value!r}")
    M = N if M is None else M
    return torch.ones(int(N), int(M), dtype=standardize_dtype(dtype) or torch.float32).tril(k).triu(k)


def identity(n: int, dtype: Any = None) -> torch.Tensor:
    return eye(n, dtype=dtype)


def tri(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> torch.Tensor:
    return torch.ones(int(N), int(N if M is None else M), dtype=standardize_dtype(dtype) or torch.float32).tril(k)


def arange(start: Any, stop: Any = None, step: Any = 1, dtype: Any = None) -> torch.Tensor:
    """``[start, stop)`` by ``step`` (integers stay integers, floats are float32)."""
    if stop is None:
        start, stop = 0, start
    values = [v.item() if isinstance(v, torch.Tensor) else v for v in (start, stop, step)]
    is_float = any(isinstance(v, (float, np.floating)) for v in values)
    dt = standardize_dtype(dtype) or (torch.float32 if is_float else torch.int64)
    return torch.arange(*values, dtype=dt)


def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, dtype: Any = None) -> torch.Tensor:
    dt = standardize_dtype(dtype) or torch.float32
    if endpoint:
        return torch.linspace(float(start), float(stop), int(num), dtype=dt)
    return torch.linspace(float(start), float(stop), int(num) + 1, dtype=dt)[:-1]


def array(x: Any, dtype: Any = None) -> torch.Tensor:
    return tensor(x, dtype)


# ---------------------------------------------------------------------------------------------- shapes
def reshape(x: Any, newshape: Any) -> torch.Tensor:
    """``x`` with shape ``newshape`` (one entry may be -1)."""
    return torch.reshape(tensor(x), _shape(newshape))


def transpose(x: Any, axes: Sequence[int] | None = None) -> torch.Tensor:
    """Axes permuted (reversed when ``axes`` is None)."""
    t = tensor(x)
    if axes is None:
        return t.permute(*reversed(range(t.dim())))
    perm = [int(a) % max(t.dim(), 1) for a in axes]
    if sorted(perm) != list(range(t.dim())):
        raise ValueError(f"axes {tuple(axes)} is not a permutation of the {t.dim()} axes of a tensor of shape "
                         f"{tuple(t.shape)}")
    return t.permute(*perm)


def expand_dims(x: Any, axis: Any) -> torch.Tensor:
    """New size-1 axes at ``axis`` (an int or a tuple, positions in the result)."""
    t = tensor(x)
    seq = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out_rank = t.dim() + len(seq)
    for a in sorted(int(a) % out_rank for a in seq):
        t = t.unsqueeze(a)
    return t


def squeeze(x: Any, axis: Any = None) -> torch.Tensor:
    """``x`` without its size-1 axes (only those in ``axis`` if given; they must have size 1)."""
    t = tensor(x)
    if axis is None:
        return t.squeeze()
    dims = axes(axis, t.dim())
    for d in dims:
        if t.shape[d] != 1:
            raise ValueError(f"cannot squeeze axis {d} of a tensor of shape {tuple(t.shape)}: its size is not 1")
    return t.squeeze(dims)


def ravel(x: Any) -> torch.Tensor:
    return tensor(x).reshape(-1)


def moveaxis(x: Any, source: Any, destination: Any) -> torch.Tensor:
    return torch.movedim(tensor(x), source, destination)


def swapaxes(x: Any, axis1: int, axis2: int) -> torch.Tensor:
    return torch.swapaxes(tensor(x), axis1, axis2)


def broadcast_to(x: Any, shape: Any) -> torch.Tensor:
    return torch.broadcast_to(tensor(x), _shape(shape))


def ndim(x: Any) -> int:
    return tensor(x).dim()


def size(x: Any) -> int:
    return tensor(x).numel()


# ---------------------------------------------------------------------------------------------- join / split
def concatenate(xs: Sequence[Any], axis: int | None = 0) -> torch.Tensor:
    ts = same_dtype(*xs)
    if axis is None:
        return torch.cat([t.reshape(-1) for t in ts])
    return torch.cat(ts, dim=axis)


def stack(x: Sequence[Any], axis: int = 0) -> torch.Tensor:
    return torch.stack(same_dtype(*x), dim=axis)


def hstack(xs: Sequence[Any]) -> torch.Tensor:
    return torch.hstack(same_dtype(*xs))


def vstack(xs: Sequence[Any]) -> torch.Tensor:
    return torch.vstack(same_dtype(*xs))


def split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[torch.Tensor]:
    """NumPy's ``split``: an int is a number of equal sections (it must divide the axis), a list
    gives the indices where the pieces start."""
    t = tensor(x)
    if isinstance(indices_or_sections, (int, np.integer)):
        n = int(indices_or_sections)
        if n <= 0 or t.shape[axis] % n:
            raise ValueError(f"split: {n} sections do not divide axis {axis} of size {t.shape[axis]} equally")
        return list(torch.tensor_split(t, n, dim=axis))
    indices = tensor(indices_or_sections).tolist() if not isinstance(indices_or_sections, list) \
        else [int(i) for i in indices_or_sections]
    return list(torch.tensor_split(t, indices, dim=axis))


def array_split(x: Any, indices_or_sections: int, axis: int = 0) -> list[torch.Tensor]:
    return list(torch.tensor_split(tensor(x), int(indices_or_sections), dim=axis))


def tile(x: Any, repeats: Any) -> torch.Tensor:
    reps = _shape(repeats)
    return torch.tile(tensor(x), reps)


def repeat(x: Any, repeats: Any, axis: int | None = None) -> torch.Tensor:
    """Each element repeated (the tensor flattened first when ``axis`` is None)."""
    t = tensor(x)
    r = repeats if isinstance(repeats, (int, np.integer)) else tensor(repeats).long()
    if isinstance(r, torch.Tensor) and r.numel() == 1:
        r = int(r.reshape(()))
    if axis is None:
        return torch.repeat_interleave(t.reshape(-1), r)
    return torch.repeat_interleave(t, r, dim=axis)


def flip(x: Any, axis: Any = None) -> torch.Tensor:
    t = tensor(x)
    dims = axes(axis, t.dim())
    return torch.flip(t, dims=tuple(range(t.dim())) if dims is None else dims)


def roll(x: Any, shift: Any, axis: Any = None) -> torch.Tensor:
    t = tensor(x)
    if axis is None:
        return torch.roll(t.reshape(-1), shift).reshape(t.shape)
    return torch.roll(t, shift, dims=axis)


# ---------------------------------------------------------------------------------------------- indexing
def take(x: Any, indices: Any, axis: int | None = None) -> torch.Tensor:
    """NumPy's ``take``: the result has ``x``'s shape with ``axis`` replaced by ``indices``' shape;
    negative indices count from the end."""
    t = tensor(x)
    idx = tensor(indices).long()
    if axis is None:
        t, axis = t.reshape(-1), 0
    axis = int(axis) % t.dim()
    n = t.shape[axis]
    flat = torch.where(idx < 0, idx + n, idx).reshape(-1)
    out = torch.index_select(t, axis, flat)
    return out.reshape((*t.shape[:axis], *idx.shape, *t.shape[axis + 1:]))


def take_along_axis(x: Any, indices: Any, axis: int | None = None) -> torch.Tensor:
    t = tensor(x)
    idx = tensor(indices).long()
    if axis is None:
        return torch.take_along_dim(t.reshape(-1), idx.reshape(-1))
    idx = torch.where(idx < 0, idx + t.shape[axis], idx)
    shape = list(torch.broadcast_shapes(tuple(t.shape[:axis]) + (1,) + tuple(t.shape[axis + 1:]),
                                        tuple(idx.shape[:axis]) + (1,) + tuple(idx.shape[axis + 1:])))
    t = t.expand(*shape[:axis], t.shape[axis], *shape[axis + 1:])
    idx = idx.expand(*shape[:axis], idx.shape[axis], *shape[axis + 1:])
    return torch.gather(t, axis, idx)


def get_item(x: Any, key: Any) -> torch.Tensor:
    return tensor(x)[key]


def where(condition: Any, x1: Any = None, x2: Any = None) -> Any:
    """``x1`` where ``condition`` else ``x2``; with neither, the indices where it holds (a tuple)."""
    if (x1 is None) != (x2 is None):
        raise ValueError("`x1` and `x2` either both should be `None` or both should have non-None value.")
    cond = tensor(condition).bool()
    if x1 is None:
        return torch.where(cond)
    a, b = same_dtype(x1, x2)
    return torch.where(cond, a, b)


def nonzero(x: Any) -> tuple[torch.Tensor, ...]:
    return torch.nonzero(tensor(x), as_tuple=True)


def pad(x: Any, pad_width: Any, mode: str = "constant", constant_values: Any = None) -> torch.Tensor:
    """NumPy's ``pad``: ``pad_width`` is ``((before, after), ...)`` per axis (or one pair / one int
    for all axes); modes "constant", "reflect", "symmetric", "edge" and "wrap"."""
    t = tensor(x)
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (t.dim(), 2)).tolist()
    if mode != "constant" and constant_values is not None:
        raise ValueError("Argument `constant_values` can only be provided when `mode == 'constant'`. "
                         f"Received: mode={mode}")
    if mode == "constant":
        flat = [w for pair in reversed(widths) for w in pair]
        return F.pad(t, flat, value=0 if constant_values is None else constant_values)
    if mode not in ("reflect", "symmetric", "edge", "wrap"):
        raise ValueError(f"pad: mode must be 'constant', 'reflect', 'symmetric', 'edge' or 'wrap', got {mode!r}")
    for dim, (before, after) in enumerate(widths):
        n = t.shape[dim]
        i = np.arange(-before, n + after)
        if mode == "reflect":
            period = max(2 * n - 2, 1)
            i = np.abs(i) % period
            i = np.where(i >= n, period - i, i)
        elif mode == "symmetric":
            i = i % (2 * n)
            i = np.where(i >= n, 2 * n - 1 - i, i)
        elif mode == "edge":
            i = np.clip(i, 0, n - 1)
        else:
            i = i % n
        t = torch.index_select(t, dim, torch.as_tensor(i, device=t.device))
    return t


def tril(x: Any, k: int = 0) -> torch.Tensor:
    return torch.tril(tensor(x), k)


def triu(x: Any, k: int = 0) -> torch.Tensor:
    return torch.triu(tensor(x), k)


def diag(x: Any, k: int = 0) -> torch.Tensor:
    return torch.diag(tensor(x), k)


def sort(x: Any, axis: int = -1) -> torch.Tensor:
    return torch.sort(tensor(x), dim=axis, stable=True).values


def argsort(x: Any, axis: int = -1) -> torch.Tensor:
    t = tensor(x)
    if axis is None:
        t, axis = t.reshape(-1), 0
    return torch.argsort(t, dim=axis, stable=True)


def meshgrid(*x: Any, indexing: str = "xy") -> list[torch.Tensor]:
    return list(torch.meshgrid(*same_dtype(*x), indexing=indexing))
