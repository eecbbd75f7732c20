"""NumPy float64 reference cells: the executable specification of every lstmkit layer.

Everything here is plain NumPy, one time step at a time, written to be read. The torch
layers (``lstmkit.nn``) and the fast kernels (``lstmkit.kernels``) are tested against it.

Reading order:

1. ``slides`` — the LSTM cell of the slide deck (slides 2-5): ``forget_gate``,
   ``input_gate``, ``output_gate``, ``lstm_cell``, one matrix per gate. Start here.
2. ``activations`` — the element-wise functions the specs name (``sigmoid``, ``tanh``, ...).
3. ``spec`` — what each variant *is*: ``LSTMSpec`` / ``GRUSpec`` switches, ``RNNSpec``, the registries
   ``LSTM_VARIANTS`` / ``GRU_VARIANTS``, and the torch weight-row order (``i|f|g|o``, ``r|z|n``).
4. ``lstm`` — ``lstm_step``: the slide cell generalised to every LSTM variant of Greff et al.
   (2015), with projection, layer norm, recurrent dropout masks and zoneout; then one named
   function per variant (``vanilla_step``, ``cifg_step``, ...) and ``forget_bias_init``.
5. ``gru`` — ``gru_step`` for the GRU, Cho's original GRU and the MUT1-3 architectures of
   Jozefowicz et al. (2015).
6. ``rnn`` — ``simple_rnn_step``: the Elman RNN (torch.nn.RNN, Keras' SimpleRNN), no gates.
7. ``sequence`` — ``unroll`` a step over time with padding (``lengths``) or masks, and
   ``run_lstm`` / ``run_gru`` / ``run_rnn`` for stacked, bidirectional networks.
8. ``conv_lstm`` — ``conv_lstm_step`` / ``run_conv_lstm``: the convolutional LSTM of Shi et al.
   (2015) as Keras' ConvLSTM1D/2D/3D compute it, on ``lstm_gates`` (the LSTM cell given its
   pre-activations, which ``lstm_step`` uses too).
"""

from .activations import get_activation, hard_sigmoid, linear, relu, sigmoid, softsign, tanh
from .conv_lstm import conv, conv_lstm_step, run_conv_lstm
from .gru import (
    GRU_STEPS,
    gru_cho_step,
    gru_step,
    mut1_step,
    mut2_step,
    mut3_step,
    standard_gru_step,
)
from .lstm import (
    LN_EPS,
    LSTM_STEPS,
    cifg_step,
    fgr_step,
    forget_bias_init,
    layer_norm,
    lstm_gates,
    lstm_step,
    nfg_step,
    niaf_step,
    nig_step,
    noaf_step,
    nog_step,
    np_step,
    sigmoid_gate_state,
    standard_lstm_step,
    vanilla_step,
)
from .rnn import simple_rnn_step
from .sequence import run_gru, run_lstm, run_rnn, unroll
from .slides import forget_gate, input_gate, lstm_cell, output_gate, slide_weights_from_torch
from .spec import (
    ACTIVATIONS,
    GRU_GATES,
    GRU_VARIANTS,
    LSTM_GATES,
    LSTM_VARIANTS,
    GRUSpec,
    LSTMSpec,
    RNNSpec,
    check_activation,
    gru_spec,
    lstm_spec,
    rnn_spec,
)

__all__ = [
    # slides
    "forget_gate", "input_gate", "output_gate", "lstm_cell", "slide_weights_from_torch",
    # activations
    "sigmoid", "tanh", "hard_sigmoid", "relu", "linear", "softsign", "get_activation",
    # spec
    "ACTIVATIONS", "LSTM_GATES", "GRU_GATES", "LSTMSpec", "GRUSpec", "RNNSpec", "LSTM_VARIANTS",
    "GRU_VARIANTS", "check_activation", "lstm_spec", "gru_spec", "rnn_spec",
    # LSTM family
    "lstm_step", "lstm_gates", "layer_norm", "LN_EPS", "sigmoid_gate_state", "forget_bias_init", "LSTM_STEPS",
    "standard_lstm_step", "vanilla_step", "nig_step", "nfg_step", "nog_step", "niaf_step",
    "noaf_step", "np_step", "cifg_step", "fgr_step",
    # GRU family
    "gru_step", "GRU_STEPS", "standard_gru_step", "gru_cho_step", "mut1_step", "mut2_step", "mut3_step",
    # Elman RNN
    "simple_rnn_step",
    # sequences
    "unroll", "run_lstm", "run_gru", "run_rnn",
    # convolutional LSTM
    "conv", "conv_lstm_step", "run_conv_lstm",
]
