"""torch's own fused recurrent kernels (oneDNN on CPU, cuDNN on CUDA), exactly as torch.nn.LSTM,
GRU and RNN call them. This is the ``backend="torch"`` path: it supports only what those
kernels support (the plain LSTM/GRU and the tanh/relu Elman RNN with torch's weights), and gives
bit-identical results to torch.nn for the same weights.

torch.nn reaches these kernels through the private ``torch._VF``; they are the same functions
as the exported ``torch.lstm``, ``torch.gru``, ``torch.rnn_tanh``, ``torch.rnn_relu`` and the
``*_cell`` ones, which is what this module calls (``torch.__all__`` lists them).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

#: torch's whole-stack kernel per name (``Family.native_name`` gives the name for a spec).
STACKS: dict[str, Callable] = {"lstm": torch.lstm, "gru": torch.gru, "rnn_tanh": torch.rnn_tanh,
                               "rnn_relu": torch.rnn_relu}
#: torch's one-step kernel per name, for the cells.
CELLS: dict[str, Callable] = {"lstm": torch.lstm_cell, "gru": torch.gru_cell, "rnn_tanh": torch.rnn_tanh_cell,
                              "rnn_relu": torch.rnn_relu_cell}


def rnn(
    kernel: str,
    x: torch.Tensor,
    hx: torch.Tensor | tuple[torch.Tensor, torch.Tensor],
    flat_weights: list[torch.Tensor],
    *,
    bias: bool,
    num_layers: int,
    dropout: float,
    training: bool,
    bidirectional: bool,
    batch_sizes: torch.Tensor | None = None,
    precision: str = "fp32",
) -> tuple[torch.Tensor, torch.Tensor | tuple[torch.Tensor, torch.Tensor]]:
    """Run a whole stack through torch's kernel ``STACKS[kernel]`` on time-major input.

    ``x`` is (T, B, I), or the ``data`` of a PackedSequence when ``batch_sizes`` is given;
    ``hx`` is (L*D, B, R) ((h, c) for the LSTM, c being (L*D, B, H)) in that batch order.
    Returns the output and the final state in the form ``hx`` had.

    ``precision="bf16"`` runs torch's kernel in bfloat16 (oneDNN's AMX GEMMs where the CPU has
    them): input, state and weights are cast on the way in (gradients reach the float32
    weights through the casts), outputs and states cast back to the input's dtype.
    """
    fn = STACKS[kernel]
    dtype = x.dtype
    if precision == "bf16":
        low = torch.bfloat16
        x, flat_weights = x.to(low), [w.to(low) for w in flat_weights]
        hx = tuple(h.to(low) for h in hx) if isinstance(hx, tuple) else hx.to(low)
    if batch_sizes is None:
        result = fn(x, hx, flat_weights, bias, num_layers, dropout, training, bidirectional, False)
    else:
        result = fn(x, batch_sizes, hx, flat_weights, bias, num_layers, dropout, training, bidirectional)
    if precision == "bf16":  # only then: a traced no-op cast would split ONNX's pack/pad pair
        result = [r.to(dtype) for r in result]
    out, *states = result  # states: [h] or [h, c]
    return out, tuple(states) if len(states) > 1 else states[0]


def cell(kernel: str, x: torch.Tensor, state: tuple[torch.Tensor, ...], w_ih: torch.Tensor, w_hh: torch.Tensor,
         b_ih: torch.Tensor | None, b_hh: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
    """One step of torch's cell kernel ``CELLS[kernel]``: the new state as a tuple ((h,) or (h, c))."""
    hx = state if len(state) > 1 else state[0]
    new = CELLS[kernel](x, hx, w_ih, w_hh, b_ih, b_hh)
    return tuple(new) if isinstance(new, (tuple, list)) else (new,)


def lstm_cell(x, h, c, w_ih, w_hh, b_ih, b_hh):
    """torch's fused LSTMCell step: returns (h, c)."""
    return torch.lstm_cell(x, (h, c), w_ih, w_hh, b_ih, b_hh)


def gru_cell(x, h, w_ih, w_hh, b_ih, b_hh):
    """torch's fused GRUCell step: returns h."""
    return torch.gru_cell(x, h, w_ih, w_hh, b_ih, b_hh)
