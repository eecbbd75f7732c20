"""The output of ``bench/suite.py``: atomic JSON / Markdown writers, and the marked section of
``BENCHMARKS.md`` rendered from a result dict (the tables, with PASS/FAIL per target).

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
        f"Variants: >= {v['min_speedup_vs_loop']:.0f}x the torch loop and <= {v['max_rel_plain']}x plain fused."
        + (f" bf16 training: >= {t['bf16_ratio_vs_torch']}x torch.nn.LSTM (fp32)."
           if "bf16_ratio_vs_torch" in t else "")
        + " A failed ratio floor shows the share of the fp32 GEMM peak it needs (torch.nn's share times the "
        "floor): over 100%, the whole call must outrun a large square torch.mm.",
        "",
    ]


def render_section(result: dict[str, Any]) -> str:
    """The Markdown section (markers included) for a result dict of ``suite.run_suite``."""
    lines = _header(result)
    verdicts = [t[ok] for r in result["main"] if (t := r["target"])
                for need, ok in (("min_ratio", "ratio_pass"), ("min_pct_peak", "peak_pass")) if t[need] is not None]
    verdicts += [r.get("target_pass") for r in result["bf16"]["rows"] if "error" not in r]
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
        floor = result["targets"].get("bf16_ratio_vs_torch")
        heads = ["shape", "bf16 ms", "fp32 fused ms", "torch.nn ms", "torch.nn / bf16", "max abs diff output",
                 "max abs diff weight grad", "target"]
        body = [[r["shape"], cell(r["error"]), "", "", "", "", "", ""] if "error" in r else
                [r["shape"], fmt(r["bf16_ms"]), fmt(r["fp32_ms"]), fmt(r["nn_ms"]),
                 "-" if r["ratio_vs_torch"] is None else f"{r['ratio_vs_torch']:.2f}x",
                 f"{r['max_abs_diff_output']:.2e}", f"{r['max_abs_diff_weight_grad']:.2e}",
                 "" if floor is None else f">= {floor:.1f}x: {_verdict(r.get('target_pass'))}"]
                for r in bf16["rows"]]
        lines += [table(heads, body), ""]
    else:
        lines += [cell(bf16["status"], 300), ""]
    if any(r.get("noisy") for r in result["main"]) or any(r.get("noisy") for r in result["variants"]):
        lines += [f"\\* median > {NOISY:g}x min in that measurement: a large spread (background load).", ""]
    lines.append(END_MARKER)
    return "\n".join(lines) + "\n"
