"""Packages whose public names live in submodules that are imported on first use.

Why: ``import lstmkit.keras`` must not import every layer, loss and optimizer (nor torch's
heavier corners, nor matplotlib) before the user asks for one. Each such package's
``__init__.py`` states where its names live and takes ``__getattr__`` / ``__dir__`` from here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_exports(package: str, where: Mapping[str, str], *, submodules: Iterable[str] = ()
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """``(__getattr__, __dir__, __all__)`` for ``package``.

    ``where`` maps each public name to the module defining it: absolute ("lstmkit.keras.models")
    or relative to the package ("model" for ``package.model``). ``submodules`` are public
    sub-packages/modules reached as attributes (``lstmkit.keras.layers``). A resolved name is
    cached in the package's namespace, so each import happens once.
    """
    submodules = tuple(submodules)
    names = sorted({*where, *submodules})

    def _module(path: str) -> Any:
        return importlib.import_module(path if path.startswith("lstmkit") else f"{package}.{path}")

    def __getattr__(name: str) -> Any:
        if name in submodules:
            value = importlib.import_module(f"{package}.{name}")
        elif name in where:
            value = getattr(_module(where[name]), name)
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        vars(importlib.import_module(package))[name] = value
        return value

    def __dir__() -> list[str]:
        return list(names)

    return __getattr__, __dir__, names
