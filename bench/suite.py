"""The recurrent-kernel benchmark suite: lstmkit (backend="auto", its fused kernels, its plain-torch
loop) against torch.nn.LSTM / torch.nn.GRU and Keras 3 (torch backend), at the shapes the project is
judged on.

Why one command: lstmkit has speed floors relative to torch.nn *on the same machine at the same
moment* (issue 18: the "lstmkit auto" row, what users get by default), so every implementation is
timed in one process, interleaved round by round (A B C D, then D C B A, ...), median of the repeats
after warm-up. The yardstick is the CPU's physical fp32 peak, measured here by an FMA-chain
microbenchmark (per core and at the threads used; bf16 dot-product peak too where the CPU has it):
every "% peak" column is a share of it, and a failed floor shows the share of it that the floor
would need, so a floor beyond what the hardware allows is visible as such. Without the fused library
the 2048^3 torch.mm GEMM peak stands in (and the output says so); otherwise that figure is
information only. Results go to
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
BF16_TARGET = 2.5  # bf16 training: torch.nn.LSTM (fp32) time / fused bf16 time
GEMM_N = 2048  # the GEMM-peak matmul (information only) is GEMM_N x GEMM_N @ GEMM_N x GEMM_N
PEAK_SECONDS = 0.3  # per figure of the physical-peak microbenchmark
FAMILIES = ("LSTM", "GRU")
MODES = ("training", "inference")
# Issue 18's floors, torch.nn time / "lstmkit auto" time (median), LSTM and GRU alike: AUTO_FLOOR at
# every shape and mode, raised to RATIO_TARGETS where listed. The fused row is information only.
AUTO_FLOOR = 0.97
RATIO_TARGETS = {"training": {"forecast": 1.5, "sentiment": 1.4}, "inference": {"latency": 2.0}}
INFEASIBLE_PCT = 90.0  # a floor needing more than this % of the physical peak is marked as such
VARIANT_SPEEDUP_TARGET, VARIANT_OVERHEAD_TARGET = 3.0, 1.3
AUTO, FUSED, LOOP, KERAS = "lstmkit auto", "lstmkit fused", "lstmkit torch loop", "Keras 3"


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
    peak_gflops: float | None  # the yardstick: physical fp32 peak at the threads used (fallback: GEMM peak)
    bf16_peak_gflops: float | None = None  # physical bf16 dot-product peak at the threads used
    bf16_bound_gflops: float | None = None  # the largest known bf16 ceiling (see ``_harness.bf16_bound``)


def compare_main(family: str, mode: str, name: str, shape: Shape, ctx: Context) -> list[dict[str, Any]]:
    torch.manual_seed(0)
    x = torch.randn(shape.T, shape.B, shape.I).requires_grad_(mode == "training")
    grads = Grads()
    nn_name = f"torch.nn.{family}"
    nn_cls = torch.nn.LSTM if family == "LSTM" else torch.nn.GRU
    builders: dict[str, Callable[[], H.Bench] | str] = {
        AUTO: lambda: torch_bench(lstmkit_module(family, shape, "auto"), x, mode, grads),
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
    for impl in builders:  # table order: the builders', whatever ran or not
        r = res[impl]
        g = H.gflops(flop, r.get("median_ms"))
        row = {"family": family, "mode": mode, "shape": name, **shape._asdict(), "impl": impl,
               "status": r["status"], "median_ms": r.get("median_ms"), "min_ms": r.get("min_ms"),
               "times_ms": r.get("times_ms", []), "noisy": r.get("noisy", False),
               "ratio_vs_torch": H.ratio(base, r.get("median_ms")),
               "flop": flop, "gflops": g, "pct_peak": H.pct_of_peak(g, ctx.peak_gflops), "target": None}
        if impl == AUTO:
            base_pct = H.pct_of_peak(H.gflops(flop, base), ctx.peak_gflops)
            row["target"] = targets_for(mode, name, row["ratio_vs_torch"], base_pct)
        rows.append(row)
    return rows


def floor_for(mode: str, shape: str) -> float:
    """Issue 18's floor for "lstmkit auto" (torch.nn time / auto time) at this (mode, shape)."""
    return max(AUTO_FLOOR, RATIO_TARGETS.get(mode, {}).get(shape, AUTO_FLOOR))


