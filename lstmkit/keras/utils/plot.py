"""``plot_model`` / ``model_to_dot``: a model's layer graph as a Graphviz picture, as Keras draws
it (one box per layer, "name (Class)", optionally output shapes), through ``pydot``.

pydot and the Graphviz ``dot`` program are optional: without them one ImportError says what to
install (Keras does the same).
"""

from __future__ import annotations

import os
from typing import Any

from lstmkit.keras.engine.keras_tensor import KerasTensor, flatten

__all__ = ["model_to_dot", "plot_model"]

_MISSING = ("You must install pydot (`pip install pydot`) and graphviz (the `dot` program, e.g. "
            "`apt-get install graphviz`) for `plot_model` to work.")


def _pydot() -> Any:
    try:
        import pydot
    except ImportError:
        raise ImportError(_MISSING) from None
    try:
        pydot.Dot.create(pydot.Dot())
    except Exception as e:  # pydot raises several types when `dot` is missing or broken
        raise ImportError(f"{_MISSING} (pydot is installed, but running Graphviz failed: {e})") from None
    return pydot


def model_to_dot(model: Any, show_shapes: bool = False, show_dtype: bool = False, show_layer_names: bool = True,
                 rankdir: str = "TB", dpi: int = 200, **kwargs: Any) -> Any:
    """The model's layers and their connections as a ``pydot.Dot`` graph."""
    pydot = _pydot()
    graph = getattr(model, "_graph", None)
    if graph is None:
        raise ValueError(f"plot_model needs a built model: {model.name!r} has no layer graph yet (give it an Input)")
    dot = pydot.Dot(rankdir=rankdir, concentrate=True, dpi=dpi)
    dot.set_node_defaults(shape="record")
    layers = list(model.layers)
    for layer in layers:
        label = f"{layer.name} ({type(layer).__name__})" if show_layer_names else type(layer).__name__
        if show_shapes or show_dtype:
            nodes = [n for n in graph.nodes if n.layer is layer]
            outs = nodes[-1].outputs if nodes else [getattr(layer, "output", None)]
            if show_shapes:
                label += "|" + ", ".join(str(tuple(o.shape)) for o in outs if o is not None)
            if show_dtype:
                label += "|" + ", ".join(str(o.dtype).removeprefix("torch.") for o in outs if o is not None)
        dot.add_node(pydot.Node(str(id(layer)), label=label))
    for node in graph.nodes:
        for t in flatten(node.inputs) + flatten(list(node.kwargs.values())):
            if not isinstance(t, KerasTensor):
                continue
            source = t.node.layer if t.node is not None else t.input_layer
            if source is not None:
                dot.add_edge(pydot.Edge(str(id(source)), str(id(node.layer))))
    return dot


def plot_model(model: Any, to_file: str | os.PathLike = "model.png", show_shapes: bool = False,
               show_dtype: bool = False, show_layer_names: bool = True, rankdir: str = "TB", dpi: int = 200,
               **kwargs: Any) -> Any:
    """Draw the model to ``to_file`` (format from its extension: png, svg, pdf, dot...)."""
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                       rankdir=rankdir, dpi=dpi)
    to_file = os.fspath(to_file)
    extension = os.path.splitext(to_file)[1][1:] or "png"
    dot.write(to_file, format=extension)
    return to_file
