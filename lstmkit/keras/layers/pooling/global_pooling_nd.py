"""Global pooling over 2 or 3 spatial axes: ``GlobalAveragePooling2D/3D`` (the head of Keras'
own callback-test models, ``Conv2D -> GlobalAveragePooling2D -> Dense``) and
``GlobalMaxPooling2D/3D``. They turn ``(batch, *spatial, channels)`` into ``(batch, channels)``
(or keep size-1 spatial axes). Unlike ``GlobalAveragePooling1D`` none of them supports masking
in Keras 3: a mask is dropped with Keras' warning."""

from __future__ import annotations

from typing import Any

import torch

from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.common import check_tensor
from lstmkit.keras.layers.convolutional.spatial import drop_mask
from lstmkit.keras.layers.pooling.global_pooling import GlobalPoolingBase

__all__ = ["GlobalAveragePooling2D", "GlobalAveragePooling3D", "GlobalAvgPool2D", "GlobalAvgPool3D",
           "GlobalMaxPool2D", "GlobalMaxPool3D", "GlobalMaxPooling2D", "GlobalMaxPooling3D"]


class _GlobalPoolingND(GlobalPoolingBase):
    """Over ``_rank`` spatial axes (arguments: ``GlobalPoolingBase``'s)."""

    _rank = 2

    @property
    def _spatial_axes(self) -> tuple[int, ...]:
        start = 1 if self.data_format == "channels_last" else 2
        return tuple(range(start, start + self._rank))

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        if len(shape) != self._rank + 2:
            raise ValueError(f"{type(self).__name__} {self.name!r} expects inputs of rank {self._rank + 2}, got shape "
                             f"{shape}")
        if self.keepdims:
            return tuple(1 if k in self._spatial_axes else d for k, d in enumerate(shape))
        return (shape[0], shape[-1] if self.data_format == "channels_last" else shape[1])

    def _pool(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - each subclass defines it
        raise NotImplementedError

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return self._pool(check_tensor(self, inputs, ndim=self._rank + 2))

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        drop_mask(self, mask)
        return None


class _GlobalAverage(_GlobalPoolingND):
    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        if not x.is_floating_point():
            x = x.to(self.compute_dtype)
        return x.mean(dim=self._spatial_axes, keepdim=self.keepdims)


class _GlobalMax(_GlobalPoolingND):
    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        return x.amax(dim=self._spatial_axes, keepdim=self.keepdims)


@register("layer", "GlobalAvgPool2D")
class GlobalAveragePooling2D(_GlobalAverage):
    """Mean over rows and columns: ``(batch, rows, cols, channels)`` to ``(batch, channels)``."""


@register("layer", "GlobalMaxPool2D")
class GlobalMaxPooling2D(_GlobalMax):
    """Maximum over rows and columns: ``(batch, rows, cols, channels)`` to ``(batch, channels)``."""


@register("layer", "GlobalAvgPool3D")
class GlobalAveragePooling3D(_GlobalAverage):
    """Mean over three spatial axes: ``(batch, d1, d2, d3, channels)`` to ``(batch, channels)``."""

    _rank = 3


@register("layer", "GlobalMaxPool3D")
class GlobalMaxPooling3D(_GlobalMax):
    """Maximum over three spatial axes: ``(batch, d1, d2, d3, channels)`` to ``(batch, channels)``."""

    _rank = 3


GlobalAvgPool2D = GlobalAveragePooling2D
GlobalMaxPool2D = GlobalMaxPooling2D
GlobalAvgPool3D = GlobalAveragePooling3D
GlobalMaxPool3D = GlobalMaxPooling3D
