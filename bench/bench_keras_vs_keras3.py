"""The seed deck's models trained with lstmkit.keras vs Keras 3 (torch backend) vs a plain torch
loop: milliseconds per training batch (forward, backward, Adam step), same shapes and data.

Models (T=50, batch 32, 1 feature, MSE, Adam): slide 1 LSTM(64) -> Dense(1); slide 10
LSTM(64, seq) -> LSTM(32, seq) -> LSTM(16) -> Dense(1); slide 7 Bi(LSTM(64, seq)) -> Bi(LSTM(32))
-> Dense(1). Each implementation runs `--epochs` epochs of `--batches` batches (first epoch is
warm-up), interleaved over `--repeats` rounds; the median per-batch time is reported.

Usage::

    KERAS_BACKEND=torch python bench/bench_keras_vs_keras3.py [--batches 40] [--repeats 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402
import torch  # noqa: E402

T, B = 50, 32


def build(lib, name: str):
    L = lib.layers
    if name == "slide1":
        layers = [L.Input((T, 1)), L.LSTM(64), L.Dense(1)]
    elif name == "slide10":
        layers = [L.Input((T, 1)), L.LSTM(64, return_sequences=True), L.LSTM(32, return_sequences=True),
                  L.LSTM(16), L.Dense(1)]
    else:
        layers = [L.Input((T, 1)), L.Bidirectional(L.LSTM(64, return_sequences=True)),
                  L.Bidirectional(L.LSTM(32)), L.Dense(1)]
    model = lib.models.Sequential(layers)
    model.compile(optimizer="adam", loss="mse")
    return model


def torch_model(name: str) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            if name == "slide1":
                self.rnns = torch.nn.ModuleList([torch.nn.LSTM(1, 64, batch_first=True)])
                out = 64
            elif name == "slide10":
                self.rnns = torch.nn.ModuleList([torch.nn.LSTM(i, h, batch_first=True)
                                                 for i, h in ((1, 64), (64, 32), (32, 16))])
                out = 16
            else:
                self.rnns = torch.nn.ModuleList([torch.nn.LSTM(1, 64, batch_first=True, bidirectional=True),
                                                 torch.nn.LSTM(128, 32, batch_first=True, bidirectional=True)])
                out = 64
            self.head = torch.nn.Linear(out, 1)

        def forward(self, x):
            for rnn in self.rnns:
                x, (h, _) = rnn(x)
            last = torch.cat([h[0], h[1]], -1) if h.shape[0] == 2 else h[-1]
            return self.head(last)

    net = Net()
    return net, torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)


def time_fit(model, x, y, epochs: int) -> float:
    start = None
    for epoch in range(epochs):
        if epoch == 1:
            start = time.perf_counter()
        model.fit(x, y, batch_size=B, epochs=1, verbose=0, shuffle=False)
    return (time.perf_counter() - start) / ((epochs - 1) * (len(x) // B)) * 1e3


def time_torch(net, opt, x, y, epochs: int) -> float:
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    n = len(x) // B
    start = None
    for epoch in range(epochs):
        if epoch == 1:
            start = time.perf_counter()
        for k in range(n):
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(net(xt[k * B:(k + 1) * B]), yt[k * B:(k + 1) * B])
            loss.backward()
            opt.step()
    return (time.perf_counter() - start) / ((epochs - 1) * n) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import keras

    import lstmkit.keras as lk

    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.batches * B, T, 1)).astype("float32")
    y = rng.standard_normal((args.batches * B, 1)).astype("float32")
    print(f"torch {torch.__version__}, keras {keras.__version__}, threads {torch.get_num_threads()}, "
          f"T={T}, batch={B}, {args.batches} batches/epoch, median of {args.repeats}")
    print("| model | lstmkit.keras ms/batch | Keras 3 (torch) ms/batch | plain torch ms/batch | Keras 3 / lstmkit |")
    print("|---|---|---|---|---|")
    for name in ("slide1", "slide10", "slide7"):
        ours, theirs = build(lk, name), build(keras, name)
        net, opt = torch_model(name)
        times = {"ours": [], "keras": [], "torch": []}
        for _ in range(args.repeats):
            times["ours"].append(time_fit(ours, x, y, args.epochs))
            times["keras"].append(time_fit(theirs, x, y, args.epochs))
            times["torch"].append(time_torch(net, opt, x, y, args.epochs))
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"| {name} | {med['ours']:.2f} | {med['keras']:.2f} | {med['torch']:.2f} | "
              f"{med['keras'] / med['ours']:.1f}x |")


if __name__ == "__main__":
    main()
