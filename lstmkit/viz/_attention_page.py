"""The interactive attention page of :mod:`lstmkit.viz.attention`, kept apart from the capture.

Why a single self-contained file: it is opened from disk, mailed, or put next to a slide deck, so
it must work offline and never fetch anything (no CDN, no fonts). The data travels as JSON in a
``<script type="application/json">`` tag with ``<``, ``>`` and ``&`` written as ``\\u003c`` etc.,
so a label such as ``</script>`` cannot end the tag; the page script puts every label into the
document with ``textContent``, so no label is ever parsed as HTML.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lstmkit.io import atomic_write_text

__all__ = ["write_attention_page"]


def _labels(value: Any, batch: int, n: int, what: str) -> list[list[str]] | None:
    """Labels as one list per example: ``value`` is one list for all examples or one per example."""
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, (Sequence, np.ndarray)):
        raise ValueError(f"{what} must be a list of {n} labels or one such list per example, got "
                         f"{type(value).__name__}")
    rows = list(value)
    nested = bool(rows) and all(isinstance(r, (Sequence, np.ndarray)) and not isinstance(r, str) for r in rows)
    rows = [list(r) for r in rows] if nested else [rows] * batch
    if len(rows) != batch:
        raise ValueError(f"{what} must give one label list per example: expected {batch}, got {len(rows)}")
    for k, row in enumerate(rows):
        if len(row) != n:
            raise ValueError(f"{what}[{k}] must have one label per step: expected {n}, got {len(row)}")
    return [[str(v) for v in row] for row in rows]


def _exact(arr: np.ndarray) -> list[Any]:
    """Weights as JSON numbers that read back exactly: float32 values by their shortest decimal
    form (0.3, not 0.30000001192092896), float64 values unchanged."""
    if arr.dtype == np.float32:
        return np.vectorize(float, otypes=[float])(arr.astype(str)).tolist()
    return arr.astype(np.float64).tolist()


def _item(k: int, item: Any) -> dict[str, Any]:
    if not isinstance(item, dict) or "scores" not in item:
        raise ValueError(f"items[{k}] must be a dict with 'scores' (as attention_scores returns), got "
                         f"{type(item).__name__}{' without scores' if isinstance(item, dict) else ''}")
    scores = np.asarray(item["scores"])
    if scores.dtype.kind not in "fiu":
        raise ValueError(f"items[{k}]['scores'] must be numeric, got dtype {scores.dtype}")
    if scores.dtype != np.float32:
        scores = scores.astype(np.float64)
    if scores.ndim == 2:
        scores = scores[None]
    if scores.ndim != 3 or 0 in scores.shape:
        raise ValueError(f"items[{k}]['scores'] must have shape (batch, Tq, Tv) or (Tq, Tv), non-empty; got "
                         f"{scores.shape}")
    if not np.isfinite(scores).all():
        raise ValueError(f"items[{k}]['scores'] must be finite, got NaN or infinite weights")
    batch, tq, tv = scores.shape
    name = str(item.get("name", f"item {k}"))
    call = item.get("call", 0)
    if call:
        name = f"{name} (call {call})"
    return {"name": name, "scores": _exact(scores),
            "query_labels": _labels(item.get("query_labels"), batch, tq, f"items[{k}]['query_labels']"),
            "key_labels": _labels(item.get("key_labels"), batch, tv, f"items[{k}]['key_labels']")}


def _json_for_script(data: Any) -> str:
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for raw, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return text


def write_attention_page(path: str | os.PathLike, items: Sequence[dict[str, Any]], *,
                         title: str | None = None) -> Path:
    """Write a self-contained HTML page showing attention heat maps, one example and layer at a time.

    Args:
        path: the HTML file (written atomically).
        items: dicts as :func:`attention_scores` returns (``name``, ``scores`` of shape
            ``(batch, Tq, Tv)`` or ``(Tq, Tv)``, optional ``call``), optionally with
            ``query_labels`` / ``key_labels``: one label per step, or one such list per example.
        title: the page title.

    Select boxes pick the layer and the example; hovering a cell shows its query and key labels
    and the exact weight.
    """
    if isinstance(items, dict) or not isinstance(items, Sequence) or not items:
        raise ValueError(f"items must be a non-empty list of dicts (attention_scores(...) output), got "
                         f"{type(items).__name__}{' (empty)' if isinstance(items, Sequence) and not items else ''}")
    page_title = "Attention weights" if title is None else str(title)
    data = {"title": page_title, "items": [_item(k, item) for k, item in enumerate(items)]}
    parts = {"__TITLE__": html.escape(page_title), "__STYLE__": _STYLE, "__SCRIPT__": _SCRIPT,
             "__DATA__": _json_for_script(data)}
    text = re.sub("__(?:TITLE|STYLE|SCRIPT|DATA)__", lambda m: parts[m.group(0)], _TEMPLATE)  # one pass
    return Path(atomic_write_text(path, text))


_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; background: #fff; }
h1 { font-size: 1.3em; margin: 0 0 .6em; }
.controls { display: flex; gap: 1.2em; align-items: center; margin-bottom: 1em; flex-wrap: wrap; }
.controls label { display: flex; gap: .4em; align-items: center; }
.wrap { display: flex; gap: 1.5em; align-items: flex-start; }
.grid { display: grid; gap: 1px; background: #fff; }
.cell { width: var(--cell); height: var(--cell); cursor: crosshair; }
.cell:hover { outline: 2px solid #e4572e; outline-offset: -2px; }
.klabel { writing-mode: vertical-rl; transform: rotate(180deg); font-size: 11px; white-space: nowrap;
          overflow: hidden; max-height: 9em; text-align: left; padding: 2px 0; }
.qlabel { font-size: 11px; white-space: nowrap; overflow: hidden; max-width: 12em; text-align: right;
          padding-right: 4px; line-height: var(--cell); height: var(--cell); }
.axis { font-size: 12px; color: #555; }
.legend { display: flex; flex-direction: column; align-items: center; font-size: 11px; gap: 2px; }
.bar { width: 16px; height: 200px; border: 1px solid #999; }
#tip { position: fixed; pointer-events: none; background: rgba(20,20,20,.92); color: #fff; padding: 5px 8px;
       border-radius: 4px; font-size: 12px; display: none; white-space: pre; z-index: 10; }
"""

