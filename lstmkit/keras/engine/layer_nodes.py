"""Where a layer sits in functional graphs: its inbound nodes (one per symbolic call) and Keras'
``layer.input`` / ``layer.output`` (of the first call, as Keras 3) and ``input_shape`` /
``output_shape`` (tf.keras: defined when every call saw the same shape).

Why: Keras code builds new models out of a trained model's tensors, e.g. the seq2seq example's
inference encoder ``Model(model.input[0], model.layers[2].output[1:])``.
"""

from __future__ import annotations

from typing import Any

from lstmkit.keras.engine.keras_tensor import Node

_NODE_PROPERTIES = frozenset({"input", "output", "input_shape", "output_shape", "inputs", "outputs"})


def _one(values: list[Any]) -> Any:
    return values[0] if len(values) == 1 else list(values)


class NodesMixin:
    """``input``, ``output``, ``input_shape``, ``output_shape`` from ``self._inbound_nodes``."""

    name: str

    def __getattr__(self, name: str) -> Any:
        # A property that raises AttributeError makes Python fall back to __getattr__, where
        # nn.Module would replace Keras' message by "'Dense' object has no attribute 'output'".
        if name in _NODE_PROPERTIES:
            prop = getattr(type(self), name, None)
            if isinstance(prop, property) and prop.fget is not None:
                return prop.fget(self)  # raises the property's own error again
        return super().__getattr__(name)

    def _add_inbound_node(self, node: Node) -> None:
        vars(self).setdefault("_inbound_nodes", []).append(node)

    def _node_attribute(self, what: str) -> list[Node]:
        nodes = vars(self).get("_inbound_nodes") or []
        if not nodes:
            raise AttributeError(f"The layer {self.name} has never been called and thus has no defined {what}.")
        return nodes

    @property
    def input(self) -> Any:
        """The input tensor(s) of the layer's first call in a functional graph (an InputLayer's
        input is its output)."""
        if "_explicit_output" in vars(self) and not vars(self).get("_inbound_nodes"):
            return vars(self)["_explicit_output"]
        node = self._node_attribute("input")[0]
        inputs = node.inputs
        return _one(list(inputs)) if isinstance(inputs, (list, tuple)) else inputs

    @property
    def output(self) -> Any:
        """The output tensor(s) of the layer's first call in a functional graph."""
        if "_explicit_output" in vars(self):
            return vars(self)["_explicit_output"]
        return _one(self._node_attribute("output")[0].outputs)

    @output.setter
    def output(self, value: Any) -> None:
        """An InputLayer sets its symbolic tensor here."""
        vars(self)["_explicit_output"] = value

    def get_input_at(self, node_index: int) -> Any:
        return self._at(node_index, "input", lambda n: n.inputs)

    def get_output_at(self, node_index: int) -> Any:
        return self._at(node_index, "output", lambda n: _one(n.outputs))

    def _at(self, node_index: int, what: str, get: Any) -> Any:
        nodes = self._node_attribute(what)
        if not 0 <= node_index < len(nodes):
            raise ValueError(f"Asked to get {what} at node {node_index}, but the operation has only {len(nodes)} "
                             "inbound nodes.")
        return get(nodes[node_index])

    def _shape_of_nodes(self, what: str, tensors: Any) -> Any:
        explicit = vars(self).get("_explicit_output")
        if explicit is not None and not vars(self).get("_inbound_nodes"):
            return tuple(explicit.shape)
        nodes = self._node_attribute(what)
        shapes = []
        for node in nodes:
            flat = tensors(node)
            shapes.append(_one([tuple(t.shape) for t in flat]))
        if any(s != shapes[0] for s in shapes[1:]):
            raise AttributeError(f'The layer "{self.name}" has multiple inbound nodes, with different {what}s. '
                                 f'Hence the notion of "{what}" is ill-defined for the layer. Use '
                                 f"`get_{what.split('_')[0]}_shape_at(node_index)` instead.")
        return shapes[0]

    @property
    def input_shape(self) -> Any:
        return self._shape_of_nodes("input_shape", lambda n: n.input_tensors)

    @property
    def output_shape(self) -> Any:
        return self._shape_of_nodes("output_shape", lambda n: n.outputs)

    def get_input_shape_at(self, node_index: int) -> Any:
        return self._at(node_index, "input_shape", lambda n: _one([tuple(t.shape) for t in n.input_tensors]))

    def get_output_shape_at(self, node_index: int) -> Any:
        return self._at(node_index, "output_shape", lambda n: _one([tuple(t.shape) for t in n.outputs]))
