"""What Keras' three built-in cells share (``LSTMCell``, ``GRUCell``, ``SimpleRNNCell`` in ``cells.py``).

A cell owns Keras-layout weights (``kernel``, ``recurrent_kernel``, ``bias``, created with
``add_weight`` in Keras' order) and runs one time step per ``call``. It does not hold a second
copy of the gate equations: ``call`` converts the weights to torch's layout with
``lstmkit.keras.layout`` and runs the family's torch step (``lstmkit.nn.family`` ->
``lstmkit.kernels.steps``, tested against the NumPy reference cells of ``lstmkit.cells``).

For a whole sequence ``RNN`` does better than a step loop: ``run_sequence`` runs the cell's
weights through the equivalent ``lstmkit.nn`` module (``torch.func.functional_call``, so
gradients reach the cell's own parameters), which takes lstmkit's fused kernels (or torch's)
exactly as ``keras.layers.LSTM`` / ``GRU`` / ``SimpleRNN`` do.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.func import functional_call

from lstmkit.keras import activations, constraints, initializers, regularizers
from lstmkit.keras.engine.layer import Layer, as_tensor
from lstmkit.keras.layers.rnn.dropout_rnn_cell import DropoutRNNCell
from lstmkit.keras.layers.rnn.rnn_base import set_cell_options
from lstmkit.nn.family import Spec, family_of
from lstmkit.nn.rnn import RecurrentStack

#: torch's parameter keys, in the order ``lstmkit.keras.layout``'s ``*_from_keras`` return them.
TORCH_KEYS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


class FamilyCell(Layer, DropoutRNNCell):
    """Base of the built-in Keras cells. Arguments every one of them takes (Keras 3's):

    Args:
        units: positive int, the size of the output and of each state.
        activation: the output/candidate activation (default "tanh").
        use_bias: whether the cell has a bias (default True).
        kernel_initializer, recurrent_initializer, bias_initializer: initializers of the
            three weights (defaults "glorot_uniform", "orthogonal", "zeros").
        kernel_regularizer, recurrent_regularizer, bias_regularizer: penalties (default None).
        kernel_constraint, recurrent_constraint, bias_constraint: projections (default None).
        dropout: fraction of the inputs to drop in training; one mask per sequence
            (``DropoutRNNCell``), used at every step.
        recurrent_dropout: fraction of the recurrent state ``h`` to drop in training, before the
            recurrent matmul; one mask per sequence. One mask serves all gates (lstmkit's
            variational dropout, as its LSTM/GRU layers; Keras' ``implementation=1`` draws one
            per gate).
        seed: seed of the dropout masks (default None: torch's global generator).
        name, trainable, dtype: see ``Layer``.
    """

    #: gate blocks in the weights (4 LSTM, 3 GRU, 1 SimpleRNN)
    _num_gates: int = 1

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: int | None = None, **kwargs: Any):
        kwargs.pop("implementation", None)  # Keras' kernel choice: meaningless here
        super().__init__(**kwargs)
        kind = type(self).__name__
        if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
            raise ValueError(f"Received an invalid value for argument `units`, expected a positive integer, "
                             f"got {units!r} ({kind})")
        self.units = units
        set_cell_options(self, kind, activation=activation, use_bias=use_bias, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, seed=seed, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint)
        self.output_size = units
        self.state_size: int | list[int] = units  # one state h (LSTMCell: [h, c])
        self.bias = None

    # ------------------------------------------------------------------ subclass hooks
    @property
    def spec(self) -> Spec:
        """The ``lstmkit.cells.spec`` variant this cell computes."""
        raise NotImplementedError

    def _bias_shape(self) -> tuple[int, ...]:
        return (self._num_gates * self.units,)

    def _init_bias(self, bias: torch.Tensor) -> None:
        """Initialise the bias in place after its initializer ran (LSTM: unit_forget_bias)."""

    def _from_keras(self, arrays: list[torch.Tensor]) -> list[torch.Tensor]:
        """Keras ``[kernel, recurrent_kernel(, bias)]`` -> torch's ``TORCH_KEYS`` (``layout``)."""
        raise NotImplementedError

    def _sequence_module(self, input_dim: int) -> RecurrentStack:
        """The one-layer, batch-first ``lstmkit.nn`` module with this cell's configuration."""
        raise NotImplementedError

    # ------------------------------------------------------------------ weights
    def build(self, input_shape: Any) -> None:
        shape = tuple(input_shape)
        if len(shape) < 2 or isinstance(shape[-1], (list, tuple)) or shape[-1] is None:
            raise ValueError(f"{type(self).__name__} {self.name!r} expects step inputs of shape (batch, features) "
                             f"with a known number of features, got shape {shape}")
        input_dim, G = int(shape[-1]), self._num_gates
        self.add_weight("kernel", (input_dim, G * self.units), self.kernel_initializer,
                        self.kernel_regularizer, self.kernel_constraint)
        self.add_weight("recurrent_kernel", (self.units, G * self.units), self.recurrent_initializer,
                        self.recurrent_regularizer, self.recurrent_constraint)
        if self.use_bias:
            del self.bias  # the None placeholder, so add_weight can register the parameter
            bias = self.add_weight("bias", self._bias_shape(), self.bias_initializer, self.bias_regularizer,
                                   self.bias_constraint)
            with torch.no_grad():
                self._init_bias(bias)
        self._input_dim = input_dim

    def torch_params(self) -> dict[str, torch.Tensor]:
        """The weights in torch's layout, keyed as the reference cells (``weight_ih``, ...):
        differentiable functions of the Keras-layout parameters."""
        if not self.built:
            raise ValueError(f"{type(self).__name__} {self.name!r} has no weights yet: call it or build() it first")
        keras = [self.kernel, self.recurrent_kernel] + ([self.bias] if self.use_bias else [])
        return dict(zip(TORCH_KEYS, self._from_keras(keras)))

    # ------------------------------------------------------------------ states
    @property
    def _state_count(self) -> int:
        return family_of(self.spec).n_states

    def get_initial_state(self, batch_size: int | None = None) -> list[torch.Tensor]:
        """Zero states, one (batch_size, units) tensor per state, in the compute dtype."""
        device = self.kernel.device if self.built else None
        return [torch.zeros(batch_size or 1, self.units, dtype=self.compute_dtype, device=device)
                for _ in range(self._state_count)]

    # ------------------------------------------------------------------ one step
    def call(self, inputs: torch.Tensor, states: Any, training: bool | None = None) -> tuple[torch.Tensor, Any]:
        nested = isinstance(states, (list, tuple))
        state = list(states) if nested else [states]
        n = self._state_count
        if len(state) != n:
            raise ValueError(f"{type(self).__name__} {self.name!r} takes {n} state tensor(s), got {len(state)}")
        x = inputs if inputs.dtype == self.compute_dtype else inputs.to(self.compute_dtype)
        state = [s.to(device=x.device, dtype=x.dtype) for s in map(as_tensor, state)]
        if training and self.dropout > 0:
            x = x * self.get_dropout_mask(x)
        rmask = self.get_recurrent_dropout_mask(state[0]) if training and self.recurrent_dropout > 0 else None
        spec, p = self.spec, self.torch_params()
        family = family_of(spec)
        gx = family.input_projection(spec, p, x)  # (B, G*units)
        output, new_state = family.step(spec, p, rmask)(gx, tuple(state))
        new_state = list(new_state[:n])
        return output, (new_state if nested or n > 1 else new_state[0])

    # ------------------------------------------------------------------ a whole sequence
    def can_run_sequence(self, training: bool | None) -> bool:
        """Whether ``run_sequence`` computes what a step loop over ``call`` would: a built-in
        ``call`` (a subclass may override it) and no dropout mask drawn in this call."""
        own_call = type(self).call is FamilyCell.call
        return own_call and not (training and (self.dropout > 0 or self.recurrent_dropout > 0))

    def run_sequence(self, x: torch.Tensor, states: list[torch.Tensor], mask: torch.Tensor | None,
                     zero_output_for_mask: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The whole (batch, time, features) sequence on the ``lstmkit.nn`` module, with this
        cell's weights: the (batch, time, units) outputs and the final states. Masked steps keep
        the states and output the previous output (zeros with ``zero_output_for_mask``)."""
        module = self.__dict__.get("_module")
        if module is None or module.input_size != x.shape[-1]:
            module = self._sequence_module(x.shape[-1])
            self.__dict__["_module"] = module  # not a sub-module: its own parameters never run
        module.masked_output = "zero" if zero_output_for_mask else "carry"
        module.training = self.training
        params = {f"{key}_l0": value for key, value in self.torch_params().items()}
        hx = tuple(s.unsqueeze(0) for s in states) if len(states) > 1 else states[0].unsqueeze(0)
        out, final = functional_call(module, params, (x, hx), {"mask": mask}, strict=True)
        final = final if isinstance(final, tuple) else (final,)
        return out, [s[0] for s in final]

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            units=self.units, activation=activations.serialize(self.activation), use_bias=self.use_bias,
            kernel_initializer=initializers.serialize(self.kernel_initializer),
            recurrent_initializer=initializers.serialize(self.recurrent_initializer),
            bias_initializer=initializers.serialize(self.bias_initializer),
            kernel_regularizer=regularizers.serialize(self.kernel_regularizer),
            recurrent_regularizer=regularizers.serialize(self.recurrent_regularizer),
            bias_regularizer=regularizers.serialize(self.bias_regularizer),
            kernel_constraint=constraints.serialize(self.kernel_constraint),
            recurrent_constraint=constraints.serialize(self.recurrent_constraint),
            bias_constraint=constraints.serialize(self.bias_constraint),
            dropout=self.dropout, recurrent_dropout=self.recurrent_dropout, seed=self.seed,
        )
        return config
