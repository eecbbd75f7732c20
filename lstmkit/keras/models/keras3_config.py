"""Model configs between Keras 3's ``config.json`` and lstmkit's own (``get_config`` / ``from_config``).

Keras 3 wraps every object as ``{"module", "class_name", "config", "registered_name"}`` (plus
``build_config`` / ``compile_config`` on layers and models), stores dtypes as ``DTypePolicy``
objects, and lists a functional model's layer calls per layer (``inbound_nodes``, tensors as
``__keras_tensor__`` objects). lstmkit's configs use the same class names and argument names, so the
translation is structural only:

- ``from_keras`` (reading): drops ``module`` (a class is only ever found through lstmkit's registry,
  never by importing the module a file names), turns policies into dtype names and regroups the
  layer calls into lstmkit's ordered node list. Keras-only arguments lstmkit lacks are accepted at
  their neutral value (``quantization_config=None``, ``rms_scaling=False``...), else a clear error.
- ``to_keras`` (writing): the reverse; raises ``NotKerasCompatible`` naming the layer and argument
  when the model uses something Keras 3 cannot rebuild (lstmkit-only arguments such as ``variant``,
  ``peepholes``, ``zoneout``, ``backend``; Lambda or custom layers), so the caller can fall back to
  lstmkit's own format.
"""

from __future__ import annotations

import inspect
from typing import Any

from lstmkit.keras.models import keras3_ops

#: arguments only Keras 3 has, with the value lstmkit behaves as (any other value is refused)
KERAS_ONLY_NEUTRAL: dict[str, Any] = {"quantization_config": None, "rms_scaling": False, "sparse": False,
                                      "ragged": False, "optional": False, "lora_rank": None, "lora_alpha": None}
#: lstmkit-only arguments Keras 3 does not take: None means "any value is lstmkit-only", else the
#: neutral value dropped on writing
LSTMKIT_ONLY: dict[str, Any] = {"variant": None, "peepholes": None, "backend": None, "zoneout": 0.0,
                                "build_input_dtype": "drop", "input_fixed": "drop"}
#: config keys whose value is a serialized layer (or a list of them)
LAYER_KEYS = ("layer", "backward_layer", "cell", "cells", "layers")
_MODULES = {"_initializer": "keras.initializers", "_regularizer": "keras.regularizers",
            "_constraint": "keras.constraints"}
#: lstmkit model class names -> Keras' (a functional model is ``Functional`` in Keras files)
_MODEL_CLASSES = {"Model": "Functional", "Functional": "Functional", "Sequential": "Sequential"}


class NotKerasCompatible(ValueError):
    """The model uses something Keras 3 cannot rebuild; the message says what."""


# ---------------------------------------------------------------------- Keras 3 -> lstmkit
def is_keras3_object(data: Any) -> bool:
    return isinstance(data, dict) and "class_name" in data and "config" in data and "module" in data


def _policy_name(data: dict[str, Any]) -> str | None:
    if data.get("class_name") in ("DTypePolicy", "FloatDTypePolicy") and isinstance(data.get("config"), dict):
        name = data["config"].get("name")
        return name if isinstance(name, str) else None
    return None


def _strip(value: Any, where: str) -> Any:
    """One value of a Keras config, lstmkit's way (recursively)."""
    if isinstance(value, list):
        return [_strip(v, where) for v in value]
    if not isinstance(value, dict):
        return value
    name = value.get("class_name")
    if name == "__keras_tensor__":
        return {"__keras_tensor__": list(value["config"]["keras_history"])}
    if name == "__tuple__":
        return {"__tuple__": [_strip(v, where) for v in value["config"]["value"]]}
    if name == "function" and isinstance(value.get("config"), str):
        return value["config"]  # a function saved by name (activations, losses): resolved by lstmkit's tables
    if name in ("Functional", "Model", "Sequential") and isinstance(value.get("config"), dict) and (
            name == "Sequential" or "input_layers" in value["config"]):
        return from_keras(value)  # a model used as a layer: its config is a whole model's
    if "class_name" in value and "config" in value:
        policy = _policy_name(value)
        if policy is not None:
            return policy
        out: dict[str, Any] = {"class_name": name, "config": _strip_config(value["config"], f"{where} > {name}")}
        registered = value.get("registered_name")
        if isinstance(registered, str) and registered != name:
            out["registered_name"] = registered
        return out
    return {k: _strip(v, where) for k, v in value.items()}


def _strip_config(config: Any, where: str) -> Any:
    if not isinstance(config, dict):
        return _strip(config, where)
    out = {}
    for key, value in config.items():
        if key in KERAS_ONLY_NEUTRAL:
            if value != KERAS_ONLY_NEUTRAL[key]:
                raise ValueError(f"{where}: {key}={value!r} is a Keras 3 argument lstmkit does not support (only "
                                 f"{key}={KERAS_ONLY_NEUTRAL[key]!r} can be loaded)")
            continue
        out[key] = _strip(value, f"{where}.{key}")
    return out


def _node_ready(ref: list[Any], done: dict[str, int]) -> bool:
    return done.get(ref[0], 0) > int(ref[1])


