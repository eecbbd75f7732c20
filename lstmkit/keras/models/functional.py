"""The graph of a functional model: which layer calls (``Node`` s) lead from the model's inputs to
its outputs, the order they run in, and their JSON form for saving.

The graph is read from the ``KerasTensor`` history (each symbolic tensor remembers the node that
made it). Layer order follows Keras exactly (by depth from the outputs, ties by first visit), so
``model.layers`` and ``model.get_weights()`` line up with a Keras model built the same way.
Running the graph is a loop over pre-compiled nodes: each node reads its arguments from a dict of
computed tensors keyed by the symbolic tensor they stand for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from lstmkit.keras.engine.keras_tensor import KerasTensor, Node, flatten


def tensors_in(structure: Any) -> list[KerasTensor]:
    """Every KerasTensor in a nested list/tuple/dict structure (node args and kwargs)."""
    if isinstance(structure, KerasTensor):
        return [structure]
    if isinstance(structure, (list, tuple)):
        return [t for item in structure for t in tensors_in(item)]
    if isinstance(structure, dict):
        return [t for item in structure.values() for t in tensors_in(item)]
    return []


def _compile_structure(structure: Any) -> Callable[[dict[int, Any]], Any]:
    """A function that rebuilds ``structure`` with every KerasTensor replaced by its computed value."""
    if isinstance(structure, KerasTensor):
        key = id(structure)
        return lambda values: values[key]
    if isinstance(structure, (list, tuple)):
        parts = [_compile_structure(s) for s in structure]
        kind = type(structure)
        return lambda values: kind(p(values) for p in parts)
    if isinstance(structure, dict):
        parts_d = {k: _compile_structure(v) for k, v in structure.items()}
        return lambda values: {k: p(values) for k, p in parts_d.items()}
    return lambda values: structure


def producer(t: KerasTensor) -> Any:
    """The layer that made ``t``: its node's layer, or the InputLayer of an ``Input``."""
    return t.node.layer if t.node is not None else t.input_layer


