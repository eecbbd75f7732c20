"""The convolutional LSTM (Shi et al. 2015, "Convolutional LSTM Network") in NumPy float64.

The LSTM of ``lstmkit.cells.lstm`` with both matrix products replaced by convolutions, so the
state keeps the input's spatial layout: ``h`` and ``c`` are (B, *spatial, filters) maps. As
Keras 3 computes it (``keras.layers.ConvLSTM1D/2D/3D``), for ``k`` in ``i|f|c|o``::

    x_k = conv(x ⊙ m_k, W_k, strides, padding, dilation) + b_k     (the layer's input conv)
    h_k = conv(h ⊙ r_k, U_k, stride 1, padding "same")             (the recurrent conv)

and then the LSTM gates of :func:`~lstmkit.cells.lstm.lstm_gates` on ``x_k + h_k`` (Keras'
``c`` gate is the candidate ``g`` there): ``recurrent_activation`` on i, f, o and
``activation`` on the candidate and on the cell state. ``m_k`` / ``r_k`` are the optional
per-gate dropout masks (Keras draws four of each per sequence).

Layout is channels_last throughout, with Keras' weights: ``kernel`` (*k, C, 4F),
``recurrent_kernel`` (*k, F, 4F), ``bias`` (4F,), gate blocks in i|f|c|o order along the last
axis. The convolution is written out as a sum over kernel offsets, independent of torch's, so
that it can check the layers that use torch's. This is the oracle, written to be read, not fast.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from .lstm import lstm_gates
from .sequence import unroll
from .spec import LSTMSpec, lstm_spec

#: Keras' gate order along the last axis of the kernels and the bias; "c" is the candidate.
CONV_LSTM_GATES = ("i", "f", "c", "o")


def _ints(value: int | Sequence[int], rank: int, name: str) -> tuple[int, ...]:
    out = (value,) * rank if isinstance(value, (int, np.integer)) else tuple(value)
    if len(out) != rank or any(int(v) < 1 for v in out):
        raise ValueError(f"{name} must be a positive int or a tuple of {rank} positive ints, got {value!r}")
    return tuple(int(v) for v in out)


def same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """(before, after) zero padding of Keras' (and TensorFlow's) "same": the output has
    ``ceil(size / stride)`` positions and an odd total puts the extra zero at the end."""
    span = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max(0, (out - 1) * stride + span - size)
    return total // 2, total - total // 2


def conv(
    x: np.ndarray,
    kernel: np.ndarray,
    strides: int | Sequence[int] = 1,
    padding: str = "valid",
    dilation_rate: int | Sequence[int] = 1,
) -> np.ndarray:
    """An N-d convolution (cross-correlation, as in every deep-learning library), channels_last.

    ``x`` (B, *spatial, C), ``kernel`` (*k, C, F) -> (B, *out, F). Each output position sums,
    over the kernel offsets ``o``, ``x[position * stride + o * dilation] @ kernel[o]``.
    """
    x = np.asarray(x, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    rank = kernel.ndim - 2
    if rank < 1 or x.ndim != rank + 2 or x.shape[-1] != kernel.shape[-2]:
        raise ValueError(f"conv needs x (batch, *spatial, C) and kernel (*k, C, F) of the same rank, got x "
                         f"{x.shape} and kernel {kernel.shape}")
    ks = kernel.shape[:rank]
    strides, dilation = _ints(strides, rank, "strides"), _ints(dilation_rate, rank, "dilation_rate")
    if padding == "same":
        pads = [same_padding(n, k, s, d) for n, k, s, d in zip(x.shape[1:-1], ks, strides, dilation)]
        x = np.pad(x, [(0, 0), *pads, (0, 0)])
    elif padding != "valid":
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    out_sizes = [(n - (k - 1) * d - 1) // s + 1 for n, k, s, d in zip(x.shape[1:-1], ks, strides, dilation)]
    if min(out_sizes) < 1:
        raise ValueError(f"the input's spatial shape {x.shape[1:-1]} is smaller than the dilated kernel {ks}")
    out = np.zeros((x.shape[0], *out_sizes, kernel.shape[-1]))  # (B, *out, F)
    for offset in itertools.product(*(range(k) for k in ks)):
        window = tuple(slice(o * d, o * d + (n - 1) * s + 1, s)
                       for o, d, n, s in zip(offset, dilation, out_sizes, strides))
        out += x[(slice(None), *window)] @ kernel[offset]  # (B, *out, C) @ (C, F)
    return out


def conv_lstm_spec(activation: str = "tanh", recurrent_activation: str = "sigmoid") -> LSTMSpec:
    """The LSTM spec of a ConvLSTM: Keras' LSTM, ``activation`` on the candidate and the cell."""
    return lstm_spec("lstm").with_options(activation=activation, recurrent_activation=recurrent_activation)


