"""``model.summary()``: the Keras table of layers, output shapes and parameter counts.

Plain text (no terminal colours), in the classic Keras layout so it reads well in logs and
notebooks; parameter counts equal Keras' for the same architecture.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from lstmkit.keras.engine.input_layer import InputLayer
from lstmkit.keras.engine.keras_tensor import flatten
from lstmkit.keras.models.functional import tensors_in


def readable_size(nbytes: float) -> str:
    """Keras' memory size format: ``66.25 KB``."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if nbytes / 1024 < 1:
            return f"{nbytes:.2f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.2f} PB"


def _shape_str(shape: Sequence[Any]) -> str:
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def _layer_rows(model: Any, show_trainable: bool) -> list[tuple[Any, list[str]]]:
    graph = getattr(model, "_graph", None)
    functional = graph is not None and type(model).__name__ != "Sequential"
    layers = model.layers
    rows = []
    for layer in layers:
        if isinstance(layer, InputLayer) and not functional:
            continue
        shapes, links = _io_info(layer, graph)
        if layer.built or isinstance(layer, InputLayer):
            params = f"{layer.count_params():,}" if not isinstance(layer, InputLayer) else "0"
        else:
            params = "0 (unbuilt)"
        cells = [f"{layer.name} ({type(layer).__name__})", shapes, params]
        if functional:
            cells.append(links)
        if show_trainable:
            cells.append("Y" if layer.trainable else "N")
        rows.append((layer, cells))
    return rows


def _io_info(layer: Any, graph: Any) -> tuple[str, str]:
    """Output shape text and "Connected to" text of a layer in the graph."""
    if isinstance(layer, InputLayer):
        return _shape_str(layer.batch_shape), "-"
    if graph is None:
        return "?", ""
    nodes = [n for n in graph.nodes if n.layer is layer]
    if not nodes:
        return "?", ""
    if len(nodes) > 1:
        shapes = "multiple"
    else:
        outs = nodes[0].outputs
        shapes = _shape_str(outs[0].shape) if len(outs) == 1 else "[" + ", ".join(_shape_str(o.shape)
                                                                                   for o in outs) + "]"
    links = []
    for node in nodes:
        for t in flatten(node.inputs) + tensors_in(node.kwargs):
            if hasattr(t, "shape") and (t.node is not None or t.input_layer is not None):
                name, index, k = graph.tensor_ref(t)
                links.append(f"{name}[{index}][{k}]")
    return shapes, ", ".join(links) if links else "-"


def _wrap(text: str, width: int) -> list[str]:
    width = max(width - 1, 4)
    if len(text) <= width:
        return [text]
    parts, line = [], ""
    for word in text.split(" "):
        while len(word) > width:
            if line:
                parts.append(line)
                line = ""
            parts.append(word[:width])
            word = word[width:]
        if line and len(line) + 1 + len(word) > width:
            parts.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        parts.append(line)
    return parts


def _format_row(cells: list[str], positions: list[int]) -> list[str]:
    starts = [0, *positions[:-1]]
    columns = [_wrap(str(c), end - start) for c, start, end in zip(cells, starts, positions)]
    lines = []
    for k in range(max(len(c) for c in columns)):
        line = ""
        for col, start in zip(columns, starts):
            text = col[k] if k < len(col) else ""
            line = line.ljust(start) + " " + text if start else " " + text
        lines.append(line.rstrip())
    return lines


def summary_lines(model: Any, line_length: int | None = None, positions: Sequence[float] | None = None,
                  expand_nested: bool = False, show_trainable: bool = False) -> list[str]:
    if not model.built:
        raise ValueError(f"model {model.name!r} has not been built yet, so its layers have no weights or shapes: "
                         "start it with an Input(shape=...), give the first layer input_shape=..., call "
                         "model.build(input_shape), or call it (fit/predict) on data first")
    functional = getattr(model, "_graph", None) is not None and type(model).__name__ != "Sequential"
    headers = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if functional else [])
    if show_trainable:
        headers.append("Trainable")
    line_length = line_length or (98 if functional else 65) + (10 if show_trainable else 0)
    if positions is None:
        positions = [0.33, 0.55, 0.67, 1.0] if functional else [0.45, 0.85, 1.0]
        if show_trainable:
            positions = [p * (line_length - 10) / line_length for p in positions] + [1.0]
    if len(positions) != len(headers):
        raise ValueError(f"positions needs {len(headers)} entries (one per column {headers}), got {len(positions)}")
    cols = [int(line_length * p) if p <= 1 else int(p) for p in positions]
    lines = [f'Model: "{model.name}"', "_" * line_length, *_format_row(headers, cols), "=" * line_length]
    rows = _layer_rows(model, show_trainable)
    for k, (layer, cells) in enumerate(rows):
        lines += _format_row(cells, cols)
        if expand_nested and hasattr(layer, "_graph") and layer.built:
            inner = summary_lines(layer, line_length=line_length - 4, expand_nested=True,
                                  show_trainable=show_trainable)
            lines += ["  | " + s for s in inner[1:-5] if s.strip("_= ")]
        lines.append("=" * line_length if k == len(rows) - 1 else "")
    if not rows:
        lines.append("=" * line_length)
    weights = model.weights
    trainable = [w for w in weights if w.requires_grad]
    frozen = [w for w in weights if not w.requires_grad]

    def size(ws: list[Any]) -> str:
        return readable_size(sum(w.numel() * w.element_size() for w in ws))

    lines += [f"Total params: {sum(w.numel() for w in weights):,} ({size(weights)})",
              f"Trainable params: {sum(w.numel() for w in trainable):,} ({size(trainable)})",
              f"Non-trainable params: {sum(w.numel() for w in frozen):,} ({size(frozen)})",
              "_" * line_length]
    return lines


def print_summary(model: Any, line_length: int | None = None, positions: Sequence[float] | None = None,
                  print_fn: Callable[[str], Any] | None = None, expand_nested: bool = False,
                  show_trainable: bool = False) -> None:
    """Print the summary, one line per ``print_fn`` call (default ``print``)."""
    lines = summary_lines(model, line_length=line_length, positions=positions, expand_nested=expand_nested,
                          show_trainable=show_trainable)
    emit = print_fn or print
    for line in lines:
        emit(line)
