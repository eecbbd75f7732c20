"""``Lambda``: a Python function as a layer (Keras 3 semantics).

Why loading is different from Keras: ``get_config`` records the function as Keras does (a named
function by name; a Python ``lambda`` as its marshalled bytecode), but a config read from a
file never becomes code again here, whatever ``safe_mode`` says: turning bytecode into a
function runs whatever the file's author wrote. ``from_config`` finds functions only in the
``custom_objects`` the caller passes (``load_model(path, custom_objects=...)`` or
``registry.custom_object_scope``), by the function's name, or for a ``lambda`` by the layer's
name, and otherwise raises a ValueError that says how to pass the function again.
"""

from __future__ import annotations

import base64
import inspect
import json
import marshal
import types
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from lstmkit.keras import activations
from lstmkit.keras.engine import registry
from lstmkit.keras.engine.keras_tensor import KerasTensor
from lstmkit.keras.engine.layer import Layer, shape_of
from lstmkit.keras.engine.registry import register

_LAMBDA = "__lambda__"


def _is_python_lambda(fn: Any) -> bool:
    return isinstance(fn, types.LambdaType) and fn.__name__ == "<lambda>"


def _json_safe(values: Any) -> Any:
    """Defaults/closure values for the record: JSON values as they are, anything else as its repr
    (the record is never turned back into code, so nothing is lost)."""
    if values is None:
        return None
    out = []
    for v in values:
        try:
            json.dumps(v)
            out.append(v)
        except (TypeError, ValueError):
            out.append(repr(v))
    return tuple(out)


def _serialize_function(fn: Callable[..., Any]) -> dict[str, Any]:
    """Keras' record of a function: bytecode for a ``lambda``, else the function's name."""
    if _is_python_lambda(fn):
        code = base64.encodebytes(marshal.dumps(fn.__code__)).decode("ascii")
        closure = None if fn.__closure__ is None else [c.cell_contents for c in fn.__closure__]
        return {"class_name": _LAMBDA, "config": {"code": code, "defaults": _json_safe(fn.__defaults__),
                                                  "closure": _json_safe(closure)}}
    if callable(fn):
        name = getattr(fn, "__name__", type(fn).__name__)
        return {"module": "builtins", "class_name": "function", "config": name, "registered_name": "function"}
    raise ValueError(f"Invalid input type for serialization. Received: {fn} of type {type(fn)}.")


def _serialize_value(value: Any) -> Any:
    """Tensors and arrays (a constant mask, arrays in ``arguments``) as Keras' tagged values."""
    if isinstance(value, torch.Tensor):
        return {"class_name": "__tensor__", "config": {"value": value.detach().cpu().tolist(),
                                                       "dtype": str(value.dtype).removeprefix("torch.")}}
    if isinstance(value, np.ndarray):
        return {"class_name": "__numpy__", "config": {"value": value.tolist(), "dtype": str(value.dtype)}}
    if isinstance(value, dict):
        return {k: _serialize_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_serialize_value(v) for v in value)
    return value


def _deserialize_value(value: Any) -> Any:
    """Inverse of ``_serialize_value``: data only (numbers into an array), never code."""
    if isinstance(value, dict):
        tag = value.get("class_name")
        if tag in ("__tensor__", "__numpy__") and isinstance(value.get("config"), dict):
            arr = np.asarray(value["config"]["value"], dtype=np.dtype(str(value["config"].get("dtype", "float32"))))
            return torch.from_numpy(arr) if tag == "__tensor__" else arr
        return {k: _deserialize_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deserialize_value(v) for v in value]
    return value


def _lambda_refused(layer_name: str, what: str) -> ValueError:
    return ValueError(
        f"Lambda layer {layer_name!r}: its {what} is a Python lambda, saved as bytecode, and lstmkit never "
        "loads code from a file (running it could run anything its author wrote; safe_mode=False does not "
        "change this). Pass the function again: load_model(path, custom_objects={"
        f"{layer_name!r}: your_function}}) (keyed by the layer's name), or define it with def and pass "
        "custom_objects={'its_name': its_function}, or rebuild the model in code and load the weights with "
        "model.load_weights(path).")


def _function_from(entry: Any, objects: dict[str, Any], layer_name: str, what: str) -> Callable[..., Any]:
    """The callable a config entry names: ``custom_objects`` by name, else lstmkit's activations."""
    if callable(entry):
        return entry
    if isinstance(entry, dict) and entry.get("class_name") == _LAMBDA:
        key = layer_name if what == "function" else f"{layer_name}/{what}"  # clone_model passes both
        if callable(objects.get(key)):
            return objects[key]
        raise _lambda_refused(layer_name, what)
    name = entry.get("config") if isinstance(entry, dict) else entry
    if not isinstance(name, str):
        raise ValueError(f"Lambda layer {layer_name!r}: cannot read its {what} from {entry!r}")
    if callable(objects.get(name)):
        return objects[name]
    if name in activations.__all__ and name not in ("get", "serialize", "deserialize"):
        return getattr(activations, name)
    raise ValueError(f"Lambda layer {layer_name!r} calls the function {name!r} as its {what}; lstmkit does not import "
                     f"functions named by a file: pass it again with custom_objects={{{name!r}: {name}}} (to "
                     "load_model, model_from_json or Lambda.from_config)")


