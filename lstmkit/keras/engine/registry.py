"""Names for everything that can be saved: layers, initializers, regularizers, constraints,
losses, metrics, optimizers. ``serialize`` turns an object into JSON (``{"class_name": ...,
"config": {...}}``), ``deserialize`` turns it back; no pickle anywhere.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
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


#: kind -> the family's ``get`` (initializer, regularizer, constraint), for code below the families
#: (``Layer.add_weight`` in the engine) that must resolve their identifiers without importing them.
_RESOLVERS: dict[str, Callable[[Any], Any]] = {}


def add_resolver(kind: str, get: Callable[[Any], Any]) -> None:
    """Make ``resolve(kind, identifier)`` call ``get(identifier)`` (each family registers its own)."""
    _RESOLVERS[kind] = get


def resolve(kind: str, identifier: Any) -> Any:
    """The ``kind`` object for ``identifier`` through its family's ``get``; the family module is
    imported on first use by the loader its package registered (``add_loader("resolver:" + kind)``)."""
    if kind not in _RESOLVERS:
        for loader in _LOADERS.pop("resolver:" + kind, []):
            loader()
    if kind not in _RESOLVERS:
        raise ValueError(f"no {kind} family is loaded to resolve {identifier!r}")
    return _RESOLVERS[kind](identifier)


#: the ``custom_objects`` of the loads in progress (innermost last), for ``from_config`` methods
#: that must find a user's function by name (``Lambda``), since ``deserialize`` passes only configs.
_CUSTOM_SCOPES: list[dict[str, Any]] = []


@contextmanager
def custom_object_scope(*objects: Mapping[str, Any] | None) -> Iterator[None]:
    """Make ``objects`` (dicts of name -> class or function, later ones win) visible to
    ``custom_objects()`` inside the block, as Keras' ``custom_object_scope``;
    ``load_model(custom_objects=...)`` opens one."""
    merged: dict[str, Any] = {}
    for part in objects:
        if part is not None and not isinstance(part, Mapping):
            raise TypeError(f"custom_object_scope takes dicts of name -> object, got {part!r}")
        merged.update(part or {})
    _CUSTOM_SCOPES.append(merged)
    try:
        yield
    finally:
        _CUSTOM_SCOPES.pop()


def custom_objects() -> dict[str, Any]:
    """The custom objects of every open ``custom_object_scope`` (inner scopes win)."""
    merged: dict[str, Any] = {}
    for scope in _CUSTOM_SCOPES:
        merged.update(scope)
    return merged


custom_objects_in_scope = custom_objects  # the name used where a parameter is called custom_objects


def lookup(kind: str, name: str) -> type:
    """The ``kind`` class registered as ``name``: lstmkit's own (``register``), then a class of an
    open ``custom_object_scope``, then one registered with ``register_serializable`` (as
    "package>name", or by its bare name when only one has it). Nothing is ever imported because
    a name was asked for."""
    table = _REGISTRY.get(kind, {})
    if name not in table:
        for loader in _LOADERS.pop(kind, []):
            loader()
        table = _REGISTRY.get(kind, {})
    if name in table:
        return table[name]
    found = registered_object(name)
    if found is not None:
        return found
    raise ValueError(f"unknown {kind} {name!r}: it is neither one of lstmkit.keras's {kind}s nor a registered custom "
                     f"object. If {name!r} is your own class, import the module that defines it before loading and "
                     f"decorate the class with @keras.saving.register_keras_serializable() (or pass "
                     f"custom_objects={{{name.split('>')[-1]!r}: {name.split('>')[-1]}}}); lstmkit never imports a "
                     f"module named by a file. Known {kind}s: {sorted(table)}")


# ---------------------------------------------------------------------- Keras 3's custom-object registration
#: "package>name" -> class or function, as Keras 3's ``GLOBAL_CUSTOM_OBJECTS``; and back.
_SERIALIZABLE: dict[str, Any] = {}
_SERIALIZABLE_NAMES: dict[Any, str] = {}


def register_serializable(obj: Any, package: str = "Custom", name: str | None = None) -> Any:
    """Register a class or function as ``"package>name"`` (``name`` defaults to its ``__name__``),
    so that saved configs name it and loading finds it without ``custom_objects``; returns ``obj``."""
    if not isinstance(package, str) or not package or ">" in package:
        raise ValueError(f"register_keras_serializable: package must be a non-empty string without '>', got "
                         f"{package!r}")
    name = getattr(obj, "__name__", None) if name is None else name
    if not isinstance(name, str) or not name:
        raise ValueError(f"register_keras_serializable: cannot name {obj!r}; pass name=")
    if inspect.isclass(obj) and not hasattr(obj, "get_config"):
        raise ValueError(f"Cannot register a class that does not have a get_config() method: {obj!r}")
    key = f"{package}>{name}"
    _SERIALIZABLE[key] = obj
    _SERIALIZABLE_NAMES[obj] = key
    return obj


def registered_objects() -> dict[str, Any]:
    """A copy of the "package>name" -> object table of ``register_serializable``."""
    return dict(_SERIALIZABLE)


def registered_name(obj: Any) -> str:
    """The name ``obj`` (or its class) is saved under: its "package>name" if registered, else its ``__name__``."""
    if obj in _SERIALIZABLE_NAMES:
        return _SERIALIZABLE_NAMES[obj]
    return getattr(obj, "__name__", type(obj).__name__)


def registered_object(name: str, custom_objects: Mapping[str, Any] | None = None,
                      module_objects: Mapping[str, Any] | None = None) -> Any:
    """``name``'s object from ``custom_objects``, the open scopes, the registered objects (a bare
    class name matches when exactly one registered object has it) or ``module_objects``; else None."""
    for source in (custom_objects or {}, custom_objects_in_scope(), _SERIALIZABLE):
        if name in source:
            return source[name]
    if ">" not in name:
        matches = [obj for key, obj in _SERIALIZABLE.items() if key.split(">", 1)[1] == name]
        if len(matches) == 1:
            return matches[0]
    return (module_objects or {}).get(name)


def serialize(obj: Any) -> Any:
    """JSON-able description of a registered object (its class name and ``get_config()``; a class
    registered with ``register_serializable`` also gets its ``"registered_name"``, as Keras 3)."""
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if not hasattr(obj, "get_config"):
        raise TypeError(f"cannot serialize {type(obj).__name__}: it has no get_config()")
    data = {"class_name": type(obj).__name__, "config": obj.get_config()}
    if type(obj) in _SERIALIZABLE_NAMES:
        data["registered_name"] = _SERIALIZABLE_NAMES[type(obj)]
    return data


def deserialize(kind: str, data: Any, custom_objects: dict[str, Any] | None = None) -> Any:
    """Inverse of ``serialize``: ``{"class_name": ..., "config": ...}`` -> object via
    ``cls.from_config(config)`` (or ``cls(**config)``); ``custom_objects`` (and any open
    ``custom_object_scope``) names classes that are not registered (user layers)."""
    if not isinstance(data, dict) or "class_name" not in data:
        raise ValueError(f"expected a serialized {kind} {{'class_name': ..., 'config': ...}}, got {data!r}")
    name = data["class_name"]
    objects = {**custom_objects_in_scope(), **(custom_objects or {})}
    registered = data.get("registered_name")
    if name in objects:
        cls = objects[name]
    elif isinstance(registered, str) and registered_object(registered, objects) is not None:
        cls = registered_object(registered, objects)
    else:
        cls = lookup(kind, registered if isinstance(registered, str) and ">" in registered else name)
    config = data.get("config", {}) or {}
    if hasattr(cls, "from_config"):
        return cls.from_config(config)
    return cls(**config)


def snake_case(name: str) -> str:
    """Keras' automatic-name rule: ``GlobalAveragePooling1D`` -> ``global_average_pooling1d``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


