"""The CSS and JavaScript inlined into the cell page (`lstmkit.viz.cells_page`).

Kept apart from the Python that assembles the page so each file stays readable. Both are plain
strings inlined into one HTML file: the page must open from file:// with no network at all, so
there is no CDN, no framework and no build step. The script reads its data from the page's
``<script type="application/json" id="cells-data">`` element and builds every character span with
``textContent``, so the text never passes through an HTML parser.
"""

CSS = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 1.5rem 2rem; color: #111;
       background: #fff; }
h1 { font-size: 1.3rem; margin: 1rem 0 0.3rem; }
h2 { font-size: 1rem; margin: 0.2rem 0 0.5rem; }
.note { color: #555; font-size: 0.85rem; margin: 0.2rem 0; max-width: 70rem; }
#controls { display: flex; flex-wrap: wrap; gap: 0.6rem 1.2rem; align-items: center; padding: 0.6rem 0;
            border-bottom: 1px solid #ddd; position: sticky; top: 0; background: #fff; z-index: 2; }
#controls label { font-size: 0.9rem; }
#controls select, #controls input, #controls button { font: inherit; font-size: 0.9rem; }
#unit { width: 5em; }
#legend { display: flex; align-items: center; gap: 0.4rem; font-size: 0.8rem; color: #333; }
#legend .bar { display: inline-block; width: 140px; height: 12px; border: 1px solid #999;
               background: linear-gradient(to right, rgb(33,102,172), rgb(255,255,255), rgb(178,24,43)); }
#info { font-size: 0.85rem; color: #333; margin: 0.5rem 0; }
main { display: flex; gap: 1.5rem; align-items: flex-start; }
#text { flex: 1 1 auto; min-width: 0; font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
        font-size: 14px; line-height: 1.5; white-space: pre-wrap; overflow-wrap: anywhere; }
#text span { cursor: default; }
#text span.nl { opacity: 0.55; }
#text span.off { background: #d9d9d9; color: #777; }
#text span.feat { text-decoration: underline; text-decoration-thickness: 2px; text-underline-offset: 3px; }
aside { flex: 0 0 19rem; position: sticky; top: 3.6rem; }
.hint { font-size: 0.8rem; color: #555; margin: 0 0 0.5rem; }
#ranking { border-collapse: collapse; font-size: 0.85rem; width: 100%; }
#ranking th, #ranking td { padding: 0.2rem 0.45rem; text-align: left; border-bottom: 1px solid #eee; }
#ranking td.num { text-align: right; font-variant-numeric: tabular-nums; }
#ranking tbody tr { cursor: pointer; }
#ranking tbody tr:hover { background: #f0f4fa; }
#ranking tbody tr.current { background: #dde8f7; font-weight: 600; }
#tooltip { position: fixed; z-index: 10; pointer-events: none; background: #222; color: #fff; padding: 0.35rem 0.5rem;
           border-radius: 4px; font: 12px/1.35 ui-monospace, "DejaVu Sans Mono", monospace; white-space: pre; }
