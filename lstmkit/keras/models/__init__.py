"""Keras models on torch (``lstmkit.keras.models``, as ``tensorflow.keras.models``).

- ``Sequential``: a stack of layers; ``Model``: functional models (``Model(inputs, outputs)``)
  and the base class of subclassed models; both train with ``compile``/``fit``/``evaluate``/
  ``predict``.
- ``load_model`` / ``save_model``: one zip file (JSON + safetensors, never pickle).
- ``model_from_json`` / ``clone_model``: the same architecture with new weights.
"""

from __future__ import annotations

from typing import Any

import lstmkit.keras.layers  # noqa: F401  (lets load_model find every layer class by name)
from lstmkit.keras.models.model import Model
from lstmkit.keras.models.saving import load_model, model_from_json, save_model
from lstmkit.keras.models.sequential import Sequential

__all__ = ["Model", "Sequential", "load_model", "save_model", "model_from_json", "clone_model"]


def clone_model(model: Model, input_tensors: Any = None) -> Model:
    """A new model with the same architecture and freshly initialised weights (Keras'
    ``clone_model`` for Sequential and functional models). The model's own objects go along by
    name (``custom_object_scope``): each layer's class, and each Lambda's functions (keyed by the
    function's name and, for a Python lambda, by the layer's name), so nothing needs registering."""
    from lstmkit.keras.engine.registry import custom_object_scope, deserialize, serialize

    if input_tensors is not None:
        raise NotImplementedError("clone_model(input_tensors=...) is not supported; clone, then call the clone on "
                                  "the tensors")
    if not isinstance(model, Model):
        raise TypeError(f"clone_model() takes a lstmkit.keras model, got {type(model).__name__}")
    with custom_object_scope(_own_objects(model)):
        return deserialize("layer", serialize(model))


def _own_objects(model: Model) -> dict[str, Any]:
    """Name -> class / function for every layer inside ``model`` (nested models and cells too)."""
    from lstmkit.keras.engine.layer import Layer
    from lstmkit.keras.layers import Lambda

    objects: dict[str, Any] = {}
    for layer in model.modules():
        if not isinstance(layer, Layer) or layer is model:
            continue
        objects.setdefault(type(layer).__name__, type(layer))
        if isinstance(layer, Lambda):
            for what, fn in (("function", layer.function), ("output_shape", layer._output_shape),
                             ("mask", layer.mask)):
                if callable(fn):
                    name = getattr(fn, "__name__", "<lambda>")
                    objects[layer.name if what == "function" else f"{layer.name}/{what}"] = fn
                    if name != "<lambda>":
                        objects[name] = fn
    return objects
