"""``Bidirectional``: run a recurrent layer forwards and a copy of it backwards, and merge the two,
as ``keras.layers.Bidirectional`` (Keras 3 semantics).

The forward layer and the backward copy are both rebuilt from the wrapped layer's config (so
they have fresh weights, as in Keras); the copy has ``go_backwards`` flipped, and its
sequence output is reversed back in time before merging so that step t of both halves is
input step t.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from lstmkit.keras.engine.keras_tensor import KerasTensor, flatten
from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.engine.registry import deserialize, register, serialize
from lstmkit.keras.layers.common import as_bool_mask

_MERGE_MODES = ("sum", "mul", "ave", "concat", None)
_SHARED = ("stateful", "return_sequences", "return_state")


def _copy(layer: Layer, name: str, **overrides: Any) -> Layer:
    config = serialize(layer)
    config["config"].update(name=name, **overrides)
    return deserialize("layer", config)


def _is_recurrent(layer: Any) -> bool:
    return isinstance(layer, Layer) and all(hasattr(layer, a) for a in ("go_backwards", *_SHARED))


@register("layer")
class Bidirectional(Layer):
    """Bidirectional wrapper for recurrent layers.

    Args:
        layer: the recurrent layer (``LSTM``, ``GRU``, ``SimpleRNN``) to run forwards; only its
            config is used (the wrapper builds its own ``forward_layer``).
        merge_mode: how the forward and backward outputs are combined: "concat" (default),
            "sum", "mul", "ave", or None (return both, as a list).
        weights: initial weights (forward layer's then backward layer's, Keras layout),
            loaded when the layer is built.
        backward_layer: an explicit backward layer (its go_backwards must differ from
            ``layer``'s; return_sequences, return_state and stateful must match); default: a
            copy of ``layer`` with go_backwards flipped.
        name, trainable, dtype, input_shape, batch_input_shape: see ``Layer``.

    Call: ``layer(x, mask=None, training=None, initial_state=None)``; ``initial_state`` is the
    forward layer's states followed by the backward layer's. Returns the merged output; with
    ``return_state``, ``[output, *forward_states, *backward_states]`` (with merge_mode None,
    ``[forward_output, backward_output, *states]``).
    """

    def __init__(self, layer: Layer, merge_mode: str | None = "concat", weights: Sequence[Any] | None = None,
                 backward_layer: Layer | None = None, **kwargs: Any):
        if not _is_recurrent(layer):
            raise ValueError("Bidirectional wraps a recurrent layer (LSTM, GRU, SimpleRNN), got "
                             f"{type(layer).__name__}: {layer!r}")
        if backward_layer is not None and not _is_recurrent(backward_layer):
            raise ValueError("backward_layer must be a recurrent layer (LSTM, GRU, SimpleRNN), got "
                             f"{type(backward_layer).__name__}: {backward_layer!r}")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"merge_mode must be one of {list(_MERGE_MODES)}, got {merge_mode!r}")
        super().__init__(**kwargs)
        if self._input_shape_arg is None:  # Bidirectional(LSTM(..., input_shape=...)) as the first layer
            self._input_shape_arg = layer._input_shape_arg
        self.forward_layer = _copy(layer, f"forward_{layer.name.removeprefix('forward_')}")
        if backward_layer is None:
            backward_layer = _copy(layer, f"backward_{layer.name.removeprefix('backward_')}",
                                   go_backwards=not layer.go_backwards)
        self.backward_layer = backward_layer
        if self.forward_layer.go_backwards == self.backward_layer.go_backwards:
            raise ValueError("the forward and backward layers must have different go_backwards values, got "
                             f"{self.forward_layer.go_backwards} for both")
        for attr in _SHARED:
            f, b = getattr(self.forward_layer, attr), getattr(self.backward_layer, attr)
            if f != b:
                raise ValueError(f"the forward and backward layers must have the same {attr}, got {f} (forward) "
                                 f"and {b} (backward)")
        for sub in (self.forward_layer, self.backward_layer):
            if hasattr(sub, "zero_output_for_mask"):  # merged sequences: masked steps are zeros, as Keras
                sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self._initial_weights = list(weights) if weights is not None and len(weights) else None
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True

    # ------------------------------------------------------------------ building and weights
    def build(self, input_shape: Any) -> None:
        for sub in (self.forward_layer, self.backward_layer):
            sub._maybe_build(input_shape)
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None
        self.built = True  # as Keras: a direct build() call builds the layer

    def set_weights(self, weights: Sequence[Any]) -> None:
        """The forward layer's weights then the backward layer's, Keras layout (each layer
        converts its own, so layers whose Keras weights are computed views load correctly)."""
        n_f, n_b = len(self.forward_layer.weights), len(self.backward_layer.weights)
        if len(weights) != n_f + n_b:
            raise ValueError(f"layer {self.name!r} expects {n_f + n_b} weight arrays ({n_f} forward, {n_b} backward), "
                             f"got {len(weights)}")
        self.forward_layer.set_weights(list(weights[:n_f]))
        self.backward_layer.set_weights(list(weights[n_f:]))

    def _symbolic_call(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        first = flatten(inputs)[0]
        if self.stateful and isinstance(first, KerasTensor) and first.shape and first.shape[0] is None:
            raise ValueError(f"Bidirectional layer {self.name!r} wraps a stateful layer, which needs a fixed batch "
                             f"size; got inputs of shape {first.shape}. Give Input(shape=..., batch_size=N)")
        return super()._symbolic_call(inputs, *args, **kwargs)

    # ------------------------------------------------------------------ calling
    def call(self, inputs: torch.Tensor, mask: Any = None, training: bool | None = None,
             initial_state: Any = None) -> Any:
        if isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        forward_state = backward_state = None
        if initial_state is not None:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
            if len(states) % 2:
                raise ValueError(f"Bidirectional layer {self.name!r}: initial_state must hold the forward layer's "
                                 f"states then the backward layer's (an even number), got {len(states)}")
            half = len(states) // 2
            forward_state, backward_state = states[:half], states[half:]
        y = self.forward_layer(inputs, mask=mask, training=training, initial_state=forward_state)
        y_rev = self.backward_layer(inputs, mask=mask, training=training, initial_state=backward_state)
        states: list[torch.Tensor] = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = y_rev.flip(1)
        if self.merge_mode == "concat":
            output: Any = torch.cat([y, y_rev], dim=-1)
        elif self.merge_mode == "sum":
            output = y + y_rev
        elif self.merge_mode == "ave":
            output = (y + y_rev) / 2
        elif self.merge_mode == "mul":
            output = y * y_rev
        else:
            output = [y, y_rev]
        if self.return_state:
            return (output if isinstance(output, list) else [output]) + states
        return output

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        output_mask = as_bool_mask(mask, inputs) if self.return_sequences else None
        masks = [output_mask, output_mask] if self.merge_mode is None else [output_mask]
        if self.return_state:
            n = len(getattr(self.forward_layer, "_state_names", ())) + len(getattr(self.backward_layer,
                                                                                  "_state_names", ()))
            return masks + [None] * n
        return masks if self.merge_mode is None else output_mask

    # ------------------------------------------------------------------ states
    @property
    def states(self) -> list[torch.Tensor] | None:
        f, b = self.forward_layer.states, self.backward_layer.states
        return list(f) + list(b) if f is not None and b is not None else None

    def reset_states(self, states: Sequence[Any] | None = None) -> None:
        """Zero the states of both halves, or set them to ``states``: the forward layer's then the
        backward layer's, as ``initial_state`` takes them (``states=`` is Keras 2's argument, which
        Keras 3 dropped; without it this is Keras 3's ``reset_state()``)."""
        if not self.stateful:
            raise AttributeError(f"Bidirectional layer {self.name!r} is not stateful: it keeps no states")
        if states is None:
            self.forward_layer.reset_states()
            self.backward_layer.reset_states()
            return
        values = list(states) if isinstance(states, (list, tuple)) else [states]
        n_f = len(getattr(self.forward_layer, "_state_names", ()))
        n_b = len(getattr(self.backward_layer, "_state_names", ()))
        if len(values) != n_f + n_b:
            raise ValueError(f"reset_states: Bidirectional layer {self.name!r} expects {n_f + n_b} arrays ({n_f} "
                             f"forward then {n_b} backward), got {len(values)}")
        self.forward_layer.reset_states(values[:n_f])
        self.backward_layer.reset_states(values[n_f:])

    reset_state = reset_states

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(merge_mode=self.merge_mode, layer=serialize(self.forward_layer),
                      backward_layer=serialize(self.backward_layer))
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Bidirectional:
        config = dict(config)
        config["layer"] = deserialize("layer", config["layer"])
        backward = config.pop("backward_layer", None)
        if backward is not None:
            config["backward_layer"] = deserialize("layer", backward)
        return cls(**config)
