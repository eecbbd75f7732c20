"""How much time does ``lstmkit.keras`` ``model.fit`` add per batch over a hand-written torch loop?

Both run the same work: a Dense(64, relu) -> Dense(1) model on random data (batch 32, several
hundred batches per epoch), mean-squared-error loss, Adam (Keras defaults: lr 1e-3, eps 1e-7).
The torch loop slices pre-converted tensors, does forward, loss, zero_grad, backward and
``optimizer.step()``; ``fit(..., verbose=0, shuffle=False)`` does the same plus its bookkeeping
(loss tracking, NaN check, callbacks, data adapter). The difference per batch is the framework
overhead. Runs are interleaved (fit, torch, fit, torch, ...) and the median of the repeats is
reported, with torch's thread count fixed and printed.

Usage::

    python bench/bench_fit_overhead.py [--batches 600] [--repeats 7] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch


def make_data(batches: int, batch_size: int, features: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batches * batch_size, features)).astype("float32")
    y = (x[:, :1] * 0.5 + rng.standard_normal((x.shape[0], 1)).astype("float32") * 0.1).astype("float32")
    return x, y


def keras_model(features: int):
    from lstmkit.keras import layers, models, optimizers

    model = models.Sequential([layers.Input((features,)), layers.Dense(64, activation="relu"), layers.Dense(1)])
    model.compile(optimizer=optimizers.Adam(learning_rate=1e-3), loss="mse")
    return model


def time_fit(model, x: np.ndarray, y: np.ndarray, batch_size: int) -> float:
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0, shuffle=False)
    return time.perf_counter() - start


def torch_loop(features: int):
    net = torch.nn.Sequential(torch.nn.Linear(features, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    return net, opt


def time_torch(net, opt, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> float:
    start = time.perf_counter()
    net.train()
    for i in range(0, x.shape[0], batch_size):
        xb, yb = x[i:i + batch_size], y[i:i + batch_size]
        loss = torch.nn.functional.mse_loss(net(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    float(loss.detach())  # read the last loss, as fit does at the end of an epoch
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=600)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--features", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x, y = make_data(args.batches, args.batch_size, args.features)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    model = keras_model(args.features)
    net, opt = torch_loop(args.features)
    time_fit(model, x[:256], y[:256], args.batch_size)  # warm-up (builds the optimizer)
    time_torch(net, opt, xt[:256], yt[:256], args.batch_size)
    fit_times, torch_times = [], []
    for _ in range(args.repeats):
        fit_times.append(time_fit(model, x, y, args.batch_size))
        torch_times.append(time_torch(net, opt, xt, yt, args.batch_size))
    n = args.batches
    fit_ms = statistics.median(fit_times) / n * 1e3
    torch_ms = statistics.median(torch_times) / n * 1e3
    print(f"torch {torch.__version__}, threads={torch.get_num_threads()}, batches/epoch={n}, "
          f"batch={args.batch_size}, features={args.features}, repeats={args.repeats} (median)")
    print("| loop | ms / batch |")
    print("|---|---|")
    print(f"| lstmkit.keras fit(verbose=0) | {fit_ms:.4f} |")
    print(f"| hand-written torch loop | {torch_ms:.4f} |")
    print(f"| overhead (difference) | {fit_ms - torch_ms:.4f} |")


if __name__ == "__main__":
    main()
