"""load_model in a fresh process, before any layer module was imported, finds every layer class
(layers are imported lazily, so the registry must load them on demand)."""

from __future__ import annotations

import subprocess
import sys

SAVE = """
from lstmkit.keras.models import Sequential
from lstmkit.keras.layers import LSTM, Bidirectional, Dense, Embedding, Input
m = Sequential([Input((5,), dtype="int32"), Embedding(20, 4, mask_zero=True), Bidirectional(LSTM(3)), Dense(1)])
m.compile("adam", "mse")
m.save({path!r})
"""
LOAD = """
import numpy as np
from lstmkit.keras.models import load_model
m = load_model({path!r})
print(m.predict(np.ones((2, 5), dtype="int64"), verbose=0).shape)
"""


def test_load_model_in_a_fresh_process(tmp_path):
    path = str(tmp_path / "m.keras")
    subprocess.run([sys.executable, "-c", SAVE.format(path=path)], check=True, timeout=120)
    out = subprocess.run([sys.executable, "-c", LOAD.format(path=path)], check=True, timeout=120,
                         capture_output=True, text=True)
    assert out.stdout.strip() == "(2, 1)"
