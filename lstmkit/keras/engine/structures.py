"""Structures of tensors as layers see them: conversion of NumPy / Python inputs to torch, Keras
masks attached to tensors, and mapping functions over (nested) lists, tuples and dicts of tensors
and shapes. Kept apart from ``layer.py`` so that the Layer class reads top to bottom."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def as_tensor(x: Any) -> torch.Tensor:
    """NumPy arrays and Python numbers to torch: floats as float32 (Keras' default), integers
    as int64, bools as bool. Tensors pass through unchanged."""
    if isinstance(x, torch.Tensor):
        return x
    arr = np.asarray(x)
    if arr.dtype == object:
        raise TypeError(f"cannot convert an array of Python objects (dtype object) to a tensor: {arr[:3]!r}...")
    if np.issubdtype(arr.dtype, np.floating):
        return _from_numpy(arr, np.float32)
    if np.issubdtype(arr.dtype, np.integer):
        return _from_numpy(arr, np.int64)
    if arr.dtype == np.bool_:
        return _from_numpy(arr, np.bool_)
    raise TypeError(f"cannot convert an array of dtype {arr.dtype} to a tensor")


def _from_numpy(arr: np.ndarray, dtype: Any) -> torch.Tensor:
    """A tensor of ``arr`` as ``dtype``, a 0-d array as a 0-d tensor (``np.ascontiguousarray``
    would make it 1-d)."""
    arr = np.asarray(arr, dtype=dtype)
    return torch.from_numpy(arr if arr.flags.c_contiguous else np.ascontiguousarray(arr))


def get_mask(x: Any) -> Any:
    """The Keras mask attached to a tensor, else None; for a list/tuple/dict of tensors the same
    structure of masks (None if no tensor has one)."""
    if isinstance(x, (list, tuple)):
        masks = [get_mask(t) for t in x]
        return None if all(m is None for m in masks) else masks
    if isinstance(x, dict):
        by_key = {k: get_mask(v) for k, v in x.items()}
        return None if all(m is None for m in by_key.values()) else by_key
    return getattr(x, "_keras_mask", None)


def set_mask(x: Any, mask: Any) -> None:
    """Attach ``mask`` to the tensors of ``x``: a structure of masks entry by entry, one mask to all."""
    if isinstance(x, (list, tuple)):
        masks = mask if isinstance(mask, (list, tuple)) else [mask] * len(x)
        for t, m in zip(x, masks):
            set_mask(t, m)
    elif isinstance(x, dict):
        for k, t in x.items():
            set_mask(t, mask.get(k) if isinstance(mask, dict) else mask)
    elif isinstance(x, torch.Tensor):
        x._keras_mask = mask


def _map(fn, structure):
    """``fn`` over the leaves of nested lists, tuples and dicts (the containers kept)."""
    if isinstance(structure, (list, tuple)):
        return type(structure)(_map(fn, s) for s in structure)
    if isinstance(structure, dict):
        return {k: _map(fn, v) for k, v in structure.items()}
    return fn(structure)


def shape_of(structure: Any):
    """Shapes (tuples) of a tensor / KerasTensor structure."""
    return _map(lambda t: tuple(t.shape), structure)


def _map_shapes(fn, shapes):
    """Apply ``fn`` to each shape tuple of a (nested list/dict of) shape(s)."""
    if isinstance(shapes, dict):
        return {k: _map_shapes(fn, v) for k, v in shapes.items()}
    if isinstance(shapes, (list, tuple)) and not all(d is None or isinstance(d, (int, np.integer)) for d in shapes):
        return type(shapes)(_map_shapes(fn, v) for v in shapes)
    return fn(tuple(shapes))


def _map2(fn, a, b):
    """``fn((leaf_a, leaf_b))`` over two equally nested structures of lists, tuples and dicts."""
    if isinstance(a, (list, tuple)):
        return type(a)(_map2(fn, x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return {k: _map2(fn, v, b[k]) for k, v in a.items()}
    return fn((a, b))
