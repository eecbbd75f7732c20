"""examples/seq2seq_reverse.py (Keras' lstm_seq2seq example with only the import changed) runs on a
short budget and its greedy step-by-step decoding reverses the held-out strings."""

from __future__ import annotations

import contextlib
import io
import runpy
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "seq2seq_reverse.py"


def test_seq2seq_reverse_example_decodes_held_out_strings(monkeypatch):
    monkeypatch.setenv("LSTMKIT_EXAMPLE_EPOCHS", "10")
    monkeypatch.setenv("LSTMKIT_EXAMPLE_SAMPLES", "1000")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        ns = runpy.run_path(str(SCRIPT), run_name="__main__")
    assert ns["decode_accuracy"] > 0.9, printed.getvalue()
    assert len(ns["decoded"]) == 200 and all(len(d) == ns["LENGTH"] for d in ns["decoded"][:20])
    # the inference models reuse the trained layer objects
    assert ns["decoder_model"].get_layer(ns["decoder_lstm"].name) is ns["model"].get_layer(ns["decoder_lstm"].name)
    assert "greedy decoding reverses" in printed.getvalue()
