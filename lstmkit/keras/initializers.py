"""Keras 3 weight initializers (``lstmkit.keras.initializers``) with Keras' exact formulas.

Shapes are Keras-layout shapes (a Dense kernel is ``(input_dim, units)``) and fans are computed
from them as Keras' ``compute_fans`` does, so ``glorot_uniform`` on a kernel draws from the same
distribution as in Keras.

The contract used by ``Layer.add_weight``: ``get(identifier)`` returns a callable that fills a
torch tensor IN PLACE and returns it, e.g. ``get("orthogonal")(torch.empty(4, 12))``. Keras-style
calls also work: ``GlorotUniform()(shape=(3, 4))`` returns a new float32 tensor.

Randomness: values are drawn on the CPU (then copied to the tensor's device), so a seed gives the
same values on every device. With ``seed=n`` every call draws the same values (Keras' rule for
integer seeds); with ``seed=None`` torch's global RNG is used, so ``torch.manual_seed`` makes a
run reproducible.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lstmkit.keras._initializer_base import Initializer, compute_fans
from lstmkit.keras._random_initializers import (
    GlorotNormal,
    GlorotUniform,
    HeNormal,
    HeUniform,
    LecunNormal,
    LecunUniform,
    Orthogonal,
    RandomInitializer,
    RandomNormal,
    RandomUniform,
    TruncatedNormal,
    VarianceScaling,
)
from lstmkit.keras.engine.registry import Resolver, add_resolver, register


@register("initializer", "zeros", "zero")
class Zeros(Initializer):
    """All zeros (the default bias initializer)."""

    def _sample(self, shape, dtype, generator):
        return torch.zeros(shape, dtype=dtype)


@register("initializer", "ones", "one")
class Ones(Initializer):
    """All ones."""

    def _sample(self, shape, dtype, generator):
        return torch.ones(shape, dtype=dtype)


@register("initializer", "constant")
class Constant(Initializer):
    """Every entry equal to ``value``.

    Args:
        value: a Python scalar (or an array that broadcasts to the weight's shape).
    """

    def __init__(self, value: Any = 0.0):
        arr = np.asarray(value)
        if not np.issubdtype(arr.dtype, np.number) and arr.dtype != np.bool_:
            raise ValueError(f"Constant value must be a number (or array of numbers), got {value!r}")
        self.value = value

    def _sample(self, shape, dtype, generator):
        value = torch.as_tensor(np.asarray(self.value), dtype=dtype)
        try:
            return torch.broadcast_to(value, shape).clone()
        except RuntimeError:
            raise ValueError(f"Constant value of shape {tuple(value.shape)} does not broadcast to the weight "
                             f"shape {shape}") from None

    def get_config(self) -> dict[str, Any]:
        value = self.value
        return {"value": value.tolist() if isinstance(value, (np.ndarray, np.generic)) else value}


@register("initializer", "identity", "IdentityInitializer")
class Identity(Initializer):
    """``gain`` times the identity matrix (2-D weights only; non-square gives ``eye(n, m)``).

    Args:
        gain: multiplicative factor.
    """

    def __init__(self, gain: float = 1.0):
        self.gain = gain

    def _sample(self, shape, dtype, generator):
        if len(shape) != 2:
            raise ValueError(f"Identity initializer needs a 2-D weight, got shape {shape} of rank {len(shape)}")
        return self.gain * torch.eye(*shape, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain}


class _CallableInitializer:
    """Wraps a Keras-style ``fn(shape, dtype=None) -> array`` (or a fixed array) into our
    fill-in-place contract."""

    def __init__(self, fn: Any):
        self.fn = fn

    def __call__(self, tensor: torch.Tensor) -> torch.Tensor:
        if isinstance(self.fn, (np.ndarray, np.generic, torch.Tensor)):
            values = self.fn
        else:
            values = self.fn(tuple(tensor.shape), dtype=str(tensor.dtype).removeprefix("torch."))
        values = torch.as_tensor(np.asarray(values) if not isinstance(values, torch.Tensor) else values)
        if tuple(values.shape) != tuple(tensor.shape):
            raise ValueError(f"initializer {self.fn!r} returned shape {tuple(values.shape)}, the weight has shape "
                             f"{tuple(tensor.shape)}")
        with torch.no_grad():
            tensor.copy_(values)
        return tensor


_INITIALIZERS = Resolver("initializer", "a name, a dict, an Initializer or a callable fn(shape, dtype=None)",
                         base=Initializer)


def get(identifier: Any) -> Any:
    """A callable that fills a torch tensor in place, from: a name ("glorot_uniform",
    "orthogonal", "zeros", "uniform", "GlorotUniform", ...), a serialized dict, an Initializer
    instance or class, a Keras-style ``fn(shape, dtype=None)``, or a fixed array. None -> None."""
    if isinstance(identifier, (np.ndarray, np.generic, torch.Tensor)):
        return _CallableInitializer(identifier)
    initializer = _INITIALIZERS.get(identifier)
    plain = isinstance(initializer, Initializer) and type(initializer).__call__ is Initializer.__call__
    if initializer is None or plain:
        return initializer
    return _CallableInitializer(initializer)  # a user subclass with a Keras-style __call__, or a plain function


def serialize(initializer: Any) -> Any:
    """``{"class_name": ..., "config": ...}`` of an initializer (None stays None)."""
    if isinstance(initializer, _CallableInitializer):
        raise ValueError(f"cannot serialize the custom initializer {initializer.fn!r}; use an Initializer subclass "
                         "with get_config() registered with lstmkit.keras.engine.register('initializer')")
    return _INITIALIZERS.serialize(initializer)


def deserialize(config: Any) -> Initializer:
    """Inverse of ``serialize``; also accepts a bare name."""
    return _INITIALIZERS.deserialize(config)


# Keras' lower-case function-style aliases.
zeros, ones, constant, identity = Zeros, Ones, Constant, Identity
random_normal, random_uniform, truncated_normal, variance_scaling = (RandomNormal, RandomUniform, TruncatedNormal,
                                                                     VarianceScaling)
glorot_uniform, glorot_normal, he_normal, he_uniform = GlorotUniform, GlorotNormal, HeNormal, HeUniform
lecun_normal, lecun_uniform, orthogonal = LecunNormal, LecunUniform, Orthogonal

add_resolver("initializer", get)  # for Layer.add_weight (the engine does not import this module)

__all__ = ["Initializer", "RandomInitializer", "Zeros", "Ones", "Constant", "Identity", "RandomNormal",
           "RandomUniform", "TruncatedNormal", "VarianceScaling", "GlorotUniform", "GlorotNormal", "HeNormal",
           "HeUniform", "LecunNormal", "LecunUniform", "Orthogonal", "compute_fans", "get", "serialize",
           "deserialize"]
