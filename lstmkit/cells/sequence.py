"""Running reference cells over whole sequences: padding, masking, reversal, stacking.

This is the oracle for the torch layers' sequence handling, so it is written the slow,
obvious way: a Python loop over time steps, one call of the cell per step.

Two ways to say which steps are real, with different (library-compatible) semantics:

* ``lengths`` (B,) — torch's ``pack_padded_sequence``: sequence ``b`` is ``x[:lengths[b], b]``,
  the rest is padding. Padding steps leave the state unchanged and output 0. ``reverse=True``
  runs each sequence backwards *within its own length* (starting at its last real step) and
  writes each output back at its original time position.
* ``mask`` (T, B) bool — Keras: a masked step leaves the state unchanged and outputs 0
  (``masked_output="zero"``) or the previous step's output (``"carry"``; zeros before the
  first unmasked step, like Keras). ``reverse=True`` just flips time (``x`` and ``mask``) and
  returns outputs in processing order (Keras ``go_backwards``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .gru import gru_step
from .lstm import lstm_step, sigmoid_gate_state
from .rnn import simple_rnn_step
from .spec import GRUSpec, LSTMSpec, RNNSpec

State = tuple[np.ndarray, ...]
Step = Callable[[np.ndarray, State], tuple[np.ndarray, State]]


def unroll(
    step: Step,
    x: np.ndarray,
    state: Sequence[np.ndarray],
    *,
    lengths: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    reverse: bool = False,
    masked_output: str = "zero",
) -> tuple[np.ndarray, State]:
    """Run ``step(x_t, state) -> (output_t, new_state)`` over ``x`` (T, B, I).

    ``state`` is a tuple of (B, ·) arrays. Returns ``(outputs (T, B, O), final_state)``; see
    the module docstring for ``lengths`` / ``mask`` / ``reverse`` semantics.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"x must have shape (time, batch, features), got {x.shape}")
    T, B = x.shape[:2]
    state = tuple(np.asarray(s, dtype=np.float64) for s in state)
    if masked_output not in ("zero", "carry"):
        raise ValueError(f"masked_output must be 'zero' or 'carry', got {masked_output!r}")
    if lengths is not None and mask is not None:
        raise ValueError("pass lengths (packed-sequence semantics) or mask (Keras semantics), not both")
    if lengths is not None:
        return _unroll_lengths(step, x, state, _check_lengths(lengths, T, B), reverse)

    mask = np.ones((T, B), dtype=bool) if mask is None else np.asarray(mask)
    if mask.shape != (T, B) or mask.dtype != np.bool_:
        raise ValueError(
            f"mask must be a bool array of shape (time, batch) = {(T, B)}, got {mask.dtype} {mask.shape}"
        )
    if reverse:
        x, mask = x[::-1], mask[::-1]
    outputs = []
    prev_output = None
    for t in range(T):
        output, new_state = step(x[t], state)
        real = mask[t][:, None]  # (B, 1): broadcasts over each state's features
        state = tuple(np.where(real, new, old) for new, old in zip(new_state, state))
        if masked_output == "carry" and prev_output is not None:
            output = np.where(real, output, prev_output)
        else:
            output = np.where(real, output, 0.0)
        outputs.append(output)
        prev_output = output
    return np.stack(outputs), state


def _check_lengths(lengths: Any, T: int, B: int) -> np.ndarray:
    arr = np.asarray(lengths)
    if arr.shape != (B,) or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            f"lengths must be an int array of shape (batch,) = {(B,)}, got {arr.dtype} {arr.shape}"
        )
    if arr.min(initial=0) < 0 or arr.max(initial=0) > T:
        raise ValueError(f"lengths must lie in [0, {T}] (the number of time steps), got {arr.tolist()}")
    return arr


def _unroll_lengths(step: Step, x: np.ndarray, state: State, lengths: np.ndarray, reverse: bool):
    T, B = x.shape[:2]
    batch = np.arange(B)
    outputs = None
    for s in range(T):  # s-th step of processing; each sequence b reads its own time index
        t = lengths - 1 - s if reverse else np.full(B, s)  # (B,)
        real = s < lengths  # (B,) sequence b still has steps left
        t_read = np.clip(t, 0, T - 1)  # padding rows read any valid step; their results are dropped
        output, new_state = step(x[t_read, batch], state)
        state = tuple(np.where(real[:, None], new, old) for new, old in zip(new_state, state))
        if outputs is None:
            outputs = np.zeros((T, B) + output.shape[1:])
        outputs[t_read[real], batch[real]] = output[real]
    if outputs is None:  # T == 0
        outputs = np.zeros((0, B, 0))
    return outputs, state


def _initial(states: Any, k: int, name: str, shape: tuple[int, int]) -> np.ndarray:
    if states is None:
        return np.zeros(shape)
    arr = np.asarray(states[k], dtype=np.float64)
    if arr.shape != shape:
        raise ValueError(f"{name}[{k}] must have shape {shape}, got {arr.shape}")
    return arr


