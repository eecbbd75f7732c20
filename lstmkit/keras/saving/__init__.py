"""``lstmkit.keras.saving``, as Keras 3's ``keras.saving``: registering your own classes and
functions so that saved models name them and load without ``custom_objects``, and the
save/load/serialise functions.

Why a registry and nothing else: a ``.keras`` file is data. Loading resolves every class and
function name through lstmkit's own tables, the objects this program registered
(``@register_keras_serializable()``) and the ``custom_objects`` the caller passes; it never
imports a module because a file named it. So a model with your own layer loads in a fresh
process once the module that defines (and registers) the layer has been imported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lstmkit.keras.engine import registry
from lstmkit.keras.engine.registry import custom_object_scope
from lstmkit.keras.models.saving import load_model, save_model

__all__ = ["CustomObjectScope", "custom_object_scope", "deserialize_keras_object", "get_custom_objects",
           "get_registered_name", "get_registered_object", "load_model", "register_keras_serializable",
           "save_model", "serialize_keras_object"]

CustomObjectScope = custom_object_scope


def register_keras_serializable(package: str = "Custom", name: str | None = None) -> Callable[[Any], Any]:
    """Decorator: register a class (it needs ``get_config``) or function as ``"package>name"``
    (``name`` defaults to its ``__name__``), as Keras 3. Saved configs then carry that
    ``registered_name`` and loading finds the object by it."""

    def decorator(obj: Any) -> Any:
        return registry.register_serializable(obj, package=package, name=name)

    return decorator


def get_registered_name(obj: Any) -> str:
    """``"package>name"`` for a registered class or function, else its ``__name__``."""
    return registry.registered_name(obj)


def get_registered_object(name: str, custom_objects: dict[str, Any] | None = None,
                          module_objects: dict[str, Any] | None = None) -> Any:
    """The object registered (or in an open ``custom_object_scope``, or in ``custom_objects`` /
    ``module_objects``) as ``name``; None if there is none."""
    return registry.registered_object(name, custom_objects, module_objects)


def get_custom_objects() -> dict[str, Any]:
    """The registered objects, ``"package>name"`` -> object (a copy: register with the decorator)."""
    return registry.registered_objects()


def serialize_keras_object(obj: Any) -> Any:
    """A JSON-able config: ``{"class_name", "config"(, "registered_name")}`` for objects with
    ``get_config``; plain values, lists and dicts as they are; a function by its registered name."""
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(v) for v in obj]
    if isinstance(obj, dict):
        return {k: serialize_keras_object(v) for k, v in obj.items()}
    if hasattr(obj, "get_config"):
        return registry.serialize(obj)
    if callable(obj) and hasattr(obj, "__name__"):
        return {"class_name": "function", "config": obj.__name__, "registered_name": registry.registered_name(obj)}
    raise TypeError(f"cannot serialize {obj!r}: it has no get_config() and is not a function")


def deserialize_keras_object(config: Any, custom_objects: dict[str, Any] | None = None, safe_mode: bool = True,
                             **kwargs: Any) -> Any:
    """Inverse of ``serialize_keras_object``: classes and functions come from lstmkit's tables,
    the registered objects, ``custom_objects`` and open scopes, never from an import. ``safe_mode``
    is accepted for Keras' signature (nothing is ever run from a config)."""
    del safe_mode, kwargs
    if config is None or isinstance(config, (int, float, bool)):
        return config
    if isinstance(config, list):
        return [deserialize_keras_object(v, custom_objects) for v in config]
    if isinstance(config, str):
        found = registry.registered_object(config, custom_objects)
        if found is None:
            raise ValueError(f"unknown object {config!r}: register it with @keras.saving.register_keras_serializable() "
                             f"or pass custom_objects={{{config!r}: ...}}")
        return found
    if not isinstance(config, dict) or "class_name" not in config:
        if isinstance(config, dict):
            return {k: deserialize_keras_object(v, custom_objects) for k, v in config.items()}
        raise TypeError(f"cannot deserialize {config!r}")
    if config["class_name"] == "function":
        name = config.get("registered_name") or config.get("config")
        return deserialize_keras_object(str(name), custom_objects)
    last: ValueError | None = None
    for kind in _KINDS:  # a config does not say its kind: layers first, as most saved objects are
        try:
            return registry.deserialize(kind, config, custom_objects)
        except ValueError as e:
            if not str(e).startswith(f"unknown {kind} "):
                raise
            last = last or e
    raise last  # the layer table's message: what the class is and how to register it


_KINDS = ("layer", "loss", "metric", "optimizer", "schedule", "initializer", "regularizer", "constraint")