class Graph:
    """The part of the layer-call history between ``inputs`` and ``outputs``.

    Attributes:
        inputs, outputs: flat lists of KerasTensors.
        nodes: the layer calls in an order where every node comes after the nodes it reads from.
        layers: every layer used (InputLayers included), in Keras' order.
        node_index: for each node, its index among the calls of its layer inside this graph.
    """

    def __init__(self, inputs: list[KerasTensor], outputs: list[KerasTensor]):
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        input_ids = {id(t) for t in self.inputs}
        order: list[Node] = []
        finished: set[int] = set()
        in_progress: set[int] = set()
        first_seen: dict[int, int] = {}  # id(layer) -> traversal index (Keras' tie-breaker)
        layer_of: dict[int, Any] = {}

        def visit(t: KerasTensor, path: str) -> None:
            if not isinstance(t, KerasTensor):
                return
            is_input = id(t) in input_ids
            if is_input and t.node is not None:
                return  # an intermediate tensor used as a model input: its producer is outside the graph
            if t.node is not None and id(t.node) in finished:
                return
            layer = producer(t)
            if layer is not None and id(layer) not in first_seen:
                first_seen[id(layer)] = len(first_seen)
                layer_of[id(layer)] = layer
            if is_input:
                return
            if t.node is None:
                names = [ti.name for ti in self.inputs]
                raise ValueError(
                    f"Graph disconnected: output {path} depends on the input {t.name!r}, which is not one of the "
                    f"model's inputs {names}. Pass every Input the outputs are computed from to Model(inputs=...).")
            node = t.node
            if id(node) in finished:
                return
            if id(node) in in_progress:
                raise ValueError(f"the layer call {node.layer.name!r} is part of a cycle")
            in_progress.add(id(node))
            for parent in tensors_in(node.inputs) + tensors_in(node.kwargs):
                visit(parent, path)
            in_progress.discard(id(node))
            finished.add(id(node))
            order.append(node)

        for k, t in enumerate(self.outputs):
            if not isinstance(t, KerasTensor):
                raise TypeError(f"model outputs must be symbolic tensors (results of layer calls), output {k} is "
                                f"{type(t).__name__}")
            visit(t, f"{k} ({t.name!r})")
        self.nodes = order
        self.layers = self._order_layers(first_seen, layer_of)
        names = [layer.name for layer in self.layers]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"the layer name {name!r} is used {names.count(name)} times in the model; "
                                 "every layer of a model needs a unique name (pass name=...)")
        counts: dict[int, int] = {}
        self.node_index: dict[int, int] = {}
        for node in self.nodes:
            self.node_index[id(node)] = counts.get(id(node.layer), 0)
            counts[id(node.layer)] = self.node_index[id(node)] + 1
        self._program = [(node.layer, _compile_structure(node.inputs), _compile_structure(node.kwargs),
                          [id(o) for o in node.outputs]) for node in self.nodes]
        self._input_ids = [id(t) for t in self.inputs]
        self._output_ids = [id(t) for t in self.outputs]

    def _order_layers(self, first_seen: dict[int, int], layer_of: dict[int, Any]) -> list[Any]:
        """Keras' ``map_graph`` order: layers by decreasing depth (distance from the outputs),
        ties by first visit; inputs not connected to any output come with depth 0."""
        node_depth: dict[int, int] = {}
        layer_depth: dict[int, int] = {}
        input_depth: dict[int, int] = {}  # InputLayers have no node: keyed by layer id
        in_graph = {id(n) for n in self.nodes}
        for node in reversed(self.nodes):
            depth = node_depth.setdefault(id(node), 0)
            depth = max(depth, layer_depth.get(id(node.layer), 0))
            layer_depth[id(node.layer)] = depth
            node_depth[id(node)] = depth
            for parent in tensors_in(node.inputs) + tensors_in(node.kwargs):
                if parent.node is not None and id(parent.node) in in_graph:
                    node_depth[id(parent.node)] = max(depth + 1, node_depth.get(id(parent.node), 0))
                elif parent.node is None and parent.input_layer is not None:
                    key = id(parent.input_layer)
                    input_depth[key] = max(depth + 1, input_depth.get(key, 0))
        for t in self.outputs:  # an output that is directly an input
            if t.node is None and t.input_layer is not None:
                input_depth.setdefault(id(t.input_layer), 0)
        for t in self.inputs:
            if t.node is None and t.input_layer is not None and id(t.input_layer) not in input_depth:
                input_depth[id(t.input_layer)] = 0
                first_seen.setdefault(id(t.input_layer), -1)
                layer_of[id(t.input_layer)] = t.input_layer
        depth_of = {**layer_depth, **input_depth}
        ids = [i for i in layer_of if i in depth_of]
        ids.sort(key=lambda i: (-depth_of[i], first_seen[i]))
        return [layer_of[i] for i in ids]

    def run(self, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
        """Compute the outputs from real input tensors (masks ride on the tensors)."""
        values: dict[int, Any] = dict(zip(self._input_ids, inputs))
        for layer, args_fn, kwargs_fn, out_ids in self._program:
            out = layer(args_fn(values), **kwargs_fn(values))
            if len(out_ids) == 1 and isinstance(out, torch.Tensor):
                values[out_ids[0]] = out
            else:
                for key, value in zip(out_ids, flatten(out)):
                    values[key] = value
        return [values[k] for k in self._output_ids]

    # ------------------------------------------------------------------ JSON form
    def tensor_ref(self, t: KerasTensor) -> list[Any]:
        """``[layer_name, node_index, tensor_index]``: where a symbolic tensor comes from."""
        if t.node is None:
            return [t.input_layer.name, 0, 0]
        return [t.node.layer.name, self.node_index[id(t.node)], t.index]

    def encode(self, structure: Any) -> Any:
        """Node arguments as JSON: tensors become references, tuples are tagged."""
        if isinstance(structure, KerasTensor):
            return {"__keras_tensor__": self.tensor_ref(structure)}
        if isinstance(structure, tuple):
            return {"__tuple__": [self.encode(s) for s in structure]}
        if isinstance(structure, list):
            return [self.encode(s) for s in structure]
        if isinstance(structure, dict):
            return {str(k): self.encode(v) for k, v in structure.items()}
        if structure is None or isinstance(structure, (str, int, float, bool)):
            return structure
        raise TypeError(f"cannot save a layer call argument of type {type(structure).__name__}: only tensors, "
                        "lists, tuples, dicts and JSON scalars can be saved")

    def config(self) -> dict[str, Any]:
        from lstmkit.keras.engine.registry import serialize

        return {
            "layers": [serialize(layer) for layer in self.layers],
            "nodes": [{"layer": node.layer.name, "args": self.encode(node.inputs), "kwargs": self.encode(node.kwargs)}
                      for node in self.nodes],
        }


def decode(structure: Any, tensors: dict[tuple[str, int, int], KerasTensor]) -> Any:
    """Inverse of ``Graph.encode`` given the symbolic tensors rebuilt so far."""
    if isinstance(structure, dict):
        if "__keras_tensor__" in structure:
            key = tuple(structure["__keras_tensor__"])
            if key not in tensors:
                raise ValueError(f"corrupt model config: the layer call refers to tensor {list(key)}, which is not "
                                 "produced earlier in the graph")
            return tensors[key]
        if "__tuple__" in structure:
            return tuple(decode(s, tensors) for s in structure["__tuple__"])
        return {k: decode(v, tensors) for k, v in structure.items()}
    if isinstance(structure, list):
        return [decode(s, tensors) for s in structure]
    return structure


def rebuild(config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> tuple[Any, Any]:
    """Recreate the layers and replay the layer calls of a ``Graph.config()``; returns the
    ``(inputs, outputs)`` structures described by ``config["inputs"]`` / ``config["outputs"]``."""
    from lstmkit.keras.engine.registry import deserialize

    for key in ("layers", "nodes", "inputs", "outputs"):
        if key not in config:
            raise ValueError(f"corrupt functional model config: missing {key!r}")
    layers: dict[str, Any] = {}
    tensors: dict[tuple[str, int, int], KerasTensor] = {}
    for entry in config["layers"]:
        layer = deserialize("layer", entry, custom_objects)
        layers[layer.name] = layer
        output = getattr(layer, "output", None)
        if isinstance(output, KerasTensor) and output.node is None:  # an InputLayer
            tensors[(layer.name, 0, 0)] = output
    calls: dict[str, int] = {}
    for node in config["nodes"]:
        name = node["layer"]
        if name not in layers:
            raise ValueError(f"corrupt model config: a layer call uses unknown layer {name!r}")
        args = decode(node["args"], tensors)
        kwargs = decode(node.get("kwargs", {}), tensors)
        out = layers[name](args, **kwargs)
        index = calls.get(name, 0)
        calls[name] = index + 1
        for k, t in enumerate(flatten(out)):
            tensors[(name, index, k)] = t
    return decode(config["inputs"], tensors), decode(config["outputs"], tensors)
