"""GRU, as ``keras.layers.GRU`` (``reset_after`` both ways), on an ``lstmkit.nn.GRU``."""

from __future__ import annotations

from typing import Any

import torch

from lstmkit import nn as lnn
from lstmkit.cells.spec import gru_spec
from lstmkit.keras import layout
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.rnn.torch_recurrent import GatedRecurrent
from lstmkit.nn import _checks


@register("layer")
class GRU(GatedRecurrent):
    """Gated Recurrent Unit layer (Cho et al. 2014), as ``keras.layers.GRU``.

    Inputs (batch, timesteps, features); output (batch, units), or (batch, timesteps, units)
    with return_sequences; with return_state ``[output, h]``.

    Args (besides the common ones of ``RecurrentBase``, ``TorchRecurrent``, ``GatedRecurrent``):
        reset_after: apply the reset gate after the recurrent matmul (default True: Keras 3's,
            torch's and cuDNN's form, with separate input and recurrent biases); False is
            Cho et al.'s original form with one bias.
        variant: "gru" (default; reset_after chooses the form) or Jozefowicz et al. 2015's
            "mut1", "mut2", "mut3" (which keep both biases and ignore reset_after).

    Weights: ``kernel`` (features, 3*units), ``recurrent_kernel`` (units, 3*units), columns
    z|r|h, and ``bias`` (2, 3*units) = [input bias, recurrent bias] when reset_after=True,
    (3*units,) otherwise, exactly as Keras; then layer-norm gains/shifts (torch layout).
    """

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: int | None = None, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False, reset_after: bool = True,
                 use_cudnn: Any = "auto", *, variant: str = "gru", layer_norm: bool = False, zoneout: float = 0.0,
                 backend: str = "auto", **kwargs: Any):
        kwargs.pop("implementation", None)
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
        if variant == "gru_cho":
            raise ValueError("GRU: for Cho et al.'s form use variant='gru' with reset_after=False")
        self.reset_after = bool(reset_after)
        self.variant = variant
        name = ("gru" if self.reset_after else "gru_cho") if variant == "gru" else variant
        self.spec = gru_spec(name).with_options(activation=self._activation_name,
                                                recurrent_activation=self._recurrent_activation_name)
        self.zoneout = _checks.zoneout_rates(zoneout, two=False)[0]

    def _make_module(self, input_dim: int) -> lnn.GRU:
        reset_after = self.reset_after if self.variant == "gru" else None
        return lnn.GRU(input_dim, self.units, bias=self.use_bias, batch_first=True, dtype=self.compute_dtype,
                       variant=self.variant, reset_after=reset_after, layer_norm=self.layer_norm,
                       recurrent_dropout=self.recurrent_dropout, zoneout=self.zoneout,
                       activation=self._activation_name, recurrent_activation=self._recurrent_activation_name,
                       masked_output="carry", backend=self.backend)

    def _folded(self) -> bool:
        return self.spec.name == "gru_cho"

    def _gates(self) -> dict[str, Any]:
        return {"reset_after": not self._folded(), "ih_gates": self.spec.ih_gates, "hh_gates": self.spec.hh_gates}

    def _to_keras(self, p: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        return layout.gru_to_keras(p["weight_ih"], p["weight_hh"], p.get("bias_ih"), p.get("bias_hh"),
                                   **self._gates())

    def _from_keras(self, arrays: list[torch.Tensor]) -> list[torch.Tensor]:
        return layout.gru_from_keras(*arrays, **self._gates())

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["reset_after"] = self.reset_after
        if self.variant != "gru":
            config["variant"] = self.variant
        return config
