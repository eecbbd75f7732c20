"""SimpleRNN, as ``keras.layers.SimpleRNN``, on an ``lstmkit.nn.RNN`` (torch's ``rnn_tanh`` /
``rnn_relu`` kernels when the configuration allows, the plain-torch loop otherwise)."""

from __future__ import annotations

from typing import Any

import torch

from lstmkit import nn as lnn
from lstmkit.cells.spec import ACTIVATIONS
from lstmkit.keras import activations, layout
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.rnn.torch_recurrent import TorchRecurrent


@register("layer")
class SimpleRNN(TorchRecurrent):
    """Fully connected RNN, the output fed back as input, as ``keras.layers.SimpleRNN``:
    ``h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)``.

    Inputs (batch, timesteps, features); output (batch, units), or (batch, timesteps, units)
    with return_sequences; with return_state ``[output, h]``. Arguments: those of
    ``RecurrentBase`` (any Keras activation works) and ``backend`` (``TorchRecurrent``). It
    runs on an ``lstmkit.nn.RNN``: torch's kernels for tanh and relu without masks or
    recurrent dropout, the plain-torch loop otherwise. Weights, as Keras: ``kernel``
    (features, units), ``recurrent_kernel`` (units, units), ``bias`` (units,).
    """

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False, seed: int | None = None,
                 *, backend: str = "auto", **kwargs: Any):
        super().__init__(backend=backend,
                         units=units, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                         dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed,
                         return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         **kwargs)

    def _nonlinearity(self) -> str | Any:
        """The activation for ``lstmkit.nn.RNN``: its name when the reference cells know it (so
        torch's kernels run tanh/relu, and the layer can be traced), else the Keras function."""
        try:
            name = activations.serialize(self.activation)
        except ValueError:
            name = None
        return name if name in ACTIVATIONS else self.activation

    def _make_module(self, input_dim: int) -> lnn.RNN:
        return lnn.RNN(input_dim, self.units, nonlinearity=self._nonlinearity(), bias=self.use_bias,
                       batch_first=True, dtype=self.compute_dtype, recurrent_dropout=self.recurrent_dropout,
                       masked_output="carry", backend=self.backend)

    def _folded(self) -> bool:
        return True

    def _to_keras(self, p: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        return layout.simple_rnn_to_keras(p["weight_ih"], p["weight_hh"], p.get("bias_ih"), p.get("bias_hh"))

    def _from_keras(self, arrays: list[torch.Tensor]) -> list[torch.Tensor]:
        return layout.simple_rnn_from_keras(*arrays)
