"""ConvLSTM1D / ConvLSTM2D / ConvLSTM3D, as ``keras.layers.ConvLSTM*``: an LSTM whose input and
recurrent transformations are convolutions (Shi et al. 2015), so each state is a feature map.

Same arguments, defaults, weights (``kernel`` (*k, C, 4F), ``recurrent_kernel`` (*k, F, 4F),
``bias`` (4F,), gates i|f|c|o), outputs, masks, dropout and statefulness as Keras 3. The
equations are those of ``lstmkit.cells.conv_lstm`` (the float64 reference the tests check
against); here they run on torch, laid out for speed: the input convolution of all T frames is
one batched call (B*T frames) before the time loop, and each step does one recurrent
convolution for all four gates. Inside, maps are channels_first (torch's conv layout) whatever
the layer's ``data_format``; inputs, outputs and states are converted at the edges.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from lstmkit.keras import activations
from lstmkit.keras.engine import layer as engine_layer
from lstmkit.keras.engine.keras_tensor import KerasTensor
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.common import check_single_shape, positive_int
from lstmkit.keras.layers.convolutional.spatial import standardize_data_format, standardize_padding, standardize_tuple
from lstmkit.keras.layers.rnn.conv_geometry import Conv
from lstmkit.keras.layers.rnn.rnn_base import RecurrentBase

GATES = 4  # i|f|c|o


class ConvLSTM(RecurrentBase):
    """Base of ``ConvLSTM1D/2D/3D`` (``rank`` spatial axes). Inputs (batch, time, *spatial,
    channels) (channels_last) or (batch, time, channels, *spatial) (channels_first); output the
    last step's (batch, *out, filters) map (channels_first: (batch, filters, *out)), or all
    steps' with return_sequences; with return_state ``[output, h, c]``. Call as
    ``layer(x, mask=None, training=None, initial_state=[h0, c0])``.

    Args (the recurrent ones are documented on ``RecurrentBase``):
        filters: the number of output channels of each convolution (the state's channels).
        kernel_size: int or ``rank`` ints, the convolution window (input and recurrent).
        strides: int or ``rank`` ints, of the input convolution (the recurrent one has 1);
            ``strides > 1`` excludes ``dilation_rate > 1``, as in Keras.
        padding: "valid" or "same" (any case), of the input convolution (the recurrent one is
            always "same", so the state keeps the input convolution's output shape).
        data_format: "channels_last" (default, also for None) or "channels_first".
        dilation_rate: int or ``rank`` ints, of the input convolution.
        recurrent_activation: the gate activation (default "sigmoid"); ``activation``
            (default "tanh") squashes the candidate and the cell state.
        unit_forget_bias: add 1 to the forget gate's bias at initialisation (default True).
        dropout / recurrent_dropout: in training, four masks per sequence (one per gate) over
            every input / state element, reused at every step (Keras' DropoutRNNCell).
    """

    rank = 2
    _state_names = ("h", "c")

    def __init__(self, filters: int, kernel_size: int | Sequence[int], strides: int | Sequence[int] = 1,
                 padding: str = "valid", data_format: str | None = None, dilation_rate: int | Sequence[int] = 1,
                 activation: Any = "tanh", recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", unit_forget_bias: bool = True, kernel_regularizer: Any = None,
                 recurrent_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None, bias_constraint: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, seed: int | None = None,
                 return_sequences: bool = False, return_state: bool = False, go_backwards: bool = False,
                 stateful: bool = False, **kwargs: Any):
        kind = type(self).__name__
        filters = positive_int(filters, f"{kind}: filters")
        super().__init__(filters, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, dropout=dropout, recurrent_dropout=recurrent_dropout,
                         seed=seed, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, **kwargs)
        self.filters = filters
        self.kernel_size = standardize_tuple(kernel_size, self.rank, "kernel_size")
        self.strides = standardize_tuple(strides, self.rank, "strides")
        self.padding = standardize_padding(padding)
        self.data_format = standardize_data_format(data_format)
        self.dilation_rate = standardize_tuple(dilation_rate, self.rank, "dilation_rate")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError("Specifying `strides > 1` is not compatible with `dilation_rate > 1`. Please provide "
                             f"`strides=1` or `dilation_rate=1`. Received: strides={self.strides} and "
                             f"dilation_rate={self.dilation_rate}")
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)
        self._spatial: tuple[int, ...] | None = None
        self._out_spatial: tuple[int, ...] | None = None

    # ------------------------------------------------------------------ shapes and layout
    def _layout(self) -> str:
        dims = ", ".join(("width",) if self.rank == 1 else ("height", "width") if self.rank == 2
                         else ("depth", "height", "width"))
        return f"(batch, time, channels, {dims})" if self.data_format == "channels_first" else \
            f"(batch, time, {dims}, channels)"

    def _frame_split(self, shape: Sequence[Any]) -> tuple[Any, tuple]:
        """(channels, spatial) of a (batch, time, ...) shape in the layer's data_format."""
        if self.data_format == "channels_first":
            return shape[2], tuple(shape[3:])
        return shape[-1], tuple(shape[2:-1])

    def _state_shape(self, batch: int) -> tuple[int, ...]:
        """A state's shape in the layer's data_format."""
        if self.data_format == "channels_first":
            return (batch, self.filters, *self._out_spatial)
        return (batch, *self._out_spatial, self.filters)

    def _to_torch(self, t: torch.Tensor, axis: int) -> torch.Tensor:
        """Move a channels_last map's channels to ``axis`` (no-op for channels_first)."""
        # non-negative axes: torch.onnx writes movedim(-1, ...) as a Transpose with a negative perm, which ONNX refuses
        return t if self.data_format == "channels_first" else t.movedim(t.dim() - 1, axis % t.dim())

    def _from_torch(self, t: torch.Tensor, axis: int) -> torch.Tensor:
        return t if self.data_format == "channels_first" else t.movedim(axis % t.dim(), t.dim() - 1)

    # ------------------------------------------------------------------ building
    def build(self, input_shape: Any) -> None:
        shape = check_single_shape(self, input_shape)
        kind = type(self).__name__
        if len(shape) != self.rank + 3:
            raise ValueError(f"{kind} layer {self.name!r} expects inputs of rank {self.rank + 3} {self._layout()}, "
                             f"got shape {shape}")
        channels, spatial = self._check_static(shape)
        self._input_dim, self._spatial = int(channels), tuple(int(n) for n in spatial)
        self._in_conv = Conv(self._spatial, self.kernel_size, self.strides, self.padding, self.dilation_rate)
        self._out_spatial = self._in_conv.out_spatial
        if min(self._out_spatial) <= 0:
            raise ValueError(f"Computed output size would be zero or negative. Received inputs shape={shape}, "
                             f"kernel_size={self.kernel_size}, dilation_rate={self.dilation_rate}, "
                             f"strides={self.strides}, padding={self.padding!r}")
        self._rec_conv = Conv(self._out_spatial, self.kernel_size, (1,) * self.rank, "same", (1,) * self.rank)
        C, Fn = self._input_dim, self.filters
        # regularizers and constraints are already registered under these names by RecurrentBase
        self.add_weight("kernel", (*self.kernel_size, C, GATES * Fn), self.kernel_initializer)
        self.add_weight("recurrent_kernel", (*self.kernel_size, Fn, GATES * Fn), self.recurrent_initializer)
        if self.use_bias:
            bias = self.add_weight("bias", (GATES * Fn,), "zeros")
            with torch.no_grad():  # as Keras: init(i), ones(f) with unit_forget_bias, init(c, o)
                if self.unit_forget_bias:
                    self.bias_initializer(bias[:Fn])
                    bias[Fn:2 * Fn] = 1.0
                    self.bias_initializer(bias[2 * Fn:])
                else:
                    self.bias_initializer(bias)
        else:
            self.bias = None
        self._placed = False

    def _check_static(self, shape: tuple) -> tuple[Any, tuple]:
        """(channels, spatial) of a build shape, which must know both (as Keras requires)."""
        channels, spatial = self._frame_split(shape)
        if None in spatial:
            raise ValueError(f"ConvLSTM layers only support static input shapes for the spatial dimension. "
                             f"Received invalid input shape: input_shape={shape}")
        if channels is None:
            raise ValueError(f"The channel dimension of the inputs should be defined. Found None. Full input shape "
                             f"received: input_shape={shape}")
        return channels, spatial

    def _symbolic_call(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        # the shape pass builds on dummy sizes for unknown dimensions: check the symbolic shape first
        if isinstance(inputs, KerasTensor) and len(inputs.shape) == self.rank + 3:
            self._check_static(tuple(inputs.shape))
        return super()._symbolic_call(inputs, *args, **kwargs)

    # ------------------------------------------------------------------ calling
    def call(self, inputs: torch.Tensor, mask: Any = None, training: bool | None = None,
             initial_state: Any = None) -> Any:
        x, mask, states = self._prepare(inputs, mask, initial_state, input_dropout=False)  # dropout: in _run
        seq, (h, c) = self._run(self._to_torch(x, 2), states, mask, bool(training))
        seq, h, c = self._from_torch(seq, 2), self._from_torch(h, 1), self._from_torch(c, 1)
        if self.stateful and not engine_layer.TRACING:
            self._states = [h.detach(), c.detach()]
            self._expected_batch = x.shape[0]
        output = seq if self.return_sequences else seq[:, -1]
        return [output, h, c] if self.return_state else output

    def _run(self, x: torch.Tensor, states: list[torch.Tensor] | None, mask: torch.Tensor | None,
             training: bool) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """The recurrence on channels_first maps: ``x`` (B, T, C, *S) -> outputs (B, T', F, *S')
        (T' = T with return_sequences, else 1: only the last step is kept) and the final (h, c)."""
        B, T, C = x.shape[:3]
        Fn, r = self.filters, self.rank
        k = tuple(range(r))
        w = self.kernel.permute(r + 1, r, *k)  # (4F, C, *k), torch's layout
        u = self.recurrent_kernel.permute(r + 1, r, *k)  # (4F, F, *k)
        groups = 1
        if training and self.dropout > 0:  # one (B, C, *S) mask per gate: a grouped conv, group j for gate j
            masks = self._dropout_masks((B, 1, C, *self._spatial), self.dropout, x)
            x = torch.cat([x * m for m in masks], dim=2)  # (B, T, 4C, *S)
            groups = GATES
        gx = self._in_conv(x.reshape(B * T, *x.shape[2:]), w, self.bias, groups)  # (B*T, 4F, *S')
        steps = gx.view(B, T, GATES * Fn, *self._out_spatial).unbind(1)  # T x (B, 4F, *S'); one backward
        if states is None:
            h = c = gx.new_zeros(B, Fn, *self._out_spatial)  # (B, F, *S')
        else:
            h, c = states
        rmasks = None
        if training and self.recurrent_dropout > 0:
            rmasks = self._dropout_masks((B, Fn, *self._out_spatial), self.recurrent_dropout, x)
        act, gate_act = self.activation, self.recurrent_activation
        zero_masked = self.zero_output_for_mask
        outputs, out = [], None
        for t in range(T):
            h_in = h if rmasks is None else torch.cat([h * m for m in rmasks], dim=1)  # (B, [4]F, *S')
            z = steps[t] + self._rec_conv(h_in, u, None, GATES if rmasks is not None else 1)  # (B, 4F, *S')
            i, f, g, o = z.chunk(GATES, dim=1)  # each (B, F, *S'), Keras' i|f|c|o
            c_new = gate_act(f) * c + gate_act(i) * act(g)
            h_new = gate_act(o) * act(c_new)
            if mask is None:
                h, c, out = h_new, c_new, h_new
            else:
                real = mask[:, t].view(B, *(1,) * (r + 1))  # broadcasts over (F, *S')
                h, c = torch.where(real, h_new, h), torch.where(real, c_new, c)
                held = torch.zeros_like(h_new) if zero_masked or out is None else out
                out = torch.where(real, h_new, held)
            if self.return_sequences:
                outputs.append(out)
        seq = torch.stack(outputs, dim=1) if self.return_sequences else out.unsqueeze(1)
        return seq, (h, c)

    def _dropout_masks(self, shape: tuple[int, ...], rate: float, like: torch.Tensor) -> list[torch.Tensor]:
        """Four scaled Bernoulli keep-masks (one per gate), drawn from the layer's seed if given."""
        keep = 1.0 - rate
        if self.seed is None:
            return [torch.bernoulli(like.new_full(shape, keep)) / keep for _ in range(GATES)]
        if self._generator is None:
            self._generator = torch.Generator().manual_seed(self.seed)
        bits = [torch.bernoulli(torch.full(shape, keep, dtype=like.dtype), generator=self._generator)
                for _ in range(GATES)]
        return [b.to(like.device) / keep for b in bits]

    def _check_input(self, inputs: Any) -> torch.Tensor:
        kind = type(self).__name__
        if isinstance(inputs, (list, tuple)):
            raise ValueError(f"{kind} layer {self.name!r} takes one {self._layout()} tensor, got a "
                             f"{type(inputs).__name__} of {len(inputs)}; pass initial states as initial_state=[...]")
        x = inputs
        channels, spatial = self._frame_split(tuple(x.shape))
        if x.dim() != self.rank + 3 or channels != self._input_dim or spatial != self._spatial:
            want = (None, None, self._input_dim, *self._spatial) if self.data_format == "channels_first" else \
                (None, None, *self._spatial, self._input_dim)
            raise ValueError(f"{kind} layer {self.name!r} was built for inputs of shape {want} {self._layout()}, got "
                             f"shape {tuple(x.shape)}")
        if x.shape[1] == 0:
            raise ValueError(f"{kind} layer {self.name!r} needs at least one timestep, got shape {tuple(x.shape)}")
        return x if x.dtype == self.compute_dtype else x.to(self.compute_dtype)

    # ------------------------------------------------------------------ states
    def _initial_states(self, initial_state: Any, x: torch.Tensor) -> list[torch.Tensor] | None:
        """The (h, c) to start from, channels_first: given, kept (stateful) or None (zeros)."""
        B = x.shape[0]
        kind = type(self).__name__
        if self.stateful and self._expected_batch is not None and B != self._expected_batch:
            raise ValueError(f"{kind} layer {self.name!r} is stateful with batch size {self._expected_batch}, got a "
                             f"batch of {B}: a stateful RNN needs the same batch size at every call")
        if initial_state is None:
            if self.stateful and self._states is not None:
                return [self._to_torch(s.to(x.device), 1) for s in self._states]
            return None
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        if len(states) != 2:
            raise ValueError(f"{kind} layer {self.name!r} takes 2 initial state tensors (h, c), got {len(states)}")
        shape, out = self._state_shape(B), []
        for name, s in zip(self._state_names, states):
            if isinstance(s, KerasTensor):  # symbolic shape inference: a placeholder of the right size
                s = x.new_zeros(shape)
            elif not isinstance(s, torch.Tensor):  # arrays straight to the layer's dtype (float64 stays exact)
                s = torch.as_tensor(np.asarray(s), dtype=x.dtype)
            if tuple(s.shape) != shape:
                raise ValueError(f"{kind} layer {self.name!r}: initial state {name} must have shape {shape}, got "
                                 f"{tuple(s.shape)}")
            out.append(self._to_torch(s.to(device=x.device, dtype=x.dtype), 1))
        return out

    def reset_states(self, states: Sequence[Any] | None = None) -> None:
        """Zero the kept (h, c) of a stateful layer, or set them to ``states`` (two arrays of the
        state's shape). A layer that is not stateful keeps no states: nothing to do (as Keras)."""
        if not self.stateful:
            return
        if states is None:
            if self._states is not None:
                self._states = [torch.zeros_like(s) for s in self._states]
            return
        values = [torch.as_tensor(np.asarray(s) if not isinstance(s, torch.Tensor) else s, dtype=self.compute_dtype)
                  for s in (states if isinstance(states, (list, tuple)) else [states])]
        B = self._expected_batch if self._expected_batch is not None else (values[0].shape[0] if values else 0)
        shape = self._state_shape(B) if self._out_spatial is not None else None
        if len(values) != 2 or shape is None or any(tuple(v.shape) != shape for v in values):
            raise ValueError(f"reset_states: layer {self.name!r} expects 2 arrays (h, c) of shape "
                             f"{shape if shape is not None else '(the built state shape)'}, got "
                             f"{[tuple(v.shape) for v in values]}")
        self._states = values
        self._expected_batch = int(values[0].shape[0])

    reset_state = reset_states

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.pop("units")
        config.update(filters=self.filters, kernel_size=self.kernel_size, strides=self.strides,
                      padding=self.padding, data_format=self.data_format, dilation_rate=self.dilation_rate,
                      recurrent_activation=activations.serialize(self.recurrent_activation),
                      unit_forget_bias=self.unit_forget_bias)
        return config


@register("layer")
class ConvLSTM1D(ConvLSTM):
    """1D convolutional LSTM, as ``keras.layers.ConvLSTM1D``: inputs (batch, time, width,
    channels) or (batch, time, channels, width). Arguments: see ``ConvLSTM``."""

    rank = 1


@register("layer")
class ConvLSTM2D(ConvLSTM):
    """2D convolutional LSTM, as ``keras.layers.ConvLSTM2D``: inputs (batch, time, height, width,
    channels) or (batch, time, channels, height, width). Arguments: see ``ConvLSTM``."""

    rank = 2


@register("layer")
class ConvLSTM3D(ConvLSTM):
    """3D convolutional LSTM, as ``keras.layers.ConvLSTM3D``: inputs (batch, time, depth, height,
    width, channels) or channels_first. Arguments: see ``ConvLSTM``."""

    rank = 3
