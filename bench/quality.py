"""Model quality: does the LSTM beat the strongest honest baseline of every application?

Reruns every row of the quality table (each app's own rows come from ``bench/_quality_<app>.py``,
which trains with the app's documented defaults on its fixed held-out split and scores every
baseline on the same data), optionally times ``lstmkit demo``, and writes the results to
``bench/results/quality.json`` and to the marked section of README.md. Rows that were not rerun
(an app left out, the long text run without ``--long``) are kept from the previous JSON, so one app
can be refreshed alone.

    python bench/quality.py                       # forecast, sentiment, textgen (demo budget) and the demo
    python bench/quality.py --apps textgen --long # the 20-minute text-generation run as well
    python bench/quality.py --apps forecast --no-demo --seeds 0,1
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import platform
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

import _report as R  # noqa: E402

APPS = ("forecast", "sentiment", "textgen")
BEGIN = "<!-- quality:begin -->"
END = "<!-- quality:end -->"


def _csv_ints(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def _apps(text: str) -> list[str]:
    chosen = [a.strip() for a in text.split(",") if a.strip()]
    bad = [a for a in chosen if a not in APPS]
    if bad or not chosen:
        raise argparse.ArgumentTypeError(f"--apps takes a comma-separated subset of {', '.join(APPS)}, got {text!r}")
    return chosen


def run_app(app: str, seeds: list[int] | None, long: bool, log: Any = print) -> dict[str, Any]:
    """One app's rows from ``bench/_quality_<app>.py`` (its ``run(seeds, log)``; textgen takes ``long``)."""
    module = importlib.import_module(f"_quality_{app}")
    kwargs: dict[str, Any] = {"seeds": seeds, "log": log}
    if app == "textgen":
        kwargs["long"] = long
    return module.run(**kwargs)


def run_demo_row(seed: int = 0, log: Any = print) -> dict[str, Any]:
    """``lstmkit demo`` at ``seed`` in this process: wall time and every app's verdict."""
    from lstmkit.apps.demo import APPS as DEMO_APPS
    from lstmkit.apps.demo import run_demo

    with tempfile.TemporaryDirectory(prefix="lstmkit-demo-") as out:
        report = run_demo(list(DEMO_APPS), Path(out), seed=seed, verbose=0)
    verdicts = {app: [{k: v for k, v in d.items() if k != "digits"} for d in ds]
                for app, ds in report["verdicts"].items()}
    all_won = all(d["won"] for ds in verdicts.values() for d in ds)
    seconds = round(report["seconds"], 1)
    log(f"demo: {seconds} s, " + "; ".join(
        f"{app} {d['metric']} LSTM {d['lstm']:.4g} vs {d['best_baseline']} {d['best_value']:.4g}"
        f" ({'won' if d['won'] else 'lost'})" for app, ds in verdicts.items() for d in ds))
    return {"app": "demo", "metric": f"lstmkit demo wall time (seed {seed}), every app beating its best baseline",
            "floor": "<= 180 s, all won", "seconds": seconds, "verdicts": verdicts,
            "met": bool(seconds <= 180 and all_won)}


