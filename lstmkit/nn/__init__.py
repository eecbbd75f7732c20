"""Torch recurrent layers: drop-in supersets of torch.nn.LSTM / GRU / LSTMCell / GRUCell.

Same constructor arguments, parameter names, inputs and outputs as torch.nn, plus keyword-only
extras (variants, peepholes, layer norm, recurrent dropout, zoneout, masks, ...). Each call is
dispatched to an execution path in ``lstmkit.kernels``.
"""

from lstmkit.nn.gru import GRU, GRUCell
from lstmkit.nn.lstm import LSTM, LSTMCell

__all__ = ["LSTM", "GRU", "LSTMCell", "GRUCell"]
