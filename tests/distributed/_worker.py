"""A small data-parallel training run, started by the tests in this folder (not collected by pytest).

Each rank trains ``Sequential([Input((10, 3)), LSTM(8), Dense(1)])`` on fixed data with
``fit(..., distributed=True)`` and writes what the tests compare into ``--out``: its final weights
(``weights_r<rank>_<run>.npz``), its History and evaluate/predict results (``logs_r<rank>.json``).
Rank 0 alone runs ModelCheckpoint and CSVLogger. ``--crash-epoch E`` makes rank 1 raise at the
start of epoch E (1-based) to test failure handling.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from lstmkit.cliutil import Parser, int_in  # noqa: E402
from lstmkit.distributed import add_nproc_argument, rank, relaunch_if_requested  # noqa: E402


def make_data(n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 10, 3)).astype("float32")
    y = (x[:, -3:, 0].mean(axis=1, keepdims=True) + 0.1 * x[:, 0, 1:2]).astype("float32")
    return x, y


def build_model(seed: int):
    from lstmkit.keras import layers, models, optimizers, utils

    utils.set_random_seed(seed)
    model = models.Sequential([layers.Input((10, 3)), layers.LSTM(8), layers.Dense(1)])
    model.compile(optimizer=optimizers.Adam(learning_rate=0.01), loss="mse", metrics=["mae"])
    return model


def train(args: argparse.Namespace) -> dict:
    """Two runs: shuffle=False with validation data and writing callbacks, then a seeded shuffle."""
    from lstmkit.keras import callbacks

    x, y = make_data()
    out = args.out
    r = rank()

    class Crash(callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if args.crash_epoch and epoch + 1 == args.crash_epoch and r == 1:
                raise RuntimeError(f"injected failure at epoch {epoch + 1}")

    model = build_model(args.seed)
    cbs = [Crash(), callbacks.CSVLogger(os.path.join(out, "log.csv")),
           callbacks.ModelCheckpoint(os.path.join(out, "ckpt_e{epoch}.keras"), monitor="val_loss")]
    hist = model.fit(x[:33], y[:33], batch_size=args.batch, epochs=args.epochs, shuffle=False, verbose=args.verbose,
                     validation_data=(x[33:], y[33:]), callbacks=cbs, distributed=True)
    np.savez(os.path.join(out, f"weights_r{r}_plain.npz"), *model.get_weights())
    result = {"history_plain": hist.history,
              "evaluate": model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True, distributed=True),
              "predict": model.predict(x, batch_size=8, verbose=0, distributed=True).ravel().tolist()}
    model2 = build_model(args.seed)
    hist2 = model2.fit(x, y, batch_size=args.batch, epochs=args.epochs, shuffle=True, verbose=0, distributed=True)
    np.savez(os.path.join(out, f"weights_r{r}_shuffle.npz"), *model2.get_weights())
    result["history_shuffle"] = hist2.history
    with open(os.path.join(out, f"logs_r{r}.json"), "w") as f:
        json.dump(result, f)
    return result


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = Parser(prog="_worker")
    parser.add_argument("--out", required=True)
    parser.add_argument("--epochs", type=int_in(1), default=3)
    parser.add_argument("--batch", type=int_in(1), default=8)
    parser.add_argument("--seed", type=int_in(0), default=0)
    parser.add_argument("--verbose", type=int_in(0, 2), default=0)
    parser.add_argument("--crash-epoch", type=int_in(0), default=0)
    add_nproc_argument(parser)
    args = parser.parse_args(argv)
    code = relaunch_if_requested(args, argv, script=os.path.abspath(__file__))
    if code is not None:
        return code
    train(args)
    return 0


if __name__ == "__main__":
    from lstmkit.errors import AppError

    try:
        raise SystemExit(main())
    except AppError as exc:
        print(f"_worker: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
