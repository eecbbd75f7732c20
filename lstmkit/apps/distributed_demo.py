"""``demo()``: train the same LSTM forecaster with one process and with N processes (torchrun,
DistributedDataParallel, gloo on CPU) and show that they agree.

The task is the embedded yearly sunspot series: predict next year's number from the previous 20
years; the last 30 years are held out. Both runs use the same seed and global batch, so the N
processes must end with the weights of the single process (up to float rounding) and the same
held-out error; the demo prints both, the largest weight difference, the wall time of each (every
process uses one thread, torchrun's default), and plots the two loss curves (they coincide).

Run it as ``python -m lstmkit.apps.distributed_demo [--nproc N] [--epochs E] [--out DIR]``; the
N-process part re-runs this module under torchrun with ``--worker``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

LOOKBACK = 20
HOLDOUT = 30


def _windows(values: np.ndarray, targets: range) -> tuple[np.ndarray, np.ndarray]:
    x = np.stack([values[t - LOOKBACK:t] for t in targets])[:, :, None].astype(np.float32)
    y = np.asarray([values[t] for t in targets], dtype=np.float32)[:, None]
    return x, y


def _data() -> dict[str, Any]:
    """Standardised windows (statistics of the training years only) and the held-out truth."""
    from lstmkit.data import load_sunspots

    series = load_sunspots().values.astype(np.float64)
    split = len(series) - HOLDOUT
    mean, std = series[:split].mean(), series[:split].std()
    scaled = (series - mean) / std
    x, y = _windows(scaled, range(LOOKBACK, split))
    x_test, _ = _windows(scaled, range(split, len(series)))
    return {"x": x, "y": y, "x_test": x_test, "actual": series[split:], "mean": mean, "std": std}


def train(out: Path, epochs: int, seed: int, hidden: int, batch: int, verbose: int) -> dict[str, Any]:
    """One training run (every process of a torchrun job calls it; with one process it trains
    alone). Rank 0 writes ``result.json`` and ``weights.safetensors`` into ``out``."""
    from safetensors.numpy import save

    from lstmkit.distributed import is_main_process, world_size
    from lstmkit.io import atomic_write_bytes, atomic_write_json
    from lstmkit.keras import layers, models, optimizers, utils

    d = _data()
    utils.set_random_seed(seed)
    model = models.Sequential([layers.Input((LOOKBACK, 1)), layers.LSTM(hidden), layers.Dense(1)])
    model.compile(optimizer=optimizers.Adam(learning_rate=0.01), loss="mse", metrics=["mae"])
    start = time.perf_counter()
    history = model.fit(d["x"], d["y"], batch_size=batch, epochs=epochs, shuffle=True, verbose=verbose,
                        distributed=True)
    seconds = time.perf_counter() - start
    predicted = model.predict(d["x_test"], verbose=0, distributed=True)[:, 0] * d["std"] + d["mean"]
    result = {"processes": world_size(), "seconds": seconds, "history": history.history,
              "test_mae": float(np.abs(predicted - d["actual"]).mean()),
              "naive_mae": float(np.abs(d["actual"][1:] - d["actual"][:-1]).mean())}
    if is_main_process():
        weights = {f"w{k}": np.ascontiguousarray(w) for k, w in enumerate(model.get_weights())}
        atomic_write_bytes(out / "weights.safetensors", save(weights), create_dirs=True)
        atomic_write_json(out / "result.json", result, create_dirs=True)
    return result


def _load(folder: Path) -> tuple[dict[str, Any], list[np.ndarray]]:
    from safetensors.numpy import load_file

    weights = load_file(str(folder / "weights.safetensors"))
    return json.loads((folder / "result.json").read_text()), [weights[f"w{k}"] for k in range(len(weights))]


def _plot(path: Path, one: dict[str, Any], many: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    epochs = range(1, len(one["history"]["loss"]) + 1)
    ax.plot(epochs, one["history"]["loss"], "o-", label="1 process")
    ax.plot(epochs, many["history"]["loss"], "x--", label=f"{many['processes']} processes (DDP)")
    ax.set(xlabel="epoch", ylabel="training loss (MSE, standardised)", yscale="log",
           title="Same seed, same global batch: same training")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def demo(nproc: int = 2, epochs: int = 15, seed: int = 0, out: str | Path = "runs/distributed-demo",
         hidden: int = 32, batch: int = 32) -> dict[str, Any]:
    """Train with 1 process here and with ``nproc`` processes under torchrun, then compare.

    Returns a dict with both results (``one``, ``many``), ``max_weight_diff`` and ``plot`` (PNG path).
    """
    from lstmkit.distributed.launch import run_torchrun
    from lstmkit.errors import AppError

    if nproc < 2:
        raise AppError(f"the demo compares 1 process with several: --nproc must be at least 2, got {nproc}")
    if batch % nproc:
        raise AppError(f"the global batch {batch} must be divisible by --nproc {nproc}")
    import torch

    out = Path(out)
    print(f"1 process: LSTM({hidden}) sunspot forecaster, {epochs} epochs, global batch {batch}, seed {seed}")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each torchrun worker (OMP_NUM_THREADS=1): the times compare processes
    try:
        train(out / "one_process", epochs, seed, hidden, batch, verbose=0)
    finally:
        torch.set_num_threads(threads)
    print(f"{nproc} processes (torchrun, DistributedDataParallel, gloo):", flush=True)
    args = ["--worker", "--out", str(out / f"{nproc}_processes"), "--epochs", str(epochs), "--seed", str(seed),
            "--hidden", str(hidden), "--batch", str(batch)]
    run_torchrun([f"--nproc-per-node={nproc}", "--standalone", "--module", "--", "lstmkit.apps.distributed_demo",
                  *args])
    one, w_one = _load(out / "one_process")
    many, w_many = _load(out / f"{nproc}_processes")
    diff = max(float(np.abs(a - b).max()) for a, b in zip(w_one, w_many))
    plot = out / "loss_curves.png"
    _plot(plot, one, many)
    print("| run | final loss | held-out MAE (sunspots) | training time |")
    print("|---|---|---|---|")
    for name, r in (("1 process", one), (f"{nproc} processes", many)):
        print(f"| {name} | {r['history']['loss'][-1]:.5f} | {r['test_mae']:.2f} | {r['seconds']:.1f} s |")
    print(f"naive forecast (next year = this year) MAE: {one['naive_mae']:.2f}")
    print(f"largest weight difference between the two runs: {diff:.2e}; loss curves: {plot}")
    return {"one": one, "many": many, "max_weight_diff": diff, "plot": str(plot)}


def main(argv: list[str] | None = None) -> int:
    from lstmkit.cliutil import Parser, int_in
    from lstmkit.errors import AppError

    parser = Parser(prog="python -m lstmkit.apps.distributed_demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--nproc", type=int_in(2), default=2, help="processes of the parallel run (default: 2)")
    parser.add_argument("--epochs", type=int_in(1), default=15, help="epochs (default: 15)")
    parser.add_argument("--seed", type=int_in(0, 2**32 - 1), default=0, help="seed (default: 0)")
    parser.add_argument("--hidden", type=int_in(1), default=32, help="LSTM units (default: 32)")
    parser.add_argument("--batch", type=int_in(1), default=32, help="global batch size (default: 32)")
    parser.add_argument("--out", default="runs/distributed-demo", help="output folder")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        if args.worker:
            train(Path(args.out), args.epochs, args.seed, args.hidden, args.batch, verbose=1)
        else:
            demo(args.nproc, args.epochs, args.seed, args.out, args.hidden, args.batch)
    except AppError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
