"""The explicit registry of plain functions a saved model may name (losses, metrics, activations
passed to ``compile`` or a layer as functions rather than names or objects).

Why a registry and not ``importlib``: a ``.keras`` file is data from somebody else. Resolving its
``{"__function__": [module, name]}`` entries by importing the module it names let a crafted file
import any ``lstmkit.*`` module (``lstmkit.__main__`` runs the CLI inside the loading program). Here
the file can only pick from a fixed table, built from the few modules listed below (imported by
this code, never because a file said so); anything else needs ``custom_objects=``.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from functools import lru_cache
from typing import Any

__all__ = ["SERIALISABLE_MODULES", "resolve_function", "serialisable_functions"]

#: Modules whose public functions (defined there, not imported) a saved file may name.
SERIALISABLE_MODULES: tuple[str, ...] = (
    "lstmkit.keras.losses.functions",
    "lstmkit.keras.metrics.accuracy",
    "lstmkit.keras.metrics.regression",
    "lstmkit.keras.activations",
)
_HELPERS = frozenset({"get", "serialize", "deserialize"})  # lookup helpers, not losses or activations


@lru_cache(maxsize=1)
def serialisable_functions() -> dict[tuple[str, str], Callable[..., Any]]:
    """``{(module, name): function}`` for every function a file may name."""
    table: dict[tuple[str, str], Callable[..., Any]] = {}
    for module_name in SERIALISABLE_MODULES:
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            if (inspect.isfunction(value) and value.__module__ == module_name and not name.startswith("_")
                    and name not in _HELPERS):
                table[(module_name, name)] = value
    return table


def resolve_function(entry: Any, custom_objects: dict[str, Any] | None = None) -> Callable[..., Any]:
    """The function a ``[module, name]`` entry of a saved file names: ``custom_objects[name]`` if
    the user passed it, else the registry's, else one this program registered with
    ``keras.saving.register_keras_serializable``; ValueError for anything else (nothing is imported)."""
    if not (isinstance(entry, (list, tuple)) and len(entry) == 2 and all(isinstance(v, str) for v in entry)):
        raise ValueError(f"corrupt file: a function entry must be [module, name] strings, got {entry!r}")
    module, name = entry
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    function = serialisable_functions().get((module, name)) or _registered_function(module, name)
    if function is None:
        raise ValueError(f"the model names the function {module}.{name}, which is not one of lstmkit's serialisable "
                         "losses, metrics or activations (nor registered with "
                         "@keras.saving.register_keras_serializable()); if you trust the file, pass it to load_model("
                         f"custom_objects={{{name!r}: {name}}}) (or load_model(..., compile=False))")
    return function


def _registered_function(module: str, name: str) -> Callable[..., Any] | None:
    """A function this program registered (``register_keras_serializable``) that is ``module.name``."""
    from lstmkit.keras.engine.registry import registered_objects

    for obj in registered_objects().values():
        if inspect.isfunction(obj) and obj.__module__ == module and obj.__name__ == name:
            return obj
    return None
