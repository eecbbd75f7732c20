"""Timing machinery for ``bench/suite.py``: the interleaved runner, statistics, FLOP counts, the
measured peaks and the machine description (its output files: ``bench/_report.py``).

Two peaks: the *physical* one (``physical_peak``: lstmkit's FMA-chain microbenchmark, fp32 and the
bf16 dot product, per core and at the threads used) is the yardstick every "% peak" column uses;
the 2048^3 ``torch.mm`` figure (``gemm_peak``) is kept for information only, because BLAS can take a
slow path on some CPUs and a kernel can then "beat" it.

Kept apart from the suite definition so the arithmetic and the file handling can be unit-tested
without running any benchmark (``tests/bench/test_harness.py``).
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

NOISY = 1.5  # median / min above this: the run was disturbed (flagged, not dropped)
CPU_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16")
FLOP_MODEL = (
    "LSTM forward = 2*T*B*4H*(I+H) FLOP (GRU: 3H instead of 4H), the input and recurrent GEMMs only; "
    "training = 3x forward (forward + the two backward GEMM families: data and weight gradients); "
    "inference = 1x forward."
)


# ---------------------------------------------------------------------------------------------- runner
@dataclass
class Bench:
    """One implementation to time: ``prepare`` (untimed, e.g. clearing ``.grad``) then ``run`` (timed).

    ``max_repeats`` caps the timed repeats of a slow implementation (Keras on big shapes) so it does
    not dominate the run; the cap takes the first rounds, so it still sees interleaved load.
    ``measure`` sets it to 5 when one probe call takes over ``few_repeats_ms``, and drops the
    implementation (with a note) when one takes over ``skip_ms``.
    """

    run: Callable[[], object]
    prepare: Callable[[], object] | None = None
    max_repeats: int | None = None
    few_repeats_ms: float | None = None
    skip_ms: float | None = None


def interleaved_order(names: Sequence[str], rounds: int) -> list[list[str]]:
    """Round r runs the implementations forward (A B C D) when r is even, reversed (D C B A) when odd.

    Alternating the direction means no implementation is always first (cold caches) or always last
    (after the others heated the machine), and slow drifts in background load hit all alike.
    """
    return [list(names) if r % 2 == 0 else list(reversed(names)) for r in range(rounds)]


def run_interleaved(benches: dict[str, Bench], repeats: int, warmup: int,
                    clock: Callable[[], float] = time.perf_counter) -> dict[str, list[float]]:
    """``warmup`` untimed rounds, then ``repeats`` timed ones, interleaved; return ms per call.

    All implementations run in this one process so they share the thread pool, allocator state and
    whatever else is loading the machine at that moment.
    """
    times: dict[str, list[float]] = {name: [] for name in benches}
    for r, rnd in enumerate(interleaved_order(list(benches), warmup + repeats)):
        timed = r - warmup  # < 0: a warm-up round
        for name in rnd:
            bench = benches[name]
            if bench.max_repeats is not None and timed >= bench.max_repeats:
                continue
            if bench.prepare is not None:
                bench.prepare()
            start = clock()
            bench.run()
            if timed >= 0:
                times[name].append((clock() - start) * 1e3)
    return times


def time_once(fn: Callable[[], object], clock: Callable[[], float] = time.perf_counter) -> float:
    """Milliseconds for one call: the probe that checks an implementation runs at all, and how slow it is."""
    start = clock()
    fn()
    return (clock() - start) * 1e3


def probe(builder: Callable[[], Bench]) -> tuple[Bench | None, float | None, str]:
    """Build and run once (not part of the results): an implementation that cannot construct or run this
    configuration gets its error text in the table instead of stopping the suite."""
    try:
        bench = builder()
        if bench.prepare is not None:
            bench.prepare()
        return bench, time_once(bench.run), ""
    except Exception as exc:  # noqa: BLE001 - recorded per cell
        return None, None, f"error: {type(exc).__name__}: {exc}"


def measure(label: str, builders: dict[str, Callable[[], Bench] | str], repeats: int,
            warmup: int) -> dict[str, dict[str, Any]]:
    """Probe every implementation (a str is a status such as "not built"), time the runnable ones
    interleaved, print one progress line per implementation to stderr; return their statistics."""
    benches: dict[str, Bench] = {}
    out: dict[str, dict[str, Any]] = {}
    for name, builder in builders.items():
        bench, ms, err = (None, None, builder) if isinstance(builder, str) else probe(builder)
        if bench is not None and ms is not None and bench.skip_ms is not None and ms > bench.skip_ms:
            ms = time_once(bench.run)  # the first call may include one-off set-up
            if ms > bench.skip_ms:
                bench, err = None, f"skipped: one call takes {ms / 1e3:.1f} s (> {bench.skip_ms / 1e3:.0f} s)"
        if bench is None:
            out[name] = {"status": err}
            continue
        if ms is not None and bench.few_repeats_ms is not None and ms > bench.few_repeats_ms:
            bench.max_repeats = min(repeats, 5)
        benches[name] = bench
    times = run_interleaved(benches, repeats, warmup) if benches else {}
    for name in builders:
        if name in times:
            ts = times[name]
            noisy = median(ts) > NOISY * min(ts)
            out[name] = {"status": "ok", "median_ms": median(ts), "min_ms": min(ts), "times_ms": ts, "noisy": noisy}
            print_err(f"[{label}] {name}: {median(ts):.3f} ms (min {min(ts):.3f}, n={len(ts)})"
                      + (f"  NOISY: median > {NOISY:g}x min" if noisy else ""))
        else:
            print_err(f"[{label}] {name}: {out[name]['status']}")
    return out


# ---------------------------------------------------------------------------------------------- arithmetic
def median(values: Sequence[float]) -> float:
    """Median of the timings (robust to the odd preempted run, unlike the mean)."""
    if not values:
        raise ValueError("median of no timings")
    return float(statistics.median(values))


def ratio(baseline_ms: float | None, impl_ms: float | None) -> float | None:
    """Baseline time / implementation time: > 1 means the implementation is faster. None if unmeasured."""
    return None if baseline_ms is None or impl_ms is None or impl_ms <= 0 else baseline_ms / impl_ms


def gflops(flop: float, ms: float | None) -> float | None:
    """Achieved GFLOP/s for ``flop`` floating-point operations done in ``ms`` milliseconds."""
    return None if ms is None or ms <= 0 else flop / (ms * 1e-3) / 1e9


def pct_of_peak(gflop_s: float | None, peak_gflop_s: float | None) -> float | None:
    """Achieved throughput as a percentage of a measured peak (the suite's yardstick: the physical one)."""
    return None if gflop_s is None or not peak_gflop_s else 100.0 * gflop_s / peak_gflop_s


def rnn_flops(family: str, mode: str, T: int, B: int, I: int, H: int) -> float:
    """The FLOP model of ``FLOP_MODEL``: GEMM work only, the same count for every implementation."""
    gates, factor = {"LSTM": 4, "GRU": 3}.get(family), {"training": 3, "inference": 1}.get(mode)
    if gates is None or factor is None:
        raise ValueError(f"need family LSTM/GRU and mode training/inference, got {family!r}, {mode!r}")
    return float(factor * 2 * T * B * gates * H * (I + H))


# ---------------------------------------------------------------------------------------------- machine
def gemm_peak(dtype: torch.dtype = torch.float32, n: int = 2048, repeats: int = 5,
              slow_ms: float | None = None) -> dict[str, Any]:
    """Time an n x n @ n x n ``torch.mm`` (median of ``repeats``, after one warm-up) on the current threads.

    This is the ceiling the recurrent kernels are judged against: their big GEMMs cannot beat it. If
    the warm-up call alone takes over ``slow_ms`` (an emulated dtype), one more call is all that is timed.
    """
    gen = torch.Generator().manual_seed(0)
    a, b = (torch.randn(n, n, generator=gen).to(dtype) for _ in range(2))
    first = time_once(lambda: torch.mm(a, b))
    repeats = 1 if slow_ms is not None and first > slow_ms else repeats
    times = [time_once(lambda: torch.mm(a, b)) for _ in range(repeats)]
    med = median(times)
    return {"dtype": str(dtype).replace("torch.", ""), "n": n, "repeats": repeats, "median_ms": med,
            "gflops": gflops(2.0 * n**3, med)}


def physical_peak(threads: int, seconds: float = 0.3,
                  measure: Callable[[float, int], tuple[float, float]] | None = None) -> dict[str, Any]:
    """The CPU's physical fp32 FMA and bf16 dot-product peaks, GFLOP/s, at 1 thread (per core) and at
    ``threads``, from ``lstmkit.kernels.stream.peak_gflops`` (or ``measure``, for tests).

    ``available`` is False, with the reason in ``error``, where the fused library is not built or the
    CPU lacks the instructions (fp32 reads 0); the suite then judges by the GEMM peak and says so.
    A bf16 figure of 0 (no AVX512-BF16) is stored as None.
    """
    if measure is None:
        try:
            from lstmkit.kernels.stream import peak_gflops as measure
        except ImportError as exc:
            return {"available": False, "error": f"{type(exc).__name__}: {exc}", "threads": threads}
    try:
        one = measure(seconds, 1)
        many = one if threads == 1 else measure(seconds, threads)
    except RuntimeError as exc:  # the fused library is not built
        return {"available": False, "error": f"{type(exc).__name__}: {exc}", "threads": threads}
    if not one[0] > 0 or not many[0] > 0:
        return {"available": False, "error": "the CPU lacks the AVX-512 FMA the microbenchmark uses",
                "threads": threads}
    return {"available": True, "method": "FMA-chain microbenchmark, lstmkit/csrc/peak.cpp, best round",
            "seconds": seconds, "threads": threads,
            "fp32_per_core": one[0], "fp32": many[0],
            "bf16_per_core": one[1] or None, "bf16": many[1] or None}


def yardstick_for(physical: dict[str, Any], gemm: dict[str, Any]) -> dict[str, Any]:
    """What "% peak" means in this run: the physical fp32 peak at the threads used, or, where it could not
    be measured, the fp32 GEMM peak (and no bf16 peak)."""
    if physical.get("available"):
        return {"name": "physical fp32 peak", "fp32": physical["fp32"], "bf16": physical.get("bf16"),
                "fallback": False}
    return {"name": "fp32 GEMM peak", "fp32": gemm.get("gflops"), "bf16": None, "fallback": True,
            "why": f"physical peak not measured: {physical.get('error')}"}


def bf16_bound(yardstick: dict[str, Any], gemm_bf16: dict[str, Any]) -> float | None:
    """The largest known ceiling for bf16 work: the fp32 and bf16 dot peaks, or the measured bf16 GEMM
    (AMX tiles run far above the dot-product peak; an achieved rate bounds the true peak from below)."""
    known = [v for v in (yardstick.get("fp32"), yardstick.get("bf16"), gemm_bf16.get("gflops")) if v]
    return max(known) if known else None


def _cpuinfo() -> tuple[str | None, set[str] | None]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None, None
    model, flags = None, None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and model is None:
            model = value.strip()
        elif key == "flags" and flags is None:
            flags = set(value.split())
    return model, flags


def machine_info(fused_status: str, command: str) -> dict[str, Any]:
    """What a reader needs to compare two runs: CPU, cores, threads, ISA flags, versions, command."""
    model, flags = _cpuinfo()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count()
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": model or platform.processor() or "unknown",
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "threads": torch.get_num_threads(),
        "cpu_flags": None if flags is None else {f: f in flags for f in CPU_FLAGS},
        "torch": torch.__version__,
        "python": platform.python_version(),
        "fused_kernels": fused_status,
        "command": command,
    }


def print_err(*args: object) -> None:
    """Progress lines go to stderr so stdout carries only the final table."""
    print(*args, file=sys.stderr, flush=True)
