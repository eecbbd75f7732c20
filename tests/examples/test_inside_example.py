"""examples/inside_attention_model.py runs (2 epochs) and writes every view it promises."""

from __future__ import annotations

import contextlib
import io
import runpy
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "inside_attention_model.py"


def test_inside_attention_model_writes_its_views(monkeypatch, tmp_path):
    monkeypatch.setenv("LSTMKIT_EXAMPLE_EPOCHS", "2")
    monkeypatch.setenv("LSTMKIT_EXAMPLE_OUT", str(tmp_path))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        runpy.run_path(str(SCRIPT), run_name="__main__")
    for name in ("attention.png", "history.png", "gates.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    page = (tmp_path / "attention.html").read_text(encoding="utf-8")
    assert '"attention"' in page and "http://" not in page and "https://" not in page
    assert (tmp_path / "log.csv").read_text().splitlines()[0].startswith("epoch")
    assert "tracks the sunspot number (r = " in printed.getvalue()
