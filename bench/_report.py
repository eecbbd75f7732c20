"""The output of ``bench/suite.py``: atomic JSON / Markdown writers, and the marked section of
``BENCHMARKS.md`` rendered from a result dict (the tables, with PASS/FAIL per floor).

The header states the machine's physical peak (fp32 per core and at the threads used, bf16 dot
product) that every "% peak" column divides by; each failed floor says what share of that peak it
would need, and "needs > 90% of the physical peak" where it asks for nearly saturated FMA units.

Apart from the timing machinery (``bench/_harness.py``) so that each file does one job; both are
unit-tested without running a benchmark (``tests/bench/test_harness.py``).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

try:  # imported as part of a package (tests load it by path) or run as `python bench/suite.py`
    from ._harness import NOISY
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _harness import NOISY  # type: ignore[no-redef]

BEGIN_MARKER = "<!-- kernel-suite:begin -->"
END_MARKER = "<!-- kernel-suite:end -->"


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


def replace_section(document: str, section: str, begin_marker: str = BEGIN_MARKER, end_marker: str = END_MARKER
                    ) -> str:
    """Put ``section`` (which includes both markers) in place of the marked section, or append it.

    Text outside the markers is kept byte for byte. A lone or misordered marker is an error rather
    than a guess, so a hand-edited file is never silently truncated.
    """
    if not (section.startswith(begin_marker) and section.rstrip().endswith(end_marker)):
        raise ValueError("section must start with the begin marker and end with the end marker")
    if document.count(begin_marker) > 1 or document.count(end_marker) > 1:
        raise ValueError(f"more than one {begin_marker} / {end_marker} pair; fix the file by hand")
    begin, end = document.find(begin_marker), document.find(end_marker)
    body = section.rstrip("\n")
    if begin == -1 and end == -1:
        if not document:
            return body + "\n"
        sep = "" if document.endswith("\n\n") else ("\n" if document.endswith("\n") else "\n\n")
        return document + sep + body + "\n"
    if begin == -1 or end == -1 or end < begin:
        raise ValueError(f"{begin_marker} / {end_marker} are unpaired or out of order; fix the file by hand")
    return document[:begin] + body + document[end + len(end_marker):]


def update_markdown(path: str | os.PathLike, section: str, begin_marker: str = BEGIN_MARKER,
                    end_marker: str = END_MARKER) -> None:
    """Replace (or append) the marked section of the Markdown file, atomically."""
    path = Path(path)
    document = path.read_text(encoding="utf-8") if path.exists() else ""
    write_text_atomic(path, replace_section(document, section, begin_marker, end_marker))


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


def _verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else ("PASS" if ok else "FAIL")


def peak_words(result: dict[str, Any]) -> str:
    """What "% peak" divides by in this run, in words ("the physical fp32 peak" or the fallback)."""
    y = result.get("yardstick") or {}
    return "the fp32 GEMM peak" if y.get("fallback") else "the physical fp32 peak"


def needs_text(target: dict[str, Any], peak: str = "the physical fp32 peak") -> str:
    """For a failed floor: the share of the peak it would need, and the >90% mark ('' otherwise)."""
    if target.get("ratio_pass") is not False or target.get("needs_pct_peak") is None:
        return ""
    text = f"needs {target['needs_pct_peak']:.0f}% of {peak}"
    if target.get("needs_pct_bf16_peak") is not None:
        text += f", {target['needs_pct_bf16_peak']:.0f}% of the bf16 dot peak"
    if target.get("needs_over_90"):
        text += "; needs > 90% of the " + ("GEMM" if "GEMM" in peak else "physical") + " peak"
    return text


def _target_cell(target: dict[str, Any] | None, peak: str = "the physical fp32 peak") -> str:
    if target is None or target.get("min_ratio") is None:
        return ""
    why = needs_text(target, peak)
    return f">= {fmt(target['min_ratio'], 2)}x: {_verdict(target['ratio_pass'])}" + (f" ({why})" if why else "")


def _peak_lines(result: dict[str, Any]) -> list[str]:
    """The physical peak (the yardstick) and the GEMM peak (information only, unless the fallback)."""
    phys, gemm = result.get("physical_peak") or {}, result["gemm_peak"]
    fp32, bf16 = gemm["fp32"], gemm["bf16"]
    bf16_text = f"{fmt(bf16['gflops'], 1)} GFLOP/s" if "gflops" in bf16 else f"not run ({bf16.get('error')})"
    gemm_role = "information only" if phys.get("available") else "the yardstick of this run"
    if phys.get("available"):
        n = f"{phys['threads']} thread" + ("s" if phys["threads"] != 1 else "")
        bf16_phys = ("not available (no AVX512-BF16)" if phys.get("bf16") is None else
                     f"{fmt(phys['bf16_per_core'], 1)} GFLOP/s per core, {fmt(phys['bf16'], 1)} at {n}")
        first = (f"- Physical peak ({phys['method']}): fp32 {fmt(phys['fp32_per_core'], 1)} GFLOP/s per core, "
                 f"{fmt(phys['fp32'], 1)} GFLOP/s at the {n} used; bf16 dot product (vdpbf16ps): "
                 f"{bf16_phys}. Every \"% peak\" is a share of the fp32 figure at the threads used.")
    else:
        first = (f"- Physical peak: not measured ({phys.get('error', 'not in this result')}); "
                 "\"% peak\" below is a share of the fp32 GEMM peak instead.")
    return [first,
            f"- GEMM peak ({fp32['n']}x{fp32['n']} @ {fp32['n']}x{fp32['n']} torch.mm, median of {fp32['repeats']}, "
            f"same threads): fp32 {fmt(fp32['gflops'], 1)} GFLOP/s; bf16 {bf16_text} ({gemm_role})"]


def _header(result: dict[str, Any]) -> list[str]:
    m, s = result["machine"], result["settings"]
    flags = m["cpu_flags"]
    flag_text = "unknown" if flags is None else ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in flags.items())
    t = result["targets"]
    ratio_text = "; ".join(f"{mode}: " + ", ".join(f"{n} >= {v}x" for n, v in per.items())
                           for mode, per in t["ratio_vs_torch"].items())
    v = t["variants"]
    return [
        BEGIN_MARKER,
        "## Recurrent kernels: lstmkit (auto, fused, torch loop) vs torch.nn vs Keras 3",
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
        *_peak_lines(result),
        f"- FLOP model: {result['flop_model']} GFLOP/s and % of peak use this count for every implementation.",
        f"- Timing: one process, implementations interleaved ({s['interleaving']}), median of {s['repeats']} "
        f"after {s['warmup']} warm-up rounds. Training = forward + backward of (out * fixed random grad).sum() "
        "to the input and all weights (grads cleared, untimed, between runs); inference = forward under "
        "torch.inference_mode(). fp32, same input values for all (Keras: batch-first copy). Keras gets "
        "5 repeats where one call takes > 0.3 s and is skipped where it takes > 3 s.",
        f"- Floors on the \"{t['impl']}\" row (torch.nn time / its time, median; LSTM and GRU; the fused row "
        f"is information only): >= {t['min_ratio_every_shape']}x at every shape and mode; {ratio_text}. "
        f"Variants: >= {v['min_speedup_vs_loop']:.0f}x the torch loop and <= {v['max_rel_plain']}x plain fused. "
        f"bf16 training: >= {t['bf16_ratio_vs_torch']}x torch.nn.LSTM (fp32). A failed ratio floor shows the "
        f"share of {peak_words(result)} it would need (torch.nn's share times the floor), and \"needs > "
        f"{t['needs_over_pct']:.0f}% of the physical peak\" where that share is over {t['needs_over_pct']:.0f}%.",
        "",
    ]


def _failures(result: dict[str, Any]) -> list[str]:
    """One line per failed ratio floor, with the share of the peak it would need."""
    peak, out = peak_words(result), []
    for r in result["main"]:
        t = r["target"]
        if t and t.get("ratio_pass") is False:
            why = needs_text(t, peak)
            out.append(f"- {r['family']} {r['mode']} {r['shape']} ({r['impl']}): {r['ratio_vs_torch']:.2f}x < "
                       f"{fmt(t['min_ratio'], 2)}x" + (f"; {why}" if why else ""))
    for r in result["bf16"]["rows"]:
        t = r.get("target")
        if t and t.get("ratio_pass") is False:
            why = needs_text(t, peak)
            out.append(f"- bf16 LSTM training {r['shape']}: {r['ratio_vs_torch']:.2f}x < {fmt(t['min_ratio'], 2)}x"
                       + (f"; {why}" if why else ""))
    return out


def render_section(result: dict[str, Any]) -> str:
    """The Markdown section (markers included) for a result dict of ``suite.run_suite``."""
    lines = _header(result)
    peak = peak_words(result)
    verdicts = [t.get("ratio_pass") for r in result["main"] if (t := r["target"])]
    verdicts += [r.get("target_pass") for r in result["bf16"]["rows"] if "error" not in r]
    lines += [f"Floors in this run: {verdicts.count(True)} PASS, {verdicts.count(False)} FAIL, "
              f"{verdicts.count(None)} not measured.", ""]
    failures = _failures(result)
    if failures:
        lines += ["Failed floors:", "", *failures, ""]
    pct_head = "% GEMM peak" if "GEMM" in peak else "% fp32 peak"
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in result["main"]:
        groups.setdefault((row["family"], row["mode"]), []).append(row)
    heads = ["shape (T, B, I, H)", "implementation", "median ms", "min ms", "torch.nn / impl", "GFLOP/s",
             pct_head, "floor"]
    for (family, mode), rows in groups.items():
        body = []
        for r in rows:
            shape = f"{r['shape']} ({r['T']}, {r['B']}, {r['I']}, {r['H']})"
            ms = fmt(r["median_ms"]) + (" *" if r["noisy"] else "") if r["status"] == "ok" else cell(r["status"])
            ratio = "-" if r["ratio_vs_torch"] is None else f"{r['ratio_vs_torch']:.2f}x"
            body.append([shape, r["impl"], ms, fmt(r["min_ms"]), ratio, fmt(r["gflops"], 1),
                         fmt(r["pct_peak"], 1), _target_cell(r["target"], peak)])
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
        heads = ["shape", "bf16 ms (auto)", "auto runs", "fused bf16 ms", "fp32 fused ms", "torch.nn ms",
                 "torch.nn / bf16", "bf16 GFLOP/s",
                 pct_head, "% bf16 dot peak", "max abs diff output", "max abs diff weight grad", "floor"]
        body = [[r["shape"], cell(r["error"]), *[""] * (len(heads) - 2)] if "error" in r else
                [r["shape"], fmt(r["bf16_ms"]), r.get("bf16_path", "fused bf16"), fmt(r.get("fused_bf16_ms")),
                 fmt(r["fp32_ms"]), fmt(r["nn_ms"]),
                 "-" if r["ratio_vs_torch"] is None else f"{r['ratio_vs_torch']:.2f}x",
                 fmt(r.get("gflops"), 1), fmt(r.get("pct_peak"), 1), fmt(r.get("pct_bf16_peak"), 1),
                 f"{r['max_abs_diff_output']:.2e}", f"{r['max_abs_diff_weight_grad']:.2e}",
                 _target_cell(r.get("target"), peak)]
                for r in bf16["rows"]]
        lines += ["bf16 ms is `backend=\"auto\"` (the default, which the floor judges): on a CPU with AMX tiles it "
                  "runs torch's bfloat16 LSTM (oneDNN's AMX GEMMs), elsewhere lstmkit's fused bf16 kernels; "
                  "fused bf16 ms is the fused kernels on every CPU.",
                  f"GFLOP/s by the LSTM training FLOP model; {pct_head} is a share of {peak} (as in the tables "
                  "above, for comparability), % bf16 dot peak of the physical bf16 dot-product peak at the same "
                  "threads ('-': the CPU has none; AMX tiles, where present, run above it: see the bf16 GEMM "
                  "line). Whether the floor needs > 90% is judged by the largest of the fp32 peak, the bf16 dot "
                  "peak and the bf16 GEMM rate.", "", table(heads, body), ""]
    else:
        lines += [cell(bf16["status"], 300), ""]
    if any(r.get("noisy") for r in result["main"]) or any(r.get("noisy") for r in result["variants"]):
        lines += [f"\\* median > {NOISY:g}x min in that measurement: a large spread (background load).", ""]
    lines.append(END_MARKER)
    return "\n".join(lines) + "\n"