def floor_check(min_ratio: float, ratio: float | None, torch_pct: float | None,
                mark_pct: float | None = None) -> dict[str, Any]:
    """A ratio floor and whether this run met it (None: unmeasured).

    ``torch_pct`` (the baseline's % of the yardstick peak) gives ``needs_pct_peak``: the share of
    the peak at which the floor is met, the same FLOP count being done ``min_ratio`` times faster.
    ``needs_over_90`` says whether that share (or ``mark_pct``, the share of a different peak that
    bounds the work, e.g. bf16's) exceeds INFEASIBLE_PCT: such a floor needs the FMA units nearly
    saturated for the whole call.
    """
    needs = None if torch_pct is None else min_ratio * torch_pct
    judged = needs if mark_pct is None else mark_pct
    return {"min_ratio": min_ratio, "ratio_pass": None if ratio is None else ratio >= min_ratio,
            "needs_pct_peak": needs, "needs_over_90": None if judged is None else judged > INFEASIBLE_PCT}


def targets_for(mode: str, shape: str, ratio: float | None, torch_pct: float | None = None) -> dict[str, Any]:
    """The "lstmkit auto" floor at this (mode, shape): see ``floor_for`` and ``floor_check``."""
    return floor_check(floor_for(mode, shape), ratio, torch_pct)


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
    """bf16 matmul mode vs fp32 fused (same weights and input): speed, and what it costs in accuracy.
    Two bf16 paths: ``backend="auto"`` (the default; torch's bf16 LSTM on a CPU with AMX, else
    the fused kernels), which the floor judges, and the fused kernels themselves."""
    torch.manual_seed(0)
    m32 = lstmkit_module("LSTM", shape, "fused")
    m16 = lstmkit_module("LSTM", shape, "auto", matmul_precision="bf16")
    f16 = lstmkit_module("LSTM", shape, "fused", matmul_precision="bf16")
    m16.load_state_dict(m32.state_dict())
    f16.load_state_dict(m32.state_dict())
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
        "auto bf16": lambda: torch_bench(m16, x, "training", grads),
        "fused bf16": lambda: torch_bench(f16, x, "training", grads),
    }, ctx.repeats, ctx.warmup)
    ms = {k: v.get("median_ms") for k, v in res.items()}
    return {"shape": name, "bf16_ms": ms["auto bf16"], "fused_bf16_ms": ms["fused bf16"], "fp32_ms": ms["fused fp32"],
            "nn_ms": ms["torch.nn.LSTM"], "bf16_path": kernels_path(m16, x),
            **bf16_scores(shape, ms["torch.nn.LSTM"], ms["auto bf16"], ctx),
            "max_abs_diff_output": out_diff, "max_abs_diff_weight_grad": grad_diff}


def kernels_path(module: torch.nn.Module, x: torch.Tensor) -> str:
    """Which kernels ``module`` runs ``x`` on (``kernels.choose_path``), in words for the table."""
    from lstmkit import kernels

    path = kernels.choose_path(module._path_request(x, None, lengths=False)).path
    return {"torch": "torch bf16 (AMX)", "fused": "fused bf16"}.get(path, path)


