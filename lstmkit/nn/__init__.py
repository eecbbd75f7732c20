"""Torch recurrent layers: drop-in supersets of torch.nn.LSTM / GRU / RNN and their cells.

Same constructor arguments, parameter names, inputs and outputs as torch.nn, plus keyword-only
extras (variants, peepholes, layer norm, recurrent dropout, zoneout, masks, ...). Each call is
dispatched to an execution path in ``lstmkit.kernels`` (``kernels.choose_path`` decides); what
differs between the cell types is described once per type in ``lstmkit.nn.family``.
"""

from lstmkit.nn.elman import RNN, RNNCell
from lstmkit.nn.gru import GRU, GRUCell
from lstmkit.nn.lstm import LSTM, LSTMCell

__all__ = ["LSTM", "GRU", "RNN", "LSTMCell", "GRUCell", "RNNCell"]
