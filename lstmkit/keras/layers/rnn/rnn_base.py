"""What Keras' recurrent layers share: the call protocol around one recurrent run.

``RecurrentBase`` owns everything that is about the *layer* rather than the cell: input checks,
Keras' input dropout, ``go_backwards``, masks, ``initial_state``, stateful states,
``return_sequences`` / ``return_state``, the output mask, and the arguments and config every
Keras RNN layer has. Subclasses (``LSTM``, ``GRU``, ``SimpleRNN`` in ``recurrent.py``) create
the weights in ``build`` and implement ``_run``: one forward pass over a (batch, time,
features) sequence with an optional (batch, time) mask.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from lstmkit.keras import activations, constraints, initializers, regularizers
from lstmkit.keras.engine import layer as engine_layer
from lstmkit.keras.engine.keras_tensor import KerasTensor, flatten
from lstmkit.keras.engine.layer import Layer, as_tensor
from lstmkit.keras.layers.common import as_bool_mask, set_weight_options
from lstmkit.nn import _checks


def check_rate(layer: str, name: str, value: Any) -> float:
    """A dropout rate in [0, 1), or a ValueError naming the layer and the argument (the check of
    lstmkit.nn, which the layer's module runs again)."""
    return _checks.rate(f"{layer}: {name}", value)


def set_cell_options(layer: Any, kind: str, *, activation: Any, use_bias: bool, dropout: Any,
                     recurrent_dropout: Any, seed: Any, **weight_opts: Any) -> None:
    """What a recurrent layer and a cell check and store alike: the seed (an int or None), the
    activation, ``use_bias``, the ``*_initializer`` / ``*_regularizer`` / ``*_constraint``
    arguments (resolved, in the order given), then the two dropout rates. ``kind`` names the
    layer in the messages."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ValueError(f"{kind}: seed must be an int or None, got {seed!r}")
    layer.activation = activations.get(activation)
    layer.use_bias = bool(use_bias)
    set_weight_options(layer, **weight_opts)
    layer.dropout = check_rate(kind, "dropout", dropout)
    layer.recurrent_dropout = check_rate(kind, "recurrent_dropout", recurrent_dropout)
    layer.seed = seed


def set_sequence_options(layer: Any, return_sequences: Any, return_state: Any, go_backwards: Any, stateful: Any,
                         unroll: Any, zero_output_for_mask: Any) -> None:
    """The sequence arguments of ``RNN`` and the built-in recurrent layers, as bools; masks are
    supported, and a stateful layer given ``batch_input_shape`` expects that batch size."""
    layer.return_sequences = bool(return_sequences)
    layer.return_state = bool(return_state)
    layer.go_backwards = bool(go_backwards)
    layer.stateful = bool(stateful)
    layer.unroll = bool(unroll)
    layer.zero_output_for_mask = bool(zero_output_for_mask)
    layer.supports_masking = True
    shape_arg = layer._input_shape_arg
    layer._expected_batch = shape_arg[0] if shape_arg is not None and layer.stateful else None


#: Keras 3's error for unroll=True without a known number of timesteps (keras.layers.RNN.call).
UNROLL_NEEDS_TIMESTEPS = ("Cannot unroll a RNN if the time dimension is undefined. \n- If using a Sequential model, "
                          "specify the time dimension by passing an `Input()` as your first layer.\n- If using the "
                          "functional API, specify the time dimension by passing a `shape` or `batch_shape` argument "
                          "to your `Input()`.")


class RecurrentBase(Layer):
    """Base of the Keras recurrent layers. Arguments every one of them takes:

    Args:
        units: positive int, the size of the output and of each state.
        activation: the output/candidate activation (default "tanh"; None means linear).
        use_bias: whether the layer has a bias (default True).
        kernel_initializer: initializer of ``kernel``, the input weights (default "glorot_uniform").
        recurrent_initializer: initializer of ``recurrent_kernel`` (default "orthogonal").
        bias_initializer: initializer of ``bias`` (default "zeros").
        kernel_regularizer, recurrent_regularizer, bias_regularizer: penalties on those weights,
            in Keras' layout (default None); ``activity_regularizer``: a penalty on the outputs.
        kernel_constraint, recurrent_constraint, bias_constraint: projections applied to those
            weights (Keras' layout) after each optimizer step (default None).
        dropout: fraction of the input features to drop in training, with one mask per
            sequence used at every step (Keras' input dropout; default 0).
        recurrent_dropout: fraction of the recurrent state to drop in training, one mask per
            sequence (variational; default 0).
        seed: seed of the input-dropout masks (default None: torch's global generator).
        return_sequences: return the output of every step (batch, time, units) instead of the
            last one (batch, units) (default False).
        return_state: also return the final states: ``[output, *states]`` (default False).
        go_backwards: process the sequence backwards; with return_sequences the outputs come
            in that reversed order, as in Keras (default False).
        stateful: keep the final states of a batch as the initial states of the next one;
            needs a fixed batch size. ``reset_states()`` zeroes them (default False).
        unroll: run the recurrence as a step-by-step Python loop (lstmkit.nn's plain-torch
            loop, ``backend="reference"`` for the call) instead of the fused kernels: the same
            results, slower on long sequences (Keras unrolls the graph; on torch the loop is
            the unrolled form). As in Keras, a functional model must then know the number of
            timesteps: ``Input(shape=(None, features))`` raises a ValueError (default False).
        zero_output_for_mask: with a mask and return_sequences, masked steps output zeros
            instead of repeating the previous output (default False; Bidirectional sets it).
        name, trainable, dtype, input_shape, batch_input_shape: see ``Layer``.
    """

    _state_names: tuple[str, ...] = ("h",)

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: int | None = None, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, stateful: bool = False,
                 unroll: bool = False, zero_output_for_mask: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        kind = type(self).__name__
        if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
            raise ValueError(f"{kind}: units must be a positive int, got {units!r}")
        self.units = units
        set_cell_options(self, kind, activation=activation, use_bias=use_bias, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, seed=seed, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint)
        set_sequence_options(self, return_sequences, return_state, go_backwards, stateful, unroll,
                             zero_output_for_mask)
        self._states: list[torch.Tensor] | None = None
        self._generator: torch.Generator | None = None
        self._input_dim: int | None = None
        self._placed = False
        # Keras-layout name -> regularizer / constraint, read by ``losses`` / ``apply_constraints``.
        for attr, reg, con in (("kernel", self.kernel_regularizer, self.kernel_constraint),
                               ("recurrent_kernel", self.recurrent_regularizer, self.recurrent_constraint),
                               ("bias", self.bias_regularizer if self.use_bias else None,
                                self.bias_constraint if self.use_bias else None)):
            if reg is not None:
                self._regularizers[attr] = reg
            if con is not None:
                self._constraints[attr] = con

    # ------------------------------------------------------------------ building
    def _check_build_shape(self, input_shape: Any) -> int:
        """The feature size of a (batch, time, features) input shape, or a clear error."""
        shape = tuple(input_shape)
        if len(shape) != 3 or shape[-1] is None:
            raise ValueError(f"{type(self).__name__} layer {self.name!r} expects inputs of shape (batch, timesteps, "
                             f"features) with a known number of features, got shape {shape}")
        self._input_dim = int(shape[-1])
        self._placed = False  # weights not yet used with data: the first call may move them (see _place)
        if self.stateful and shape[0] is not None:
            # as Keras: a stateful layer built for a fixed batch size holds zero states from the start
            self._expected_batch = int(shape[0])
            self._states = [torch.zeros(int(shape[0]), self.units, dtype=self.compute_dtype)
                            for _ in self._state_names]
        return self._input_dim

    def _symbolic_call(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        first = flatten(inputs)[0]
        if self.unroll and isinstance(first, KerasTensor) and len(first.shape) > 1 and first.shape[1] is None:
            raise ValueError(UNROLL_NEEDS_TIMESTEPS)
        if self.stateful and isinstance(first, KerasTensor) and first.shape and first.shape[0] is None:
            raise ValueError(f"{type(self).__name__} layer {self.name!r} is stateful, which needs a fixed batch size; "
                             f"got inputs of shape {first.shape}. Give the batch size: Input(shape=..., batch_size=N) "
                             "or batch_input_shape=(N, timesteps, features)")
        return super()._symbolic_call(inputs, *args, **kwargs)

    # ------------------------------------------------------------------ calling
    def _run(self, x: torch.Tensor, states: list[torch.Tensor] | None,
             mask: torch.Tensor | None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """One pass over ``x`` (batch, time, features), already dropped out and time-reversed
        for go_backwards: the (batch, time, units) outputs and the final states."""
        raise NotImplementedError

    def call(self, inputs: torch.Tensor, mask: Any = None, training: bool | None = None,
             initial_state: Any = None) -> Any:
        x, mask, states = self._prepare(inputs, mask, initial_state, bool(training) and self.dropout > 0)
        B = x.shape[0]
        seq, final = self._run(x, states, mask)
        if self.stateful and not engine_layer.TRACING:
            self._states = [s.detach() for s in final]
            self._expected_batch = B
        output = seq if self.return_sequences else seq[:, -1]
        return [output, *final] if self.return_state else output

    def _prepare(self, inputs: Any, mask: Any, initial_state: Any,
                 input_dropout: bool) -> tuple[torch.Tensor, torch.Tensor | None, list[torch.Tensor] | None]:
        """The checked input (on the weights' device), its bool mask and the initial states; with
        ``input_dropout`` Keras' input dropout mask applied; both time-reversed for go_backwards."""
        x = self._check_input(inputs)
        self._place(x)
        B, T = x.shape[:2]
        mask = self._check_mask(mask, B, T, x.device)
        states = self._initial_states(initial_state, x)
        if input_dropout:
            x = x * self._dropout_mask(x)
        if self.go_backwards:
            x = x.flip(1)
            mask = None if mask is None else mask.flip(1)
        return x, mask, states

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        output_mask = as_bool_mask(mask, inputs) if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(self._state_names)
        return output_mask

    def _check_input(self, inputs: Any) -> torch.Tensor:
        kind = type(self).__name__
        if isinstance(inputs, (list, tuple)):
            raise ValueError(f"{kind} layer {self.name!r} takes one (batch, timesteps, features) tensor, got a "
                             f"{type(inputs).__name__} of {len(inputs)}; pass initial states as initial_state=[...]")
        x = inputs
        if x.dim() != 3:
            raise ValueError(f"{kind} layer {self.name!r} expects inputs of shape (batch, timesteps, features), got "
                             f"shape {tuple(x.shape)} (rank {x.dim()})")
        if x.shape[-1] != self._input_dim:
            raise ValueError(f"{kind} layer {self.name!r} was built for {self._input_dim} input features, expected "
                             f"shape (batch, timesteps, {self._input_dim}), got shape {tuple(x.shape)}")
        if x.shape[1] == 0:
            raise ValueError(f"{kind} layer {self.name!r} needs at least one timestep, got shape {tuple(x.shape)}")
        if x.dtype != self.compute_dtype:
            x = x.to(self.compute_dtype)
        return x

    def _place(self, x: torch.Tensor) -> None:
        """Weights are created on the CPU; the first call after build moves them to the data's
        device (as Keras creates them where the computation runs). Later a mismatch is an error."""
        weight = next(self.parameters(), None)
        if weight is not None and weight.device != x.device:
            if self._placed:
                raise ValueError(f"{type(self).__name__} layer {self.name!r} has its weights on {weight.device} but "
                                 f"got inputs on {x.device}: move one of them (layer.to(device) / x.to(device))")
            self.to(x.device)
        self._placed = True

    def _check_mask(self, mask: Any, B: int, T: int, device: torch.device) -> torch.Tensor | None:
        mask = as_bool_mask(mask)
        if mask is None:
            return None
        if tuple(mask.shape) != (B, T):
            raise ValueError(f"{type(self).__name__} layer {self.name!r}: mask must have shape (batch, timesteps) = "
                             f"{(B, T)}, got {tuple(mask.shape)}")
        return mask.to(device=device, dtype=torch.bool)

    def _dropout_mask(self, x: torch.Tensor) -> torch.Tensor:
        """Keras' input dropout: one (batch, 1, features) mask, scaled by 1/(1-rate), for every step."""
        keep = 1.0 - self.dropout
        shape = (x.shape[0], 1, x.shape[2])
        if self.seed is None:
            return torch.bernoulli(x.new_full(shape, keep)) / keep
        if self._generator is None:
            self._generator = torch.Generator().manual_seed(self.seed)
        bits = torch.bernoulli(torch.full(shape, keep, dtype=x.dtype), generator=self._generator)
        return bits.to(x.device) / keep

    # ------------------------------------------------------------------ states
    def _initial_states(self, initial_state: Any, x: torch.Tensor) -> list[torch.Tensor] | None:
        B = x.shape[0]
        kind, n = type(self).__name__, len(self._state_names)
        if self.stateful and self._expected_batch is not None and B != self._expected_batch:
            raise ValueError(f"{kind} layer {self.name!r} is stateful: the batch size of the input sequences must be "
                             f"the same as the batch size of its states. Expected batch size: {self._expected_batch}, "
                             f"received batch size: {B} (give fit/predict/evaluate batch_size={self._expected_batch} "
                             "and a sample count divisible by it; another batch size needs a new layer)")
        if initial_state is None:
            if self.stateful and self._states is not None:
                return [s.to(x.device) for s in self._states]
            return None
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        if len(states) != n:
            raise ValueError(f"{kind} layer {self.name!r} takes {n} initial state tensor(s) "
                             f"({', '.join(self._state_names)}), got {len(states)}")
        out = []
        for name, s in zip(self._state_names, states):
            if isinstance(s, KerasTensor):  # (the shape pass gives call arguments as dummy tensors)
                raise TypeError(f"{kind} layer {self.name!r}: initial state {name} is a symbolic tensor ({s!r}) but "
                                "the layer was called on concrete data: call it on symbolic inputs (keras.Input) "
                                "too, or pass the states as arrays")
            s = as_tensor(s)
            if tuple(s.shape) != (B, self.units):
                raise ValueError(f"{kind} layer {self.name!r}: initial state {name} must have shape (batch, units) = "
                                 f"{(B, self.units)}, got {tuple(s.shape)}")
            out.append(s.to(device=x.device, dtype=x.dtype))
        return out

    @property
    def states(self) -> list[torch.Tensor] | None:
        """The kept states of a stateful layer (None before its first call)."""
        return self._states

    def reset_states(self, states: Sequence[Any] | None = None) -> None:
        """Zero the kept states of a stateful layer, or set them to ``states`` (one array per
        state). A layer that is not stateful keeps no states: nothing to do (as Keras)."""
        if not self.stateful:
            return
        if states is not None:
            B = self._expected_batch
            values = [as_tensor(s).to(self.compute_dtype) for s in (states if isinstance(states, (list, tuple))
                                                                    else [states])]
            if len(values) != len(self._state_names) or any(v.dim() != 2 or v.shape[1] != self.units or
                                                             (B is not None and v.shape[0] != B) for v in values):
                raise ValueError(f"reset_states: layer {self.name!r} expects {len(self._state_names)} arrays of shape "
                                 f"({B if B is not None else 'batch'}, {self.units}), got "
                                 f"{[tuple(v.shape) for v in values]}")
            self._states = values
            self._expected_batch = int(values[0].shape[0])
        elif self._states is not None:
            self._states = [torch.zeros_like(s) for s in self._states]

    reset_state = reset_states

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            return_sequences=self.return_sequences, return_state=self.return_state, go_backwards=self.go_backwards,
            stateful=self.stateful, unroll=self.unroll, zero_output_for_mask=self.zero_output_for_mask,
            units=self.units, activation=activations.serialize(self.activation),
            use_bias=self.use_bias,
            kernel_initializer=initializers.serialize(self.kernel_initializer),
            recurrent_initializer=initializers.serialize(self.recurrent_initializer),
            bias_initializer=initializers.serialize(self.bias_initializer),
            kernel_regularizer=regularizers.serialize(self.kernel_regularizer),
            recurrent_regularizer=regularizers.serialize(self.recurrent_regularizer),
            bias_regularizer=regularizers.serialize(self.bias_regularizer),
            activity_regularizer=regularizers.serialize(self.activity_regularizer),
            kernel_constraint=constraints.serialize(self.kernel_constraint),
            recurrent_constraint=constraints.serialize(self.recurrent_constraint),
            bias_constraint=constraints.serialize(self.bias_constraint),
            dropout=self.dropout, recurrent_dropout=self.recurrent_dropout, seed=self.seed,
        )
        return config
