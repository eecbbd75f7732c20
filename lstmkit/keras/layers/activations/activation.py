"""Activation: an activation function as a layer."""

from __future__ import annotations

from typing import Any

import torch

from lstmkit.keras import activations
from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.common import (
    check_tensor,
    to_float,
)


@register("layer")
class Activation(Layer):
    """Applies an activation function to its input (masks pass through).

    Args:
        activation: activation name or callable.
    """

    def __init__(self, activation: Any, **kwargs: Any):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.supports_masking = True

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.activation(to_float(check_tensor(self, inputs), self.compute_dtype))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}
