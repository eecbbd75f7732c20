"""``GaussianDropout``: multiplicative 1-centred Gaussian noise while training, the continuous
relative of dropout (Srivastava et al., 2014) with the same variance as dropout of ``rate``."""

from __future__ import annotations

import math
from typing import Any

import torch

from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.common import to_float
from lstmkit.keras.layers.regularization.seeded import SeedStream, check_fraction, check_seed


@register("layer")
class GaussianDropout(Layer):
    """``x * N(1, rate / (1 - rate))`` while training; the identity otherwise.

    Args:
        rate: drop probability as for ``Dropout``, in [0, 1]: the noise's standard deviation is
            ``sqrt(rate / (1 - rate))``.
        seed: integer seed (Keras 3's noise with the same seed, call for call).
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.rate = check_fraction("GaussianDropout", "rate", rate)
        self.seed = check_seed("GaussianDropout", seed)
        self._stream = SeedStream(self.seed)
        self.supports_masking = True

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        if not training or self.rate == 0.0:
            return inputs
        if self.rate == 1.0:
            raise ValueError(f"GaussianDropout {self.name!r}: rate=1 gives noise of infinite variance; use a rate "
                             "below 1 (Keras fails on it too)")
        x = to_float(inputs, self.compute_dtype)
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        noise = torch.normal(1.0, stddev, size=tuple(x.shape), generator=self._stream.next(x.device),
                             dtype=self.compute_dtype, device=x.device)
        return x * noise

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
