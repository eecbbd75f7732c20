"""``GaussianNoise``: additive zero-mean Gaussian noise while training (a regulariser, and a
form of data augmentation for real-valued inputs)."""

from __future__ import annotations

from typing import Any

import torch

from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.common import to_float
from lstmkit.keras.layers.regularization.seeded import SeedStream, check_fraction, check_seed


@register("layer")
class GaussianNoise(Layer):
    """``x + N(0, stddev^2)`` while training (``fit`` or ``training=True``); the identity otherwise.

    Args:
        stddev: standard deviation of the noise, in [0, 1] (Keras' bound).
        seed: integer seed (Keras 3's noise with the same seed, call for call).
    """

    def __init__(self, stddev: float, seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.stddev = check_fraction("GaussianNoise", "stddev", stddev)
        self.seed = check_seed("GaussianNoise", seed)
        self._stream = SeedStream(self.seed)
        self.supports_masking = True

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        if not training or self.stddev == 0.0:
            return inputs
        x = to_float(inputs, self.compute_dtype)
        noise = torch.normal(0.0, self.stddev, size=tuple(x.shape), generator=self._stream.next(x.device),
                             dtype=self.compute_dtype, device=x.device)
        return x + noise

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}
