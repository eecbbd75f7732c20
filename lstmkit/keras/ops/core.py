"""``keras.ops`` core: conversion, dtypes, shapes and the eager control flow Keras offers on torch.

Why a conversion helper of our own: every op accepts torch tensors, NumPy arrays and Python
numbers (as Keras ops do), and converts them the way the rest of lstmkit.keras does
(``engine.layer.as_tensor``: floats to float32, integers to int64, bools to bool). The ops run
eagerly on torch tensors inside a layer's ``call``; a symbolic ``KerasTensor`` (functional API)
is refused with a message that says what to do instead.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from lstmkit.keras.engine.keras_tensor import KerasTensor
from lstmkit.keras.engine.layer import as_tensor

__all__ = ["cast", "convert_to_tensor", "convert_to_numpy", "is_tensor", "shape", "dtype", "stop_gradient", "cond",
           "fori_loop", "while_loop", "unstack", "slice", "slice_update", "scatter", "scatter_update", "switch",
           "standardize_dtype"]

_ALIASES = {"float": "float32", "int": "int64", "uint8": "uint8", "double": "float64", "half": "float16"}


def standardize_dtype(dtype: Any) -> torch.dtype | None:
    """Keras dtype names ("float32", "int32", "bool", ...), NumPy or torch dtypes as a torch dtype."""
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    if isinstance(dtype, type) and issubclass(dtype, np.generic) or isinstance(dtype, np.dtype):
        dtype = np.dtype(dtype).name
    name = str(dtype).removeprefix("torch.")
    name = _ALIASES.get(name, name)
    value = getattr(torch, name, None)
    if not isinstance(value, torch.dtype):
        raise ValueError(f"Invalid dtype: {dtype!r}; expected a name such as 'float32', 'int32' or 'bool'")
    return value


def tensor(x: Any, dtype: Any = None) -> torch.Tensor:
    """``x`` as a torch tensor (``as_tensor`` conversion), cast to ``dtype`` if given."""
    if isinstance(x, KerasTensor):
        raise TypeError(f"lstmkit.keras.ops work on real tensors (inside a layer's call()); got the symbolic {x!r}. "
                        "In a functional model, put the computation in a Layer subclass or a Lambda layer")
    if isinstance(x, (list, tuple)) and any(isinstance(t, torch.Tensor) for t in x):
        x = torch.stack([tensor(t) for t in x])
    t = as_tensor(x)
    dt = standardize_dtype(dtype)
    return t if dt is None or t.dtype == dt else t.to(dt)


def floating(x: Any) -> torch.Tensor:
    """``x`` as a tensor, integers and bools as float32 (what Keras' float-valued ops return)."""
    t = tensor(x)
    return t if t.is_floating_point() or t.is_complex() else t.to(torch.float32)


def pair(x1: Any, x2: Any) -> tuple[Any, Any]:
    """Operands of a binary op: tensors stay, Python numbers stay numbers (torch promotes them as
    Keras does: int tensor + 1.5 is float32), everything else is converted."""
    def one(x: Any) -> Any:
        if isinstance(x, torch.Tensor) or (isinstance(x, (int, float, bool)) and not isinstance(x, np.generic)):
            return x
        return tensor(x)

    a, b = one(x1), one(x2)
    if not isinstance(a, torch.Tensor) and not isinstance(b, torch.Tensor):
        a = tensor(a)
    return a, b


def same_dtype(*xs: Any) -> list[torch.Tensor]:
    """Tensors promoted to one dtype (torch.matmul and einsum refuse mixed dtypes)."""
    ts = [tensor(x) for x in xs]
    dt = ts[0].dtype
    for t in ts[1:]:
        dt = torch.promote_types(dt, t.dtype)
    return [t if t.dtype == dt else t.to(dt) for t in ts]


def axes(axis: Any, ndim: int) -> tuple[int, ...] | None:
    """An axis argument (None, int or sequence) as a tuple of non-negative ints (None stays)."""
    if axis is None:
        return None
    seq = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in seq:
        a = int(a)
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of bounds for a tensor of rank {ndim}")
        out.append(a % max(ndim, 1))
    return tuple(out)


# ---------------------------------------------------------------------------------------------- conversion
def convert_to_tensor(x: Any, dtype: Any = None, sparse: Any = None, ragged: Any = None) -> torch.Tensor:
    """A torch tensor (Keras' ``ops.convert_to_tensor``); ``sparse``/``ragged`` must stay unset."""
    if sparse or ragged:
        raise ValueError("sparse and ragged tensors are not supported by lstmkit.keras.ops")
    return tensor(x, dtype)


def convert_to_numpy(x: Any) -> np.ndarray:
    """A NumPy array (detached, on the CPU)."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def is_tensor(x: Any) -> bool:
    return isinstance(x, torch.Tensor)


def cast(x: Any, dtype: Any) -> torch.Tensor:
    """``x`` converted to ``dtype`` ("float32", "int32", "bool", ...)."""
    return tensor(x).to(standardize_dtype(dtype))


def dtype(x: Any) -> str:
    """The Keras name of ``x``'s dtype ("float32", ...)."""
    return str(tensor(x).dtype).removeprefix("torch.")


def shape(x: Any) -> tuple[int, ...]:
    """The shape as a tuple of ints."""
    if isinstance(x, KerasTensor):
        return tuple(x.shape)
    return tuple(tensor(x).shape)


def stop_gradient(variable: Any) -> torch.Tensor:
    """The value without its gradient path (``detach``)."""
    return tensor(variable).detach()


# ---------------------------------------------------------------------------------------------- control flow
def cond(pred: Any, true_fn: Callable[[], Any], false_fn: Callable[[], Any]) -> Any:
    """``true_fn()`` if ``pred`` else ``false_fn()`` (eager, as Keras on torch)."""
    return true_fn() if bool(tensor(pred)) else false_fn()


def switch(index: Any, branches: Sequence[Callable[..., Any]], *operands: Any) -> Any:
    """``branches[index](*operands)``, the index clamped to the branches (Keras' ``ops.switch``)."""
    k = min(max(int(tensor(index)), 0), len(branches) - 1)
    return branches[k](*operands)


def while_loop(cond: Callable[..., Any], body: Callable[..., Any], loop_vars: Any,
               maximum_iterations: int | None = None) -> Any:
    """Run ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)`` (a tuple stays a tuple)."""
    is_tuple = isinstance(loop_vars, (tuple, list))
    state = tuple(loop_vars) if is_tuple else (loop_vars,)
    n = 0
    while bool(cond(*state)) and (maximum_iterations is None or n < maximum_iterations):
        out = body(*state)
        state = tuple(out) if is_tuple else (out,)
        n += 1
    return state if is_tuple else state[0]


def fori_loop(lower: int, upper: int, body_fun: Callable[[int, Any], Any], init_val: Any) -> Any:
    """``val = body_fun(i, val)`` for ``i`` in ``range(lower, upper)``."""
    val = init_val
    for i in range(int(lower), int(upper)):
        val = body_fun(i, val)
    return val


# ---------------------------------------------------------------------------------------------- slicing
def unstack(x: Any, num: int | None = None, axis: int = 0) -> list[torch.Tensor]:
    """The slices of ``x`` along ``axis`` (``num``, if given, must be that axis' size)."""
    t = tensor(x)
    if num is not None and t.shape[axis] != num:
        raise ValueError(f"unstack: num={num} but axis {axis} has size {t.shape[axis]}")
    return list(torch.unbind(t, dim=axis))


def slice(inputs: Any, start_indices: Sequence[int], shape: Sequence[int]) -> torch.Tensor:
    """The block of size ``shape`` starting at ``start_indices`` (-1 in ``shape``: to the end)."""
    t = tensor(inputs)
    index = tuple(builtins.slice(int(s), None if int(n) == -1 else int(s) + int(n))
                  for s, n in zip(tensor(start_indices).tolist(), tensor(shape).tolist()))
    return t[index]


def slice_update(inputs: Any, start_indices: Sequence[int], updates: Any) -> torch.Tensor:
    """A copy of ``inputs`` with ``updates`` written at ``start_indices``."""
    t = tensor(inputs).clone()
    u = tensor(updates).to(t.dtype)
    index = tuple(builtins.slice(int(s), int(s) + n) for s, n in zip(tensor(start_indices).tolist(), u.shape))
    t[index] = u
    return t


def scatter(indices: Any, values: Any, shape: Sequence[int]) -> torch.Tensor:
    """Zeros of ``shape`` with ``values`` added at ``indices`` (rows of coordinates)."""
    idx = tensor(indices).long()
    v = tensor(values)
    out = torch.zeros(tuple(shape), dtype=v.dtype, device=v.device)
    out.index_put_(tuple(idx[..., k] for k in range(idx.shape[-1])), v, accumulate=True)
    return out


def scatter_update(inputs: Any, indices: Any, updates: Any) -> torch.Tensor:
    """A copy of ``inputs`` with ``updates`` written at ``indices`` (rows of coordinates)."""
    t = tensor(inputs).clone()
    idx = tensor(indices).long()
    t[tuple(idx[..., k] for k in range(idx.shape[-1]))] = tensor(updates).to(t.dtype)
    return t
