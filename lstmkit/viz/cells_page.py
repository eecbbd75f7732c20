"""One self-contained HTML page: a text coloured by a recurrent cell's activation, character by
character (Karpathy, Johnson & Fei-Fei 2015, "Visualizing and Understanding Recurrent Networks",
Sec. 4.1 and Fig. 2), with the cells that best track simple features of the text listed beside it.

Why a page and not a figure: a character model has hundreds of cells and a few interesting ones
(the "quote" cell, the "line length" cell); picking a layer, a quantity and a cell and hovering a
character for its exact value is what finding them takes. The ranking (`features.rank_cells`) is
computed here in Python and embedded, so the page needs no computation beyond colouring.

The page is one file that works from file:// with no network: CSS and JavaScript are inline, a
Content-Security-Policy forbids every fetch, and the data sit in a ``<script
type="application/json">`` element. The text is only ever inserted with ``textContent``, never as
HTML, so any text (``</script>`` included) is shown as written. Activations are stored as base64
little-endian int16 in thousandths (about 2.7 bytes per value instead of ~6 as JSON numbers).
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lstmkit.io import atomic_write_text
from lstmkit.viz._cells_page_assets import CSS, JS
from lstmkit.viz.features import FEATURES, compute_features, rank_cells

__all__ = ["write_cell_page"]

_SIGMOID_GATES = frozenset("ifozr")
_MISSING = -32768
_PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
            "#bcbd22", "#17becf")
_GATE_TITLES = {"i": "input gate", "f": "forget gate", "o": "output gate", "r": "reset gate", "z": "update gate"}
_CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"


def write_cell_page(
    path: str | os.PathLike[str],
    text: str,
    traces: Sequence[Mapping[str, Any]] | Mapping[str, Any],
    *,
    title: str = "Cell activations over the text",
    features: Sequence[str] | Mapping[str, Any] | None = None,
    saturation: Sequence[Mapping[str, Any]] | None = None,
    quantities: Sequence[str] | None = None,
    max_chars: int = 5000,
    top: int = 10,
    per_feature: int | None = 3,
    layer: int = 0,
    cell: int | None = None,
    quantity: str | None = None,
) -> Path:
    """Write the cell page for `text` and the `traces` recorded while a model read it; returns the path.

    text: the sequence the model read, one character per time step. traces: `trace.record`'s
    LayerTraces (or one), each quantity (batch, time, units) with time == len(text); batch index 0
    is shown (the text is that one sequence). features: None for every `features.FEATURES`, a
    sequence of their names, or a mapping name -> (len(text),) array of your own. saturation:
    `saturation.gate_saturation`'s entries, drawn as the paper's Fig. 3 scatter per gate.
    quantities: the quantities to embed (all by default; fewer make a smaller page). Only the first
    `max_chars` characters are shown and ranked (the page says so). The ranking lists the `top`
    (feature, cell) pairs by |Pearson r| of the feature with the raw value, at most `per_feature`
    cells per feature. `c` is coloured as tanh(c), sigmoid gates map [0, 1], the rest [-1, 1].
    layer, cell, quantity: what the page shows first (default: the first trace, its `c` (or `h`)
    and the best-ranked cell); each is checked against the traces.
    """
    if not isinstance(text, str):
        raise ValueError(f"text: expected a str, got {type(text).__name__}")
    if not text:
        raise ValueError("text: expected at least one character, got an empty string")
    if not isinstance(title, str):
        raise ValueError(f"title: expected a str, got {type(title).__name__}")
    for name, value, low in (("max_chars", max_chars, 1), ("top", top, 1)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name}: expected a positive int, got {value!r}")
    traces = _check_traces(traces, len(text), quantities)
    feature_values = _features(text, features)
    steps = min(len(text), max_chars)
    shown_text = text[:steps]
    feature_values = {name: column[:steps] for name, column in feature_values.items()}
    descriptions = {name: FEATURES[name][1] if name in FEATURES else "" for name in feature_values}

    data_traces = [_trace_data(k, trace, steps, feature_values, top, per_feature) for k, trace in enumerate(traces)]
    if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < len(data_traces):
        raise ValueError(f"layer: expected an index into the {len(data_traces)} trace(s), got {layer!r}")
    first = data_traces[layer]
    names = [q["name"] for q in first["quantities"]]
    if quantity is not None and quantity not in names:
        raise ValueError(f"quantity: expected one of {names} (recorded in trace {layer}), got {quantity!r}")
    start_q = quantity or next((q for q in ("c", "h") if q in names), names[0])
    ranking = next(q["ranking"] for q in first["quantities"] if q["name"] == start_q)
    units = first["units"]
    if cell is not None and (isinstance(cell, bool) or not isinstance(cell, int) or not 0 <= cell < units):
        raise ValueError(f"cell: expected a unit in [0, {units}) of trace {layer}, got {cell!r}")
    start_unit = cell if cell is not None else ranking[0]["unit"] if ranking else 0
    data = {
        "text": shown_text,
        "steps": steps,
        "total_chars": len(text),
        "features": [{"name": n, "description": descriptions[n], "values": _json_values(v)}
                     for n, v in feature_values.items()],
        "traces": data_traces,
        "initial": {"trace": layer, "quantity": start_q, "unit": start_unit},
    }
    page = _page(title, data, _saturation_svg(saturation) if saturation is not None else "")
    return atomic_write_text(path, page, create_dirs=True)


def _check_traces(traces: Any, steps: int, quantities: Sequence[str] | None) -> list[tuple[Any, dict]]:
    """(trace, {quantity: (time, units) float64 of batch 0}) per trace, after checking the shapes."""
    if isinstance(traces, Mapping):
        traces = [traces]
    if not isinstance(traces, Sequence) or not traces:
        raise ValueError(f"traces: expected a non-empty sequence of LayerTraces, got {traces!r:.80}")
    if quantities is not None:
        quantities = [str(q) for q in quantities]
        present = {q for trace in traces if isinstance(trace, Mapping) for q in trace}
        missing = [q for q in quantities if q not in present]
        if missing or not quantities:
            raise ValueError(f"quantities: expected names from {sorted(present)}, got {quantities}")
    out = []
    for k, trace in enumerate(traces):
        if not isinstance(trace, Mapping) or not trace:
            raise ValueError(f"traces[{k}]: expected a LayerTrace (quantity -> array), got {type(trace).__name__}")
        arrays = {}
        for q, value in trace.items():
            if quantities is not None and q not in quantities:
                continue
            value = np.asarray(value, dtype=np.float64)
            if value.ndim != 3 or value.shape[0] < 1:
                raise ValueError(f"traces[{k}][{q!r}]: expected a (batch, time, units) array, got shape {value.shape}")
            if value.shape[1] != steps:
                raise ValueError(f"traces[{k}][{q!r}]: expected {steps} time steps (len(text)), got {value.shape[1]}")
            arrays[str(q)] = value[0]
        if not arrays:
            raise ValueError(f"traces[{k}]: none of quantities {quantities} is in it (it has {sorted(trace)})")
        units = {a.shape[1] for a in arrays.values()}
        if len(units) != 1:
            raise ValueError(f"traces[{k}]: expected one unit count for every quantity, got {sorted(units)}")
        out.append((trace, arrays))
    return out


def _features(text: str, features: Any) -> dict[str, np.ndarray]:
    if features is None or (isinstance(features, Sequence) and not isinstance(features, str)
                            and not isinstance(features, Mapping)):
        return compute_features(text, features)
    if not isinstance(features, Mapping):
        raise ValueError(f"features: expected None, feature names or a mapping name -> array, got {features!r:.80}")
    out = {}
    for name, column in features.items():
        column = np.asarray(column, dtype=np.float64)
        if column.shape != (len(text),):
            raise ValueError(f"features[{name!r}]: expected shape ({len(text)},) (len(text)), got {column.shape}")
        out[str(name)] = column
    return out


def _trace_data(k: int, item: tuple[Any, dict], steps: int, features: dict, top: int,
                per_feature: int | None) -> dict[str, Any]:
    trace, arrays = item
    mask = getattr(trace, "mask", None)
    valid = None
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.ndim != 2 or mask.shape[1] < steps:
            raise ValueError(f"traces[{k}].mask: expected a (batch, time) bool array, got shape {mask.shape}")
        valid = mask[0, :steps]
    quantities = []
    for q, values in arrays.items():
        values = values[:steps]
        if valid is not None:
            values = np.where(valid[:, None], values, np.nan)
        matches = rank_cells(values, features, top=top, valid=valid, per_feature=per_feature) if features else []
        scale, encoded = _encode(values)
        kind = _kind(q, values)
        quantities.append({
            "name": q, "kind": kind, "label": f"tanh({q})" if kind == "tanh" else q, "scale": scale, "data": encoded,
            "ranking": [{"feature": m.feature, "unit": m.unit, "r": round(m.correlation, 3)} for m in matches],
        })
    return {"name": str(getattr(trace, "name", f"trace {k}")), "variant": str(getattr(trace, "variant", "")),
            "units": int(next(iter(arrays.values())).shape[1]), "quantities": quantities}


def _kind(q: str, values: np.ndarray) -> str:
    """How the page maps a value onto the colour scale [-1, 1]: a sigmoid gate spans [0, 1] ("unit"),
    the cell state is unbounded and shown as tanh(c) as in the paper ("tanh"), and so is any other
    quantity found outside [-1, 1] (a ReLU candidate, say); the rest ("sym") as is."""
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if q in _SIGMOID_GATES and low >= 0.0 and high <= 1.0:
        return "unit"
    if q == "c" or low < -1.0 or high > 1.0:
        return "tanh"
    return "sym"


def _encode(values: np.ndarray) -> tuple[list[float], str]:
    """(per-unit scales, base64 of int16 round(value * scale)) in (units, time) order; NaN -> -32768.

    Thousandths unless a unit's value would overflow int16 (a cell state above 32.767): then that
    unit's scale drops by tens, so its large states lose decimals rather than wrap around, and the
    other units keep theirs.
    """
    finite = np.isfinite(values)
    peak = np.abs(np.where(finite, values, 0.0)).max(axis=0, initial=0.0)
    scale = np.full(values.shape[1], 1000.0)
    while np.any(over := peak * scale > 32767):
        scale[over] /= 10.0
    q = np.where(finite, np.round(np.where(finite, values, 0.0) * scale), _MISSING).astype("<i2")
    data = base64.b64encode(np.ascontiguousarray(q.T).tobytes()).decode("ascii")
    return [int(v) if v.is_integer() else v for v in scale.tolist()], data


def _json_values(column: np.ndarray) -> list[float | int | None]:
    out: list[float | int | None] = []
    for v in column.tolist():
        if not math.isfinite(v):
            out.append(None)
        else:
            v = round(v, 3)
            out.append(int(v) if v.is_integer() else v)
    return out


def _script_json(data: Any) -> str:
    """JSON safe inside a <script> element: '<', '>' and '&' (so no '</script>' or '<!--') and the
    JavaScript line separators are escaped; JSON.parse reads them back unchanged."""
    text = json.dumps(data, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _page(title: str, data: dict[str, Any], saturation_html: str) -> str:
    t = html.escape(title)
    steps, total = data["steps"], data["total_chars"]
    cut = f" Showing the first {steps} of {total} characters." if steps < total else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<link rel="icon" href="data:,">
<title>{t}</title>
<style>{CSS}</style>
</head>
<body>
<h1>{t}</h1>
<p class="note">Each character is coloured by the chosen cell's value after reading it: blue is
&minus;1, white 0, red +1 (the cell state c as tanh(c); gates from 0 to 1). Grey steps did not
run. Karpathy, Johnson &amp; Fei-Fei (2015), Sec. 4.1.{cut}</p>
<div id="controls">
<label>Layer <select id="layer"></select></label>
<label>Quantity <select id="quantity"></select></label>
<label>Cell <button id="prev" type="button" title="previous cell (left arrow)">&lsaquo;</button>
<input id="unit" type="number" min="0" step="1" value="0">
<button id="next" type="button" title="next cell (right arrow)">&rsaquo;</button></label>
<label>Underline <select id="feature"><option value="">(none)</option></select></label>
<span id="legend"><span id="legend-min"></span><span class="bar"></span><span id="legend-max"></span></span>
</div>
<p id="info"></p>
<main>
<div id="text"></div>
<aside>
<h2>Cells that track the features</h2>
<p class="hint">Pearson r between each feature and each cell of this layer and quantity, largest |r| first.
Click a row to show that cell and underline its feature.</p>
<table id="ranking"><thead><tr><th>#</th><th>feature</th><th>cell</th><th>r</th></tr></thead><tbody></tbody></table>
</aside>
</main>
{saturation_html}
<div id="tooltip" hidden></div>
<script type="application/json" id="cells-data">{_script_json(data)}</script>
<script>{JS}</script>
</body>
</html>
"""


