"""Keras' recurrent cells: ``LSTMCell``, ``GRUCell``, ``SimpleRNNCell`` (as ``keras.layers.*Cell``).

One time step per call: ``cell(x_t, states, training=None) -> (output, new_states)``. Wrapped in
``RNN`` they process whole sequences; ``RNN(LSTMCell(n))`` then computes exactly what
``LSTM(n)`` computes, on the same fused kernels (see ``cell_base``). The weights are Keras'
(``kernel``, ``recurrent_kernel``, ``bias``: layout, order and shapes), so Keras cells' weights
load with ``set_weights``. Shared arguments are documented on ``FamilyCell``.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import torch

from lstmkit import nn as lnn
from lstmkit.cells.spec import ACTIVATIONS, gru_spec, lstm_spec, rnn_spec
from lstmkit.keras import activations, layout
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.rnn.cell_base import FamilyCell
from lstmkit.keras.layers.rnn.torch_recurrent import spec_activation


@register("layer")
class LSTMCell(FamilyCell):
    """One LSTM step (Hochreiter & Schmidhuber 1997), as ``keras.layers.LSTMCell``.

    ``states`` is ``[h, c]``, each (batch, units); returns ``(h_new, [h_new, c_new])``.

    Args (besides ``FamilyCell``'s):
        recurrent_activation: the gate activation (default "sigmoid").
        unit_forget_bias: initialise the forget-gate bias to 1 (default True; Jozefowicz et al. 2015).

    Weights: ``kernel`` (features, 4*units), ``recurrent_kernel`` (units, 4*units), ``bias``
    (4*units,), columns i|f|c|o, as Keras.
    """

    _num_gates = 4

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: int | None = None, **kwargs: Any):
        super().__init__(units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                         dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)
        self._names = (spec_activation("LSTMCell", "activation", self.activation),
                       spec_activation("LSTMCell", "recurrent_activation", self.recurrent_activation))
        self.state_size = [units, units]

    @cached_property
    def spec(self):
        return lstm_spec("lstm").with_options(activation=self._names[0], recurrent_activation=self._names[1])

    def _init_bias(self, bias: torch.Tensor) -> None:
        if self.unit_forget_bias:
            bias[self.units:2 * self.units] = 1.0  # Keras: zeros | ones | zeros (bias_initializer elsewhere)

    def _from_keras(self, arrays):
        return layout.lstm_from_keras(*arrays)

    def _sequence_module(self, input_dim: int) -> lnn.LSTM:
        return lnn.LSTM(input_dim, self.units, bias=self.use_bias, batch_first=True, device="meta",
                        dtype=self.compute_dtype, activation=self._names[0], recurrent_activation=self._names[1])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        config["unit_forget_bias"] = self.unit_forget_bias
        return config


@register("layer")
class GRUCell(FamilyCell):
    """One GRU step (Cho et al. 2014), as ``keras.layers.GRUCell``.

    ``states`` is ``h`` (or ``[h]``), (batch, units); returns ``(h_new, h_new)`` (``[h_new]`` when
    the states came as a list), as Keras.

    Args (besides ``FamilyCell``'s):
        recurrent_activation: the gate activation (default "sigmoid").
        reset_after: apply the reset gate after the recurrent matmul (default True: Keras 3's,
            torch's and cuDNN's form, two biases); False: Cho et al.'s original, one bias.

    Weights: ``kernel`` (features, 3*units), ``recurrent_kernel`` (units, 3*units), columns
    z|r|h, ``bias`` (2, 3*units) = [input bias, recurrent bias] with reset_after, else (3*units,).
    """

    _num_gates = 3

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None, bias_constraint: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, reset_after: bool = True,
                 seed: int | None = None, **kwargs: Any):
        super().__init__(units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                         dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)
        self._names = (spec_activation("GRUCell", "activation", self.activation),
                       spec_activation("GRUCell", "recurrent_activation", self.recurrent_activation))

    @cached_property
    def spec(self):
        return gru_spec("gru" if self.reset_after else "gru_cho").with_options(
            activation=self._names[0], recurrent_activation=self._names[1])

    def _bias_shape(self) -> tuple[int, ...]:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _from_keras(self, arrays):
        return layout.gru_from_keras(*arrays, reset_after=self.reset_after)

    def _sequence_module(self, input_dim: int) -> lnn.GRU:
        return lnn.GRU(input_dim, self.units, bias=self.use_bias, batch_first=True, device="meta",
                       dtype=self.compute_dtype, reset_after=self.reset_after, activation=self._names[0],
                       recurrent_activation=self._names[1])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        config["reset_after"] = self.reset_after
        return config


@register("layer")
class SimpleRNNCell(FamilyCell):
    """One fully connected RNN step, as ``keras.layers.SimpleRNNCell``:
    ``h = activation(x @ kernel + h_prev @ recurrent_kernel + bias)``. Any Keras activation
    works (a name the reference cells know runs torch's kernels in ``RNN``; others the loop).

    ``states`` is ``h`` (or ``[h]``); returns ``(h_new, h_new)`` (``[h_new]`` for a list).
    Weights: ``kernel`` (features, units), ``recurrent_kernel`` (units, units), ``bias`` (units,).
    """

    _num_gates = 1  # FamilyCell's constructor as it is (its arguments are exactly Keras' SimpleRNNCell's)

    def _nonlinearity(self) -> Any:
        """The activation's name when the reference cells know it, else the Keras function."""
        try:
            name = activations.serialize(self.activation)
        except ValueError:
            name = None
        return name if name in ACTIVATIONS else self.activation

    @cached_property
    def spec(self):
        return rnn_spec(self._nonlinearity())

    def _from_keras(self, arrays):
        return layout.simple_rnn_from_keras(*arrays)

    def _sequence_module(self, input_dim: int) -> lnn.RNN:
        return lnn.RNN(input_dim, self.units, nonlinearity=self._nonlinearity(), bias=self.use_bias,
                       batch_first=True, device="meta", dtype=self.compute_dtype)
