"""Quality rows of ``lstmkit textgen``: held-out bits per character of the LSTM against the
interpolated modified Kneser-Ney 3-, 5-, 6- and 7-gram baselines, on the 4 held-out plays.

Two rows, each with the app's own entry points and defaults (nothing here is tuned): the demo
budget (``lstmkit.apps.textgen.demo.demo``, the exact config and step count ``lstmkit demo``
trains) and, with ``long=True`` / ``--long``, the documented long run
(``lstmkit textgen train --steps LONG_RUN_STEPS``, about 20 minutes of training on 2 idle cores).
Every run scores all 465,312 held-out characters; the baselines are fitted on the same 32
training plays. Steps are the budget, so the figures do not depend on the machine's load; the
training seconds are recorded beside them (the floors' time limits are about an idle machine).

    python bench/_quality_textgen.py                # the demo-budget row, seed 0
    python bench/_quality_textgen.py --long --seeds 0
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_SEEDS = [0]
NAMES = {"ngram3": "3-gram", "ngram5": "5-gram", "ngram6": "6-gram", "ngram7": "7-gram"}
SAFETY_CAP_S = 3600.0  # the steps decide; a cap only so that a stuck run ends
LONG_RUN_THREADS = 2  # as `lstmkit textgen train` (its --threads default)


def _row(metric: str, floor: str, results: dict[int, dict[str, Any]], *, ceiling: float | None = None,
         against: str | None = None, seconds: float | None = None) -> dict[str, Any]:
    """One table row from ``{seed: metrics}``: the LSTM's mean, std, per seed; each baseline's mean.
    Met when the mean is below ``against`` (default: the best n-gram), at most ``ceiling``, and
    every seed trained within ``seconds``."""
    lstm = {str(seed): round(r["bpc"]["lstm"], 4) for seed, r in results.items()}
    values = list(lstm.values())
    baselines = {NAMES[k]: round(statistics.fmean(r["bpc"][k] for r in results.values()), 4) for k in NAMES}
    best = min(baselines, key=baselines.get)
    mean = statistics.fmean(values)
    judged = NAMES[against] if against else best
    in_time = seconds is None or all(r["train_seconds"] <= seconds for r in results.values())
    met = mean < baselines[judged] and (ceiling is None or mean <= ceiling) and in_time
    return {"app": "textgen", "metric": metric, "floor": floor, "lstm_mean": round(mean, 4),
            "lstm_std": round(statistics.stdev(values), 4) if len(values) > 1 else 0.0, "per_seed": lstm,
            "baselines": baselines, "best_baseline": best, "met": bool(met),
            "train_seconds": {str(s): r["train_seconds"] for s, r in results.items()},
            "wall_seconds": {str(s): r["wall_seconds"] for s, r in results.items()},
            "steps": {str(s): r["steps"] for s, r in results.items()},
            "stopped_by": {str(s): r["stopped_by"] for s, r in results.items()}}


def _log_run(log: Callable[..., Any], label: str, seed: int, r: dict[str, Any]) -> None:
    bpc = r["bpc"]
    log(f"textgen {label} seed {seed}: LSTM {bpc['lstm']:.4f} bpc; "
        + ", ".join(f"{NAMES[k]} {bpc[k]:.4f}" for k in NAMES)
        + f" ({r['steps']} steps, {r['train_seconds']:.0f} s training, {r['wall_seconds']:.0f} s in all, "
        f"stopped by {r['stopped_by']})")


def run_demo_budget(seeds: list[int], log: Callable[..., Any] = print) -> dict[str, Any]:
    """The demo's own run (``textgen.demo.demo``) at each seed: config, steps and held-out text unchanged."""
    from lstmkit.apps.textgen import demo as demo_module

    results = {}
    for seed in seeds:
        tic = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="lstmkit-textgen-") as out:
            results[seed] = demo_module.demo(Path(out), seed=seed, budget_s=SAFETY_CAP_S, verbose=0)
        results[seed]["wall_seconds"] = round(time.perf_counter() - tic, 1)  # baselines, training, scoring, plot
        _log_run(log, "demo budget", seed, results[seed])
    steps = demo_module.DEMO_STEPS
    return {**_row(f"held-out bpc, demo budget ({steps} steps, `lstmkit demo`), 465,312 chars of 4 held-out plays",
                   "below the 5-gram within 90 s of training (the 7-gram is the aim)", results, against="ngram5",
                   seconds=90.0), "key": "demo budget"}


def run_long(seeds: list[int], log: Callable[..., Any] = print) -> dict[str, Any]:
    """``lstmkit textgen train --steps LONG_RUN_STEPS --eval-chars 0`` (every other setting its default)."""
    from lstmkit.apps.textgen.config import LONG_RUN_STEPS, TextGenConfig
    from lstmkit.apps.textgen.experiment import load_corpus, run

    corpus = load_corpus("shakespeare", eval_chars=None)
    results = {}
    for seed in seeds:
        tic = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="lstmkit-textgen-") as out:
            results[seed] = run(corpus, TextGenConfig(), out, seed=seed, steps=LONG_RUN_STEPS, verbose=0,
                                seconds=SAFETY_CAP_S, plot=False, threads=LONG_RUN_THREADS)
        results[seed]["wall_seconds"] = round(time.perf_counter() - tic, 1)
        _log_run(log, "long run", seed, results[seed])
    return {**_row(f"held-out bpc, long run (`lstmkit textgen train --steps {LONG_RUN_STEPS} --eval-chars 0`, "
                   "<= 20 min training on 2 cores)", "<= 1.95, below the best n-gram, <= 1,200 s of training",
                   results, ceiling=1.95, seconds=1200.0), "key": "long run"}


def run(seeds: list[int] | None = None, log: Callable[..., Any] = print, long: bool = False) -> dict[str, Any]:
    """The app's rows (the long run only with ``long``); JSON-ready, as ``bench/quality.py`` expects."""
    seeds = list(DEFAULT_SEEDS if seeds is None else seeds)
    if not seeds:
        raise ValueError("seeds is empty: expected at least one seed, e.g. [0]")
    started = time.perf_counter()
    rows = [run_demo_budget(seeds, log)]
    if long:
        rows.append(run_long(seeds, log))
    return {"rows": rows, "seconds": round(time.perf_counter() - started, 1)}


def main(argv: list[str] | None = None) -> int:
    import json

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", default=",".join(map(str, DEFAULT_SEEDS)),
                   help="comma-separated seeds (default: %(default)s)")
    p.add_argument("--long", action="store_true", help="also the documented long run (about 20 minutes)")
    args = p.parse_args(argv)
    try:
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        p.error(f"--seeds takes comma-separated integers, got {args.seeds!r}")
    print(json.dumps(run(seeds, long=args.long), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