_SCRIPT = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("attention-data").textContent);
  var VIRIDIS = [[68,1,84],[72,40,120],[62,74,137],[49,104,142],[38,130,142],[31,158,137],
                 [53,183,121],[109,205,89],[180,222,44],[253,231,37]];
  function colour(t) {
    t = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
    var i = Math.min(VIRIDIS.length - 2, Math.floor(t)), f = t - i, a = VIRIDIS[i], b = VIRIDIS[i + 1];
    return "rgb(" + [0, 1, 2].map(function (c) { return Math.round(a[c] + f * (b[c] - a[c])); }).join(",") + ")";
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  document.getElementById("title").textContent = data.title;
  var layerSel = document.getElementById("layer"), exSel = document.getElementById("example");
  var grid = document.getElementById("grid"), tip = document.getElementById("tip");
  data.items.forEach(function (item, k) {
    var o = el("option", null, item.name); o.value = String(k); layerSel.appendChild(o);
  });
  function fillExamples() {
    var item = data.items[+layerSel.value], keep = +exSel.value || 0;
    while (exSel.firstChild) { exSel.removeChild(exSel.firstChild); }
    item.scores.forEach(function (_, b) {
      var o = el("option", null, "example " + b); o.value = String(b); exSel.appendChild(o);
    });
    exSel.value = String(Math.min(keep, item.scores.length - 1));
  }
  function render() {
    var item = data.items[+layerSel.value], b = +exSel.value, m = item.scores[b];
    var tq = m.length, tv = m[0].length;
    var ql = item.query_labels ? item.query_labels[b] : null, kl = item.key_labels ? item.key_labels[b] : null;
    var max = 0;
    m.forEach(function (row) { row.forEach(function (v) { if (v > max) { max = v; } }); });
    var scale = max > 0 ? max : 1;
    var cell = Math.max(6, Math.min(28, Math.floor(640 / Math.max(tq, tv))));
    grid.style.setProperty("--cell", cell + "px");
    grid.style.gridTemplateColumns = "auto repeat(" + tv + ", " + cell + "px)";
    while (grid.firstChild) { grid.removeChild(grid.firstChild); }
    grid.appendChild(el("div"));
    var every = Math.max(1, Math.ceil(Math.max(tq, tv) / 40));
    for (var j = 0; j < tv; j++) {
      grid.appendChild(el("div", "klabel", j % every === 0 ? (kl ? kl[j] : String(j)) : ""));
    }
    for (var i = 0; i < tq; i++) {
      grid.appendChild(el("div", "qlabel", i % every === 0 ? (ql ? ql[i] : String(i)) : ""));
      for (var jj = 0; jj < tv; jj++) {
        var c = el("div", "cell");
        c.style.background = colour(m[i][jj] / scale);
        c.dataset.i = String(i); c.dataset.j = String(jj);
        grid.appendChild(c);
      }
    }
    document.getElementById("vmax").textContent = String(max);
    document.getElementById("shape").textContent = tq + " queries \u00d7 " + tv + " keys";
    grid.onmousemove = function (ev) {
      var t = ev.target;
      if (!t.classList || !t.classList.contains("cell")) { tip.style.display = "none"; return; }
      var qi = +t.dataset.i, kj = +t.dataset.j;
      tip.textContent = "query " + qi + (ql ? ": " + ql[qi] : "") + "\nkey " + kj + (kl ? ": " + kl[kj] : "") +
                        "\nweight " + String(m[qi][kj]);
      tip.style.display = "block";
      tip.style.left = (ev.clientX + 14) + "px"; tip.style.top = (ev.clientY + 14) + "px";
    };
    grid.onmouseleave = function () { tip.style.display = "none"; };
  }
  var stops = [];
  for (var s = 10; s >= 0; s--) { stops.push(colour(s / 10)); }
  document.getElementById("bar").style.background = "linear-gradient(" + stops.join(",") + ")";
  layerSel.onchange = function () { fillExamples(); render(); };
  exSel.onchange = render;
  fillExamples();
  render();
  document.body.dataset.ready = "1";  // drawn: tests and screenshots wait for this
})();
"""

_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>__STYLE__</style>
</head>
<body>
<h1 id="title"></h1>
<div class="controls">
  <label>layer <select id="layer"></select></label>
  <label>example <select id="example"></select></label>
  <span class="axis" id="shape"></span>
</div>
<div class="wrap">
  <div>
    <div class="axis">rows: query steps &middot; columns: key steps (attended to)</div>
    <div class="grid" id="grid"></div>
  </div>
  <div class="legend"><span id="vmax"></span><div class="bar" id="bar"></div><span>0</span>
    <span class="axis">weight</span></div>
</div>
<div id="tip"></div>
<script type="application/json" id="attention-data">__DATA__</script>
<script>__SCRIPT__</script>
</body>
</html>
"""