def conv_lstm_step(
    x: np.ndarray,
    h: np.ndarray,
    c: np.ndarray,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray | None = None,
    *,
    strides: int | Sequence[int] = 1,
    padding: str = "valid",
    dilation_rate: int | Sequence[int] = 1,
    activation: str = "tanh",
    recurrent_activation: str = "sigmoid",
    input_masks: Sequence[np.ndarray] | None = None,
    recurrent_masks: Sequence[np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """One ConvLSTM step: ``x`` (B, *spatial, C), ``h`` and ``c`` (B, *out, F), weights as in
    the module docstring. ``input_masks`` / ``recurrent_masks``: four arrays each (one per gate,
    i|f|c|o), shaped like ``x`` / ``h``, multiplied in before the convolutions (scaled dropout
    masks). Returns ``(h_new, c_new, gates)`` as :func:`~lstmkit.cells.lstm.lstm_gates`."""
    kernel = np.asarray(kernel, dtype=np.float64)
    recurrent_kernel = np.asarray(recurrent_kernel, dtype=np.float64)
    F = kernel.shape[-1] // 4
    if kernel.shape[-1] != 4 * F or recurrent_kernel.shape != (*kernel.shape[:-2], F, 4 * F):
        raise ValueError(f"kernel must be (*k, C, 4*filters) and recurrent_kernel (*k, filters, 4*filters), got "
                         f"{kernel.shape} and {recurrent_kernel.shape}")
    x, h, c = (np.asarray(a, dtype=np.float64) for a in (x, h, c))
    ones = (1.0,) * 4
    xm = ones if input_masks is None else input_masks
    hm = ones if recurrent_masks is None else recurrent_masks
    if len(xm) != 4 or len(hm) != 4:
        raise ValueError("input_masks and recurrent_masks must hold four arrays (gates i, f, c, o)")
    pre = {}
    for j, gate in enumerate(CONV_LSTM_GATES):
        cols = slice(j * F, (j + 1) * F)
        x_k = conv(x * xm[j], kernel[..., cols], strides, padding, dilation_rate)  # (B, *out, F)
        if bias is not None:
            x_k = x_k + np.asarray(bias, dtype=np.float64)[cols]
        if h.shape != x_k.shape or c.shape != x_k.shape:
            raise ValueError(f"h and c must have the input convolution's output shape {x_k.shape}, got {h.shape} "
                             f"and {c.shape}")
        h_k = conv(h * hm[j], recurrent_kernel[..., cols], 1, "same")  # (B, *out, F)
        pre["g" if gate == "c" else gate] = x_k + h_k
    return lstm_gates(conv_lstm_spec(activation, recurrent_activation), pre, c)


def run_conv_lstm(
    x: np.ndarray,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray | None = None,
    *,
    initial_state: Sequence[np.ndarray] | None = None,
    mask: np.ndarray | None = None,
    go_backwards: bool = False,
    zero_output_for_mask: bool = False,
    **step_options: Any,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """A ConvLSTM over ``x`` (B, T, *spatial, C): outputs (B, T, *out, F) and the final (h, c).

    Keras' sequence semantics, by :func:`~lstmkit.cells.sequence.unroll`: ``mask`` (B, T) bool
    (a masked step keeps the state and repeats the previous output, zeros before the first real
    step, or outputs zeros with ``zero_output_for_mask``); ``go_backwards`` flips time and gives
    the outputs in processing order. ``initial_state`` (h0, c0) defaults to zeros;
    ``step_options`` go to :func:`conv_lstm_step` (strides, padding, dropout masks...).
    """
    x = np.asarray(x, dtype=np.float64)
    B, T = x.shape[:2]
    frame = x.shape[2:]
    F = np.shape(kernel)[-1] // 4
    probe = conv(np.zeros((1, *frame)), np.zeros((*np.shape(kernel)[:-1], F)), step_options.get("strides", 1),
                 step_options.get("padding", "valid"), step_options.get("dilation_rate", 1))
    state_shape = (B, *probe.shape[1:])  # (B, *out, F)
    if initial_state is None:
        initial_state = (np.zeros(state_shape), np.zeros(state_shape))

    # unroll runs (time, batch, features) arrays: each frame and state travels flattened
    def step(x_t: np.ndarray, state: tuple[np.ndarray, ...]) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        h, c = (s.reshape(state_shape) for s in state)
        h_new, c_new, _ = conv_lstm_step(x_t.reshape(B, *frame), h, c, kernel, recurrent_kernel, bias,
                                         **step_options)
        return h_new.reshape(B, -1), (h_new.reshape(B, -1), c_new.reshape(B, -1))

    flat = np.moveaxis(x.reshape(B, T, -1), 1, 0)  # (T, B, prod(frame))
    state = tuple(np.asarray(s, dtype=np.float64).reshape(B, -1) for s in initial_state)
    outputs, (h, c) = unroll(step, flat, state, mask=None if mask is None else np.asarray(mask).T,
                             reverse=go_backwards, masked_output="zero" if zero_output_for_mask else "carry")
    outputs = np.moveaxis(outputs, 0, 1).reshape(B, T, *state_shape[1:])
    return outputs, (h.reshape(state_shape), c.reshape(state_shape))
