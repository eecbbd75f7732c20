"""The recurrent-kernel benchmark suite: lstmkit's fused kernels and its plain-torch loop against
torch.nn.LSTM / torch.nn.GRU and Keras 3 (torch backend), at the shapes the project is judged on.

Why one command: the fused C++ kernels have speed targets relative to torch.nn *on the same machine
at the same moment*, so every implementation is timed in one process, interleaved round by round
(A B C D, then D C B A, ...), median of the repeats after warm-up. Results go to
``bench/results/suite.json`` and to a marked section of ``BENCHMARKS.md`` (the rest of that file is
left alone). The timing machinery lives in ``bench/_harness.py``, the output in ``bench/_report.py``.

Usage::

    .venv/bin/python bench/suite.py [--repeats 7] [--warmup 2] [--threads 2] [--quick]
        [--only forecast,latency] [--no-keras] [--json PATH] [--markdown PATH] [--no-write]
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

try:  # imported as part of a package (tests load it by path) or run as `python bench/suite.py`
    from . import _harness as H
    from . import _report as R
    from ._impls import Grads, Shape, fused_status, keras_bench, load_keras, lstmkit_module, torch_bench
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import _harness as H  # type: ignore[no-redef]
    import _report as R  # type: ignore[no-redef]
    from _impls import Grads, Shape, fused_status, keras_bench, load_keras, lstmkit_module, torch_bench  # type: ignore[no-redef]


SHAPES: dict[str, Shape] = {
    "forecast": Shape(50, 32, 1, 64), "sentiment": Shape(200, 32, 100, 128), "char-rnn": Shape(100, 64, 64, 256),
    "fastrnns": Shape(100, 64, 512, 512), "deepbench-s": Shape(25, 16, 512, 512),
    "deepbench-l": Shape(150, 32, 256, 256), "latency": Shape(100, 1, 64, 256),
}  # fmt: skip
QUICK_SHAPES = ("forecast", "latency", "char-rnn")
VARIANT_SHAPES = ("forecast", "char-rnn")
BF16_SHAPES = ("char-rnn", "fastrnns")
BF16_TARGET = 2.0  # bf16 training: torch.nn.LSTM (fp32) time / fused bf16 time
GEMM_N = 2048  # the GEMM-peak matmul is GEMM_N x GEMM_N @ GEMM_N x GEMM_N
FAMILIES = ("LSTM", "GRU")
MODES = ("training", "inference")
# Fused vs torch.nn speed (nn time / fused time) the fused kernels must reach; deepbench: report only.
RATIO_TARGETS = {
    "training": {"forecast": 2.0, "latency": 2.0, "sentiment": 1.6, "char-rnn": 1.3, "fastrnns": 1.3},
    "inference": {"forecast": 2.0, "latency": 2.0, "sentiment": 1.2, "char-rnn": 1.0, "fastrnns": 1.0},
}
PEAK_TARGETS = {("training", "fastrnns"): 70.0}  # % of the measured fp32 GEMM peak
VARIANT_SPEEDUP_TARGET, VARIANT_OVERHEAD_TARGET = 3.0, 1.3
FUSED, LOOP, KERAS = "lstmkit fused", "lstmkit torch loop", "Keras 3"


@dataclass
class Config:
    """One row of the variants table: constructor extras, whether to call with lengths=, and how many
    layer-directions of work it does (the relative time is reported per layer-direction)."""

    name: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    lengths: bool = False
    work: int = 1


LSTM_CONFIGS = (
    Config("plain", {"variant": "lstm"}), Config("peepholes", {"peepholes": True}),
    Config("cifg", {"variant": "cifg"}), Config("vanilla (Greff, peepholes)", {"variant": "vanilla"}),
    *(Config(v, {"variant": v}) for v in ("nig", "nfg", "nog", "niaf", "noaf", "fgr")),
    Config("layer_norm", {"layer_norm": True}), Config("recurrent_dropout=0.25", {"recurrent_dropout": 0.25}),
    Config("zoneout=0.1", {"zoneout": 0.1}), Config("masks (lengths=)", lengths=True),
    Config("bidirectional", {"bidirectional": True}, work=2), Config("num_layers=2", {"num_layers": 2}, work=2),
)  # fmt: skip
GRU_CONFIGS = (Config("plain"), Config("layer_norm", {"layer_norm": True}), Config("gru_cho", {"variant": "gru_cho"}))


# ---------------------------------------------------------------------------------------------- the three tables
@dataclass
class Context:
    repeats: int
    warmup: int
    fused_ok: bool
    keras: Any
    keras_note: str
    peak_gflops: float | None


def compare_main(family: str, mode: str, name: str, shape: Shape, ctx: Context) -> list[dict[str, Any]]:
    torch.manual_seed(0)
    x = torch.randn(shape.T, shape.B, shape.I).requires_grad_(mode == "training")
    grads = Grads()
    nn_name = f"torch.nn.{family}"
    nn_cls = torch.nn.LSTM if family == "LSTM" else torch.nn.GRU
    builders: dict[str, Callable[[], H.Bench] | str] = {
        FUSED: (lambda: torch_bench(lstmkit_module(family, shape, "fused"), x, mode, grads))
        if ctx.fused_ok else "not built",
        LOOP: lambda: torch_bench(lstmkit_module(family, shape, "reference"), x, mode, grads),
        nn_name: lambda: torch_bench(nn_cls(shape.I, shape.H), x, mode, grads),
        KERAS: (lambda: keras_bench(ctx.keras, family, shape, x, mode, grads)) if ctx.keras else ctx.keras_note,
    }
    res = H.measure(f"{family} {mode} {name}", builders, ctx.repeats, ctx.warmup)
    flop = H.rnn_flops(family, mode, *shape)
    base = res[nn_name].get("median_ms")
    rows = []
    for impl, r in res.items():
        g = H.gflops(flop, r.get("median_ms"))
        row = {"family": family, "mode": mode, "shape": name, **shape._asdict(), "impl": impl,
               "status": r["status"], "median_ms": r.get("median_ms"), "min_ms": r.get("min_ms"),
               "times_ms": r.get("times_ms", []), "noisy": r.get("noisy", False),
               "ratio_vs_torch": H.ratio(base, r.get("median_ms")),
               "flop": flop, "gflops": g, "pct_peak": H.pct_of_peak(g, ctx.peak_gflops), "target": None}
        if impl == FUSED:
            base_pct = H.pct_of_peak(H.gflops(flop, base), ctx.peak_gflops)
            row["target"] = targets_for(mode, name, row["ratio_vs_torch"], row["pct_peak"], base_pct)
        rows.append(row)
    return rows


def targets_for(mode: str, shape: str, ratio: float | None, pct: float | None,
                torch_pct: float | None = None) -> dict[str, Any] | None:
    """The fused kernels' targets at this (mode, shape) and whether this run met them (None: unmeasured).

    ``torch_pct`` (torch.nn's % of the GEMM peak) gives ``needs_pct_peak``: the share of this
    machine's measured peak at which the ratio floor is met (over 100: the whole call would have
    to outrun a large square torch.mm).
    """
    min_ratio, min_pct = RATIO_TARGETS.get(mode, {}).get(shape), PEAK_TARGETS.get((mode, shape))
    if min_ratio is None and min_pct is None:
        return None
    t: dict[str, Any] = {"min_ratio": min_ratio, "min_pct_peak": min_pct}
    t["needs_pct_peak"] = None if min_ratio is None or torch_pct is None else min_ratio * torch_pct
    t["ratio_pass"] = None if min_ratio is None or ratio is None else ratio >= min_ratio
    t["peak_pass"] = None if min_pct is None or pct is None else pct >= min_pct
    return t


def compare_config(family: str, name: str, shape: Shape, cfg: Config, ctx: Context) -> dict[str, Any]:
    torch.manual_seed(0)
    x = torch.randn(shape.T, shape.B, shape.I, requires_grad=True)
    low = math.ceil(shape.T / 2)
    call = {"lengths": torch.randint(low, shape.T + 1, (shape.B,))} if cfg.lengths else {}
    grads = Grads()

    def build(backend: str, c: Config) -> Callable[[], H.Bench]:
        return lambda: torch_bench(lstmkit_module(family, shape, backend, **c.kwargs), x, "training", grads, **call)

    builders: dict[str, Callable[[], H.Bench] | str] = {}
    if ctx.fused_ok and cfg.name != "plain":
        builders["fused plain"] = lambda: torch_bench(lstmkit_module(family, shape, "fused"), x, "training", grads)
    builders["fused"] = build("fused", cfg) if ctx.fused_ok else "not built"
    builders["loop"] = build("reference", cfg)
    res = H.measure(f"variants {family} {name} {cfg.name}", builders, ctx.repeats, ctx.warmup)
    fused, loop = res["fused"].get("median_ms"), res["loop"].get("median_ms")
    plain = res["fused plain"].get("median_ms") if "fused plain" in res else fused
    speedup = H.ratio(loop, fused)
    rel = None if fused is None or not plain else fused / plain / cfg.work
    ok = None if speedup is None or rel is None else (
        speedup >= VARIANT_SPEEDUP_TARGET and rel <= VARIANT_OVERHEAD_TARGET)
    return {"family": family, "shape": name, "config": cfg.name, "kwargs": dict(cfg.kwargs),
            "lengths": cfg.lengths, "fused_ms": fused, "fused_status": res["fused"]["status"], "loop_ms": loop,
            "loop_status": res["loop"]["status"], "speedup": speedup, "rel_plain": rel,
            "per_layer_direction": cfg.work > 1, "pass": ok,
            "noisy": any(r.get("noisy", False) for r in res.values())}


def compare_bf16(name: str, shape: Shape, ctx: Context) -> dict[str, Any]:
    """bf16 matmul mode vs fp32 fused (same weights and input): speed, and what it costs in accuracy."""
    torch.manual_seed(0)
    m32 = lstmkit_module("LSTM", shape, "fused")
    m16 = lstmkit_module("LSTM", shape, "fused", matmul_precision="bf16")
    m16.load_state_dict(m32.state_dict())
    x = torch.randn(shape.T, shape.B, shape.I, requires_grad=True)
    grads = Grads()
    outs, wgrads = [], []
    for m in (m32, m16):
        m.zero_grad(set_to_none=True)
        out = m(x)[0]
        (out * grads(out.shape)).sum().backward()
        outs.append(out.detach())
        wgrads.append({k: p.grad for k, p in m.named_parameters()})
    out_diff = (outs[0] - outs[1]).abs().max().item()
    grad_diff = max((wgrads[0][k] - wgrads[1][k]).abs().max().item() for k in wgrads[0])
    res = H.measure(f"bf16 LSTM training {name}", {
        "torch.nn.LSTM": lambda: torch_bench(torch.nn.LSTM(shape.I, shape.H), x, "training", grads),
        "fused fp32": lambda: torch_bench(m32, x, "training", grads),
        "fused bf16": lambda: torch_bench(m16, x, "training", grads),
    }, ctx.repeats, ctx.warmup)
    ms = {k: v.get("median_ms") for k, v in res.items()}
    ratio = H.ratio(ms["torch.nn.LSTM"], ms["fused bf16"])
    return {"shape": name, "bf16_ms": ms["fused bf16"], "fp32_ms": ms["fused fp32"], "nn_ms": ms["torch.nn.LSTM"],
            "ratio_vs_torch": ratio, "target_pass": None if ratio is None else ratio >= BF16_TARGET,
            "max_abs_diff_output": out_diff, "max_abs_diff_weight_grad": grad_diff}


def bf16_table(names: Sequence[str], shapes: dict[str, Shape], ctx: Context) -> dict[str, Any]:
    if not names:
        return {"status": "skipped: no bf16 shape selected", "rows": []}
    if not ctx.fused_ok:
        return {"status": "skipped: fused kernels not built", "rows": []}
    try:
        lstmkit_module("LSTM", Shape(2, 1, 1, 2), "fused", matmul_precision="bf16")
    except TypeError as exc:
        return {"status": f"skipped: matmul_precision not accepted ({exc})", "rows": []}
    rows = []
    for n in names:
        try:
            rows.append(compare_bf16(n, shapes[n], ctx))
        except Exception as exc:  # noqa: BLE001 - recorded, the rest of the suite still runs
            rows.append({"shape": n, "error": f"{type(exc).__name__}: {exc}"})
    return {"status": "measured", "rows": rows}


# ---------------------------------------------------------------------------------------------- entry points
def run_suite(
    *, shapes: dict[str, Shape] | None = None, only: Sequence[str] | None = None,
    families: Sequence[str] = FAMILIES, modes: Sequence[str] = MODES, repeats: int = 7, warmup: int = 2,
    threads: int = 2, keras: bool = True, variant_shapes: Sequence[str] | None = None,
    bf16_shapes: Sequence[str] | None = None, gemm_n: int | None = None, command: str = "",
) -> dict[str, Any]:  # fmt: skip
    """Run the suite and return the result dict (what goes to the JSON file). ``shapes``, the shape
    lists and ``gemm_n`` (None: the module's SHAPES, VARIANT_SHAPES, BF16_SHAPES, GEMM_N, read at call
    time) let tests run it end to end on tiny shapes in seconds."""
    start = time.perf_counter()
    shapes = dict(SHAPES if shapes is None else shapes)
    variant_shapes = VARIANT_SHAPES if variant_shapes is None else variant_shapes
    bf16_shapes = BF16_SHAPES if bf16_shapes is None else bf16_shapes
    gemm_n = GEMM_N if gemm_n is None else gemm_n
    selected = [n for n in shapes if only is None or n in only]
    torch.set_num_threads(threads)
    H.print_err(f"torch threads: {torch.get_num_threads()}")
    fused_ok, fused_note = fused_status()
    keras_mod, keras_note = load_keras() if keras else (None, "skipped (--no-keras)")
    peak = H.gemm_peak(torch.float32, n=gemm_n)
    H.print_err(f"fp32 GEMM peak: {peak['gflops']:.1f} GFLOP/s ({gemm_n}^3 torch.mm, median of 5)")
    try:  # information only; one timed call if bf16 matmul is emulated and slow
        peak_bf16: dict[str, Any] = H.gemm_peak(torch.bfloat16, n=gemm_n, slow_ms=2000.0)
        H.print_err(f"bf16 GEMM peak: {peak_bf16['gflops']:.1f} GFLOP/s (for information)")
    except RuntimeError as exc:
        peak_bf16 = {"error": f"{type(exc).__name__}: {exc}"}
    ctx = Context(repeats, warmup, fused_ok, keras_mod, keras_note, peak["gflops"])
    main = [row for family in families for mode in modes for n in selected
            for row in compare_main(family, mode, n, shapes[n], ctx)]
    variants = [compare_config(family, n, shapes[n], cfg, ctx) for n in variant_shapes if n in selected
                for family, configs in (("LSTM", LSTM_CONFIGS), ("GRU", GRU_CONFIGS)) if family in families
                for cfg in configs]
    bf16 = bf16_table([n for n in bf16_shapes if n in selected], shapes, ctx)
    return {
        "schema": "lstmkit-kernel-suite/1",
        "machine": H.machine_info(fused_note, command),
        "settings": {"repeats": repeats, "warmup": warmup, "threads": threads, "shapes": selected,
                     "keras": keras_note, "interleaving": "A B C D, then D C B A, per round"},
        "gemm_peak": {"fp32": peak, "bf16": peak_bf16},
        "flop_model": H.FLOP_MODEL,
        "targets": {"ratio_vs_torch": RATIO_TARGETS,
                    "pct_peak": {f"{m}/{n}": v for (m, n), v in PEAK_TARGETS.items()},
                    "bf16_ratio_vs_torch": BF16_TARGET,
                    "variants": {"min_speedup_vs_loop": VARIANT_SPEEDUP_TARGET,
                                 "max_rel_plain": VARIANT_OVERHEAD_TARGET}},
        "main": main,
        "variants": variants,
        "bf16": bf16,
        "elapsed_s": time.perf_counter() - start,
    }


def _csv(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in SHAPES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown shape(s) {unknown}; choose from {', '.join(SHAPES)}")
    return names


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    root = Path(__file__).resolve().parent
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--repeats", type=int, default=None, help="timed rounds, >= 5 (default 7; --quick: 5)")
    p.add_argument("--warmup", type=int, default=None, help="untimed rounds first (default 2; --quick: 1)")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    p.add_argument("--quick", action="store_true", help="repeats 5, warmup 1, shapes " + ",".join(QUICK_SHAPES))
    p.add_argument("--only", type=_csv, default=None, help="comma-separated shapes: " + ",".join(SHAPES))
    p.add_argument("--no-keras", action="store_true", help="leave out the Keras 3 column")
    p.add_argument("--json", type=Path, default=root / "results" / "suite.json")
    p.add_argument("--markdown", type=Path, default=root.parent / "BENCHMARKS.md")
    p.add_argument("--no-write", action="store_true", help="print only; write neither file")
    args = p.parse_args(argv)
    args.repeats = args.repeats if args.repeats is not None else (5 if args.quick else 7)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.quick else 2)
    if args.only is None and args.quick:
        args.only = list(QUICK_SHAPES)
    if args.repeats < 5:
        p.error("--repeats must be >= 5 (the medians need at least 5 runs)")
    if args.warmup < 0 or args.threads < 1:
        p.error("--warmup must be >= 0 and --threads >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    exe = sys.executable
    rel = os.path.relpath(exe) if exe.startswith(os.getcwd() + os.sep) else exe
    command = shlex.join([rel, *(sys.argv if argv is None else [sys.argv[0], *argv])])
    result = run_suite(only=args.only, repeats=args.repeats, warmup=args.warmup, threads=args.threads,
                       keras=not args.no_keras, command=command)
    section = R.render_section(result)
    print(section)
    if not args.no_write:
        R.write_json_atomic(args.json, result)
        try:
            R.update_markdown(args.markdown, section)
        except ValueError as exc:  # unpaired markers: the file is left as it was
            H.print_err(f"wrote {args.json}; did not update {args.markdown}: {exc}")
            return 2
        H.print_err(f"wrote {args.json} and the kernel-suite section of {args.markdown}")
    H.print_err(f"suite took {result['elapsed_s']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
