"""Masking: marks the timesteps whose features all equal ``mask_value`` as padding."""

from __future__ import annotations

import numbers
from typing import Any

import torch

from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.common import (
    check_tensor,
)


@register("layer")
class Masking(Layer):
    """Marks timesteps whose features all equal ``mask_value`` as padding: the output mask is
    ``any(inputs != mask_value, axis=-1)`` and masked timesteps are zeroed in the output.

    Args:
        mask_value: the padding value.
    """

    def __init__(self, mask_value: float = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(mask_value, dict) and "config" in mask_value:
            mask_value = mask_value["config"].get("value", mask_value)
        if not isinstance(mask_value, numbers.Number):
            raise ValueError(f"Masking mask_value must be a number, got {mask_value!r}")
        self.mask_value = mask_value
        self.supports_masking = True

    def _keep(self, inputs: torch.Tensor) -> torch.Tensor:
        return (inputs != self.mask_value).any(dim=-1)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = check_tensor(self, inputs, min_ndim=2)
        keep = self._keep(x)
        return torch.where(keep.unsqueeze(-1), x, torch.zeros((), dtype=x.dtype, device=x.device))

    def compute_mask(self, inputs: torch.Tensor, mask: Any = None) -> torch.Tensor:
        return self._keep(inputs)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mask_value": self.mask_value}
