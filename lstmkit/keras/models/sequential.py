"""``Sequential``: a plain stack of layers, each feeding the next.

As in Keras, the model is built (weights created, ``summary()`` available) as soon as its input
shape is known: from a first ``Input(...)``/``InputLayer``, from a legacy ``input_shape=`` on the
first layer, from ``build(input_shape)``, or else on the first call / ``fit``. Masks travel with
the tensors, so ``Embedding(mask_zero=True)`` followed by ``LSTM`` masks the padding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from lstmkit.keras.engine.input_layer import InputLayer, to_dtype
from lstmkit.keras.engine.keras_tensor import KerasTensor, is_symbolic
from lstmkit.keras.engine.layer import Layer, as_tensor, get_mask, set_mask
from lstmkit.keras.engine.registry import register
from lstmkit.keras.models.functional import Graph
from lstmkit.keras.models.model import Model


@register("layer")
class Sequential(Model):
    """A linear stack of layers.

    Args:
        layers: the layers, first to last (an ``Input(...)`` may come first to fix the input shape).
        name: the model name (default ``"sequential"``, numbered if taken).
        trainable: whether the model's weights are updated by training.
    """

    def __init__(self, layers: Sequence[Any] | None = None, name: str | None = None, trainable: bool = True,
                 **kwargs: Any):
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._stack: list[Layer] = []  # the layers, with the InputLayer (if any) first
        self._input_fixed = False  # True when the input shape was given (Input, input_shape, build())
        self._deferred_spec: tuple[tuple, torch.dtype] | None = None  # shape/dtype of the first data seen
        if layers is not None:
            if isinstance(layers, (Layer, KerasTensor)):
                layers = [layers]
            for layer in layers:
                self.add(layer, rebuild=False)
            self._maybe_rebuild()

    # ------------------------------------------------------------------ the stack
    @property
    def layers(self) -> list[Layer]:
        """The layers added, without the InputLayer (as Keras)."""
        return [la for la in self._stack if not isinstance(la, InputLayer)]

    def add(self, layer: Any, rebuild: bool = True) -> None:
        """Append a layer on top of the stack (an ``Input(...)`` is accepted as the first element)."""
        if isinstance(layer, KerasTensor):
            if layer.input_layer is None:
                raise TypeError("Sequential.add() takes layers or an Input(...) tensor, got the output of a layer "
                                "call; use the functional API (Model(inputs, outputs)) for graphs")
            layer = layer.input_layer
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add() takes a lstmkit.keras layer, got {type(layer).__name__}: {layer!r}")
        if not self._stack and not isinstance(layer, InputLayer) and layer._input_shape_arg is not None:
            self.add(InputLayer(batch_shape=layer._input_shape_arg), rebuild=False)
        if isinstance(layer, InputLayer) and self._stack:
            if isinstance(self._stack[0], InputLayer):
                raise ValueError(f"Sequential model {self.name!r} already has the input shape "
                                 f"{self._stack[0].batch_shape}; it cannot take a second Input")
            raise ValueError("an Input can only be the first element of a Sequential model")
        if any(la.name == layer.name and la is not layer for la in self._stack):
            raise ValueError(f"all layers of a Sequential model need unique names; {layer.name!r} is already the name "
                             f"of a layer in model {self.name!r} (pass name=... to the layer)")
        if any(la is layer for la in self._stack):
            raise ValueError(f"layer {layer.name!r} is already in model {self.name!r}")
        self._stack.append(layer)
        self._set_layers(self._stack)
        if rebuild:
            self._maybe_rebuild()
        else:
            self._unbuild()

    def pop(self, rebuild: bool = True) -> Layer:
        """Remove and return the last layer."""
        if not self.layers:
            raise TypeError(f"there are no layers in Sequential model {self.name!r} to pop")
        layer = self._stack.pop()
        self._set_layers(self._stack)
        self._unbuild()
        if rebuild:
            self._maybe_rebuild()
        return layer

    def _unbuild(self) -> None:
        self.built = False
        self._graph = None

    def _maybe_rebuild(self) -> None:
        self._unbuild()
        if not self.layers:
            return
        if self._stack and isinstance(self._stack[0], InputLayer):
            self._build_graph(self._stack[0], fixed=True)
        elif self._deferred_spec is not None:
            shape, dtype = self._deferred_spec
            self._build_graph(InputLayer(batch_shape=shape, dtype=dtype), fixed=False)

    def build(self, input_shape: Any = None) -> None:
        """Build for inputs of this shape (batch dimension included, e.g. ``(None, 50, 1)``)."""
        if input_shape is None:
            raise ValueError("Sequential.build() needs input_shape, e.g. (None, timesteps, features)")
        if not all(d is None or isinstance(d, (int, np.integer)) for d in input_shape):
            return  # several inputs: the stack runs as is, without a recorded graph (as Keras)
        if not self.layers:
            raise ValueError(f"Sequential model {self.name!r} cannot be built: it has no layers; call add()")
        shape = tuple(None if d is None else int(d) for d in input_shape)
        if self._stack and isinstance(self._stack[0], InputLayer):
            if self._stack[0].batch_shape[1:] != shape[1:]:
                raise ValueError(f"Sequential model {self.name!r} has the input shape {self._stack[0].batch_shape}; "
                                 f"it cannot be built with input_shape {shape}")
            self._maybe_rebuild()
            return
        self._stack.insert(0, InputLayer(batch_shape=(None, *shape[1:])))
        self._set_layers(self._stack)
        self._maybe_rebuild()

    def _build_graph(self, input_layer: InputLayer, fixed: bool) -> None:
        """Run the stack on the symbolic input: creates the weights and records the shapes."""
        x = input_layer.output
        for layer in self.layers:
            x = layer(x)
        if not isinstance(x, KerasTensor):
            raise TypeError("a layer of a Sequential model returned a non-tensor result for a symbolic input")
        self._graph = Graph([input_layer.output], [x])
        self._input_struct = "single"
        self._output_struct = "single"
        self.input_names = [input_layer.name]
        self.output_names = [self.layers[-1].name]
        self._input_fixed = fixed
        self.built = True

    # ------------------------------------------------------------------ calling
    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        if not self.layers:
            raise ValueError(f"Sequential model {self.name!r} has no layers: add some before calling it")
        single = not isinstance(inputs, (list, tuple, dict))
        if not self.built and single:
            if isinstance(inputs, KerasTensor):
                spec = ((None, *inputs.shape[1:]), inputs.dtype)
            else:
                inputs = as_tensor(inputs)
                spec = ((None, *inputs.shape[1:]), inputs.dtype)
            self._deferred_spec = spec
            self._build_graph(InputLayer(batch_shape=spec[0], dtype=spec[1]), fixed=False)
        elif self._input_fixed and single and not is_symbolic(inputs):
            inputs = self._standardize([inputs])[0]
        return Layer.__call__(self, inputs, *args, **kwargs)

    def call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        x = inputs
        if mask is not None and isinstance(x, torch.Tensor) and getattr(x, "_keras_mask", None) is not mask:
            x = x.view_as(x)
            set_mask(x, mask)
        for layer in self._stack:
            if not isinstance(layer, InputLayer):
                x = layer(x)
        mask_out = get_mask(x)
        self._output_masks = [mask_out] if not isinstance(mask_out, list) else mask_out
        return x

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        from lstmkit.keras.engine.registry import serialize

        config: dict[str, Any] = {"name": self.name, "trainable": self.trainable,
                                  "layers": [serialize(la) for la in self._stack if self._input_fixed
                                             or not isinstance(la, InputLayer)]}
        if self.built and self._graph is not None:
            config["build_input_shape"] = list(self._graph.inputs[0].shape)
            config["build_input_dtype"] = str(self._graph.inputs[0].dtype).removeprefix("torch.")
            config["input_fixed"] = self._input_fixed
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Sequential:
        from lstmkit.keras.engine.registry import deserialize

        if "layers" not in config:
            raise ValueError(f"a Sequential config needs 'layers', got keys {sorted(config)}")
        model = cls(name=config.get("name"))
        for entry in config["layers"]:
            model.add(deserialize("layer", entry), rebuild=False)
        shape = config.get("build_input_shape")
        if shape is not None and not (model._stack and isinstance(model._stack[0], InputLayer)):
            if config.get("input_fixed"):
                model.build(shape)
            else:
                model._deferred_spec = (tuple(shape), to_dtype(config.get("build_input_dtype")))
        model._maybe_rebuild()
        if config.get("trainable") is False:
            model.trainable = False
        return model
