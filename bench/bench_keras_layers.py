"""Keras layers beyond the seed deck, lstmkit.keras vs Keras 3 (torch backend), one process:
milliseconds per forward + backward pass of one layer on the same inputs and weights.

Cases:

- ``convlstm2d``: ``ConvLSTM2D(filters, 3, padding="same", return_sequences=True)`` on a small
  video batch (batch, frames, size, size, channels); loss ``sum(output ** 2)``, gradients of the
  input and every weight.
- ``rnn_user_cell``: ``RNN(MinimalRNNCell(units), return_sequences=True)``, the Keras docs' user
  cell written once with ``keras.ops`` for both sides, on (batch, timesteps, features); loss
  ``sum(output ** 2)``, gradients of the input and both weights.

Each case builds both layers with the same weights, checks that their outputs agree (1e-4),
warms up, then alternates lstmkit and Keras for ``--repeats`` rounds of ``--iters`` passes each
(interleaved, so a change in machine load hits both); the median per-pass time is reported with
the ratio Keras 3 / lstmkit.

Usage::

    python bench/bench_keras_layers.py [--repeats 7] [--iters 5] [--threads 2] [--only rnn_user_cell]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402
import torch  # noqa: E402

Pass = Callable[[], None]


def _timed(fn: Pass, iters: int) -> float:
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    return (time.perf_counter() - start) / iters * 1e3


def _interleaved(ours: Pass, theirs: Pass, repeats: int, iters: int) -> tuple[float, float]:
    """Median ms per pass of each, alternating which goes first, after one warm-up pass each."""
    ours(), theirs()
    times: dict[str, list[float]] = {"ours": [], "theirs": []}
    for r in range(repeats):
        order = (("ours", ours), ("theirs", theirs)) if r % 2 == 0 else (("theirs", theirs), ("ours", ours))
        for name, fn in order:
            times[name].append(_timed(fn, iters))
    return statistics.median(times["ours"]), statistics.median(times["theirs"])


def time_convlstm2d(args: argparse.Namespace) -> tuple[float, float, str]:
    import keras

    from lstmkit.keras import layers

    shape = (args.batch, args.frames, args.size, args.size, args.channels)
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    kw = dict(filters=args.filters, kernel_size=3, padding="same", return_sequences=True)
    theirs, ours = keras.layers.ConvLSTM2D(**kw), layers.ConvLSTM2D(**kw)
    theirs(x)
    ours(x)
    ours.set_weights(theirs.get_weights())
    x_ours = torch.from_numpy(x).requires_grad_()
    x_theirs = torch.from_numpy(x).requires_grad_()
    with torch.no_grad():
        diff = np.abs(keras.ops.convert_to_numpy(theirs(x)) - ours(x).numpy()).max()
    if diff > 1e-4:
        raise SystemExit(f"convlstm2d: lstmkit and Keras disagree by {diff:.2e}; not timing different computations")

    def ours_pass() -> None:
        ours(x_ours).square().sum().backward()

    def theirs_pass() -> None:
        theirs(x_theirs).square().sum().backward()

    ms_ours, ms_theirs = _interleaved(ours_pass, theirs_pass, args.repeats, args.iters)
    frames = f"{args.frames} frames of {args.size}x{args.size}x{args.channels}"
    return ms_ours, ms_theirs, f"batch {args.batch}, {frames}, {args.filters} filters, kernel 3, same"


def _minimal_cell(lib):
    """The Keras docs' ``MinimalRNNCell`` (``h = tanh(x K + h_prev R)``), written once with
    ``lib.ops`` so that the same code is the user cell on both sides."""

    class MinimalRNNCell(lib.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform",
                                          name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), initializer="orthogonal",
                                                    name="recurrent_kernel")

        def call(self, inputs, states):
            prev = states[0]
            output = lib.ops.tanh(lib.ops.matmul(inputs, self.kernel) + lib.ops.matmul(prev, self.recurrent_kernel))
            return output, [output]

    return MinimalRNNCell


def time_rnn_user_cell(args: argparse.Namespace) -> tuple[float, float, str] | None:
    """``RNN(MinimalRNNCell(units), return_sequences=True)`` forward + backward: a user cell runs
    in a Python loop over the steps on both sides (no fused kernel applies to it)."""
    import keras

    from lstmkit import keras as lk

    shape = (args.rnn_batch, args.timesteps, args.features)
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    theirs = keras.layers.RNN(_minimal_cell(keras)(args.units), return_sequences=True)
    ours = lk.layers.RNN(_minimal_cell(lk)(args.units), return_sequences=True)
    theirs(x)
    ours(x)
    ours.set_weights(theirs.get_weights())
    x_ours = torch.from_numpy(x).requires_grad_()
    x_theirs = torch.from_numpy(x).requires_grad_()
    with torch.no_grad():
        diff = np.abs(keras.ops.convert_to_numpy(theirs(x)) - ours(x).numpy()).max()
    if diff > 1e-4:
        raise SystemExit(f"rnn_user_cell: lstmkit and Keras disagree by {diff:.2e}; not timing different computations")

    def ours_pass() -> None:
        ours(x_ours).square().sum().backward()

    def theirs_pass() -> None:
        theirs(x_theirs).square().sum().backward()

    ms_ours, ms_theirs = _interleaved(ours_pass, theirs_pass, args.repeats, args.iters)
    return ms_ours, ms_theirs, f"batch {args.rnn_batch}, {args.timesteps} steps of {args.features}, {args.units} units"


CASES: dict[str, Callable[[argparse.Namespace], tuple[float, float, str] | None]] = {
    "convlstm2d": time_convlstm2d,
    "rnn_user_cell": time_rnn_user_cell,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="interleaved rounds (default 7)")
    parser.add_argument("--iters", type=int, default=5, help="passes per round and side (default 5)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--only", choices=sorted(CASES), action="append", help="run only these cases")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--filters", type=int, default=16)
    parser.add_argument("--rnn-batch", type=int, default=32, help="rnn_user_cell: batch (default 32)")
    parser.add_argument("--timesteps", type=int, default=50, help="rnn_user_cell: steps (default 50)")
    parser.add_argument("--features", type=int, default=16, help="rnn_user_cell: input features (default 16)")
    parser.add_argument("--units", type=int, default=32, help="rnn_user_cell: cell units (default 32)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    import keras

    print(f"torch {torch.__version__}, keras {keras.__version__} ({keras.backend.backend()}), "
          f"{torch.get_num_threads()} threads, median of {args.repeats} rounds x {args.iters} passes")
    print(f"{'case':<14} {'lstmkit ms':>11} {'Keras 3 ms':>11} {'Keras/lstmkit':>14}  shapes")
    for name in args.only or list(CASES):
        result = CASES[name](args)
        if result is None:
            print(f"{name:<14} {'pending':>11}")
            continue
        ours, theirs, what = result
        print(f"{name:<14} {ours:>11.2f} {theirs:>11.2f} {theirs / ours:>13.2f}x  {what}")


if __name__ == "__main__":
    main()
