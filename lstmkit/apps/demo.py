"""``lstmkit demo``: the README's main job. Trains the three applications briefly on embedded real
data (sunspot numbers, Rotten Tomatoes snippets, Shakespeare's plays), prints each result beside
its baselines, and writes the checkpoints and plots under ``--out``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from lstmkit.apps.cliutil import float_in, int_in

#: app -> (what it does, its training budget in seconds); about 3 minutes in all on 2 cores.
APPS = {
    "forecast": ("forecasting: yearly sunspot numbers 1700-2008, the last 30 years held out", 40.0),
    "sentiment": ("sentiment: Rotten Tomatoes snippets (fresh / rotten), a held-out test split", 70.0),
    "textgen": ("text generation: Shakespeare's plays, character level, held-out plays", 55.0),
}


def add_parser(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser(
        "demo",
        help="train all three applications briefly on embedded data and compare them with baselines",
        description=(
            "Train the forecasting, sentiment and text-generation applications briefly (about 3 minutes on "
            "2 cores) on the data shipped with lstmkit and its data packages, print each model's held-out "
            "results beside its baselines (naive / seasonal naive / ARIMA; TF-IDF + logistic regression; "
            "3-gram and 5-gram character models) and write checkpoints and plots under --out."
        ),
    )
    demo.add_argument("--seed", type=int_in(0, 2**32 - 1), default=0,
                      help="seed for weights, shuffling and sampling (same seed, same result; default: 0)")
    demo.add_argument("--out", default="runs/demo", metavar="DIR",
                      help="folder for the checkpoints, metrics and plots (default: runs/demo)")
    demo.add_argument("--only", default=",".join(APPS), metavar="APPS",
                      help=f"comma-separated subset of {', '.join(APPS)} (default: all three)")
    demo.add_argument("--budget-scale", type=float_in(0.0, 10.0, low_open=True), default=1.0, metavar="X",
                      help="multiply every training budget by X (e.g. 0.1 for a quick smoke run; default: 1)")
    demo.set_defaults(handler=run)


def _apps(only: str) -> list[str]:
    from lstmkit.apps.errors import AppError

    chosen = [a.strip() for a in only.split(",") if a.strip()]
    unknown = [a for a in chosen if a not in APPS]
    if unknown or not chosen:
        raise AppError(f"--only takes a comma-separated subset of {', '.join(APPS)}, got {only!r}")
    return chosen


def run(args: argparse.Namespace) -> int:
    import importlib

    chosen = _apps(args.only)
    out = Path(args.out)
    results: dict[str, Any] = {}
    started = time.perf_counter()
    print(f"lstmkit demo: {len(chosen)} application(s) on embedded real data, seed {args.seed}, output in {out}/")
    for k, app in enumerate(chosen, 1):
        about, budget = APPS[app]
        print(f"\n[{k}/{len(chosen)}] {about}", flush=True)
        module = importlib.import_module(f"lstmkit.apps.{app}.demo")
        results[app] = module.demo(out / app, seed=args.seed, budget_s=budget * args.budget_scale)
    print(f"\n== results (held-out data; {time.perf_counter() - started:.0f} s in all) ==")
    for app in chosen:
        for line in _summary(app, results[app]):
            print(line)
    return 0


def _fmt(value: Any, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) else str(value)


def _summary(app: str, r: dict[str, Any]) -> list[str]:
    """A few readable lines per app: the model beside its baselines."""
    if app == "forecast":
        m = r["metrics"]
        names = [("LSTM", "lstm"), ("naive", "naive"), ("seasonal naive", "seasonal_naive"), ("ARIMA", "arima")]
        cells = " | ".join(f"{label} {_fmt(m[key]['mae'], 2)}" for label, key in names if key in m)
        return [f"forecast   one-step MAE (sunspot number): {cells}", f"           plot: {r.get('plot')}"]
    if app == "sentiment":
        m = r["metrics"]
        rows = []
        for label, key in (("LSTM", "lstm"), ("TF-IDF + logistic regression", "tfidf_logreg")):
            if key in m:
                rows.append(f"{label}: accuracy {_fmt(m[key]['accuracy'])}, F1 {_fmt(m[key]['f1'])}, "
                            f"ROC-AUC {_fmt(m[key]['roc_auc'])}")
        plots = r.get("plots") or []
        return [f"sentiment  test {rows[0]}", *[f"           {row}" for row in rows[1:]],
                f"           plots: {', '.join(map(str, plots))}"]
    b = r["bpc"]
    cells = " | ".join(f"{label} {_fmt(b[key])}" for label, key in
                       (("LSTM", "lstm"), ("3-gram", "ngram3"), ("5-gram", "ngram5")) if key in b)
    sample = " ".join(str(r.get("sample", "")).split())[:160]
    return [f"textgen    bits per character: {cells}", f"           sample: {sample}",
            f"           plot: {r.get('plot')}"]
