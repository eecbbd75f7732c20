"""LSTM, as ``keras.layers.LSTM``: same arguments, defaults, weights (layout and order), outputs,
masking and statefulness as Keras 3, on an ``lstmkit.nn.LSTM`` (fused kernels when the
configuration allows). Common arguments are documented once, on ``RecurrentBase``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from lstmkit import nn as lnn
from lstmkit.cells.spec import lstm_spec
from lstmkit.keras import layout
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.rnn.torch_recurrent import GatedRecurrent
from lstmkit.nn import _checks


@register("layer")
class LSTM(GatedRecurrent):
    """Long Short-Term Memory layer (Hochreiter & Schmidhuber 1997), as ``keras.layers.LSTM``.

    Inputs (batch, timesteps, features); output (batch, units), or (batch, timesteps, units)
    with return_sequences; with return_state ``[output, h, c]``. Call as
    ``layer(x, mask=None, training=None, initial_state=[h0, c0])``.

    Args (besides the common ones of ``RecurrentBase``, ``TorchRecurrent``, ``GatedRecurrent``):
        unit_forget_bias: initialise the forget-gate bias to 1 (Jozefowicz et al. 2015;
            default True).
        variant: an LSTM variant of ``lstmkit.cells.spec.LSTM_VARIANTS`` (default "lstm",
            Keras' own). Variants without a gate have no columns for it in the weights.
        peepholes: peephole connections (Gers & Schmidhuber 2000); None keeps the variant's
            default. Their weights, (gates, units), come after Keras' three.

    Weights: ``kernel`` (features, 4*units), ``recurrent_kernel`` (units, 4*units), ``bias``
    (4*units,), columns i|f|c|o, exactly as Keras; then peepholes and layer-norm gains/shifts
    (torch layout) if enabled.
    """

    _state_names = ("h", "c")

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: int | None = None, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, stateful: bool = False,
                 unroll: bool = False, use_cudnn: Any = "auto", *, variant: str = "lstm",
                 peepholes: bool | None = None, layer_norm: bool = False, zoneout: float | Sequence[float] = 0.0,
                 backend: str = "auto", **kwargs: Any):
        kwargs.pop("implementation", None)  # Keras 2's kernel choice: meaningless here
        super().__init__(recurrent_activation=recurrent_activation, use_cudnn=use_cudnn, layer_norm=layer_norm,
                         zoneout=zoneout, backend=backend,
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
        self.unit_forget_bias = bool(unit_forget_bias)
        self.variant = variant
        self.peepholes = peepholes
        self.spec = lstm_spec(variant).with_options(peepholes=peepholes, activation=self._activation_name,
                                                    recurrent_activation=self._recurrent_activation_name)
        self.zoneout = _checks.zoneout_rates(zoneout, two=True)

    def _make_module(self, input_dim: int) -> lnn.LSTM:
        return lnn.LSTM(input_dim, self.units, bias=self.use_bias, batch_first=True, dtype=self.compute_dtype,
                        variant=self.variant, peepholes=self.peepholes, layer_norm=self.layer_norm,
                        recurrent_dropout=self.recurrent_dropout, zoneout=self.zoneout,
                        activation=self._activation_name, recurrent_activation=self._recurrent_activation_name,
                        masked_output="carry", backend=self.backend)

    def _folded(self) -> bool:
        return True

    def _to_keras(self, p: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        return layout.lstm_to_keras(p["weight_ih"], p["weight_hh"], p.get("bias_ih"), p.get("bias_hh"))

    def _from_keras(self, arrays: list[torch.Tensor]) -> list[torch.Tensor]:
        return layout.lstm_from_keras(*arrays)

    def _init_bias(self, bias: torch.Tensor) -> None:
        super()._init_bias(bias)
        if self.unit_forget_bias and "f" in self.spec.gates:
            k = self.spec.gates.index("f")
            bias[k * self.units:(k + 1) * self.units] = 1.0

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["unit_forget_bias"] = self.unit_forget_bias
        if self.variant != "lstm":
            config["variant"] = self.variant
        if self.peepholes is not None:
            config["peepholes"] = self.peepholes
        return config