def _parameter_names(fn: Callable[..., Any]) -> set[str]:
    try:
        return set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):  # some builtins have no signature
        return set()


@register("layer")
class Lambda(Layer):
    """Runs ``function(inputs, **arguments)`` (plus ``mask=`` / ``training=`` when the function
    takes them).

    Args:
        function: the function; its first argument is the input (a tensor or list of tensors).
        output_shape: the output shape without the batch axis (a tuple), or a function of the
            full input shape. Optional: lstmkit infers shapes by running the function; when
            given, the symbolic output takes this shape.
        mask: None (no output mask), a function ``(inputs, mask) -> mask``, or a fixed mask.
        arguments: keyword arguments passed to the function on every call.
    """

    #: the function runs in the shape pass; a declared output_shape is checked against it (_symbolic_call)
    _shapes_from_dummy_runs = True

    def __init__(self, function: Callable[..., Any], output_shape: Any = None, mask: Any = None,
                 arguments: dict[str, Any] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda function must be callable, got {type(function).__name__}: {function!r}")
        if arguments is not None and not isinstance(arguments, dict):
            raise TypeError(f"Lambda arguments must be a dict of keyword arguments, got {arguments!r}")
        if output_shape is not None and not callable(output_shape) and not isinstance(output_shape, (list, tuple)):
            raise TypeError(f"Lambda output_shape must be a tuple, a function or None, got {output_shape!r}")
        self.function = function
        self.arguments = dict(arguments or {})
        self._output_shape = tuple(output_shape) if isinstance(output_shape, list) else output_shape
        if mask is not None and not callable(mask) and not isinstance(mask, torch.Tensor):
            mask = torch.as_tensor(np.asarray(mask))
        self.mask = mask
        self.supports_masking = mask is not None
        params = _parameter_names(function)
        self._fn_expects_mask_arg = "mask" in params
        self._fn_expects_training_arg = "training" in params

    def call(self, inputs: Any, mask: Any = None, training: bool | None = None) -> Any:
        kwargs = dict(self.arguments)
        if self._fn_expects_mask_arg:
            kwargs["mask"] = mask
        if self._fn_expects_training_arg:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The declared output shape (``output_shape`` given), batch axis included."""
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        first = input_shape
        while isinstance(first, (list, tuple)) and first and isinstance(first[0], (list, tuple)):
            first = first[0]
        return (first[0] if first else None, *self._output_shape)

    def _symbolic_call(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        out = super()._symbolic_call(inputs, *args, **kwargs)
        if self._output_shape is None or not isinstance(out, KerasTensor):
            return out
        declared = tuple(self.compute_output_shape(shape_of(inputs)))
        if len(declared) != len(out.shape):
            raise ValueError(f"Lambda {self.name!r}: output_shape gives rank {len(declared)} ({declared}), but the "
                             f"function returns rank {len(out.shape)} ({out.shape})")
        out.shape = declared
        return out

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"function": _serialize_function(self.function)}
        if self._output_shape is not None:
            config["output_shape"] = (_serialize_function(self._output_shape) if callable(self._output_shape)
                                      else self._output_shape)
        if self.mask is not None:
            config["mask"] = _serialize_function(self.mask) if callable(self.mask) else _serialize_value(self.mask)
        config["arguments"] = _serialize_value(self.arguments)
        return {**super().get_config(), **config}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None,
                    safe_mode: bool | None = None) -> Lambda:
        """Rebuild from a config; functions come from ``custom_objects`` (this argument and any
        open ``custom_object_scope``), never from the config's bytecode (``safe_mode`` is accepted
        for Keras' signature and changes nothing)."""
        config = dict(config)
        objects = {**registry.custom_objects(), **(custom_objects or {})}
        name = str(config.get("name", "lambda"))
        config["function"] = _function_from(config.get("function"), objects, name, "function")
        shape = config.get("output_shape")
        is_lambda = isinstance(shape, dict) and shape.get("class_name") == _LAMBDA
        if is_lambda and callable(objects.get(f"{name}/output_shape")):  # clone_model passes it along
            config["output_shape"] = objects[f"{name}/output_shape"]
        elif is_lambda:
            warnings.warn(f"Lambda layer {name!r}: its output_shape was a Python lambda, which is not loaded; the "
                          "output shape is inferred by running the function instead", stacklevel=2)
            config.pop("output_shape")
        elif isinstance(shape, dict) or isinstance(shape, str):
            config["output_shape"] = _function_from(shape, objects, name, "output_shape")
        elif isinstance(shape, list) and all(isinstance(d, (int, type(None))) for d in shape):
            config["output_shape"] = tuple(shape)
        mask = config.get("mask")
        if isinstance(mask, dict) and (mask.get("class_name") == _LAMBDA or mask.get("class_name") == "function"):
            config["mask"] = _function_from(mask, objects, name, "mask")
        elif mask is not None:
            config["mask"] = _deserialize_value(mask)
        if "arguments" in config:
            config["arguments"] = _deserialize_value(config["arguments"])
        return cls(**config)