@dataclass(frozen=True)
class Resolver:
    """``get`` / ``serialize`` / ``deserialize`` of one kind of object, written once.

    Every family (activations, initializers, regularizers, constraints, losses, metrics,
    optimizers) accepts the same identifiers, as Keras does: None, a name, a serialized dict, an
    instance or class of ``base``, or a plain callable. What differs per family is data:

    * ``names``: extra name -> factory entries, looked up as given, lower-cased and snake_cased
      (e.g. "mse"); then the ``kind`` table of the registry.
    * ``make(factory, name)``: builds an object from a name's factory (default ``factory()``;
      activations return the function itself, metrics pass ``name=``).
    * ``callables``: how a plain callable is taken: as is (True), wrapped (a function), or
      refused (False).
    * ``none``: what None gives (None; ``linear`` for activations).
    * ``type_error``: the exception for an identifier of no accepted type (ValueError, as Keras
      3; TypeError for activations, as lstmkit always raised there).
    """

    kind: str
    accepts: str
    base: type | None = None
    names: Mapping[str, Any] = field(default_factory=dict)
    make: Callable[[Any, str], Any] = lambda factory, name: factory()
    callables: bool | Callable[[Any], Any] = True
    none: Any = None
    type_error: type[Exception] = ValueError

    def get(self, identifier: Any) -> Any:
        if identifier is None:
            return self.none
        if self.base is not None and isinstance(identifier, self.base):
            return identifier
        if isinstance(identifier, str):
            return self.make(self.factory(identifier), identifier)
        if isinstance(identifier, dict):
            return self.deserialize(identifier)
        if inspect.isclass(identifier) and (self.base is None or issubclass(identifier, self.base)):
            return identifier()
        if callable(identifier) and not inspect.isclass(identifier) and self.callables:
            return identifier if self.callables is True else self.callables(identifier)
        raise self.type_error(f"Could not interpret {self.kind} identifier: {identifier!r} (expected {self.accepts})")

    def factory(self, name: str) -> Any:
        """What ``name`` stands for: an entry of ``names`` or a registered class."""
        for key in (name, name.lower(), snake_case(name)):
            if key in self.names:
                return self.names[key]
        try:
            return lookup(self.kind, name)
        except ValueError:
            known = sorted({*self.names, *_REGISTRY.get(self.kind, {})})
            raise ValueError(f"Could not interpret {self.kind} identifier: unknown {self.kind} {name!r}. "
                             f"Valid names: {known}") from None

    def serialize(self, obj: Any) -> Any:
        """``{"class_name": ..., "config": ...}`` (None and plain values stay as they are)."""
        return serialize(obj)

    def deserialize(self, config: Any) -> Any:
        """Inverse of ``serialize``; a bare name is resolved as ``get`` resolves it."""
        if isinstance(config, str):
            return self.get(config)
        if isinstance(config, dict) and isinstance(config.get("class_name"), str):
            name = config["class_name"]
            table = _REGISTRY.get(self.kind, {})
            if name not in table and name not in self.names:  # class names are matched case-insensitively
                match = next((k for k in table if k.lower() == name.lower()), None)
                if match is not None:
                    config = {**config, "class_name": match}
        return deserialize(self.kind, config)