#saturation { margin-top: 2rem; border-top: 1px solid #ddd; padding-top: 0.5rem; }
#saturation .panels { display: flex; flex-wrap: wrap; gap: 1rem; }
#saturation svg { font-family: system-ui, sans-serif; }
"""

JS = r"""
(function () {
  "use strict";
  const DATA = JSON.parse(document.getElementById("cells-data").textContent);
  const chars = Array.from(DATA.text);   // code points, as Python counts them
  const T = DATA.steps;
  const MISSING = -32768;                // a step that did not run (NaN in the trace)
  const $ = (id) => document.getElementById(id);
  const els = {
    layer: $("layer"), quantity: $("quantity"), unit: $("unit"), prev: $("prev"), next: $("next"),
    feature: $("feature"), text: $("text"), ranking: document.querySelector("#ranking tbody"),
    info: $("info"), tooltip: $("tooltip"), lmin: $("legend-min"), lmax: $("legend-max"),
  };
  const state = { trace: DATA.initial.trace, quantity: DATA.initial.quantity, unit: DATA.initial.unit };
  const cache = new Map();

  function decode(b64) {       // little-endian int16, written by numpy's "<i2"
    const bin = atob(b64);
    const out = new Int16Array(bin.length >> 1);
    for (let k = 0; k < out.length; k++) {
      const v = bin.charCodeAt(2 * k) | (bin.charCodeAt(2 * k + 1) << 8);
      out[k] = v >= 32768 ? v - 65536 : v;
    }
    return out;
  }
  const trace = () => DATA.traces[state.trace];
  function quantity() {
    const qs = trace().quantities;
    return qs.find((q) => q.name === state.quantity) || qs[0];
  }
  function values(q) {
    const key = state.trace + "/" + q.name;
    if (!cache.has(key)) cache.set(key, decode(q.data));
    return cache.get(key);
  }
  function raw(q, unit, t) {
    const v = values(q)[unit * T + t];
    return v === MISSING ? NaN : v / q.scale[unit];
  }
  function shown(q, v) {       // the value on the colour scale [-1, 1]
    if (q.kind === "tanh") return Math.tanh(v);
    if (q.kind === "unit") return 2 * v - 1;
    return Math.max(-1, Math.min(1, v));
  }
  const NEG = [33, 102, 172], POS = [178, 24, 43];
  function colour(d) {
    const a = Math.min(1, Math.abs(d)), end = d < 0 ? NEG : POS;
    return "rgb(" + end.map((e) => Math.round(255 + (e - 255) * a)).join(",") + ")";
  }
  const decimals = (q, unit) => Math.max(0, Math.round(Math.log10(q.scale[unit])));

  const spans = [];
  const frag = document.createDocumentFragment();
  chars.forEach((ch, t) => {
    const s = document.createElement("span");
    s.dataset.t = String(t);
    if (ch === "\n") {
      s.textContent = "\u21b5";
      s.className = "nl";
      frag.appendChild(s);
      frag.appendChild(document.createTextNode("\n"));
    } else {
      s.textContent = ch;
      frag.appendChild(s);
    }
    spans.push(s);
  });
  els.text.appendChild(frag);

  DATA.traces.forEach((tr, k) => {
    const o = document.createElement("option");
    o.value = String(k);
    o.textContent = tr.name + " (" + tr.variant + ", " + tr.units + " units)";
    els.layer.appendChild(o);
  });
  DATA.features.forEach((f) => {
    const o = document.createElement("option");
    o.value = f.name;
    o.textContent = f.name;
    o.title = f.description;
    els.feature.appendChild(o);
  });

  function fillQuantities() {
    els.quantity.replaceChildren();
    trace().quantities.forEach((q) => {
      const o = document.createElement("option");
      o.value = q.name;
      o.textContent = q.label;
      els.quantity.appendChild(o);
    });
    state.quantity = quantity().name;
    els.quantity.value = state.quantity;
    els.unit.max = String(trace().units - 1);
  }

  function renderText() {
    const q = quantity();
    for (let t = 0; t < T; t++) {
      const s = spans[t], v = raw(q, state.unit, t);
      if (Number.isNaN(v)) {
        s.classList.add("off");
        s.style.backgroundColor = "";
        s.style.color = "";
        continue;
      }
      const d = shown(q, v);
      s.classList.remove("off");
      s.style.backgroundColor = colour(d);
      s.style.color = Math.abs(d) > 0.6 ? "#fff" : "#000";
    }
    const lo = q.kind === "unit" ? "0" : "\u22121", hi = "+1";
    els.lmin.textContent = lo;
    els.lmax.textContent = hi + (q.kind === "tanh" ? "  (tanh of the value)" : "");
    els.info.textContent = trace().name + " \u00b7 " + q.label + " of cell " + state.unit + " of " +
      trace().units + " \u00b7 hover a character for its value";
  }

  function renderRanking() {
    const q = quantity();
    els.ranking.replaceChildren();
    if (!q.ranking.length) {
      const tr = document.createElement("tr"), td = document.createElement("td");
      td.colSpan = 4;
      td.textContent = "no features to rank";
      tr.appendChild(td);
      els.ranking.appendChild(tr);
      return;
    }
    q.ranking.forEach((m, k) => {
      const tr = document.createElement("tr");
      tr.dataset.feature = m.feature;
      tr.dataset.unit = String(m.unit);
      tr.tabIndex = 0;
      const desc = DATA.features.find((f) => f.name === m.feature);
      tr.title = (desc ? desc.description + ": " : "") + "click to show cell " + m.unit;
      [String(k + 1), m.feature, String(m.unit), m.r.toFixed(3)].forEach((text, j) => {
        const td = document.createElement("td");
        td.textContent = text;
        if (j !== 1) td.className = "num";
        tr.appendChild(td);
      });
      if (m.unit === state.unit) tr.classList.add("current");
      const pick = () => { els.feature.value = m.feature; renderFeature(); setUnit(m.unit); };
      tr.addEventListener("click", pick);
      tr.addEventListener("keydown", (e) => {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); pick(); }
      });
      els.ranking.appendChild(tr);
    });
  }

  function renderFeature() {
    const f = DATA.features.find((x) => x.name === els.feature.value);
    spans.forEach((s, t) => s.classList.toggle("feat", !!f && f.values[t] !== null && f.values[t] > 0));
  }

  function render() { renderText(); renderRanking(); }

  function setUnit(u) {
    const n = trace().units;
    u = Number.isFinite(u) ? Math.round(u) : state.unit;
    state.unit = ((u % n) + n) % n;
    els.unit.value = String(state.unit);
    render();
  }

  els.layer.addEventListener("change", () => {
    state.trace = Number(els.layer.value);
    fillQuantities();
    setUnit(Math.min(state.unit, trace().units - 1));
  });
  els.quantity.addEventListener("change", () => { state.quantity = els.quantity.value; render(); });
  els.unit.addEventListener("input", () => {
    const u = parseInt(els.unit.value, 10);
    if (Number.isFinite(u) && u >= 0 && u < trace().units) { state.unit = u; render(); }
  });
  els.unit.addEventListener("change", () => setUnit(parseInt(els.unit.value, 10)));
  els.prev.addEventListener("click", () => setUnit(state.unit - 1));
  els.next.addEventListener("click", () => setUnit(state.unit + 1));
  els.feature.addEventListener("change", renderFeature);
  document.addEventListener("keydown", (e) => {
    const tag = e.target && e.target.tagName;
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") return;
    if (e.key === "ArrowLeft") setUnit(state.unit - 1);
    if (e.key === "ArrowRight") setUnit(state.unit + 1);
  });

  els.text.addEventListener("mousemove", (e) => {
    const s = e.target.closest ? e.target.closest("span[data-t]") : null;
    if (!s) { els.tooltip.hidden = true; return; }
    const t = Number(s.dataset.t), q = quantity(), v = raw(q, state.unit, t);
    const lines = ["char " + JSON.stringify(chars[t]) + "  at " + t];
    if (Number.isNaN(v)) lines.push(q.name + "[" + state.unit + "]: step did not run");
    else {
      lines.push(q.name + "[" + state.unit + "] = " + v.toFixed(decimals(q, state.unit)));
      if (q.kind === "tanh") lines.push("tanh(" + q.name + ") = " + Math.tanh(v).toFixed(3));
    }
    DATA.features.forEach((f) => {
      const x = f.values[t];
      lines.push(f.name + " = " + (x === null ? "\u2013" : String(x)));
    });
    els.tooltip.textContent = lines.join("\n");
    els.tooltip.hidden = false;
    const w = els.tooltip.offsetWidth, h = els.tooltip.offsetHeight;
    els.tooltip.style.left = Math.min(e.clientX + 14, window.innerWidth - w - 4) + "px";
    els.tooltip.style.top = (e.clientY + 18 + h > window.innerHeight ? e.clientY - h - 8 : e.clientY + 18) + "px";
  });
  els.text.addEventListener("mouseleave", () => { els.tooltip.hidden = true; });

  els.layer.value = String(state.trace);
  fillQuantities();
  setUnit(state.unit);
  document.body.dataset.ready = "true";
})();
"""
