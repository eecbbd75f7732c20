"""Tagged JSON for what ``model.save`` stores besides weights (compile arguments, optimizer state):
objects by config, functions by name (resolved only from an explicit table, never imported),
tensors referenced into a safetensors side file, tuples and non-string keys tagged."""

from __future__ import annotations

from typing import Any

import torch


def encode(obj: Any, tensors: dict[str, torch.Tensor] | None = None) -> Any:
    """JSON form of nested compile arguments / optimizer state: objects by config, functions by
    name, tensors moved to ``tensors`` (referenced by key), tuples and non-string keys tagged."""
    if obj is None or isinstance(obj, (str, bool, int, float)):
        return obj
    if isinstance(obj, torch.Tensor):
        if tensors is None:
            raise TypeError("cannot store a tensor here")
        key = f"t{len(tensors)}"
        tensors[key] = obj.detach().cpu().contiguous().clone()
        return {"__tensor__": key}
    if isinstance(obj, tuple):
        return {"__tuple__": [encode(v, tensors) for v in obj]}
    if isinstance(obj, list):
        return [encode(v, tensors) for v in obj]
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: encode(v, tensors) for k, v in obj.items()}
        return {"__items__": [[encode(k, tensors), encode(v, tensors)] for k, v in obj.items()]}
    if hasattr(obj, "get_config"):
        from lstmkit.keras.engine.registry import serialize

        return {"__object__": serialize(obj)}
    if callable(obj) and hasattr(obj, "__name__") and hasattr(obj, "__module__"):
        return {"__function__": [obj.__module__, obj.__name__]}
    raise TypeError(f"cannot save an object of type {type(obj).__name__}")


def decode(obj: Any, kind: str = "", tensors: dict[str, torch.Tensor] | None = None,
           custom_objects: dict[str, Any] | None = None) -> Any:
    if isinstance(obj, list):
        return [decode(v, kind, tensors, custom_objects) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__tensor__" in obj:
        if tensors is None or obj["__tensor__"] not in tensors:
            raise ValueError(f"corrupt file: missing tensor {obj['__tensor__']!r}")
        return tensors[obj["__tensor__"]]
    if "__tuple__" in obj:
        return tuple(decode(v, kind, tensors, custom_objects) for v in obj["__tuple__"])
    if "__items__" in obj:
        return {decode(k, kind, tensors, custom_objects): decode(v, kind, tensors, custom_objects)
                for k, v in obj["__items__"]}
    if "__object__" in obj:
        from lstmkit.keras.engine.registry import deserialize

        data = obj["__object__"]
        name = data.get("class_name") if isinstance(data, dict) else None
        if custom_objects and name in custom_objects:
            cls = custom_objects[name]
            return cls.from_config(data.get("config", {})) if hasattr(cls, "from_config") else cls(**data["config"])
        return deserialize(kind, data)
    if "__function__" in obj:  # only from an explicit registry (or custom_objects): never an import
        from lstmkit.keras.models._functions import resolve_function

        return resolve_function(obj["__function__"], custom_objects)
    return {k: decode(v, kind, tensors, custom_objects) for k, v in obj.items()}
