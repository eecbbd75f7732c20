"""Streaming and batch-1 inference: ``LSTM.step`` / ``GRU.step``, whole batch-1 sequences, and
characters per second of the text generator, against torch.nn and a Keras-style loop.

Rows (same weights, one process, interleaved round by round, median of the repeats; the
physical FMA peak is measured first, ``lstmkit/csrc/peak.cpp``):

- step: 100 steps of a 2x256 stack (input 64) at batch 1, one call per step: torch.nn module
  called on a length-1 sequence (the usual generation loop), lstmkit's ``forward`` on a
  length-1 sequence, lstmkit's ``step``. Floor (issue 18): step >= 2.5x torch.nn.
- latency: the suite's batch-1 shape (100, 1, 64, 256), whole sequence, inference:
  ``backend="auto"`` (the streaming kernel) vs torch.nn. Floor: >= 2x.
- textgen: 200 sampled characters from a 2x256 CharLSTM (vocabulary 65, embedding 64):
  ``lstmkit.apps.textgen.sample`` (the step API), the same sampler on a torch.nn.LSTM step loop,
  and the deck's slide-12 loop (an ``lstmkit.keras`` model's ``predict`` on the last 40
  characters, one-hot, per character).

Usage::

    .venv/bin/python bench/bench_stream.py [--repeats 9] [--warmup 2] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as H  # noqa: E402

import lstmkit.nn as lnn  # noqa: E402
from lstmkit.kernels import stream  # noqa: E402

STEPS, IN, HID, LAYERS = 100, 64, 256, 2
FLOORS = {"step": 2.5, "latency": 2.0}


def _pair(family: str, layers: int):
    torch.manual_seed(0)
    ref = getattr(torch.nn, family)(IN, HID, num_layers=layers).eval()
    ours = getattr(lnn, family)(IN, HID, num_layers=layers).eval()
    ours.load_state_dict(ref.state_dict())
    return ours, ref


def step_builders(family: str) -> dict[str, object]:
    ours, ref = _pair(family, LAYERS)
    xs = torch.randn(STEPS, 1, IN)

    def loop(call):
        def run():
            with torch.inference_mode():
                state = None
                for t in range(STEPS):
                    _, state = call(t, state)
        return run

    return {"torch.nn per step": lambda: H.Bench(loop(lambda t, s: ref(xs[t:t + 1], s))),
            "lstmkit forward per step": lambda: H.Bench(loop(lambda t, s: ours(xs[t:t + 1], s))),
            "lstmkit step": lambda: H.Bench(loop(lambda t, s: ours.step(xs[t], s)))}


def latency_builders(family: str) -> dict[str, object]:
    ours, ref = _pair(family, 1)
    x = torch.randn(STEPS, 1, IN)

    def run(m):
        def go():
            with torch.inference_mode():
                m(x)
        return go

    return {"torch.nn": lambda: H.Bench(run(ref)), "lstmkit auto": lambda: H.Bench(run(ours))}


def textgen_builders(chars: int, window: int = 40) -> dict[str, object]:
    from lstmkit.apps.textgen.model import CharLSTM
    from lstmkit.apps.textgen.sample import shape_distribution
    from lstmkit.keras.layers import LSTM, Dense
    from lstmkit.keras.models import Sequential

    vocab = 65
    torch.manual_seed(0)
    model = CharLSTM(vocab, layers=LAYERS, units=HID, embed_dim=64).eval()
    ref_lstm = torch.nn.LSTM(64, HID, num_layers=LAYERS, batch_first=True).eval()
    ref_lstm.load_state_dict(model.lstm.state_dict())

    def sampler(step):
        def run():
            rng = np.random.default_rng(0)
            with torch.inference_mode(), model.score_kernels():  # float32 scoring, as sample() runs
                current, state = 0, None
                for _ in range(chars):
                    logits, state = step(torch.tensor([current]), state)
                    current = int(rng.choice(vocab, p=shape_distribution(logits[0].double().numpy())))
        return run

    def torch_step(ids, state):
        out, state = ref_lstm(model.embed(ids)[:, None], state)
        return model.head(out[:, 0]), state

    keras = Sequential([LSTM(HID, return_sequences=True, input_shape=(window, vocab)), LSTM(HID),
                        Dense(vocab, activation="softmax")])

    def keras_loop():
        rng = np.random.default_rng(0)
        text = list(rng.integers(0, vocab, window))
        for _ in range(chars):
            x = np.zeros((1, window, vocab), dtype="float32")
            x[0, np.arange(window), text[-window:]] = 1.0
            probs = keras.predict(x, verbose=0)[0].astype("float64")
            text.append(int(rng.choice(vocab, p=probs / probs.sum())))

    return {"lstmkit sample (step)": lambda: H.Bench(sampler(model.step)),
            "torch.nn step loop": lambda: H.Bench(sampler(torch_step)),
            "Keras-style predict per char": lambda: H.Bench(keras_loop, max_repeats=3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--chars", type=int, default=200)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    peak = {t: stream.peak_gflops(0.3, t) for t in sorted({1, args.threads})}
    print("- physical peak (FMA chains, lstmkit/csrc/peak.cpp): " + "; ".join(
        f"{t} thread(s): fp32 {p[0]:.1f} GFLOP/s, bf16 dot {p[1]:.1f} GFLOP/s" for t, p in peak.items()))
    print(f"- threads: {args.threads}; repeats: {args.repeats} (median), interleaved")
    print()
    print("| family | row | implementation | median ms | per step / char us | vs torch.nn | GFLOP/s | % fp32 peak "
          "| floor |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
    fp32_peak = peak[args.threads][0]
    for family in ("LSTM", "GRU"):
        for row, builders, layers, base in (("step", step_builders(family), LAYERS, "torch.nn per step"),
                                            ("latency", latency_builders(family), 1, "torch.nn")):
            stats = H.measure(f"{family} {row}", builders, args.repeats, args.warmup)
            flop = H.rnn_flops(family, "inference", STEPS, 1, IN, HID) + \
                (layers - 1) * H.rnn_flops(family, "inference", STEPS, 1, HID, HID)
            for name, st in stats.items():
                ms = st.get("median_ms")
                r = H.ratio(stats[base].get("median_ms"), ms)
                g = H.gflops(flop, ms)
                pct = H.pct_of_peak(g, fp32_peak)
                floor = ""
                if name in ("lstmkit step", "lstmkit auto") and r is not None:
                    f = FLOORS[row]
                    floor = f">= {f}x: {'PASS' if r >= f else 'FAIL'}"
                print(f"| {family} | {row} | {name} | {ms:.3f} | {1e3 * ms / STEPS:.1f} | "
                      f"{r:.2f}x | {g:.1f} | {pct:.1f} | {floor} |" if ms is not None else
                      f"| {family} | {row} | {name} | {st['status']} | | | | | |")
    stats = H.measure("textgen", textgen_builders(args.chars), args.repeats, args.warmup)
    print()
    print(f"| textgen ({args.chars} characters, 2x256) | median ms | characters / s | vs torch.nn step loop |")
    print("| --- | ---: | ---: | ---: |")
    base = stats["torch.nn step loop"].get("median_ms")
    for name, st in stats.items():
        ms = st.get("median_ms")
        if ms is None:
            print(f"| {name} | {st['status']} | | |")
            continue
        print(f"| {name} | {ms:.1f} | {args.chars / (ms / 1e3):.0f} | {H.ratio(base, ms):.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