def bf16_scores(shape: Shape, nn_ms: float | None, bf16_ms: float | None, ctx: Context) -> dict[str, Any]:
    """Ratio to torch.nn.LSTM (fp32), throughput as % of the physical fp32 peak (comparable with the
    main tables) and of the bf16 dot-product peak, and the BF16_TARGET floor. Whether the floor needs
    over 90% is judged by ``ctx.bf16_bound_gflops`` (bf16 GEMMs may run above the fp32 peak)."""
    flop = H.rnn_flops("LSTM", "training", *shape)
    nn_g, g = H.gflops(flop, nn_ms), H.gflops(flop, bf16_ms)
    ratio = H.ratio(nn_ms, bf16_ms)
    need_g = None if nn_g is None else BF16_TARGET * nn_g
    target = floor_check(BF16_TARGET, ratio, H.pct_of_peak(nn_g, ctx.peak_gflops),
                         H.pct_of_peak(need_g, ctx.bf16_bound_gflops))
    target["needs_pct_bf16_peak"] = H.pct_of_peak(need_g, ctx.bf16_peak_gflops)
    return {"ratio_vs_torch": ratio, "target_pass": target["ratio_pass"], "target": target, "gflops": g,
            "pct_peak": H.pct_of_peak(g, ctx.peak_gflops), "pct_bf16_peak": H.pct_of_peak(g, ctx.bf16_peak_gflops)}


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
    bf16_shapes: Sequence[str] | None = None, gemm_n: int | None = None, peak_seconds: float | None = None,
    command: str = "",
) -> dict[str, Any]:  # fmt: skip
    """Run the suite and return the result dict (what goes to the JSON file). ``shapes``, the shape
    lists, ``gemm_n`` and ``peak_seconds`` (None: the module's SHAPES, VARIANT_SHAPES, BF16_SHAPES,
    GEMM_N, PEAK_SECONDS, read at call time) let tests run it end to end on tiny shapes in seconds."""
    start = time.perf_counter()
    shapes = dict(SHAPES if shapes is None else shapes)
    variant_shapes = VARIANT_SHAPES if variant_shapes is None else variant_shapes
    bf16_shapes = BF16_SHAPES if bf16_shapes is None else bf16_shapes
    gemm_n = GEMM_N if gemm_n is None else gemm_n
    peak_seconds = PEAK_SECONDS if peak_seconds is None else peak_seconds
    selected = [n for n in shapes if only is None or n in only]
    torch.set_num_threads(threads)
    H.print_err(f"torch threads: {torch.get_num_threads()}")
    fused_ok, fused_note = fused_status()
    keras_mod, keras_note = load_keras() if keras else (None, "skipped (--no-keras)")
    physical = H.physical_peak(threads, peak_seconds)
    if physical["available"]:
        p = physical
        H.print_err(f"physical peak, GFLOP/s per core / at {threads} threads: fp32 {p['fp32_per_core']:.1f} / "
                    f"{p['fp32']:.1f}; bf16 dot {p['bf16_per_core'] or 0:.1f} / {p['bf16'] or 0:.1f}")
    else:
        H.print_err(f"physical peak not measured ({physical['error']}): the GEMM peak is the yardstick")
    peak = H.gemm_peak(torch.float32, n=gemm_n)
    H.print_err(f"fp32 GEMM peak: {peak['gflops']:.1f} GFLOP/s ({gemm_n}^3 torch.mm, median of 5)")
    try:  # information only; one timed call if bf16 matmul is emulated and slow
        peak_bf16: dict[str, Any] = H.gemm_peak(torch.bfloat16, n=gemm_n, slow_ms=2000.0)
        H.print_err(f"bf16 GEMM peak: {peak_bf16['gflops']:.1f} GFLOP/s (for information)")
    except RuntimeError as exc:
        peak_bf16 = {"error": f"{type(exc).__name__}: {exc}"}
    yardstick = H.yardstick_for(physical, peak)
    yardstick["bf16_bound"] = H.bf16_bound(yardstick, peak_bf16)
    ctx = Context(repeats, warmup, fused_ok, keras_mod, keras_note, yardstick["fp32"], yardstick["bf16"],
                  yardstick["bf16_bound"])
    main = [row for family in families for mode in modes for n in selected
            for row in compare_main(family, mode, n, shapes[n], ctx)]
    variants = [compare_config(family, n, shapes[n], cfg, ctx) for n in variant_shapes if n in selected
                for family, configs in (("LSTM", LSTM_CONFIGS), ("GRU", GRU_CONFIGS)) if family in families
                for cfg in configs]
    bf16 = bf16_table([n for n in bf16_shapes if n in selected], shapes, ctx)
    return {
        "schema": "lstmkit-kernel-suite/2",
        "machine": H.machine_info(fused_note, command),
        "settings": {"repeats": repeats, "warmup": warmup, "threads": threads, "shapes": selected,
                     "keras": keras_note, "interleaving": "A B C D, then D C B A, per round"},
        "physical_peak": physical,
        "yardstick": yardstick,
        "gemm_peak": {"fp32": peak, "bf16": peak_bf16, "role": "information only" if physical["available"]
                      else "the yardstick (physical peak not measured)"},
        "flop_model": H.FLOP_MODEL,
        "targets": {"impl": AUTO, "min_ratio_every_shape": AUTO_FLOOR, "ratio_vs_torch": RATIO_TARGETS,
                    "needs_over_pct": INFEASIBLE_PCT, "bf16_ratio_vs_torch": BF16_TARGET,
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
