"""The one place that converts recurrent weights between torch's layout and Keras' layout.

torch (``torch.nn`` / ``lstmkit.nn``) stores one weight *row* block per gate, input and
recurrent projections apart, and two biases::

    weight_ih (G*units, input)   weight_hh (G*units, units)   bias_ih (G*units,)   bias_hh (G*units,)
    LSTM rows i|f|g|o            GRU rows r|z|n               SimpleRNN: G = 1

Keras stores one weight *column* block per gate, transposed, and (mostly) one bias::

    kernel (input, G*units)      recurrent_kernel (units, G*units)
    LSTM columns i|f|c|o (torch's order; Keras calls g "c"), bias (4*units,)
    GRU columns z|r|h (update and reset swapped), bias (2, 3*units) = [input bias, recurrent bias]
        when reset_after=True, (3*units,) when reset_after=False
    SimpleRNN: bias (units,)

Where Keras has one bias and torch two, the converters fold ``bias_ih + bias_hh`` into it
(exact: both are added to the same pre-activation) and give back ``bias_hh = 0``. For the GRU
with reset_after=False that pairs with Cho et al.'s form (``lstmkit.nn.GRU(reset_after=False)``,
where the recurrent bias is added outside the reset product); torch.nn.GRU itself is the
reset_after=True form.

Every function takes NumPy arrays or torch tensors and returns the same kind. The ``*_to_keras``
functions return views of their inputs where the layout allows it (transposes, or
``bias_hh=None``), so a caller can keep autograd through them; the ``*_from_keras`` functions
return fresh contiguous arrays. Variants with fewer gates (``lstmkit.cells.spec``) pass their
gate tuples; blocks keep their relative order except that the GRU's z and r are swapped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np
import torch

from lstmkit.cells.spec import GRU_GATES

Array = TypeVar("Array", np.ndarray, torch.Tensor)

#: Keras' GRU column order, as torch gate names (Keras calls the candidate "h", torch "n").
KERAS_GRU_ORDER: tuple[str, ...] = ("z", "r", "n")

__all__ = [
    "KERAS_GRU_ORDER",
    "lstm_to_keras",
    "lstm_from_keras",
    "gru_to_keras",
    "gru_from_keras",
    "simple_rnn_to_keras",
    "simple_rnn_from_keras",
    "reorder_gate_blocks",
]


# ---------------------------------------------------------------------------- array helpers
def _is_torch(x: Any) -> bool:
    return isinstance(x, torch.Tensor)


def _cat(parts: Sequence[Array], axis: int) -> Array:
    if len(parts) == 1:
        return parts[0]
    return torch.cat(list(parts), dim=axis) if _is_torch(parts[0]) else np.concatenate(parts, axis=axis)


def _stack(parts: Sequence[Array]) -> Array:
    return torch.stack(list(parts)) if _is_torch(parts[0]) else np.stack(parts)


def _fresh(x: Array) -> Array:
    """A contiguous copy that shares no memory with ``x`` (autograd kept for tensors)."""
    return x.clone().contiguous() if _is_torch(x) else np.array(x, copy=True, order="C")


def _zeros_like(x: Array) -> Array:
    return torch.zeros_like(x) if _is_torch(x) else np.zeros_like(x)


def _check(name: str, x: Any, ndim: int, shape: tuple[int | None, ...] | None = None) -> None:
    if not isinstance(x, (np.ndarray, torch.Tensor)):
        raise TypeError(f"{name} must be a NumPy array or a torch tensor, got {type(x).__name__}")
    if x.ndim != ndim or (shape is not None and any(e is not None and e != g for e, g in zip(shape, x.shape))):
        want = "x".join("?" if e is None else str(e) for e in shape) if shape else f"{ndim}-D"
        raise ValueError(f"{name} has shape {tuple(x.shape)}, expected {want}")


def reorder_gate_blocks(w: Array, src: Sequence[str], dst: Sequence[str], axis: int = 0) -> Array:
    """Reorder the equal gate blocks of ``w`` along ``axis`` from gate order ``src`` to ``dst``
    (both name the same gates). Returns ``w`` itself when the orders agree."""
    if tuple(src) == tuple(dst):
        return w
    if sorted(src) != sorted(dst):
        raise ValueError(f"gate orders {tuple(src)} and {tuple(dst)} do not name the same gates")
    size = w.shape[axis]
    if size % len(src):
        raise ValueError(f"axis {axis} of size {size} does not split into {len(src)} gate blocks")
    n = size // len(src)
    index = {g: k for k, g in enumerate(src)}
    slicer = [slice(None)] * w.ndim
    parts = []
    for gate in dst:
        slicer[axis] = slice(index[gate] * n, (index[gate] + 1) * n)
        parts.append(w[tuple(slicer)])
    return _cat(parts, axis)


def _keras_gru_order(gates: Sequence[str]) -> tuple[str, ...]:
    return tuple(g for g in KERAS_GRU_ORDER if g in gates)


# ---------------------------------------------------------------------------- LSTM
def lstm_to_keras(weight_ih: Array, weight_hh: Array, bias_ih: Array | None = None,
                  bias_hh: Array | None = None) -> list[Array]:
    """torch LSTM weights -> Keras ``[kernel, recurrent_kernel, bias]`` (no bias when
    ``bias_ih`` is None). ``bias_hh`` is folded into the one Keras bias; pass None when it is
    known to be zero to get a view of ``bias_ih``. Any gate subset (variants) works, since
    Keras' column order i|f|c|o is torch's row order."""
    _check("weight_ih", weight_ih, 2)
    _check("weight_hh", weight_hh, 2, (weight_ih.shape[0], None))
    out = [weight_ih.T, weight_hh.T]
    if bias_ih is not None:
        _check("bias_ih", bias_ih, 1, (weight_ih.shape[0],))
        if bias_hh is not None:
            _check("bias_hh", bias_hh, 1, (weight_ih.shape[0],))
        out.append(bias_ih if bias_hh is None else bias_ih + bias_hh)
    return out


def lstm_from_keras(kernel: Array, recurrent_kernel: Array, bias: Array | None = None) -> list[Array]:
    """Keras LSTM ``kernel, recurrent_kernel[, bias]`` -> torch ``[weight_ih, weight_hh,
    bias_ih, bias_hh]`` (``bias_hh`` zeros; only the two weights without a bias)."""
    _check("kernel", kernel, 2)
    _check("recurrent_kernel", recurrent_kernel, 2, (None, kernel.shape[1]))
    out = [_fresh(kernel.T), _fresh(recurrent_kernel.T)]
    if bias is not None:
        _check("bias", bias, 1, (kernel.shape[1],))
        out += [_fresh(bias), _zeros_like(bias)]
    return out


# ---------------------------------------------------------------------------- GRU
def gru_to_keras(weight_ih: Array, weight_hh: Array, bias_ih: Array | None = None, bias_hh: Array | None = None,
                 *, reset_after: bool = True, ih_gates: Sequence[str] = GRU_GATES,
                 hh_gates: Sequence[str] = GRU_GATES) -> list[Array]:
    """torch GRU weights (rows r|z|n) -> Keras ``[kernel, recurrent_kernel, bias]`` (columns
    z|r|h).

    The bias is ``(2, 3*units)`` = [input bias, recurrent bias] when ``reset_after`` (Keras'
    default, torch.nn.GRU's form), else ``bias_ih + bias_hh`` as one ``(3*units,)`` vector
    (``bias_hh=None`` means zero). Variants whose input and recurrent projections have
    different gates (``ih_gates`` / ``hh_gates``, e.g. MUT1) keep two biases, concatenated
    into one vector since their lengths differ.
    """
    _check("weight_ih", weight_ih, 2)
    _check("weight_hh", weight_hh, 2)
    ki, kh = _keras_gru_order(ih_gates), _keras_gru_order(hh_gates)
    out = [reorder_gate_blocks(weight_ih, ih_gates, ki).T, reorder_gate_blocks(weight_hh, hh_gates, kh).T]
    if bias_ih is None:
        return out
    _check("bias_ih", bias_ih, 1, (weight_ih.shape[0],))
    b_ih = reorder_gate_blocks(bias_ih, ih_gates, ki)
    if not reset_after:
        if tuple(ih_gates) != tuple(hh_gates):
            raise ValueError("reset_after=False folds the two biases into one, which needs the same gates in the "
                             f"input and recurrent projections; got {tuple(ih_gates)} and {tuple(hh_gates)}")
        if bias_hh is not None:
            _check("bias_hh", bias_hh, 1, (weight_hh.shape[0],))
            b_ih = b_ih + reorder_gate_blocks(bias_hh, hh_gates, kh)
        out.append(b_ih)
        return out
    if bias_hh is None:
        raise ValueError("reset_after=True keeps the recurrent bias apart: pass bias_hh")
    _check("bias_hh", bias_hh, 1, (weight_hh.shape[0],))
    b_hh = reorder_gate_blocks(bias_hh, hh_gates, kh)
    out.append(_stack([b_ih, b_hh]) if b_ih.shape == b_hh.shape else _cat([b_ih, b_hh], 0))
    return out


def gru_from_keras(kernel: Array, recurrent_kernel: Array, bias: Array | None = None, *, reset_after: bool = True,
                   ih_gates: Sequence[str] = GRU_GATES, hh_gates: Sequence[str] = GRU_GATES) -> list[Array]:
    """Keras GRU ``kernel, recurrent_kernel[, bias]`` (columns z|r|h) -> torch ``[weight_ih,
    weight_hh, bias_ih, bias_hh]`` (rows r|z|n); ``bias_hh`` is zeros when ``reset_after`` is
    False. Inverse of ``gru_to_keras`` with the same keyword arguments."""
    _check("kernel", kernel, 2)
    _check("recurrent_kernel", recurrent_kernel, 2)
    ki, kh = _keras_gru_order(ih_gates), _keras_gru_order(hh_gates)
    if kernel.shape[1] % len(ki) or recurrent_kernel.shape[1] != kernel.shape[1] // len(ki) * len(kh):
        raise ValueError(f"kernel {tuple(kernel.shape)} and recurrent_kernel {tuple(recurrent_kernel.shape)} do not "
                         f"hold {len(ki)} and {len(kh)} gate blocks of the same size")
    out = [_fresh(reorder_gate_blocks(kernel.T, ki, ih_gates)),
           _fresh(reorder_gate_blocks(recurrent_kernel.T, kh, hh_gates))]
    if bias is None:
        return out
    gi, gh = kernel.shape[1], recurrent_kernel.shape[1]
    if not reset_after:
        _check("bias", bias, 1, (gi,))
        b_ih, b_hh = bias, _zeros_like(bias)
        if tuple(ih_gates) != tuple(hh_gates):
            raise ValueError("reset_after=False needs the same gates in the input and recurrent projections")
    elif gi == gh:
        _check("bias", bias, 2, (2, gi))
        b_ih, b_hh = bias[0], bias[1]
    else:
        _check("bias", bias, 1, (gi + gh,))
        b_ih, b_hh = bias[:gi], bias[gi:]
    out += [_fresh(reorder_gate_blocks(b_ih, ki, ih_gates)), _fresh(reorder_gate_blocks(b_hh, kh, hh_gates))]
    return out


# ---------------------------------------------------------------------------- SimpleRNN
def simple_rnn_to_keras(weight_ih: Array, weight_hh: Array, bias_ih: Array | None = None,
                        bias_hh: Array | None = None) -> list[Array]:
    """torch.nn.RNN weights -> Keras SimpleRNN ``[kernel, recurrent_kernel, bias]`` (the two
    biases folded; a one-gate LSTM layout)."""
    return lstm_to_keras(weight_ih, weight_hh, bias_ih, bias_hh)


def simple_rnn_from_keras(kernel: Array, recurrent_kernel: Array, bias: Array | None = None) -> list[Array]:
    """Keras SimpleRNN weights -> torch.nn.RNN ``[weight_ih, weight_hh, bias_ih, bias_hh]``."""
    return lstm_from_keras(kernel, recurrent_kernel, bias)

