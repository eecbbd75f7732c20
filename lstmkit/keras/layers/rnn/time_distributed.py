"""``TimeDistributed(layer)``: apply one layer to every timestep of a sequence.

Instead of Keras' loop over timesteps, time is folded into the batch: ``(batch, time, ...)`` is
reshaped to ``(batch * time, ...)``, the inner layer runs once, and the result is unfolded. The
inner layer's weights are this layer's weights; the input mask passes through (and an inner
layer that takes ``mask=`` gets it folded the same way, one entry per (sample, step)).
"""

from __future__ import annotations

import importlib
from typing import Any

import torch

from lstmkit.keras.engine.keras_tensor import flatten
from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.engine.registry import deserialize, register, serialize
from lstmkit.keras.layers.common import as_bool_mask, check_tensor


def deserialize_layer(data: Any) -> Layer:
    """``deserialize("layer", data)``, first importing the module that defines the class when it
    is one of ``lstmkit.keras.layers``' lazily loaded names."""
    name = data.get("class_name") if isinstance(data, dict) else None
    if isinstance(name, str):
        layers = importlib.import_module("lstmkit.keras.layers")
        if name in getattr(layers, "__all__", ()):
            getattr(layers, name)
    return deserialize("layer", data)


@register("layer")
class TimeDistributed(Layer):
    """Applies ``layer`` to each timestep (axis 1) of inputs of rank >= 3.

    Args:
        layer: the Layer applied at every timestep (e.g. ``Dense(1)``).
    """

    def __init__(self, layer: Layer, **kwargs: Any):
        if not isinstance(layer, Layer):
            raise ValueError(f"TimeDistributed needs an lstmkit.keras Layer instance, got {layer!r}")
        super().__init__(**kwargs)
        self.layer = layer
        self.supports_masking = True

    def build(self, input_shape: Any) -> None:
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) < 3 or \
                isinstance(input_shape[0], (list, tuple)):
            raise ValueError(f"TimeDistributed {self.name!r} needs one input of rank >= 3 (batch, time, ...), got "
                             f"shape {input_shape}")
        self.layer._maybe_build((input_shape[0], *input_shape[2:]))
        self.built = True  # also when build() is called directly, as in Keras

    def call(self, inputs: torch.Tensor, training: bool | None = None, mask: Any = None) -> Any:
        x = check_tensor(self, inputs, min_ndim=3)
        batch, steps = x.shape[0], x.shape[1]
        folded = x.reshape(batch * steps, *x.shape[2:])
        kwargs: dict[str, Any] = {"training": training}
        mask = as_bool_mask(mask, x)
        if mask is not None:  # checked whether or not the inner layer reads it, as Keras does
            if mask.dim() < 2:
                raise ValueError(f"The `mask` passed to the `TimeDistributed` layer must be at least 2D (batch_size, "
                                 f"timesteps), got shape {tuple(mask.shape)} (layer {self.name!r})")
            if tuple(mask.shape[:2]) != (batch, steps):
                raise ValueError(f"The `mask` passed to the `TimeDistributed` layer has a shape {tuple(mask.shape)} "
                                 f"that is incompatible with the input shape {tuple(x.shape)} (layer {self.name!r}): "
                                 f"its first two dimensions must be (batch, timesteps) = {(batch, steps)}")
            if "mask" in self.layer._call_params():  # Keras gives the inner layer each step's slice of the mask
                kwargs["mask"] = mask.reshape(batch * steps, *mask.shape[2:])
        out = self.layer(folded, **kwargs)

        def unfold(y: Any) -> Any:
            if not isinstance(y, torch.Tensor):
                raise ValueError(f"TimeDistributed {self.name!r}: the inner layer returned {type(y).__name__}, "
                                 "expected tensors")
            return y.reshape(batch, steps, *y.shape[1:])

        if isinstance(out, (list, tuple)):
            return type(out)(unfold(y) for y in flatten(out))
        return unfold(out)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "layer": serialize(self.layer)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TimeDistributed:
        config = dict(config)
        layer = deserialize_layer(config.pop("layer"))
        return cls(layer, **config)
