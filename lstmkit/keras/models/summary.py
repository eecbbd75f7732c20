"""``model.summary()``: Keras 3's table of layers, output shapes and parameter counts, drawn the
way Keras 3 draws it (a ``rich`` table with heavy header rules and a line between rows), without
needing ``rich``: same columns, widths, alignment and totals, character for character in plain
(non-terminal) output.

Keras' rules kept here: a Sequential model, and a functional model that is a plain chain (every
layer call has one input, no layer is shared), get "Layer (type) | Output Shape | Param #"; any
other functional model also gets "Connected to" (``layer[node][tensor]``). Param counts are
right-aligned. The width is ``min(88 or 108, terminal columns - 4)`` (+12 with
``show_trainable``), split by ``positions``; the columns are then narrowed the way rich fits
fixed-width columns into the table (``_fit_widths``). An unbuilt model prints "?" shapes and
"0 (unbuilt)". After training, "Optimizer params" counts the optimizer's state (as Keras counts
its optimizer variables: the iteration counter and learning rate, plus the slots per weight).
"""

from __future__ import annotations

import shutil
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
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"  # Keras: no 1-tuple comma


def _is_functional(model: Any) -> bool:
    return getattr(model, "_graph", None) is not None and type(model).__name__ != "Sequential"


def _sequential_like(model: Any) -> bool:
    """Keras' test: a chain of single-input calls with no shared layer and no branching."""
    graph = model._graph
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        return False
    seen_layers, consumed = set(), set()
    for node in graph.nodes:
        parents = tensors_in(node.inputs) + tensors_in(node.kwargs)
        if len(parents) != 1 or id(node.layer) in seen_layers or id(parents[0]) in consumed:
            return False
        seen_layers.add(id(node.layer))
        consumed.add(id(parents[0]))
    return True


def _io_info(layer: Any, graph: Any) -> tuple[str, str]:
    """Output shape text and "Connected to" text of a layer in the graph."""
    if isinstance(layer, InputLayer):
        return _shape_str(layer.batch_shape), "-"
    nodes = [] if graph is None else [n for n in graph.nodes if n.layer is layer]
    if not nodes:
        return "?", "-"
    outs = nodes[-1].outputs  # Keras shows the last call's shapes
    shapes = _shape_str(outs[0].shape) if len(outs) == 1 else "[" + ", ".join(_shape_str(o.shape) for o in outs) + "]"
    links = []
    for node in nodes:
        for t in flatten(node.inputs) + tensors_in(node.kwargs):
            if hasattr(t, "shape") and (t.node is not None or t.input_layer is not None):
                name, index, k = graph.tensor_ref(t)
                links.append(f"{name}[{index}][{k}]")
    return shapes, ", ".join(links) if links else "-"


def _rows(model: Any, connected: bool, show_trainable: bool, expand_nested: bool, level: int = 0) -> list[list[str]]:
    graph = getattr(model, "_graph", None)
    rows = []
    for layer in model.layers:
        if isinstance(layer, InputLayer) and not _is_functional(model):
            continue
        shapes, links = _io_info(layer, graph)
        if isinstance(layer, InputLayer):
            params = "0"
        elif layer.built:
            params = f"{layer.count_params():,}"
        else:
            params = "0 (unbuilt)"
        prefix = "   " * level + "└ " if level else ""
        cells = [f"{prefix}{layer.name} ({type(layer).__name__})", shapes, params]
        if connected:
            cells.append(links)
        if show_trainable:
            cells.append(("Y" if layer.trainable else "N") if layer.weights else "-")
        rows.append(cells)
        if expand_nested and getattr(layer, "layers", None):
            rows += _rows(layer, connected, show_trainable, expand_nested, level + 1)
    return rows


def _fit_widths(widths: list[int], line_length: int) -> list[int]:
    """rich's fitting of fixed-width columns (content + 1 space each side) into a table of
    ``line_length`` (borders included): the excess is taken from all columns in turn, rounded."""
    cells = [w + 2 for w in widths]
    excess = sum(cells) + len(cells) + 1 - line_length
    if excess <= 0:
        return cells
    remaining, ratio_left, out = excess, len(cells), []
    for cell in cells:
        take = min(cell, round(remaining / ratio_left))
        out.append(cell - take)
        remaining -= take
        ratio_left -= 1
    return out


def _wrap(text: str, width: int) -> list[str]:
    """Word wrap to ``width``; a word longer than the width is cut with an ellipsis (rich's fold)."""
    lines, line = [], ""
    for word in text.split(" "):
        if len(word) > width:
            word = word[:max(width - 1, 0)] + "…"
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return [*lines, line]


def _render_row(cells: list[str], widths: list[int], aligns: list[str], bar: str) -> list[str]:
    columns = [_wrap(c, w - 2) for c, w in zip(cells, widths)]
    out = []
    for k in range(max(len(c) for c in columns)):
        parts = []
        for col, w, align in zip(columns, widths, aligns):
            text, room = (col[k] if k < len(col) else ""), w - 2
            if align == "right":
                text = text.rjust(room)
            elif align == "center":
                left = (room - len(text)) // 2
                text = (" " * left + text).ljust(room)
            else:
                text = text.ljust(room)
            parts.append(f" {text} ")
        out.append(bar + bar.join(parts) + bar)
    return out


