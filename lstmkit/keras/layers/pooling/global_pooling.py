"""Global pooling over time: ``GlobalAveragePooling1D`` (mask-aware mean over the valid
timesteps, as Keras) and ``GlobalMaxPooling1D`` (drops masks with Keras' warning). Both turn
``(batch, steps, features)`` into ``(batch, features)`` (or keep a size-1 steps axis)."""

from __future__ import annotations

from typing import Any

import torch

from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.common import as_bool_mask, check_tensor
from lstmkit.keras.layers.convolutional.spatial import drop_mask, standardize_data_format

__all__ = ["GlobalAveragePooling1D", "GlobalMaxPooling1D", "GlobalAvgPool1D", "GlobalMaxPool1D"]


class GlobalPoolingBase(Layer):
    """The arguments every global pooling layer (1-D here, 2-D/3-D in ``global_pooling_nd``) shares.

    Args:
        data_format: "channels_last" (``(batch, *spatial, channels)``, the default) or
            "channels_first" (``(batch, channels, *spatial)``); any case, as in Keras.
        keepdims: keep the pooled axes with size 1.
    """

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.keepdims = bool(keepdims)
        # no weights: built at construction as in Keras, unless a subclass brings its own build()
        self.built = type(self).build is Layer.build

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class _GlobalPooling1D(GlobalPoolingBase):
    """Over the steps axis of ``(batch, steps, features)`` (channels_last) or
    ``(batch, features, steps)`` (channels_first)."""

    @property
    def _steps_axis(self) -> int:
        return 1 if self.data_format == "channels_last" else 2


@register("layer", "GlobalAvgPool1D")
class GlobalAveragePooling1D(_GlobalPooling1D):
    """Mean over timesteps; with a mask, the mean over the valid timesteps only (a sample with no
    valid timestep gives 0 where Keras gives NaN). The output carries no mask."""

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any):
        super().__init__(data_format, keepdims, **kwargs)
        self.supports_masking = True

    def call(self, inputs: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        x = check_tensor(self, inputs, ndim=3)
        if not x.is_floating_point():
            x = x.to(self.compute_dtype)
        axis = self._steps_axis
        if mask is None:
            return x.mean(dim=axis, keepdim=self.keepdims)
        mask = as_bool_mask(mask, x)
        if tuple(mask.shape) != (x.shape[0], x.shape[axis]):
            raise ValueError(f"{type(self).__name__} {self.name!r}: mask of shape {tuple(mask.shape)} does not match "
                             f"inputs of shape {tuple(x.shape)} (expected (batch, steps))")
        m = mask.unsqueeze(2 if axis == 1 else 1)
        total = torch.where(m, x, torch.zeros((), dtype=x.dtype, device=x.device)).sum(dim=axis, keepdim=self.keepdims)
        count = m.to(x.dtype).sum(dim=axis, keepdim=self.keepdims)
        return total / count.clamp_min(1.0)

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        return None


@register("layer", "GlobalMaxPool1D")
class GlobalMaxPooling1D(_GlobalPooling1D):
    """Maximum over timesteps (masks are ignored and dropped with Keras' warning, as in Keras 3:
    padded steps take part in the maximum)."""

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = check_tensor(self, inputs, ndim=3)
        return x.amax(dim=self._steps_axis, keepdim=self.keepdims)

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        drop_mask(self, mask)
        return None


GlobalAvgPool1D = GlobalAveragePooling1D
GlobalMaxPool1D = GlobalMaxPooling1D
