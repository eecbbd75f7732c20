"""Timing machinery for ``bench/suite.py``: the interleaved runner, statistics, FLOP counts, the
measured GEMM peak, the machine description, and the JSON / Markdown writers.

Kept apart from the suite definition so the arithmetic and the file handling can be unit-tested
without running any benchmark (``tests/bench/test_harness.py``).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

BEGIN_MARKER = "<!-- kernel-suite:begin -->"
END_MARKER = "<!-- kernel-suite:end -->"
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
    """Achieved throughput as a percentage of the measured GEMM peak."""
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


# ---------------------------------------------------------------------------------------------- writers
def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write via a temp file in the same directory + fsync + os.replace: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    """Strict JSON (no NaN/Infinity, which other readers reject), written atomically."""
    write_text_atomic(path, json.dumps(obj, indent=2, allow_nan=False) + "\n")


def replace_section(document: str, section: str) -> str:
    """Put ``section`` (which includes both markers) in place of the marked section, or append it.

    Text outside the markers is kept byte for byte. A lone or misordered marker is an error rather
    than a guess, so a hand-edited file is never silently truncated.
    """
    if not (section.startswith(BEGIN_MARKER) and section.rstrip().endswith(END_MARKER)):
        raise ValueError("section must start with the begin marker and end with the end marker")
    if document.count(BEGIN_MARKER) > 1 or document.count(END_MARKER) > 1:
        raise ValueError(f"more than one {BEGIN_MARKER} / {END_MARKER} pair; fix the file by hand")
    begin, end = document.find(BEGIN_MARKER), document.find(END_MARKER)
    body = section.rstrip("\n")
    if begin == -1 and end == -1:
        if not document:
            return body + "\n"
        sep = "" if document.endswith("\n\n") else ("\n" if document.endswith("\n") else "\n\n")
        return document + sep + body + "\n"
    if begin == -1 or end == -1 or end < begin:
        raise ValueError(f"{BEGIN_MARKER} / {END_MARKER} are unpaired or out of order; fix the file by hand")
    return document[:begin] + body + document[end + len(END_MARKER):]


def update_markdown(path: str | os.PathLike, section: str) -> None:
    """Replace (or append) the suite's section of the Markdown file, atomically."""
    path = Path(path)
    document = path.read_text(encoding="utf-8") if path.exists() else ""
    write_text_atomic(path, replace_section(document, section))


# ---------------------------------------------------------------------------------------------- markdown
def fmt(value: float | None, digits: int = 3) -> str:
    """Numbers for tables: ``digits`` significant-ish decimals, '-' for unmeasured."""
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:.1f}"
    if abs(value) >= 10:
        return f"{value:.2f}"
    return f"{value:.{digits}f}"


def cell(text: str, limit: int = 120) -> str:
    """Make free text (an error message) safe inside a Markdown table cell."""
    text = " ".join(str(text).split()).replace("|", "/")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def print_err(*args: object) -> None:
    """Progress lines go to stderr so stdout carries only the final table."""
    print(*args, file=sys.stderr, flush=True)


def _verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else ("PASS" if ok else "FAIL")


def _target_cell(target: dict[str, Any] | None) -> str:
    if target is None:
        return ""
    parts = []
    if target.get("min_ratio") is not None:
        needs = target.get("needs_pct_peak")
        why = f" (needs {needs:.0f}% peak)" if needs is not None and target["ratio_pass"] is False else ""
        parts.append(f">= {target['min_ratio']:.1f}x: {_verdict(target['ratio_pass'])}{why}")
    if target.get("min_pct_peak") is not None:
        parts.append(f">= {target['min_pct_peak']:.0f}% peak: {_verdict(target['peak_pass'])}")
    return "; ".join(parts)


def _header(result: dict[str, Any]) -> list[str]:
    m, s, peak = result["machine"], result["settings"], result["gemm_peak"]
    flags = m["cpu_flags"]
    flag_text = "unknown" if flags is None else ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in flags.items())
    fp32, bf16 = peak["fp32"], peak["bf16"]
    bf16_text = f"{fmt(bf16['gflops'], 1)} GFLOP/s" if "gflops" in bf16 else f"not run ({bf16.get('error')})"
    t = result["targets"]
    ratio_text = "; ".join(f"{mode}: " + ", ".join(f"{n} >= {v}x" for n, v in per.items())
                           for mode, per in t["ratio_vs_torch"].items())
    peak_text = ", ".join(f"{k} >= {v:.0f}% of the fp32 GEMM peak" for k, v in t["pct_peak"].items())
    v = t["variants"]
    return [
        BEGIN_MARKER,
        "## Recurrent kernels: lstmkit fused vs lstmkit torch loop vs torch.nn vs Keras 3",
        "",
        "Written by `bench/suite.py`; rerun it rather than editing between the markers. Command:",
        "",
        "```",
        m["command"],
        "```",
        "",
        f"- {m['date']}; CPU: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable); "
        f"torch threads: {m['threads']}; torch {m['torch']}, Python {m['python']}",
        f"- CPU flags: {flag_text}",
        f"- lstmkit fused kernels: {m['fused_kernels']}; Keras: {s['keras']}",
        f"- GEMM peak ({fp32['n']}x{fp32['n']} @ {fp32['n']}x{fp32['n']} torch.mm, median of {fp32['repeats']}, "
        f"same threads): fp32 {fmt(fp32['gflops'], 1)} GFLOP/s; bf16 {bf16_text} (information only)",
        f"- FLOP model: {result['flop_model']} GFLOP/s and % of peak use this count for every implementation.",
        f"- Timing: one process, implementations interleaved ({s['interleaving']}), median of {s['repeats']} "
        f"after {s['warmup']} warm-up rounds. Training = forward + backward of (out * fixed random grad).sum() "
        "to the input and all weights (grads cleared, untimed, between runs); inference = forward under "
        "torch.inference_mode(). fp32, same input values for all (Keras: batch-first copy). Keras gets "
        "5 repeats where one call takes > 0.3 s and is skipped where it takes > 3 s.",
        f"- Targets for the fused kernels (torch.nn time / fused time, this run): {ratio_text}; {peak_text}. "
        f"Variants: >= {v['min_speedup_vs_loop']:.0f}x the torch loop and <= {v['max_rel_plain']}x plain fused.",
        "",
    ]