def _run(layers, x, make_step, initial_states, bidirectional, lengths, mask, masked_output):
    """Stack layers (each a list over directions) and concatenate [forward, backward] features."""
    D = 2 if bidirectional else 1
    if not layers or any(len(directions) != D for directions in layers):
        raise ValueError(
            f"layers must be a non-empty list over layers of lists of {D} param dicts "
            f"(bidirectional={bidirectional}), got direction counts {[len(d) for d in layers]}"
        )
    for directions in layers:
        for params in directions:
            if not isinstance(params, dict) or "weight_hh" not in params:
                raise ValueError(
                    f"each layer/direction needs a param dict with 'weight_hh', got {type(params).__name__}"
                )
    for name, states in initial_states:
        if states is not None and len(states) != len(layers) * D:
            raise ValueError(f"{name} must hold num_layers * num_directions = {len(layers) * D} states")
    layer_input = np.asarray(x, dtype=np.float64)  # (T, B, I)
    finals = []
    for l, directions in enumerate(layers):
        outputs = []
        for d, params in enumerate(directions):
            step, state = make_step(params, l * D + d, layer_input.shape[1])
            out, final = unroll(step, layer_input, state, lengths=lengths, mask=mask,
                                reverse=d == 1, masked_output=masked_output)
            if d == 1 and lengths is None:  # unroll returned processing order: flip back to time order
                out = out[::-1]  # (as torch does, and Keras' Bidirectional)
            outputs.append(out)
            finals.append(final)
        layer_input = np.concatenate(outputs, axis=-1)  # (T, B, D*R)
    return layer_input, finals


def run_lstm(
    spec: LSTMSpec,
    layers: list[list[dict[str, np.ndarray]]],
    x: np.ndarray,
    h0: Sequence[np.ndarray] | np.ndarray | None = None,
    c0: Sequence[np.ndarray] | np.ndarray | None = None,
    *,
    bidirectional: bool = False,
    lengths: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    masked_output: str = "zero",
) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """A stacked (optionally bidirectional) LSTM of variant ``spec`` over ``x`` (T, B, I).

    ``layers[l][d]`` is the param dict (as for :func:`~lstmkit.cells.lstm.lstm_step`) of layer
    ``l``, direction ``d`` (0 forward, 1 backward). ``h0`` / ``c0``: indexable by
    ``l * D + d`` (a list, or an array (L*D, B, R) like torch's); default zeros.

    Returns ``(output (T, B, D*R_last), h_n, c_n)`` with ``h_n`` / ``c_n`` lists in the same
    ``l * D + d`` order (``np.stack(h_n)`` is torch's ``h_n``).
    """
    def make_step(params, k, B):
        H = np.shape(params["weight_hh"])[0] // spec.num_gates
        R = np.shape(params["weight_hr"])[0] if "weight_hr" in params else H
        state = (_initial(h0, k, "h0", (B, R)), _initial(c0, k, "c0", (B, H)))
        if spec.full_gate_recurrence:  # carry the previous gate activations too
            state += (np.zeros((B, len(spec.sigmoid_gates) * H)),)

        def step(x_t, state):
            prev_gates = state[2] if spec.full_gate_recurrence else None
            h, c, gates = lstm_step(spec, params, x_t, state[0], state[1], prev_gates=prev_gates)
            if spec.full_gate_recurrence:
                return h, (h, c, sigmoid_gate_state(spec, gates))
            return h, (h, c)

        return step, state

    output, finals = _run(layers, x, make_step, [("h0", h0), ("c0", c0)], bidirectional, lengths, mask,
                          masked_output)
    return output, [f[0] for f in finals], [f[1] for f in finals]


def run_gru(
    spec: GRUSpec,
    layers: list[list[dict[str, np.ndarray]]],
    x: np.ndarray,
    h0: Sequence[np.ndarray] | np.ndarray | None = None,
    *,
    bidirectional: bool = False,
    lengths: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    masked_output: str = "zero",
) -> tuple[np.ndarray, list[np.ndarray]]:
    """A stacked (optionally bidirectional) GRU of variant ``spec``; as :func:`run_lstm` without ``c``.

    Returns ``(output (T, B, D*H_last), h_n)``.
    """
    return _run_hidden(gru_step, spec, layers, x, h0, bidirectional, lengths, mask, masked_output)


def run_rnn(
    spec: RNNSpec,
    layers: list[list[dict[str, np.ndarray]]],
    x: np.ndarray,
    h0: Sequence[np.ndarray] | np.ndarray | None = None,
    *,
    bidirectional: bool = False,
    lengths: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    masked_output: str = "zero",
) -> tuple[np.ndarray, list[np.ndarray]]:
    """A stacked (optionally bidirectional) Elman RNN; as :func:`run_gru`, with
    :func:`~lstmkit.cells.rnn.simple_rnn_step` as the cell. Returns ``(output (T, B, D*H_last), h_n)``."""
    return _run_hidden(simple_rnn_step, spec, layers, x, h0, bidirectional, lengths, mask, masked_output)


def _run_hidden(cell_step, spec, layers, x, h0, bidirectional, lengths, mask, masked_output):
    """A stack of cells whose only state is ``h`` (the GRU and Elman families):
    ``cell_step(spec, params, x_t, h) -> (h_new, values)``."""
    def make_step(params, k, B):
        H = np.shape(params["weight_hh"])[1]

        def step(x_t, state):
            h, _ = cell_step(spec, params, x_t, state[0])
            return h, (h,)

        return step, (_initial(h0, k, "h0", (B, H)),)

    output, finals = _run(layers, x, make_step, [("h0", h0)], bidirectional, lengths, mask, masked_output)
    return output, [f[0] for f in finals]