def _refs(value: Any) -> list[list[Any]]:
    if isinstance(value, dict):
        if "__keras_tensor__" in value:
            return [value["__keras_tensor__"]]
        return [r for v in value.values() for r in _refs(v)]
    if isinstance(value, list):
        return [r for v in value for r in _refs(v)]
    return []


def _call_parameters(class_name: str) -> list[str]:
    """The names of a layer's ``call`` arguments after the first (for Keras' extra positional args)."""
    from lstmkit.keras.engine.registry import lookup

    try:
        params = list(inspect.signature(lookup("layer", class_name).call).parameters)
    except (ValueError, TypeError):
        return []
    return params[2:]


def _tensor_struct(value: Any) -> Any:
    """Keras' ``input_layers`` / ``output_layers`` (``[name, node, index]`` leaves) -> lstmkit's refs."""
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
        return {"__keras_tensor__": list(value)}
    if isinstance(value, dict):
        return {k: _tensor_struct(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_tensor_struct(v) for v in value]
    raise ValueError(f"corrupt Keras model config: bad tensor reference {value!r}")


def _functional_from_keras(config: dict[str, Any]) -> dict[str, Any]:
    for key in ("layers", "input_layers", "output_layers"):
        if key not in config:
            raise ValueError(f"corrupt Keras functional model config: missing {key!r}")
    layers, pending = [], {}
    for entry in config["layers"]:
        if not isinstance(entry, dict) or "name" not in entry or "class_name" not in entry:
            raise ValueError(f"corrupt Keras functional model config: bad layer entry {str(entry)[:200]}")
        if keras3_ops.is_keras_op(entry):  # x + y, x[:, -1], ops.mean(x): an Operation, not a layer
            layer, op_calls = keras3_ops.op_from_keras(entry, _strip)
            layers.append(layer)
            pending[entry["name"]] = op_calls
            continue
        layers.append(_strip({k: entry[k] for k in ("module", "class_name", "config", "registered_name")
                              if k in entry}, entry["name"]))
        calls = []
        for node in entry.get("inbound_nodes", []):
            if not isinstance(node, dict):
                raise ValueError(f"layer {entry['name']!r}: only Keras 3 files can be read (legacy inbound_nodes)")
            args = [_strip(a, entry["name"]) for a in node.get("args", [])]
            kwargs = {k: _strip(v, entry["name"]) for k, v in (node.get("kwargs") or {}).items()
                      if not (k == "mask" and v is None) and not (k == "training" and v is not True)}
            if len(args) > 1:
                names = _call_parameters(entry["class_name"])
                if len(names) < len(args) - 1:
                    raise ValueError(f"layer {entry['name']!r} ({entry['class_name']}) is called with "
                                     f"{len(args)} positional arguments, which lstmkit's layer does not take")
                kwargs.update(dict(zip(names, args[1:])))
            if not args:
                raise ValueError(f"layer {entry['name']!r}: a layer call without inputs cannot be read")
            calls.append({"layer": entry["name"], "args": args[0], "kwargs": kwargs})
        if calls:
            pending[entry["name"]] = calls
    done = {e["name"]: 1 for e in config["layers"] if e["class_name"] == "InputLayer"}
    nodes = []
    while pending:
        progress = False
        for name in [e["name"] for e in config["layers"]]:
            calls = pending.get(name, [])
            while calls and all(_node_ready(r, done) for r in _refs([calls[0]["args"], calls[0]["kwargs"]])):
                nodes.append(calls.pop(0))
                done[name] = done.get(name, 0) + 1
                progress = True
            if name in pending and not calls:
                del pending[name]
        if not progress:
            raise ValueError(f"corrupt Keras functional model config: the layer calls of {sorted(pending)} use "
                             "tensors no layer produces")
    out = {k: config[k] for k in ("name", "trainable") if k in config}
    out.update(layers=layers, nodes=nodes, inputs=_tensor_struct(config["input_layers"]),
               outputs=_tensor_struct(config["output_layers"]))
    return out


def from_keras(data: dict[str, Any]) -> dict[str, Any]:
    """A Keras 3 ``config.json`` model entry -> lstmkit's ``{"class_name", "config"}``."""
    if not isinstance(data, dict) or not isinstance(data.get("config"), dict):
        raise ValueError("corrupt Keras config.json: no model config")
    name = data.get("class_name")
    if name == "Functional" or (name == "Model" and "input_layers" in data["config"]):
        return {"class_name": "Model", "config": _functional_from_keras(data["config"])}
    if name == "Sequential":
        config = _strip_config({k: v for k, v in data["config"].items() if k != "dtype"}, "Sequential")
        return {"class_name": "Sequential", "config": config}
    raise ValueError(f"config.json holds a {name!r}: lstmkit reads Keras 3 Sequential and functional models")


# ---------------------------------------------------------------------- lstmkit -> Keras 3
def _module_for(key: str) -> str | None:
    for suffix, module in _MODULES.items():
        if key.endswith(suffix):
            return module
    return "keras.layers" if key in LAYER_KEYS else None


def keras_object(data: dict[str, Any], module: str, where: str) -> dict[str, Any]:
    """lstmkit's ``{"class_name", "config"}`` -> Keras 3's wrapped form, checking the arguments."""
    name = data["class_name"]
    if "registered_name" in data:
        raise NotKerasCompatible(f"{where} is the custom class {data['registered_name']!r}")
    if name == "Lambda":
        raise NotKerasCompatible(f"{where} is a Lambda layer (its function is stored lstmkit's way)")
    config = data["config"]
    if module == "keras.layers" and name in _MODEL_CLASSES:
        return model_to_keras(data, where)
    out = {}
    for key, value in (config.items() if isinstance(config, dict) else ()):
        if key in LSTMKIT_ONLY:
            neutral = LSTMKIT_ONLY[key]
            if neutral == "drop":
                continue
            values = value if isinstance(value, (list, tuple)) else [value]
            if neutral is None or any(v != neutral for v in values):
                raise NotKerasCompatible(f"{where} uses the lstmkit-only argument {key}={value!r}")
            continue
        out[key] = _keras_value(value, key, f"{where}.{key}")
    return {"module": module, "class_name": name, "config": out if isinstance(config, dict) else config,
            "registered_name": None}


def _keras_value(value: Any, key: str, where: str) -> Any:
    if isinstance(value, list):
        return [_keras_value(v, key, where) for v in value]
    if isinstance(value, dict) and "class_name" in value and "config" in value:
        module = _module_for(key)
        if module is None:
            raise NotKerasCompatible(f"{where} holds a {value['class_name']} object Keras' format has no place for")
        return keras_object(value, module, f"{where} ({value['class_name']})")
    if isinstance(value, dict):
        return {k: _keras_value(v, k, f"{where}.{k}") for k, v in value.items()}
    return value


def _keras_tensors(value: Any, shapes: dict[tuple, Any]) -> Any:
    if isinstance(value, dict):
        if "__keras_tensor__" in value:
            ref = list(value["__keras_tensor__"])
            return {"class_name": "__keras_tensor__", "config": {
                "shape": shapes.get(tuple(ref), []), "dtype": "float32", "keras_history": ref}}
        if "__tuple__" in value:
            return {"class_name": "__tuple__", "config": {"value": [_keras_tensors(v, shapes)
                                                                    for v in value["__tuple__"]]}}
        return {k: _keras_tensors(v, shapes) for k, v in value.items()}
    if isinstance(value, list):
        return [_keras_tensors(v, shapes) for v in value]
    return value


def _keras_refs(value: Any) -> Any:
    if isinstance(value, dict):
        if "__keras_tensor__" in value:
            return list(value["__keras_tensor__"])
        return {k: _keras_refs(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_keras_refs(v) for v in value]
    raise NotKerasCompatible(f"the model's inputs/outputs structure {value!r} has no Keras form")


def model_to_keras(data: dict[str, Any], where: str = "model", shapes: dict[tuple, Any] | None = None,
                   build_shape: Any = None) -> dict[str, Any]:
    """lstmkit's serialized Sequential / functional model -> Keras 3's ``config.json`` model entry."""
    name, config = data["class_name"], data["config"]
    if name not in _MODEL_CLASSES:
        raise NotKerasCompatible(f"{where} is a subclassed model ({name})")
    if _MODEL_CLASSES[name] == "Sequential":
        layers = [keras_object(entry, "keras.layers", f"layer {entry['config'].get('name')!r}")
                  for entry in config["layers"]]
        out = {"name": config.get("name"), "trainable": config.get("trainable", True), "layers": layers}
        if config.get("build_input_shape") is not None:
            out["build_input_shape"] = config["build_input_shape"]
        build = {"input_shape": config.get("build_input_shape")}
        return {"module": "keras", "class_name": "Sequential", "config": out, "registered_name": None,
                "build_config": build}
    shapes = shapes or {}
    calls: dict[str, list[dict[str, Any]]] = {}
    for node in config["nodes"]:
        calls.setdefault(node["layer"], []).append({"args": [_keras_tensors(node["args"], shapes)],
                                                    "kwargs": _keras_tensors(node.get("kwargs", {}), shapes)})
    layers = []
    for entry in config["layers"]:
        layer_name = entry["config"].get("name")
        if entry["class_name"] == "SymbolicOp":
            layers.append(keras3_ops.op_to_keras(entry, calls.get(layer_name, []), f"layer {layer_name!r}"))
            continue
        obj = keras_object(entry, "keras.layers", f"layer {layer_name!r}")
        obj.update(name=layer_name, inbound_nodes=calls.get(layer_name, []))
        layers.append(obj)
    out = {"name": config.get("name"), "trainable": config.get("trainable", True), "layers": layers,
           "input_layers": _keras_refs(config["inputs"]), "output_layers": _keras_refs(config["outputs"])}
    return {"module": "keras.src.models.functional", "class_name": "Functional", "config": out,
            "registered_name": "Functional", "build_config": {"input_shape": build_shape}}
