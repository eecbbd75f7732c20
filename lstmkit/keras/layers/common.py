"""Small helpers shared by the core, merge, pooling and attention layers: input checks with
clear messages, dtype casting, and (de)serialisation of initializers/regularizers/constraints
inside layer configs."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lstmkit.keras import constraints, initializers, regularizers
from lstmkit.keras.engine.keras_tensor import KerasTensor
from lstmkit.validation import positive_int as _positive_int


def to_float(x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Cast to the layer's compute dtype (Keras autocasts layer inputs the same way)."""
    return x if x.dtype == dtype else x.to(dtype)


def as_bool_mask(mask: Any, like: Any = None) -> torch.Tensor | None:
    """A mask given as anything array-like (a tensor, NumPy array, nested list of bools or 0/1)
    as a bool tensor on ``like``'s device. A list of masks (tensors or None, as Keras passes them
    to a layer with several inputs) gives its first; None stays None."""
    several = isinstance(mask, (list, tuple)) and (
        not mask or mask[0] is None or isinstance(mask[0], (torch.Tensor, np.ndarray)))
    if several:
        mask = mask[0] if mask else None
    if mask is None:
        return None
    if isinstance(mask, KerasTensor):  # np.asarray would make an object array and fail obscurely
        raise TypeError(f"mask= is a symbolic tensor ({mask!r}) but the layer was called on concrete data: call "
                        "the layer on symbolic inputs (keras.Input) too, or pass the mask as an array")
    if not isinstance(mask, torch.Tensor):
        mask = torch.as_tensor(np.asarray(mask))
    if mask.dtype != torch.bool:
        mask = mask != 0
    if isinstance(like, torch.Tensor) and mask.device != like.device:
        mask = mask.to(like.device)
    return mask


def check_tensor(layer: Any, x: Any, *, ndim: int | None = None, min_ndim: int | None = None) -> torch.Tensor:
    """``x`` must be one tensor of the given rank: otherwise a ValueError naming the layer."""
    if isinstance(x, (list, tuple)):
        raise ValueError(f"layer {layer.name!r} ({type(layer).__name__}) expects a single tensor, got a "
                         f"{type(x).__name__} of {len(x)} inputs")
    if ndim is not None and x.dim() != ndim:
        raise ValueError(f"layer {layer.name!r} ({type(layer).__name__}) expects inputs of rank {ndim}, got shape "
                         f"{tuple(x.shape)} (rank {x.dim()})")
    if min_ndim is not None and x.dim() < min_ndim:
        raise ValueError(f"layer {layer.name!r} ({type(layer).__name__}) expects inputs of rank >= {min_ndim}, "
                         f"got shape {tuple(x.shape)} (rank {x.dim()})")
    return x


def check_single_shape(layer: Any, input_shape: Any) -> tuple:
    """The build shape of a single-input layer (a list of shapes is a clear error)."""
    if isinstance(input_shape, (list, tuple)) and input_shape and isinstance(input_shape[0], (list, tuple)):
        raise ValueError(f"layer {layer.name!r} ({type(layer).__name__}) expects a single tensor, got "
                         f"{len(input_shape)} inputs of shapes {list(input_shape)}")
    return tuple(input_shape)


def check_build_rank(layer: Any, input_shape: Any, ndim: int) -> tuple:
    """The build shape of a single-input layer whose inputs have rank ``ndim`` (as Keras' input
    spec), else a ValueError naming the layer."""
    shape = check_single_shape(layer, input_shape)
    if len(shape) != ndim:
        raise ValueError(f"{type(layer).__name__} {layer.name!r} expects inputs of rank {ndim}, got shape {shape}")
    return shape


def weight_options(**named: Any) -> dict[str, Any]:
    """Resolve ``*_initializer`` / ``*_regularizer`` / ``*_constraint`` arguments with the
    matching ``get`` (names, dicts, objects and callables all accepted)."""
    out = {}
    for key, value in named.items():
        if key.endswith("initializer"):
            out[key] = initializers.get(value)
        elif key.endswith("regularizer"):
            out[key] = regularizers.get(value)
        elif key.endswith("constraint"):
            out[key] = constraints.get(value)
        else:
            raise KeyError(key)
    return out


def set_weight_options(layer: Any, **named: Any) -> None:
    """``weight_options(**named)``, each stored as the layer's attribute of the same name."""
    for key, value in weight_options(**named).items():
        setattr(layer, key, value)


def add_configured_weight(layer: Any, name: str, shape: Any, options: dict[str, Any] | None = None) -> None:
    """The weight ``name`` with its ``<name>_initializer``, ``<name>_regularizer`` and
    ``<name>_constraint`` from ``options`` or, without it, from the layer's attributes; a None
    ``shape`` (an optional weight switched off) sets ``layer.<name> = None`` instead."""
    if shape is None:
        setattr(layer, name, None)
        return

    def get(what: str) -> Any:
        key = f"{name}_{what}"
        return getattr(layer, key) if options is None else options[key]

    layer.add_weight(name, tuple(shape), get("initializer"), get("regularizer"), get("constraint"))


def add_kernel_and_bias(layer: Any, kernel_shape: Any, bias_shape: Any, options: dict[str, Any] | None = None) -> None:
    """The ``kernel`` weight, then (unless ``bias_shape`` is None, which sets ``layer.bias = None``)
    the ``bias``: Keras' order (see ``add_configured_weight``)."""
    add_configured_weight(layer, "kernel", kernel_shape, options)
    add_configured_weight(layer, "bias", bias_shape, options)


def serialize_options(layer: Any, *keys: str) -> dict[str, Any]:
    """The config entries for a layer's initializer/regularizer/constraint attributes."""
    out = {}
    for key in keys:
        value = getattr(layer, key)
        if key.endswith("initializer"):
            out[key] = initializers.serialize(value)
        elif key.endswith("regularizer"):
            out[key] = regularizers.serialize(value)
        else:
            out[key] = constraints.serialize(value)
    return out


def positive_int(value: Any, what: str) -> int:
    """``value`` as a positive int, or a ValueError naming ``what`` (Keras' wording)."""
    return _positive_int(what, value, word="integer")


