"""ONNX Runtime inference beside lstmkit's and torch.nn's, at the suite's shapes (bench/suite.py).

Why: ``lstmkit.export.to_onnx`` maps the plain LSTM/GRU to ONNX's own operators, so the exported
model runs on ONNX Runtime's CPU kernels; this says what that costs or gains against running it
in lstmkit (``backend="auto"``) and in torch.nn, the same weights, in one process, interleaved
round by round, median of the repeats (``bench/_harness.py``).

Usage::

    .venv/bin/python bench/bench_onnx.py [--repeats 7] [--warmup 2] [--threads 2] [--only forecast,latency]
        [--families LSTM,GRU]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as H  # noqa: E402
from suite import SHAPES  # noqa: E402

import lstmkit.nn as lnn  # noqa: E402
from lstmkit.export import to_onnx  # noqa: E402

IMPLS = ("lstmkit", "torch.nn", "ONNX Runtime")


def builders(family: str, shape, threads: int, folder: Path) -> dict[str, object]:
    import onnxruntime as ort

    torch.manual_seed(0)
    ours = getattr(lnn, family)(shape.I, shape.H).eval()
    ref = getattr(torch.nn, family)(shape.I, shape.H).eval()
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(shape.T, shape.B, shape.I)
    path = to_onnx(ours, x, folder / f"{family}.onnx")
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed = {"input": x.numpy()}
    with torch.inference_mode():
        np.testing.assert_allclose(session.run(None, feed)[0], ours(x)[0].numpy(), rtol=1e-4, atol=1e-5)

    def run_ours():
        with torch.inference_mode():
            ours(x)

    def run_ref():
        with torch.inference_mode():
            ref(x)

    return {"lstmkit": lambda: H.Bench(run_ours), "torch.nn": lambda: H.Bench(run_ref),
            "ONNX Runtime": lambda: H.Bench(lambda: session.run(None, feed))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", default=",".join(SHAPES), help="comma-separated shape names")
    parser.add_argument("--families", default="LSTM,GRU")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for family in args.families.split(","):
            for name in args.only.split(","):
                shape = SHAPES[name]
                stats = H.measure(f"{family} {name}", builders(family, shape, args.threads, Path(tmp)),
                                  args.repeats, args.warmup)
                rows.append((family, name, shape, stats))
    print("| family | shape (T, B, I, H) | lstmkit ms | torch.nn ms | ONNX Runtime ms "
          "| lstmkit / ORT | torch.nn / ORT |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for family, name, shape, stats in rows:
        ms = [stats[i].get("median_ms") for i in IMPLS]
        cells = [f"{m:.2f}" if m is not None else stats[i]["status"] for m, i in zip(ms, IMPLS)]
        ratios = [H.ratio(m, ms[2]) for m in ms[:2]]  # > 1: ONNX Runtime is faster
        cells += [f"{r:.2f}x" if r is not None else "-" for r in ratios]
        print(f"| {family} | {name} {tuple(shape)} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