def _num(value: Any, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def _row_cells(row: dict[str, Any]) -> list[str]:
    if row["app"] == "demo":
        lost = [f"{app} {d['metric']}" for app, ds in row["verdicts"].items() for d in ds if not d["won"]]
        detail = "every app won" if not lost else "lost: " + ", ".join(lost)
        return ["demo", R.cell(row["metric"]), row["floor"], f"{row['seconds']:.0f} s", detail, "",
                "met" if row["met"] else "NOT met"]
    per_seed = ", ".join(f"{k}: {_num(v)}" for k, v in (row.get("per_seed") or {}).items())
    if row.get("train_seconds"):  # text generation: the time floor is part of the row
        per_seed += " (training: " + ", ".join(f"{v:.0f} s" for v in row["train_seconds"].values()) + ")"
    lstm = _num(row.get("lstm_mean"))
    if row.get("lstm_std") is not None and len(row.get("per_seed") or {}) > 1:
        lstm += f" ± {_num(row['lstm_std'], 2)}"
    baselines = ", ".join(f"{name} {_num(v)}" for name, v in (row.get("baselines") or {}).items())
    if "roc_auc_mean" in row:  # sentiment: accuracy / ROC-AUC, both judged
        lstm = f"accuracy {lstm}; ROC-AUC {_num(row['roc_auc_mean'])}"
        per_seed = ", ".join(f"{k}: {_num(v)} / {_num(row['roc_auc_per_seed'][k])}"
                             for k, v in row["per_seed"].items())
        baselines = ", ".join(f"{name} {_num(v)} / {_num(row['baselines_roc_auc'][name])}"
                              for name, v in row["baselines"].items())
    best = row.get("best_baseline")
    return [row["app"], R.cell(row["metric"], 200), R.cell(row.get("floor", "")), lstm, R.cell(per_seed, 200),
            R.cell(baselines + (f" (best: {best})" if best else ""), 300), "met" if row.get("met") else "NOT met"]


def render(result: dict[str, Any]) -> str:
    """The README section, markers included."""
    rows = [r for app in (*APPS, "demo") for r in result["rows"] if r["app"] == app]
    met = sum(bool(r.get("met")) for r in rows)
    lines = [BEGIN, "### Model quality against the baselines", "",
             "Written by `bench/quality.py` (rerun it rather than editing between the markers); held-out data "
             "only, every choice made on validation data. Means over the seeds listed, with the standard "
             "deviation; each baseline on the same split (mean over the same seeds).", "",
             f"Last run: {result['date']} on {result['machine']}; commands: " +
             "; ".join(f"`{c}`" for c in result["commands"]), "",
             f"{met} of {len(rows)} floors met.", "",
             R.table(["app", "metric", "floor", "LSTM (mean ± std)", "per seed", "baselines", "floor met"],
                     [_row_cells(r) for r in rows]), "", END]
    return "\n".join(lines)


def merge(previous: dict[str, Any] | None, fresh: list[dict[str, Any]], command: str) -> dict[str, Any]:
    """The fresh rows, plus the earlier rows (same app and metric) that this run did not redo (the
    long text-generation run when ``--long`` was not given, an app left out); the commands that made them."""
    redone = {_row_key(r) for r in fresh}
    kept = [r for r in (previous or {}).get("rows", []) if _row_key(r) not in redone]
    commands = [c for c in (previous or {}).get("commands", []) if c != command] if kept else []
    return {"date": dt.datetime.now().isoformat(timespec="seconds"),
            "machine": f"{platform.processor() or platform.machine()}, {_cores()} cores, Python "
                       f"{platform.python_version()}",
            "rows": kept + fresh, "commands": [*commands, command]}


def _row_key(row: dict[str, Any]) -> tuple[str, str]:
    """Which row a fresh one replaces: its ``key`` where the metric's text names a setting that
    may change (the long run's step count), else the metric."""
    return row["app"], row.get("key") or row["metric"]


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--apps", type=_apps, default=list(APPS), help="comma-separated subset of " + ", ".join(APPS))
    p.add_argument("--seeds", type=_csv_ints, default=None, help="override every app's seeds (default: the table's)")
    p.add_argument("--long", action="store_true", help="include the 20-minute text-generation run")
    p.add_argument("--no-demo", action="store_true", help="do not time `lstmkit demo`")
    p.add_argument("--json", type=Path, default=BENCH / "results" / "quality.json")
    p.add_argument("--readme", type=Path, default=ROOT / "README.md")
    p.add_argument("--no-write", action="store_true", help="print only")
    args = p.parse_args(argv)
    command = shlex.join(["python", "bench/quality.py", *(sys.argv[1:] if argv is None else argv)])
    started = time.perf_counter()
    fresh: list[dict[str, Any]] = []
    for app in args.apps:
        print(f"== {app}", flush=True)
        fresh += run_app(app, args.seeds, args.long)["rows"]
    if not args.no_demo:
        print("== lstmkit demo", flush=True)
        fresh.append(run_demo_row())
    import json

    previous = json.loads(args.json.read_text()) if args.json.is_file() else None
    result = merge(previous, fresh, command)
    section = render(result)
    print(section)
    if not args.no_write:
        R.write_json_atomic(args.json, result)
        R.update_markdown(args.readme, section, BEGIN, END)
        print(f"wrote {args.json} and the quality section of {args.readme}", file=sys.stderr)
    print(f"quality run took {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
