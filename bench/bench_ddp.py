"""How does data-parallel training scale with the number of CPU processes?

``python bench/bench_ddp.py --nproc 1 2 4`` trains the same model for the same number
of steps with 1, 2, 4 processes (torchrun, DDP over gloo, one thread per process as torchrun sets
it) and prints a table: seconds per epoch (the first epoch is a warm-up and not counted),
samples per second, the speed-up over one process, and the largest weight difference from the
one-process run (the runs must agree: same seed, same global batch).

The model is an LSTM(128) over sequences of 50 steps with 8 features and a Dense(1) head; the
data are random (the speed does not depend on them), 8192 samples, global batch 256. Each run
re-launches this script under torchrun with ``--worker DIR``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def worker(out: Path, epochs: int, samples: int, batch: int, hidden: int) -> None:
    """One process of a run: train, time each epoch; rank 0 writes ``result.json`` and the weights."""
    from safetensors.numpy import save

    from lstmkit.distributed import is_main_process, world_size
    from lstmkit.io import atomic_write_bytes, atomic_write_json
    from lstmkit.keras import callbacks, layers, models, utils

    rng = np.random.default_rng(0)
    x = rng.standard_normal((samples, 50, 8)).astype(np.float32)
    y = (x[:, -5:, :2].mean(axis=(1, 2)) + 0.1 * rng.standard_normal(samples)).astype(np.float32)[:, None]
    utils.set_random_seed(0)
    model = models.Sequential([layers.Input((50, 8)), layers.LSTM(hidden), layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    times: list[float] = []

    class Clock(callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    hist = model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0, callbacks=[Clock()], distributed=True)
    if is_main_process():
        weights = {f"w{k}": np.ascontiguousarray(w) for k, w in enumerate(model.get_weights())}
        atomic_write_bytes(out / "weights.safetensors", save(weights), create_dirs=True)
        atomic_write_json(out / "result.json", {"processes": world_size(), "epoch_seconds": times,
                                                "loss": hist.history["loss"]}, create_dirs=True)


def main(argv: list[str] | None = None) -> int:
    import argparse

    from safetensors.numpy import load_file

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nproc", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run; the first is a warm-up")
    parser.add_argument("--samples", type=int, default=8192)
    parser.add_argument("--batch", type=int, default=256, help="global batch")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--worker", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(Path(args.worker), args.epochs, args.samples, args.batch, args.hidden)
        return 0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.nproc:
            out = Path(tmp) / f"n{n}"
            cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={n}",
                   str(Path(__file__).resolve()), "--worker", str(out), "--epochs", str(args.epochs),
                   "--samples", str(args.samples), "--batch", str(args.batch), "--hidden", str(args.hidden)]
            env = {**os.environ, "OMP_NUM_THREADS": "1"}
            subprocess.run(cmd, check=True, env=env)
            result = json.loads((out / "result.json").read_text())
            weights = load_file(str(out / "weights.safetensors"))
            rows.append((n, result, [weights[f"w{k}"] for k in range(len(weights))]))
    import torch

    print(f"torch {torch.__version__}, LSTM({args.hidden}) on (50, 8) sequences, {args.samples} samples, global batch "
          f"{args.batch}, {args.epochs - 1} timed epochs (after 1 warm-up), 1 thread per process, gloo")
    print("| processes | s / epoch | samples / s | speed-up | max weight diff vs first run |")
    print("|---|---|---|---|---|")
    base_seconds, base_weights = None, rows[0][2]
    for n, result, weights in rows:
        timed = result["epoch_seconds"][1:] or result["epoch_seconds"]
        seconds = float(np.median(timed))
        base_seconds = base_seconds or seconds
        diff = max(float(np.abs(a - b).max()) for a, b in zip(weights, base_weights))
        print(f"| {n} | {seconds:.2f} | {args.samples / seconds:.0f} | {base_seconds / seconds:.2f}x | {diff:.1e} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
