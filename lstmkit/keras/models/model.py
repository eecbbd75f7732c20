"""``Model``: a layer made of layers, with Keras' training API (``compile``/``fit``/...).

Three ways to make one, as in Keras:

- functional: ``Model(inputs=Input(...), outputs=...)`` runs the recorded layer-call graph;
- ``Sequential`` (see sequential.py) stacks layers;
- subclassing: ``class MyModel(Model)`` with layers as attributes and a ``call`` method.

The model is a ``torch.nn.Module`` whose children are its layers, so ``model.parameters()``,
``model.to(device)`` and ``model.train()`` behave as in torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lstmkit.keras.engine.keras_tensor import KerasTensor, is_symbolic
from lstmkit.keras.engine.layer import Layer, as_tensor, set_mask, snake_case, unique_name
from lstmkit.keras.engine.registry import register
from lstmkit.keras.models.functional import Graph, producer, rebuild
from lstmkit.keras.models.saving import SavingMixin
from lstmkit.keras.models.steps import StepsMixin
from lstmkit.keras.models.training import Trainer


def _flatten_io(structure: Any, what: str) -> tuple[list[Any], Any]:
    """Model inputs/outputs as a flat list plus a description of their structure:
    ``"single"``, ``"list"`` or the dict's keys. A dict is flattened in sorted key order, as Keras 3's
    ``tree.flatten``, so layers and weights come in Keras' order."""
    if isinstance(structure, dict):
        keys = sorted(structure)
        return [structure[k] for k in keys], keys
    if isinstance(structure, (list, tuple)):
        if not structure:
            raise ValueError(f"Model {what} must not be empty")
        return list(structure), "list"
    return [structure], "single"


