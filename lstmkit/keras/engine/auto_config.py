"""Keras 3's automatic ``get_config`` for user subclasses: the arguments a layer was created with,
recorded when the object is made, are its config when they are plain JSON values.

Why: Keras users write ``class Scale(Layer): def __init__(self, factor=2.0, **kwargs)`` without a
``get_config`` and still save and reload the model (Keras records the ``__init__`` arguments in
``Operation.__new__``). lstmkit's own layers define ``get_config``; this covers the rest.
"""

from __future__ import annotations

import inspect
import textwrap
from typing import Any

_SUPPORTED = (str, int, float, bool, type(None))


def _plain(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return isinstance(value, _SUPPORTED)


def record_init_arguments(instance: Any, cls: type, args: tuple, kwargs: dict) -> None:
    """Keep ``cls(*args, **kwargs)``'s arguments (defaults filled in) as ``instance._auto_config``,
    or None when one is not a plain value; ``_auto_config_error`` says why there is none."""
    config: dict[str, Any] | None = None
    error = "values"
    try:
        signature = inspect.signature(cls.__init__)
        bound = signature.bind(None, *args, **kwargs)
    except TypeError:
        bound = None  # __init__ will raise the real error
    if bound is not None:
        bound.apply_defaults()
        params = list(signature.parameters.values())
        arguments = dict(bound.arguments)
        arguments.pop(params[0].name, None)
        config = {}
        for p in params[1:]:
            if p.name not in arguments:
                continue
            value = arguments.pop(p.name)
            if p.kind is inspect.Parameter.VAR_KEYWORD:
                config.update(value)
            elif p.kind is inspect.Parameter.VAR_POSITIONAL:
                if value:
                    config, error = None, "varargs"
                    break
            elif p.kind is inspect.Parameter.POSITIONAL_ONLY:
                config, error = None, "varargs"
                break
            else:
                config[p.name] = value
        if config is not None:
            config.pop("name", None)
            if not _plain(config):
                config = None
    vars(instance)["_auto_config"] = config
    vars(instance)["_auto_config_error"] = error


def auto_config(instance: Any, base: dict[str, Any]) -> dict[str, Any]:
    """``base`` (name, trainable, dtype) plus the recorded ``__init__`` arguments; raises Keras'
    NotImplementedError when they are not plain values."""
    recorded = vars(instance).get("_auto_config")
    if recorded is None:
        name = type(instance).__name__
        why = ("positional only or variadic positional arguments (e.g., `*args`)"
               if vars(instance).get("_auto_config_error") == "varargs" else "non-serializable argument values")
        raise NotImplementedError(textwrap.dedent(f"""
            Object {name} was created by passing {why} in `__init__()`, and therefore the object must override
            `get_config()` in order to be serializable. Please implement `get_config()`.

            Example:

            class CustomLayer(keras.layers.Layer):
                def __init__(self, arg1, arg2, **kwargs):
                    super().__init__(**kwargs)
                    self.arg1 = arg1
                    self.arg2 = arg2

                def get_config(self):
                    config = super().get_config()
                    config.update({{"arg1": self.arg1, "arg2": self.arg2}})
                    return config"""))
    config = dict(base)
    config.update(recorded)
    params = inspect.signature(type(instance).__init__).parameters
    if "name" not in params and not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        config.pop("name", None)
    return config
