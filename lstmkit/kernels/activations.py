"""Torch versions of the activations named in ``lstmkit.cells.spec.ACTIVATIONS``."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from lstmkit.cells.spec import ACTIVATIONS

Activation = Callable[[torch.Tensor], torch.Tensor]


def _hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    # Keras 3's definition: relu6(x + 3) / 6 == clip(x / 6 + 0.5, 0, 1).
    return F.hardsigmoid(x)


def _linear(x: torch.Tensor) -> torch.Tensor:
    return x


_TORCH_ACTIVATIONS: dict[str, Activation] = {
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "hard_sigmoid": _hard_sigmoid,
    "relu": torch.relu,
    "linear": _linear,
    "softsign": F.softsign,
}
assert set(_TORCH_ACTIVATIONS) == set(ACTIVATIONS)  # internal consistency, not user input


def get_activation(name: str) -> Activation:
    """The torch function for an activation name; ValueError listing valid names otherwise."""
    try:
        return _TORCH_ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(f"activation must be one of {list(ACTIVATIONS)}, got {name!r}") from None