@register("layer", "Functional")
class Model(StepsMixin, Trainer, SavingMixin, Layer):
    """A Keras model.

    Args:
        inputs: the model's ``Input(...)`` tensor(s): one, a list, or a dict by name.
        outputs: the symbolic output tensor(s) computed from ``inputs``: one, a list or a dict.
        name: the model name (default ``"functional"`` / ``"sequential"`` / the snake-case
            subclass name, numbered if taken).
        trainable: whether the model's weights are updated by training.
    """

    def __init__(self, inputs: Any = None, outputs: Any = None, name: str | None = None, **kwargs: Any):
        if name is None:
            if type(self) is Model:
                base = "functional"
            elif type(self).__name__ == "Sequential":
                base = "sequential"
            else:
                base = snake_case(type(self).__name__)
            name = unique_name(base)
        Layer.__init__(self, name=name, **kwargs)
        Trainer.__init__(self)
        self._graph: Graph | None = None
        self._layer_list: list[Layer] = []
        self._output_masks: Any = None
        if inputs is not None or outputs is not None:
            if inputs is None or outputs is None:
                raise ValueError("a functional Model needs both inputs= and outputs=")
            self._init_graph(inputs, outputs)

    # ------------------------------------------------------------------ functional graph
    def _init_graph(self, inputs: Any, outputs: Any) -> None:
        flat_in, self._input_struct = _flatten_io(inputs, "inputs")
        flat_out, self._output_struct = _flatten_io(outputs, "outputs")
        for what, flat in (("inputs", flat_in), ("outputs", flat_out)):
            for k, t in enumerate(flat):
                if not isinstance(t, KerasTensor):
                    raise TypeError(f"Model {what} must be symbolic tensors (from Input(...) and layer calls); "
                                    f"{what}[{k}] is {type(t).__name__}")
        if self._output_struct == "list" and len(flat_out) == 1:
            self._output_struct = "single"  # Keras unpacks a one-element output list
        self._graph = Graph(flat_in, flat_out)
        self._set_layers(self._graph.layers)
        self.built = True
        self.output_names = (list(self._output_struct) if isinstance(self._output_struct, list)
                             else [producer(t).name for t in flat_out])
        self.input_names = (list(self._input_struct) if isinstance(self._input_struct, list)
                            else [t.input_layer.name if t.input_layer is not None else t.name for t in flat_in])

    def _set_layers(self, layers: list[Layer]) -> None:
        """Register ``layers`` as the torch children of the model, in Keras order."""
        for key in [k for k, m in self._modules.items() if k.startswith("layer_")]:
            del self._modules[key]
        for k, layer in enumerate(layers):
            if layer is self:
                raise ValueError("a model cannot contain itself")
            self.add_module(f"layer_{k}", layer)
        self._layer_list = list(layers)

    @property
    def layers(self) -> list[Layer]:
        """The model's layers (for a functional model the InputLayers too, as in Keras)."""
        if self._graph is not None or self._layer_list:
            return list(self._layer_list)
        return [m for m in self.children() if isinstance(m, Layer)]

    @property
    def inputs(self) -> list[KerasTensor]:
        if self._graph is None:
            raise AttributeError(f"model {self.name!r} has no defined inputs (it is not built from Input tensors)")
        return list(self._graph.inputs)

    @property
    def outputs(self) -> list[KerasTensor]:
        if self._graph is None:
            raise AttributeError(f"model {self.name!r} has no defined outputs (it is not built from Input tensors)")
        return list(self._graph.outputs)

    @property
    def input(self) -> Any:
        return self._pack(self.inputs, self._input_struct)

    @property
    def output(self) -> Any:
        return self._pack(self.outputs, self._output_struct)

    @property
    def input_shape(self) -> Any:
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self) -> Any:
        shapes = [t.shape for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    def reset_states(self) -> None:
        """Zero the kept states of every stateful recurrent layer inside the model (nested models,
        Bidirectional and TimeDistributed wrappers included), as Keras' ``model.reset_states()``."""
        for module in self.modules():
            if module is not self and getattr(module, "stateful", False) and hasattr(module, "_states"):
                module.reset_states()

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer by name or by index in ``model.layers`` (exactly one of the two)."""
        if (name is None) == (index is None):
            raise ValueError("get_layer() needs exactly one of name= or index=")
        layers = self.layers
        if index is not None:
            if not isinstance(index, int) or not -len(layers) <= index < len(layers):
                raise ValueError(f"index {index!r} is out of range: model {self.name!r} has {len(layers)} layers")
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"no layer named {name!r} in model {self.name!r}; layers: {[la.name for la in layers]}")

    def _weight_groups(self) -> list[tuple[Any, list[torch.Tensor]]]:
        """``(owner, weights)`` in Keras order: the model's own weights, then layer by layer. Some
        layers (LSTM, GRU) expose Keras-layout views of torch parameters, so weights are written
        through ``owner.set_weights``, never by copying into these tensors."""
        groups = [(None, [getattr(self, n) for n in self._weight_names])]
        return groups + [(layer, layer.weights) for layer in self.layers]

    @property
    def weights(self) -> list[torch.Tensor]:
        """All weights in Keras order (layer by layer)."""
        return [w for _, ws in self._weight_groups() for w in ws]

    def set_weights(self, weights: Any) -> None:
        """Load weights given in Keras' layout and order (``get_weights()`` of this model or of the
        same Keras model); each layer checks its shapes."""
        weights = list(weights)
        groups = self._weight_groups()
        expected = sum(len(ws) for _, ws in groups)
        if len(weights) != expected:
            raise ValueError(f"model {self.name!r} expects {expected} weight arrays, got {len(weights)}")
        start = 0
        for owner, ws in groups:
            part, start = weights[start:start + len(ws)], start + len(ws)
            if owner is not None:
                if ws:
                    owner.set_weights(part)
                continue
            with torch.no_grad():
                for w, value in zip(ws, part):
                    value = torch.as_tensor(np.asarray(value), dtype=w.dtype)
                    if tuple(value.shape) != tuple(w.shape):
                        raise ValueError(f"model {self.name!r} weight has shape {tuple(w.shape)}, got "
                                         f"{tuple(value.shape)}")
                    w.copy_(value)

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(f"model {self.name!r} is not built yet: call it on data, call build(), or start it "
                             "with an Input")
        return int(sum(w.numel() for w in self.weights))

    # ------------------------------------------------------------------ calling
    @staticmethod
    def _pack(flat: list[Any], struct: Any) -> Any:
        if struct == "single":
            return flat[0]
        if struct == "list":
            return list(flat)
        return dict(zip(struct, flat))

    def _flat_inputs(self, inputs: Any) -> list[Any]:
        """User inputs (tensor, array, list, dict by input name) as a list in the model's input order."""
        expected = len(self._graph.inputs)
        if isinstance(inputs, dict):
            names = self.input_names
            missing = [n for n in names if n not in inputs]
            if missing:
                raise ValueError(f"model {self.name!r} expects inputs {names}; the dict given lacks {missing} "
                                 f"(it has {sorted(inputs)})")
            return [inputs[n] for n in names]
        if isinstance(inputs, (list, tuple)) and (expected > 1 or (len(inputs) == 1 and _is_array(inputs[0]))):
            flat = list(inputs)
        else:
            flat = [inputs]
        if len(flat) != expected:
            raise ValueError(f"model {self.name!r} expects {expected} input(s) {self.input_names}, got {len(flat)}")
        return flat

    def _standardize(self, flat: list[Any]) -> list[torch.Tensor]:
        """Convert to tensors of the Inputs' dtypes, fix a rank that is off by a trailing 1 (Keras),
        and check the shapes against the Inputs."""
        out = []
        for x, ref in zip(flat, self._graph.inputs):
            x = as_tensor(x) if not isinstance(x, torch.Tensor) else x
            if x.dtype != ref.dtype:
                mask = getattr(x, "_keras_mask", None)
                x = x.to(ref.dtype)
                if mask is not None:
                    x._keras_mask = mask
            shape = ref.shape
            if x.dim() != len(shape):
                if x.dim() == len(shape) + 1 and x.shape[-1] == 1:
                    x = x.squeeze(-1)
                elif x.dim() == len(shape) - 1 and shape[-1] == 1:
                    x = x.unsqueeze(-1)
            if x.dim() != len(shape) or any(d is not None and d != s for d, s in zip(shape[1:], x.shape[1:])):
                raise ValueError(f"input {ref.name!r} of model {self.name!r} expects shape {_fmt(shape)} "
                                 f"(batch first), got shape {tuple(x.shape)}")
            out.append(x)
        return out

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        if self._graph is not None:
            if isinstance(inputs, dict):
                inputs = self._flat_inputs(inputs)
            if not is_symbolic(inputs):
                flat = self._standardize(self._flat_inputs(inputs))
                inputs = flat[0] if len(flat) == 1 else flat
            return super().__call__(inputs, *args, **kwargs)
        self._calling = True  # a build() triggered by this call must not call the model again
        try:
            return super().__call__(inputs, *args, **kwargs)
        finally:
            self._calling = False

    def call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        if self._graph is None:
            raise NotImplementedError(f"{type(self).__name__} has no graph: a subclassed Model must define call()")
        flat = inputs if isinstance(inputs, list) else [inputs]
        if mask is not None:
            masks = mask if isinstance(mask, (list, tuple)) else [mask]
            flat = list(flat)
            for k, m in enumerate(masks[:len(flat)]):
                if m is not None:
                    flat[k] = flat[k].view_as(flat[k])  # a new tensor object, so the caller's is untouched
                    set_mask(flat[k], m)
        outs = self._graph.run(flat)
        self._output_masks = [getattr(o, "_keras_mask", None) for o in outs]
        return self._pack(outs, self._output_struct)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        masks = self._output_masks
        if masks is None or all(m is None for m in masks):
            return None
        return masks[0] if len(masks) == 1 else masks

    def build(self, input_shape: Any = None) -> None:
        """Functional models are built at construction. A subclassed model is built on its first
        call, or here by one call on zeros of ``input_shape`` (unknown sizes taken as 1)."""
        if self._graph is not None or input_shape is None or getattr(self, "_calling", False):
            return
        shapes = input_shape if isinstance(input_shape, list) else [input_shape]
        dummies = [torch.zeros(tuple(1 if d is None else int(d) for d in shape)) for shape in shapes]
        was = self.training
        self.eval()
        with torch.no_grad():
            self(dummies[0] if len(dummies) == 1 else dummies)
        self.train(was)

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        if self._graph is None:
            raise NotImplementedError(
                f"{type(self).__name__} is a subclassed model: to save it whole, implement get_config() and "
                "from_config() and register the class; otherwise use save_weights()")
        graph = self._graph
        config = {"name": self.name, "trainable": self.trainable, **graph.config()}

        def refs(flat: list[KerasTensor], struct: Any) -> Any:
            encoded = [{"__keras_tensor__": graph.tensor_ref(t)} for t in flat]
            return self._pack(encoded, struct)

        config["inputs"] = refs(graph.inputs, self._input_struct)
        config["outputs"] = refs(graph.outputs, "list" if self._output_struct == "list" else self._output_struct)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Model:
        inputs, outputs = rebuild(config, custom_objects)
        # a subclass's own get_config() entries (Keras: passed back to its __init__)
        extra = {k: v for k, v in config.items() if k not in _FUNCTIONAL_KEYS} if cls is not Model else {}
        model = cls(inputs=inputs, outputs=outputs, name=config.get("name"), **extra)
        if config.get("trainable") is False:
            model.trainable = False
        return model


_FUNCTIONAL_KEYS = frozenset({"name", "trainable", "layers", "nodes", "inputs", "outputs", "input_layers",
                              "output_layers"})


def _is_array(x: Any) -> bool:
    return isinstance(x, (np.ndarray, torch.Tensor)) or hasattr(x, "__array__")


def _fmt(shape: tuple) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"

