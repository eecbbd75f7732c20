"""torch's own fused recurrent kernels (oneDNN on CPU, cuDNN on CUDA), exactly as torch.nn.LSTM
and torch.nn.GRU call them. This is the ``backend="torch"`` path: it supports only what those
kernels support (the plain LSTM/GRU with torch's weights), and gives bit-identical results to
torch.nn for the same weights.
"""

from __future__ import annotations

import torch
from torch import _VF


def rnn(
    mode: str,
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
) -> tuple[torch.Tensor, torch.Tensor | tuple[torch.Tensor, torch.Tensor]]:
    """Run a whole stack through ``_VF.lstm`` / ``_VF.gru`` on time-major input.

    ``x`` is (T, B, I), or the ``data`` of a PackedSequence when ``batch_sizes`` is given;
    ``hx`` is (L*D, B, R) (and (L*D, B, H) for the LSTM cell state) in that batch order.
    """
    fn = _VF.lstm if mode == "lstm" else _VF.gru
    if batch_sizes is None:
        result = fn(x, hx, flat_weights, bias, num_layers, dropout, training, bidirectional, False)
    else:
        result = fn(x, batch_sizes, hx, flat_weights, bias, num_layers, dropout, training, bidirectional)
    if mode == "lstm":
        return result[0], (result[1], result[2])
    return result[0], result[1]


def lstm_cell(x, h, c, w_ih, w_hh, b_ih, b_hh):
    """torch's fused LSTMCell step: returns (h, c)."""
    return _VF.lstm_cell(x, (h, c), w_ih, w_hh, b_ih, b_hh)


def gru_cell(x, h, w_ih, w_hh, b_ih, b_hh):
    """torch's fused GRUCell step: returns h."""
    return _VF.gru_cell(x, h, w_ih, w_hh, b_ih, b_hh)