def _saturation_svg(saturation: Sequence[Mapping[str, Any]]) -> str:
    """The paper's Fig. 3 as inline SVG: per gate, each unit of each layer at (fraction of steps
    left-saturated, fraction right-saturated); no unit can lie beyond the diagonal x + y = 1."""
    if isinstance(saturation, Mapping) or not isinstance(saturation, Sequence) or not saturation:
        raise ValueError(f"saturation: expected a non-empty list of gate_saturation entries, got {saturation!r:.80}")
    gates: list[str] = []
    checked = []
    for k, entry in enumerate(saturation):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("gates"), Mapping):
            raise ValueError(f"saturation[{k}]: expected a dict with 'name' and 'gates', got {entry!r:.80}")
        per_gate = {}
        for gate, stats in entry["gates"].items():
            where = f"saturation[{k}]['gates'][{gate!r}]"
            if not isinstance(stats, Mapping) or "left" not in stats or "right" not in stats:
                raise ValueError(f"{where}: expected a dict with 'left' and 'right' arrays, got {stats!r:.80}")
            left, right = (np.asarray(stats[s], dtype=np.float64) for s in ("left", "right"))
            if left.ndim != 1 or left.shape != right.shape:
                raise ValueError(f"{where}: expected 'left' and 'right' of one (units,) shape, got "
                                 f"{left.shape} and {right.shape}")
            both = np.concatenate([left, right])
            if np.any((both[np.isfinite(both)] < 0) | (both[np.isfinite(both)] > 1)):
                raise ValueError(f"{where}: expected fractions in [0, 1], got values outside")
            per_gate[str(gate)] = (left, right)
            if str(gate) not in gates:
                gates.append(str(gate))
        checked.append((str(entry.get("name", f"trace {k}")), per_gate))
    low, high = saturation[0].get("low", 0.1), saturation[0].get("high", 0.9)
    panels = [_panel(gate, checked, low, high) for gate in gates]
    legend = "".join(
        f'<span><svg width="12" height="12"><circle cx="6" cy="6" r="5" fill="{_PALETTE[k % len(_PALETTE)]}"/>'
        f"</svg> {html.escape(name)}</span> " for k, (name, _) in enumerate(checked))
    return (f'<section id="saturation"><h2>Gate saturation</h2><p class="hint">Fraction of steps each gate unit '
            f"spends below {html.escape(str(low))} (left-saturated, x) and above {html.escape(str(high))} "
            f"(right-saturated, y), one colour per layer (the paper's Fig. 3). {legend}</p>"
            f'<div class="panels">{"".join(panels)}</div></section>')


