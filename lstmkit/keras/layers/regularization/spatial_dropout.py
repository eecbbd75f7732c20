"""``SpatialDropout1D``: dropout of whole channels of a sequence (Tompson et al., 2014)."""

from __future__ import annotations

from typing import Any

import torch

from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.common import check_tensor, to_float
from lstmkit.keras.layers.regularization.seeded import SeedStream, check_fraction, check_seed


@register("layer")
class SpatialDropout1D(Layer):
    """While training, zeroes whole channels: one keep/drop draw per (sample, channel), reused at
    every time step, the kept ones scaled by ``1 / (1 - rate)``. The identity in inference.

    Why: neighbouring steps of a feature map are strongly correlated, so element-wise dropout
    barely regularises them; dropping the whole channel does.

    Args:
        rate: fraction of the channels to drop, in [0, 1].
        seed: integer seed (the masks of Keras 3 with the same seed, call for call).

    Input: ``(batch, steps, channels)``; output: the same shape.
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.rate = check_fraction("SpatialDropout1D", "rate", rate)
        self.seed = check_seed("SpatialDropout1D", seed)
        self._stream = SeedStream(self.seed)
        self.supports_masking = True

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        x = check_tensor(self, inputs, ndim=3)
        if not training or self.rate == 0.0:
            return x
        x = x if x.is_floating_point() else to_float(x, self.compute_dtype)
        if self.rate == 1.0:
            return torch.zeros_like(x)
        keep = 1.0 - self.rate
        probs = torch.full((x.shape[0], 1, x.shape[2]), keep, device=x.device)  # (B, 1, C): one draw per channel
        mask = torch.bernoulli(probs, generator=self._stream.next(x.device)).bool()
        return torch.where(mask, x / keep, torch.zeros_like(x))

    def get_config(self) -> dict[str, Any]:
        config = {"rate": self.rate, "seed": self.seed, "name": self.name, "dtype": self.dtype}  # Keras' keys
        if self._input_shape_arg is not None:
            config["batch_input_shape"] = list(self._input_shape_arg)
        return config
