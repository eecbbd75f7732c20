"""Two real processes on loopback (gloo), started with torchrun: the same result as one process,
identical logs on both ranks, one writer per file, and a crash that ends the job with the
failing rank's name instead of a hang. Each launch costs a few seconds (two fresh interpreters
importing torch), so one run serves several tests."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.distributed import _worker

ROOT = Path(__file__).resolve().parents[2]
WORKER = str(Path(_worker.__file__).resolve())
EPOCHS = 3


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "TORCHELASTIC_RUN_ID", "MASTER_ADDR", "MASTER_PORT")}
    env.update(OMP_NUM_THREADS="1", LSTMKIT_DIST_TIMEOUT="60", PYTHONPATH=str(ROOT))
    return env


def _weights(path: Path) -> list[np.ndarray]:
    with np.load(path, allow_pickle=False) as f:
        return [f[f"arr_{k}"] for k in range(len(f.files))]


def _logs(out: Path, rank: int) -> dict:
    return json.loads((out / f"logs_r{rank}.json").read_text())


def test_two_processes_train_like_one(tmp_path):
    """One launch, several checks (a launch costs seconds; one test keeps it to one launch also
    when pytest-xdist spreads tests over workers). Started as by hand: ``python -m
    torch.distributed.run --nproc_per_node 2 _worker.py ...``."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", WORKER,
           "--out", str(tmp_path), "--epochs", str(EPOCHS), "--verbose", "2"]
    proc = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    _same_weights_as_one_process(tmp_path)
    _every_rank_logs_the_same_numbers(tmp_path)
    _files_written_once_by_rank_zero(tmp_path, proc.stdout)


def _same_weights_as_one_process(out: Path) -> None:
    x, y = _worker.make_data()
    ref = _worker.build_model(0)
    ref.fit(x[:33], y[:33], batch_size=8, epochs=EPOCHS, shuffle=False, verbose=0, validation_data=(x[33:], y[33:]))
    for rank in (0, 1):
        for got, want in zip(_weights(out / f"weights_r{rank}_plain.npz"), ref.get_weights()):
            np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)
    # a seeded shuffle gives the same order with 1 or N processes
    ref2 = _worker.build_model(0)
    ref2.fit(x, y, batch_size=8, epochs=EPOCHS, shuffle=True, verbose=0, distributed=True)
    for got, want in zip(_weights(out / "weights_r1_shuffle.npz"), ref2.get_weights()):
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)
    # evaluate (sharded, all-reduced) and predict (sharded, gathered) give the whole-data results
    np.testing.assert_allclose(_logs(out, 0)["predict"], ref.predict(x, verbose=0).ravel(), atol=1e-5)
    expected = ref.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    assert _logs(out, 1)["evaluate"] == pytest.approx(expected, rel=1e-5)
    # the logged (all-reduced) metrics are those of the one-process run
    history = _logs(out, 0)["history_plain"]
    for key, values in ref.history.history.items():
        np.testing.assert_allclose(history[key], values, rtol=1e-5, err_msg=key)


def _every_rank_logs_the_same_numbers(out: Path) -> None:
    logs0, logs1 = _logs(out, 0), _logs(out, 1)
    assert logs0 == logs1  # bit-identical: the values come from the same all-reduce
    assert set(logs0["history_plain"]) == {"loss", "mae", "val_loss", "val_mae"}
    assert len(logs0["history_plain"]["loss"]) == EPOCHS


def _files_written_once_by_rank_zero(out: Path, stdout: str) -> None:
    rows = list(csv.reader((out / "log.csv").open()))
    assert rows[0] == ["epoch", "loss", "mae", "val_loss", "val_mae"]
    assert [r[0] for r in rows[1:]] == [str(e) for e in range(EPOCHS)]
    assert sorted(p.name for p in out.glob("ckpt_*")) == [f"ckpt_e{e}.keras" for e in range(1, EPOCHS + 1)]
    assert stdout.count(f"Epoch {EPOCHS}/{EPOCHS}") == 1  # one progress display, rank 0's


def test_a_crashing_worker_ends_the_job_naming_its_rank(tmp_path):
    start = time.monotonic()
    cmd = [sys.executable, WORKER, "--out", str(tmp_path), "--nproc", "2", "--crash-epoch", "2"]
    env = _env()
    env["LSTMKIT_DIST_TIMEOUT"] = "20"
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - start
    last = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert last.startswith("_worker: error: training process rank 1 (local rank 1) failed"), last
    assert "RuntimeError: injected failure at epoch 2" in last and "rank 0 stopped too" in last
    assert elapsed < 60
    assert len(list(csv.reader((tmp_path / "log.csv").open()))) == 2  # header + epoch 1, written by rank 0
