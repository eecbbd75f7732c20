"""``lstmkit.keras.tree``, as Keras 3's ``keras.tree``: the nested structures (lists, tuples,
dicts) that custom cells and layers take apart and put back together. Dicts are walked in sorted
key order, as Keras 3 does, so ``flatten`` gives the same order on both."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["flatten", "is_nested", "map_structure", "pack_sequence_as"]


def is_nested(structure: Any) -> bool:
    """Whether ``structure`` is a list, tuple or dict (a leaf otherwise; None is a leaf)."""
    return isinstance(structure, (list, tuple, dict))


def flatten(structure: Any) -> list[Any]:
    """The leaves of ``structure``, depth first (dict values by sorted key)."""
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure) for leaf in flatten(structure[key])]
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    return [structure]


def map_structure(func: Callable[..., Any], *structures: Any) -> Any:
    """``func`` over the leaves of equally nested structures; the first one's containers are kept."""
    if not structures:
        raise ValueError("map_structure needs at least one structure")
    first = structures[0]
    if isinstance(first, dict):
        for other in structures[1:]:
            if not isinstance(other, dict) or set(other) != set(first):
                raise ValueError(f"map_structure: the structures differ: {first!r} and {other!r}")
        return {k: map_structure(func, *(s[k] for s in structures)) for k in first}
    if isinstance(first, (list, tuple)):
        for other in structures[1:]:
            if not isinstance(other, (list, tuple)) or len(other) != len(first):
                raise ValueError(f"map_structure: the structures differ: {first!r} and {other!r}")
        items = [map_structure(func, *parts) for parts in zip(*structures)]
        return type(first)(*items) if hasattr(first, "_fields") else type(first)(items)
    return func(*structures)


def pack_sequence_as(structure: Any, flat_sequence: Any) -> Any:
    """``flat_sequence`` put into the shape of ``structure`` (the inverse of ``flatten``)."""
    flat = list(flat_sequence)
    n = len(flatten(structure))
    if len(flat) != n:
        raise ValueError(f"pack_sequence_as: the structure has {n} leaves, got a sequence of {len(flat)}")
    leaves = iter(flat)
    return _pack(structure, leaves)


def _pack(structure: Any, leaves: Any) -> Any:
    if isinstance(structure, dict):
        packed = {k: _pack(structure[k], leaves) for k in sorted(structure)}
        return {k: packed[k] for k in structure}
    if isinstance(structure, (list, tuple)):
        items = [_pack(s, leaves) for s in structure]
        return type(structure)(*items) if hasattr(structure, "_fields") else type(structure)(items)
    return next(leaves)