def _panel(gate: str, checked: list, low: Any, high: Any) -> str:
    size, pad, top = 230, 34, 24
    span = size - pad - top

    def px(v: float) -> float:
        return round(pad + v * span, 1)

    def py(v: float) -> float:
        return round(top + (1.0 - v) * span, 1)

    parts = [f'<svg class="sat" width="{size}" height="{size}" viewBox="0 0 {size} {size}" role="img" '
             f'aria-label="saturation of gate {html.escape(gate)}">',
             f'<text x="{pad + span / 2}" y="15" font-size="12" font-weight="600" text-anchor="middle">'
             f"{html.escape(_GATE_TITLES.get(gate, gate + ' gate'))}</text>",
             f'<rect x="{pad}" y="{top}" width="{span}" height="{span}" fill="#fafafa" stroke="#999"/>',
             f'<line x1="{px(0)}" y1="{py(1)}" x2="{px(1)}" y2="{py(0)}" stroke="#bbb" stroke-dasharray="4 3"/>']
    for v in (0.0, 0.5, 1.0):
        parts.append(f'<text x="{px(v)}" y="{size - pad + 14}" font-size="10" text-anchor="middle">{v:g}</text>')
        parts.append(f'<text x="{pad - 5}" y="{py(v) + 3}" font-size="10" text-anchor="end">{v:g}</text>')
    parts.append(f'<text x="{pad + span / 2}" y="{size - 4}" font-size="11" text-anchor="middle">'
                 f"left-saturated (&lt; {html.escape(str(low))})</text>")
    parts.append(f'<text x="10" y="{top + span / 2}" font-size="11" text-anchor="middle" '
                 f'transform="rotate(-90 10 {top + span / 2})">right-saturated (&gt; {html.escape(str(high))})</text>')
    for k, (name, per_gate) in enumerate(checked):
        if gate not in per_gate:
            continue
        colour = _PALETTE[k % len(_PALETTE)]
        for u, (x, y) in enumerate(zip(*per_gate[gate])):
            if not (math.isfinite(x) and math.isfinite(y)):
                continue
            parts.append(f'<circle cx="{px(x)}" cy="{py(y)}" r="2.6" fill="{colour}" fill-opacity="0.6">'
                         f"<title>{html.escape(name)} cell {u}: left {x:.3f}, right {y:.3f}</title></circle>")
    parts.append("</svg>")
    return "".join(parts)
