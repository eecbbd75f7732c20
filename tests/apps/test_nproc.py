"""`lstmkit <app> train --nproc 2` runs the command as two torchrun workers (gloo on CPU): it
succeeds, and only rank 0 writes the checkpoint."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_forecast_train_with_two_processes(tmp_path):
    out = tmp_path / "fc"
    result = subprocess.run(
        [sys.executable, "-m", "lstmkit", "forecast", "train", "--nproc", "2", "--epochs", "2", "--no-arima",
         "--quiet", "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("wrote checkpoint") == 1  # rank 0 only
    assert json.loads((out / "app.json").read_text())["app"] == "forecast"
