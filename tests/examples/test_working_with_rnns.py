"""examples/working_with_rnns.py (the Keras guide "Working with RNNs" on lstmkit.keras) runs, small."""

from __future__ import annotations

import contextlib
import io
import runpy
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "working_with_rnns.py"


def test_working_with_rnns_guide_runs(monkeypatch):
    monkeypatch.setenv("LSTMKIT_EXAMPLE_SMALL", "1")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        namespace = runpy.run_path(str(SCRIPT), run_name="__main__")
    text = printed.getvalue()
    assert "RNN(LSTMCell(10)) == LSTM(10): True" in text
    assert "Predicted result is:" in text
    assert text.count("val_accuracy") == 2  # the two MNIST-shaped fits, with validation
    outputs = namespace["model"].predict([namespace["input_1_data"][:3], namespace["input_2_data"][:3]], verbose=0)
    assert outputs[0].shape == (3, 10) and outputs[1].shape == (3, 20, 30)  # the NestedCell model