def _rule(widths: list[int], left: str, fill: str, mid: str, right: str) -> str:
    return left + mid.join(fill * w for w in widths) + right


def _optimizer_state(model: Any) -> tuple[int, int] | None:
    """(count, bytes) of the optimizer's variables, as Keras counts them, once it is built."""
    optimizer = getattr(model, "optimizer", None)
    if not getattr(model, "compiled", False) or optimizer is None or not getattr(optimizer, "built", False):
        return None
    count, nbytes = 2, 8  # Keras counts its iterations and learning_rate variables, 4 bytes each
    torch_opt = getattr(optimizer, "_torch", None)
    if torch_opt is not None:
        for state in torch_opt.state.values():
            for key, value in state.items():
                if key != "step" and hasattr(value, "numel"):
                    count += value.numel()
                    nbytes += value.numel() * value.element_size()
    return count, nbytes


def summary_text(model: Any, line_length: int | None = None, positions: Sequence[float] | None = None,
                 expand_nested: bool = False, show_trainable: bool = False) -> str:
    """The whole summary as Keras 3 prints it (one string, ending in a newline)."""
    connected = _is_functional(model) and model.built and not _sequential_like(model)
    if connected:
        default, positions = 108, positions or [0.3, 0.56, 0.74, 1.0]
        headers, aligns = ["Layer (type)", "Output Shape", "Param #", "Connected to"], ["left", "left", "right", "left"]
    else:
        default, positions = 88, positions or [0.45, 0.80, 1.0]
        headers, aligns = ["Layer (type)", "Output Shape", "Param #"], ["left", "left", "right"]
    if show_trainable:
        default += 12
        positions = [p * 0.90 for p in positions] + [1.0]
        headers.append("Trainable")
        aligns.append("center")
    if len(positions) != len(headers):
        raise ValueError(f"positions needs {len(headers)} entries (one per column {headers}), got {len(positions)}")
    default = min(default, shutil.get_terminal_size().columns - 4)
    line_length = line_length or default
    widths, current = [], 0
    for pos in positions:
        width = int(pos * line_length) - current if pos <= 1 else int(pos) - current
        if width < 4:
            raise ValueError("Insufficient console width to print summary.")
        widths.append(width)
        current += width
    cells = _fit_widths(widths, line_length)
    lines = [f'Model: "{model.name}"', _rule(cells, "┏", "━", "┳", "┓"), *_render_row(headers, cells, aligns, "┃"),
             _rule(cells, "┡", "━", "╇", "┩")]
    rows = _rows(model, connected, show_trainable, expand_nested) if model.built or not _is_functional(model) else []
    for k, row in enumerate(rows):
        if k:
            lines.append(_rule(cells, "├", "─", "┼", "┤"))
        lines += _render_row(row, cells, aligns, "│")
    lines.append(_rule(cells, "└", "─", "┴", "┘"))
    weights = model.weights if model.built else [w for layer in model.layers if layer.built for w in layer.weights]
    trainable = [w for w in weights if w.requires_grad]
    frozen = [w for w in weights if not w.requires_grad]

    def size(ws: list[Any]) -> int:
        return sum(w.numel() * w.element_size() for w in ws)

    def count(ws: list[Any]) -> int:
        return sum(w.numel() for w in ws)

    opt = _optimizer_state(model)
    total, total_bytes = count(weights) + (opt[0] if opt else 0), size(weights) + (opt[1] if opt else 0)
    lines += [f" Total params: {total:,} ({readable_size(total_bytes)})",
              f" Trainable params: {count(trainable):,} ({readable_size(size(trainable))})",
              f" Non-trainable params: {count(frozen):,} ({readable_size(size(frozen))})"]
    if opt:
        lines.append(f" Optimizer params: {opt[0]:,} ({readable_size(opt[1])})")
    return "\n".join(lines) + "\n"


def summary_lines(model: Any, line_length: int | None = None, positions: Sequence[float] | None = None,
                  expand_nested: bool = False, show_trainable: bool = False) -> list[str]:
    """The summary's lines (without newlines)."""
    return summary_text(model, line_length, positions, expand_nested, show_trainable).splitlines()


def print_summary(model: Any, line_length: int | None = None, positions: Sequence[float] | None = None,
                  print_fn: Callable[[str], Any] | None = None, expand_nested: bool = False,
                  show_trainable: bool = False) -> None:
    """Print the summary; like Keras, ``print_fn`` gets the whole text in one call."""
    text = summary_text(model, line_length=line_length, positions=positions, expand_nested=expand_nested,
                        show_trainable=show_trainable)
    if print_fn is None:
        print(text, end="")
    else:
        print_fn(text)
