"""Keras' recurrent layers: ``LSTM``, ``GRU`` and ``SimpleRNN`` (``tensorflow.keras.layers``).

Same arguments, defaults, weights (layout and order), outputs, masking and statefulness as
Keras 3. Each layer owns one ``lstmkit.nn`` module (``LSTM``, ``GRU``, ``RNN``), which runs on
torch's fused kernels whenever the configuration allows (SimpleRNN: ``rnn_tanh`` /
``rnn_relu``), and accepts lstmkit's extras as keyword-only arguments. The common arguments
are documented once, on ``RecurrentBase`` (``_rnn_base.py``), the module-owning ones on
``TorchRecurrent`` and the LSTM / GRU ones on ``GatedRecurrent`` (``_torch_recurrent.py``).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import torch

from lstmkit import nn as lnn
from lstmkit.cells.spec import ACTIVATIONS, gru_spec, lstm_spec
from lstmkit.keras import activations, layout
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers._rnn_base import RecurrentBase
from lstmkit.keras.layers._torch_recurrent import GatedRecurrent, TorchRecurrent
from lstmkit.nn import _checks

__all__ = ["LSTM", "GRU", "SimpleRNN"]

_COMMON = tuple(inspect.signature(RecurrentBase.__init__).parameters)[1:-1]  # without self and **kwargs


def _common(args: dict[str, Any]) -> dict[str, Any]:
    """The arguments ``RecurrentBase`` takes, picked from a constructor's ``locals()``."""
    return {k: args[k] for k in _COMMON if k in args}


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
                         zoneout=zoneout, backend=backend, **_common(locals()), **kwargs)
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
                         zoneout=zoneout, backend=backend, **_common(locals()), **kwargs)
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
        super().__init__(backend=backend, **_common(locals()), **kwargs)

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
