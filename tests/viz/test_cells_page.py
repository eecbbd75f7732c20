"""lstmkit.viz.write_cell_page without a browser: a well-formed self-contained file (no network
references), the text only inside the escaped JSON, the embedded values equal to the trace's to
3 decimals, NaN steps marked, the ranking computed in Python, and errors naming the argument."""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser

import numpy as np
import pytest
import torch

from lstmkit.nn import LSTM
from lstmkit.viz.cells_page import write_cell_page
from lstmkit.viz.features import compute_features, rank_cells
from lstmkit.viz.saturation import gate_saturation
from lstmkit.viz.trace import LayerTrace, record

TEXT = 'He said "go (now)".\nROMEO:\nAy, "so".\n'
VOID = {"meta", "link", "input", "br", "img", "hr", "source", "wbr"}


def _traces(text=TEXT, *, layers=1, hidden=5, lengths=None, seed=0):
    torch.manual_seed(seed)
    vocab = sorted(set(text))
    lstm = LSTM(len(vocab), hidden, num_layers=layers, batch_first=True)
    ids = torch.tensor([[vocab.index(ch) for ch in text]] * 2)
    x = torch.nn.functional.one_hot(ids, len(vocab)).float()
    return record(lstm, x, lengths=lengths)


def _data(page: str) -> dict:
    found = re.findall(r'<script type="application/json" id="cells-data">(.*?)</script>', page, flags=re.S)
    assert len(found) == 1
    return json.loads(found[0])


def _decode(q: dict, units: int, steps: int) -> np.ndarray:
    """(time, units) floats from a quantity's base64 int16, NaN where -32768."""
    raw = np.frombuffer(base64.b64decode(q["data"]), dtype="<i2").reshape(units, steps).T
    return np.where(raw == -32768, np.nan, raw / np.asarray(q["scale"], dtype=float))


class _Checker(HTMLParser):
    """Every non-void element closed in order; records tags and attributes."""

    def __init__(self):
        super().__init__()
        self.stack, self.tags, self.errors = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()


