"""Names for everything that can be saved: layers, initializers, regularizers, constraints,
losses, metrics, optimizers. ``serialize`` turns an object into JSON (``{"class_name": ...,
"config": {...}}``), ``deserialize`` turns it back; no pickle anywhere.
"""

from __future__ import annotations

from typing import Any

_REGISTRY: dict[str, dict[str, type]] = {}
#: kind -> functions that import the modules defining that kind's classes. Upper layers (e.g.
#: ``lstmkit.keras.layers``) add theirs, so a lookup by name works before anything was imported.
_LOADERS: dict[str, list] = {}


def add_loader(kind: str, loader) -> None:
    """Register ``loader()`` to be called once when a ``kind`` name is not found."""
    _LOADERS.setdefault(kind, []).append(loader)


def register(kind: str, *aliases: str):
    """Class decorator: make ``cls`` loadable as ``kind`` by its class name (and aliases)."""

    def wrap(cls: type) -> type:
        table = _REGISTRY.setdefault(kind, {})
        for name in (cls.__name__, *aliases):
            table[name] = cls
        return cls

    return wrap


def lookup(kind: str, name: str) -> type:
    table = _REGISTRY.get(kind, {})
    if name not in table:
        for loader in _LOADERS.pop(kind, []):
            loader()
        table = _REGISTRY.get(kind, {})
    if name not in table:
        raise ValueError(f"unknown {kind} {name!r}; known: {sorted(table)}")
    return table[name]


def serialize(obj: Any) -> Any:
    """JSON-able description of a registered object (its class name and ``get_config()``)."""
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if not hasattr(obj, "get_config"):
        raise TypeError(f"cannot serialize {type(obj).__name__}: it has no get_config()")
    return {"class_name": type(obj).__name__, "config": obj.get_config()}


def deserialize(kind: str, data: Any) -> Any:
    """Inverse of ``serialize``: ``{"class_name": ..., "config": ...}`` -> object via
    ``cls.from_config(config)`` (or ``cls(**config)``)."""
    if not isinstance(data, dict) or "class_name" not in data:
        raise ValueError(f"expected a serialized {kind} {{'class_name': ..., 'config': ...}}, got {data!r}")
    cls = lookup(kind, data["class_name"])
    config = data.get("config", {}) or {}
    if hasattr(cls, "from_config"):
        return cls.from_config(config)
    return cls(**config)