def render_section(result: dict[str, Any]) -> str:
    """The Markdown section (markers included) for a result dict of ``suite.run_suite``."""
    lines = _header(result)
    verdicts = [t[ok] for r in result["main"] if (t := r["target"])
                for need, ok in (("min_ratio", "ratio_pass"), ("min_pct_peak", "peak_pass")) if t[need] is not None]
    lines += [f"Fused-kernel targets in this run: {verdicts.count(True)} PASS, {verdicts.count(False)} FAIL, "
              f"{verdicts.count(None)} not measured.", ""]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in result["main"]:
        groups.setdefault((row["family"], row["mode"]), []).append(row)
    heads = ["shape (T, B, I, H)", "implementation", "median ms", "min ms", "torch.nn / impl", "GFLOP/s",
             "% GEMM peak", "target"]
    for (family, mode), rows in groups.items():
        body = []
        for r in rows:
            shape = f"{r['shape']} ({r['T']}, {r['B']}, {r['I']}, {r['H']})"
            ms = fmt(r["median_ms"]) + (" *" if r["noisy"] else "") if r["status"] == "ok" else cell(r["status"])
            ratio = "-" if r["ratio_vs_torch"] is None else f"{r['ratio_vs_torch']:.2f}x"
            body.append([shape, r["impl"], ms, fmt(r["min_ms"]), ratio, fmt(r["gflops"], 1),
                         fmt(r["pct_peak"], 1), _target_cell(r["target"])])
        lines += [f"### {family}, {mode}", "", table(heads, body), ""]
    if result["variants"]:
        heads = ["family", "shape", "config", "fused ms", "torch loop ms", "loop / fused", "fused / plain fused",
                 "target"]
        body = []
        for r in result["variants"]:
            fused = fmt(r["fused_ms"]) if r["fused_status"] == "ok" else cell(r["fused_status"])
            loop = fmt(r["loop_ms"]) if r["loop_status"] == "ok" else cell(r["loop_status"])
            speed = "-" if r["speedup"] is None else f"{r['speedup']:.2f}x"
            rel = "-" if r["rel_plain"] is None else f"{r['rel_plain']:.2f}x"
            if r["per_layer_direction"] and r["rel_plain"] is not None:
                rel += " per layer-direction"
            verdict = _verdict(r["pass"]) + (" *" if r.get("noisy") else "")
            body.append([r["family"], r["shape"], r["config"], fused, loop, speed, rel, verdict])
        lines += ["### Variants and extras on the fused path (training)", "",
                  "Bidirectional and 2-layer do twice the work: their time relative to plain fused is divided by 2 "
                  "(per layer-direction). Masks: lengths= drawn uniformly from [T/2, T].", "",
                  table(heads, body), ""]
    bf16 = result["bf16"]
    lines += ["### bf16 matmul mode (LSTM training)", ""]
    if bf16["rows"]:
        heads = ["shape", "bf16 ms", "fp32 fused ms", "torch.nn ms", "torch.nn / bf16", "max abs diff output",
                 "max abs diff weight grad"]
        body = [[r["shape"], cell(r["error"]), "", "", "", "", ""] if "error" in r else
                [r["shape"], fmt(r["bf16_ms"]), fmt(r["fp32_ms"]), fmt(r["nn_ms"]),
                 "-" if r["ratio_vs_torch"] is None else f"{r['ratio_vs_torch']:.2f}x",
                 f"{r['max_abs_diff_output']:.2e}", f"{r['max_abs_diff_weight_grad']:.2e}"] for r in bf16["rows"]]
        lines += [table(heads, body), ""]
    else:
        lines += [cell(bf16["status"], 300), ""]
    if any(r.get("noisy") for r in result["main"]) or any(r.get("noisy") for r in result["variants"]):
        lines += [f"\\* median > {NOISY:g}x min in that measurement: a large spread (background load).", ""]
    lines.append(END_MARKER)
    return "\n".join(lines) + "\n"