def test_page_is_well_formed_and_self_contained(tmp_path):
    traces = _traces(layers=2)
    out = write_cell_page(tmp_path / "sub" / "cells.html", TEXT, traces, saturation=gate_saturation(traces))
    assert out == tmp_path / "sub" / "cells.html" and out.is_file()
    assert [p.name for p in out.parent.iterdir()] == ["cells.html"]  # no temporary file left behind
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    checker = _Checker()
    checker.feed(page)
    checker.close()
    assert checker.errors == [] and checker.stack == []
    assert "http://" not in page and "https://" not in page and "//cdn" not in page
    assert not [t for t, attrs in checker.tags if "src" in attrs or (t == "link" and attrs.get("rel") != "icon")]
    csp = [a["content"] for t, a in checker.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and csp[0].startswith("default-src 'none'")
    ids = {a["id"] for _, a in checker.tags if "id" in a}
    assert {"layer", "quantity", "unit", "prev", "next", "text", "ranking", "tooltip", "saturation"} <= ids


def test_hostile_text_only_lives_in_the_json(tmp_path):
    text = 'a</script><b>x</b><!-- & "q"\u2028!'
    page = write_cell_page(tmp_path / "p.html", text, _traces(text), title="<i>T</i> & co").read_text()
    assert "<b>" not in page and "<!--" not in page and "<i>" not in page
    assert "&lt;i&gt;T&lt;/i&gt; &amp; co" in page
    assert page.count("</script>") == page.count("<script")  # only the page's own closing tags
    assert "\u2028" not in page
    assert _data(page)["text"] == text


def test_embedded_values_ranking_and_initial_cell(tmp_path):
    traces = _traces(layers=2)
    data = _data(write_cell_page(tmp_path / "p.html", TEXT, traces, top=4, per_feature=None).read_text())
    assert data["steps"] == data["total_chars"] == len(TEXT)
    assert [f["name"] for f in data["features"]] == list(compute_features(TEXT))
    assert [t["name"] for t in data["traces"]] == ["lstm/l0", "lstm/l1"]
    features = compute_features(TEXT)
    for trace, entry in zip(traces, data["traces"]):
        assert [q["name"] for q in entry["quantities"]] == list(trace)
        kinds = {q["name"]: q["kind"] for q in entry["quantities"]}
        assert kinds == {"i": "unit", "f": "unit", "g": "sym", "o": "unit", "c": "tanh", "h": "sym"}
        for q in entry["quantities"]:
            values = trace[q["name"]][0]
            np.testing.assert_allclose(_decode(q, entry["units"], len(TEXT)), values, atol=5e-4 + 1e-12)
            expected = rank_cells(values, features, top=4)
            assert [(m["feature"], m["unit"]) for m in q["ranking"]] == [(m.feature, m.unit) for m in expected]
            assert [m["r"] for m in q["ranking"]] == [round(m.correlation, 3) for m in expected]
    c0 = next(q for q in data["traces"][0]["quantities"] if q["name"] == "c")
    assert data["initial"] == {"trace": 0, "quantity": "c", "unit": c0["ranking"][0]["unit"]}


def test_steps_that_did_not_run_are_marked_and_skipped(tmp_path):
    n = len(TEXT) - 6
    traces = _traces(lengths=[n, len(TEXT)])
    data = _data(write_cell_page(tmp_path / "p.html", TEXT, traces).read_text())
    q = data["traces"][0]["quantities"][0]
    decoded = _decode(q, 5, len(TEXT))
    assert np.isfinite(decoded[:n]).all() and np.isnan(decoded[n:]).all()
    assert q["ranking"] and all(np.isfinite(m["r"]) for m in q["ranking"])


def test_max_chars_quantities_and_features_options(tmp_path):
    traces = _traces()
    page = write_cell_page(tmp_path / "p.html", TEXT, traces, max_chars=10, quantities=["c"],
                           features=["in_quotes", "vowel"]).read_text()
    data = _data(page)
    assert data["text"] == TEXT[:10] and data["steps"] == 10 and data["total_chars"] == len(TEXT)
    assert f"first 10 of {len(TEXT)} characters" in page
    assert [q["name"] for q in data["traces"][0]["quantities"]] == ["c"]
    vowel = next(f for f in data["features"] if f["name"] == "vowel")
    assert [f["name"] for f in data["features"]] == ["in_quotes", "vowel"] and vowel["values"][2] is None
    custom = {"mine": np.arange(len(TEXT), dtype=float)}
    data = _data(write_cell_page(tmp_path / "q.html", TEXT, traces[0], features=custom).read_text())
    assert [f["name"] for f in data["features"]] == ["mine"] and data["features"][0]["values"][3] == 3
    data = _data(write_cell_page(tmp_path / "r.html", TEXT, traces, features={}).read_text())
    assert data["features"] == [] and data["traces"][0]["quantities"][0]["ranking"] == []


def test_large_cell_states_keep_their_magnitude(tmp_path):
    c = np.linspace(-100.0, 100.0, 7 * 3).reshape(1, 7, 3)
    c[0, :, 0] = 0.123456
    trace = LayerTrace({"c": c}, name="big", variant="lstm", family="lstm", layer=0, direction="forward",
                       mask=np.ones((1, 7), dtype=bool))
    q = _data(write_cell_page(tmp_path / "p.html", "abcdefg", [trace]).read_text())["traces"][0]["quantities"][0]
    assert q["scale"] == [1000, 100, 100]
    np.testing.assert_allclose(_decode(q, 3, 7), c[0], atol=5e-3)


def test_saturation_scatter_has_a_point_per_unit_and_gate(tmp_path):
    traces = _traces(layers=2, hidden=4)
    page = write_cell_page(tmp_path / "p.html", TEXT, traces, saturation=gate_saturation(traces)).read_text()
    section = page[page.index('<div class="panels">'):page.index("</section>")]
    assert section.count("<svg class=\"sat\"") == 3  # i, f, o
    assert section.count("<circle cx") == 2 * 4 * 3
    assert "forget gate" in section and "lstm/l1" in section


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"text": TEXT[:-1]},
         rf"traces\[0\]\['i'\]: expected {len(TEXT) - 1} time steps \(len\(text\)\), got {len(TEXT)}"),
        ({"text": ""}, "text: expected at least one character"),
        ({"text": b"abc"}, "text: expected a str, got bytes"),
        ({"traces": []}, "traces: expected a non-empty sequence"),
        ({"traces": [{"c": np.zeros((len(TEXT), 3))}]}, r"traces\[0\]\['c'\]: expected a \(batch, time, units\)"),
        ({"max_chars": 0}, "max_chars: expected a positive int, got 0"),
        ({"quantities": ["q"]}, r"quantities: expected names from \['c', 'f', 'g', 'h', 'i', 'o'\], got \['q'\]"),
        ({"features": ["nope"]}, "names: expected feature names"),
        ({"features": {"x": np.zeros(3)}}, rf"features\['x'\]: expected shape \({len(TEXT)},\)"),
        ({"saturation": [{"name": "a", "gates": {"f": {"left": np.zeros(3), "right": np.zeros(2)}}}]},
         r"saturation\[0\]\['gates'\]\['f'\]: expected 'left' and 'right' of one \(units,\) shape"),
        ({"saturation": [{"name": "a", "gates": {"f": {"left": np.ones(2) * 2, "right": np.zeros(2)}}}]},
         r"expected fractions in \[0, 1\]"),
        ({"saturation": {"name": "a"}}, "saturation: expected a non-empty list"),
    ],
)
def test_errors_name_the_argument(tmp_path, change, match):
    args = {"path": tmp_path / "p.html", "text": TEXT, "traces": _traces(), **change}
    path, text, traces = args.pop("path"), args.pop("text"), args.pop("traces")
    with pytest.raises(ValueError, match=match):
        write_cell_page(path, text, traces, **args)
    assert not (tmp_path / "p.html").exists()
