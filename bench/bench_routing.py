"""The measurement behind ``backend="auto"``'s routing (``lstmkit.kernels.choose_path``): at each
suite shape, mode and family, lstmkit's fused kernels, its streaming kernel (inference, batch
<= 16) and torch's own kernels, same weights, one process, interleaved, median.

Why a separate script: the routing rule must be measured, not guessed, and re-measured on a new
CPU; this prints, per row, the fastest path and torch.nn time / each path's time, which is what
the rule in ``lstmkit/kernels/__init__.py`` (``_native_is_faster``, ``_stream_is_faster``)
encodes. BENCHMARKS.md ("Routing") holds the last run.

Usage::

    .venv/bin/python bench/bench_routing.py [--repeats 7] [--warmup 2] [--threads 2] [--only forecast,latency]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as H  # noqa: E402
from suite import SHAPES  # noqa: E402

import lstmkit.nn as lnn  # noqa: E402
from lstmkit.kernels import stream  # noqa: E402


def builders(family: str, mode: str, shape) -> dict[str, object]:
    torch.manual_seed(0)
    ref = getattr(torch.nn, family)(shape.I, shape.H)
    mods = {}
    for backend in ("fused", "torch", "auto"):
        m = getattr(lnn, family)(shape.I, shape.H, backend=backend)
        m.load_state_dict(ref.state_dict())
        mods[backend] = m
    x = torch.randn(shape.T, shape.B, shape.I, requires_grad=mode == "training")
    grad = torch.randn(shape.T, shape.B, shape.H)

    def run(m):
        if mode == "training":
            def go():
                m.zero_grad(set_to_none=True)
                m(x)[0].backward(grad)
        else:
            def go():
                with torch.inference_mode():
                    m(x)
        return go

    out = {"torch.nn": lambda: H.Bench(run(ref))}
    out |= {f"lstmkit {b}": (lambda b=b: H.Bench(run(mods[b]))) for b in mods}
    if mode == "inference" and shape.B <= 16:
        packed = stream.pack([mods["fused"].layer_params(0, 0)], 4 if family == "LSTM" else 3)
        h = [torch.zeros(shape.B, shape.H)]
        c = h if family == "LSTM" else []

        def streamed():
            with torch.inference_mode():
                stream.run(x.detach(), h, c, packed, 4 if family == "LSTM" else 3)
        out["stream kernel"] = lambda: H.Bench(streamed)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", default=",".join(SHAPES))
    parser.add_argument("--families", default="LSTM,GRU")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    names = ("lstmkit fused", "lstmkit torch", "stream kernel", "lstmkit auto")
    print("| family | mode | shape (T, B, I, H) | torch.nn ms | " + " | ".join(f"torch.nn / {n}" for n in names)
          + " | fastest lstmkit path |")
    print("| --- | --- | --- | ---: | " + " | ".join("---:" for _ in names) + " | --- |")
    for family in args.families.split(","):
        for mode in ("training", "inference"):
            for name in args.only.split(","):
                shape = SHAPES[name]
                stats = H.measure(f"{family} {mode} {name}", builders(family, mode, shape), args.repeats, args.warmup)
                base = stats["torch.nn"].get("median_ms")
                ratios = {n: H.ratio(base, stats.get(n, {}).get("median_ms")) for n in names}
                best = max((n for n in names[:3] if ratios[n] is not None), key=lambda n: ratios[n])
                cells = [f"{ratios[n]:.2f}x" if ratios[n] is not None else "-" for n in names]
                print(f"| {family} | {mode} | {name} {tuple(shape)} | {base:.3f} | " + " | ".join(cells)
                      + f" | {best} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
