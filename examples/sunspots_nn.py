"""lstmkit.nn in a plain torch training loop: a small LSTM forecaster on the embedded yearly
sunspot numbers, compared with a naive "next year equals this year" forecast.

For torch users: ``lstmkit.nn.LSTM`` is a drop-in ``torch.nn.LSTM``. Run it with
``.venv/bin/python examples/sunspots_nn.py [--epochs 30] [--seed 0] [--hidden 32]``.
"""

from __future__ import annotations

import argparse

import numpy as np

LOOKBACK = 20  # years of history the model sees
HOLDOUT = 30  # the last HOLDOUT years are forecast, never trained on
BATCH_SIZE = 32
LEARNING_RATE = 0.01


def _windows(series: np.ndarray, targets: range) -> tuple[np.ndarray, np.ndarray]:
    """Inputs ``series[t - LOOKBACK:t]`` (shape ``(n, LOOKBACK, 1)``) and targets ``series[t]``."""
    x = np.stack([series[t - LOOKBACK : t] for t in targets])[:, :, None]
    y = np.asarray([series[t] for t in targets])[:, None]
    return x.astype(np.float32), y.astype(np.float32)


def run_demo(epochs: int, seed: int, hidden: int) -> None:
    """Train and evaluate the sunspot forecaster, printing one line per epoch and a summary."""
    import torch

    from lstmkit.data import load_sunspots
    from lstmkit.nn import LSTM

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)

    data = load_sunspots()
    split = len(data) - HOLDOUT  # index of the first held-out year
    mean, std = data.values[:split].mean(), data.values[:split].std()
    scaled = (data.values - mean) / std
    x_train, y_train = (torch.from_numpy(a) for a in _windows(scaled, range(LOOKBACK, split)))
    x_test, y_test = (torch.from_numpy(a) for a in _windows(scaled, range(split, len(data))))
    actual = data.values[split:]

    lstm = LSTM(input_size=1, hidden_size=hidden, batch_first=True)
    head = torch.nn.Linear(hidden, 1)
    params = [*lstm.parameters(), *head.parameters()]
    optimizer = torch.optim.Adam(params, lr=LEARNING_RATE)

    def forecast(x: torch.Tensor) -> torch.Tensor:
        output, _ = lstm(x)
        return head(output[:, -1, :])

    def held_out_mae() -> float:
        with torch.no_grad():
            predicted = forecast(x_test).numpy()[:, 0].astype(np.float64) * std + mean
        return float(np.abs(predicted - actual).mean())

    print(
        f"sunspots {data.years[0]}-{data.years[-1]}: training on {len(x_train)} windows of {LOOKBACK} years, "
        f"forecasting {data.years[split]}-{data.years[-1]}; hidden={hidden}, seed={seed}"
    )
    for epoch in range(1, epochs + 1):
        lstm.train()
        head.train()
        total = 0.0
        for batch in np.array_split(rng.permutation(len(x_train)), max(1, len(x_train) // BATCH_SIZE)):
            index = torch.from_numpy(batch)
            loss = torch.nn.functional.mse_loss(forecast(x_train[index]), y_train[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        lstm.eval()
        head.eval()
        loss_text, mae_text = f"{total / len(x_train):.4f}", f"{held_out_mae():6.2f}"
        print(f"epoch {epoch:3d}/{epochs}  train loss {loss_text}  held-out MAE {mae_text}")

    naive = np.abs(data.values[split - 1 : -1] - actual).mean()
    print(
        f"held-out MAE over {data.years[split]}-{data.years[-1]} (sunspot number): "
        f"LSTM {held_out_mae():.2f}, naive last-value forecast {naive:.2f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hidden", type=int, default=32)
    args = parser.parse_args()
    run_demo(epochs=args.epochs, seed=args.seed, hidden=args.hidden)
