"""``lstmkit demo``: the README's main job. Trains the three applications briefly on embedded real
data (sunspot numbers, Rotten Tomatoes snippets, Shakespeare's plays), prints each result beside
its baselines with a verdict against the strongest one, and writes the checkpoints and plots under
``--out``.

Why a verdict line: the point of the demo is to show whether the LSTM earns its place. Each app
names its primary held-out metric and the baselines it is judged against; ``verdict`` compares the
LSTM with the best of them (a loss is printed as a loss, with both numbers).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lstmkit.cliutil import float_in, int_in

#: app -> (what it does, its time budget in seconds: a safety cap, the runs themselves are step counts).
APPS = {
    "forecast": ("forecasting: yearly sunspot numbers 1700-2008, the last 30 years held out", 30.0),
    "sentiment": ("sentiment: Rotten Tomatoes snippets (fresh / rotten), a held-out test split", 55.0),
    "textgen": ("text generation: Shakespeare's plays, character level, held-out plays", 100.0),
}


@dataclass(frozen=True)
class Metric:
    """How an app is judged: ``key`` inside each method's result, and whether lower is better."""

    label: str
    key: str
    lower_is_better: bool
    digits: int


#: app -> (where the per-method results sit in the app's demo dict, metrics judged, baselines as (label, key)).
JUDGED: dict[str, tuple[str, tuple[Metric, ...], tuple[tuple[str, str], ...]]] = {
    "forecast": ("metrics", (Metric("one-step MAE", "mae", True, 2),),
                 (("naive", "naive"), ("seasonal naive", "seasonal_naive"), ("ARIMA", "arima"),
                  ("SARIMA", "sarima"), ("lag MLP", "mlp"))),
    "sentiment": ("metrics", (Metric("accuracy", "accuracy", False, 3), Metric("ROC-AUC", "roc_auc", False, 3)),
                  (("TF-IDF + LR", "tfidf_logreg"), ("NB-LR", "nblr"))),
    "textgen": ("bpc", (Metric("bits per character", "", True, 3),),
                (("3-gram", "ngram3"), ("5-gram", "ngram5"), ("6-gram", "ngram6"), ("7-gram", "ngram7"))),
}


def add_parser(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser(
        "demo",
        help="train all three applications briefly on embedded data and compare them with baselines",
        description=(
            "Train the forecasting, sentiment and text-generation applications briefly (about 3 minutes on "
            "2 cores) on the data shipped with lstmkit and its data packages, print each model's held-out "
            "results beside its baselines (naive / seasonal naive / ARIMA / SARIMA / lag MLP; TF-IDF and NB-LR "
            "logistic regressions; Kneser-Ney character n-grams) with a verdict against the strongest one, and "
            "write checkpoints and plots under --out."
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
    from lstmkit.errors import AppError

    chosen = [a.strip() for a in only.split(",") if a.strip()]
    unknown = [a for a in chosen if a not in APPS]
    if unknown or not chosen:
        raise AppError(f"--only takes a comma-separated subset of {', '.join(APPS)}, got {only!r}")
    return chosen


def run_demo(apps: list[str], out: Path, seed: int = 0, budget_scale: float = 1.0, verbose: int = 1
             ) -> dict[str, Any]:
    """Run the chosen apps' demos; returns ``{"apps": {app: result}, "verdicts": {app: [...]},
    "seconds": wall time}``."""
    import importlib

    say = print if verbose else (lambda *a, **k: None)
    results: dict[str, Any] = {}
    started = time.perf_counter()
    say(f"lstmkit demo: {len(apps)} application(s) on embedded real data, seed {seed}, output in {out}/")
    for k, app in enumerate(apps, 1):
        about, budget = APPS[app]
        say(f"\n[{k}/{len(apps)}] {about}", flush=True)
        module = importlib.import_module(f"lstmkit.apps.{app}.demo")
        results[app] = module.demo(out / app, seed=seed, budget_s=budget * budget_scale, verbose=verbose)
    return {"apps": results, "verdicts": {app: verdict(app, results[app]) for app in apps},
            "seconds": time.perf_counter() - started}


def run(args: argparse.Namespace) -> int:
    report = run_demo(_apps(args.only), Path(args.out), args.seed, args.budget_scale)
    print(f"\n== results (held-out data; {report['seconds']:.0f} s in all) ==")
    for app, result in report["apps"].items():
        for line in _summary(app, result, report["verdicts"][app]):
            print(line)
    return 0


def _value(result: dict[str, Any], where: str, name: str, metric: Metric) -> float | None:
    entry = (result.get(where) or {}).get(name)
    value = entry.get(metric.key) if isinstance(entry, dict) else entry
    return float(value) if isinstance(value, (int, float)) else None


def verdict(app: str, result: dict[str, Any]) -> list[dict[str, Any]]:
    """Per judged metric: the LSTM's value, the best baseline (label, value) and whether the LSTM beat it.

    ``won`` is None when the LSTM or every baseline is missing from ``result``.
    """
    where, judged, baselines = JUDGED[app]
    out = []
    for metric in judged:
        lstm = _value(result, where, "lstm", metric)
        scored = [(label, v) for label, key in baselines if (v := _value(result, where, key, metric)) is not None]
        sign = 1.0 if metric.lower_is_better else -1.0
        best = min(scored, key=lambda item: sign * item[1]) if scored else None
        won = None if lstm is None or best is None else sign * lstm < sign * best[1]
        out.append({"metric": metric.label, "lstm": lstm, "best_baseline": best[0] if best else None,
                    "best_value": best[1] if best else None, "won": won, "digits": metric.digits})
    return out


def _fmt(value: Any, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) else str(value)


def _summary(app: str, r: dict[str, Any], verdicts: list[dict[str, Any]]) -> list[str]:
    """A few readable lines per app: the model beside every baseline, then the verdict."""
    where, judged, baselines = JUDGED[app]
    lines = []
    for metric in judged:
        cells = [("LSTM", _value(r, where, "lstm", metric))]
        cells += [(label, _value(r, where, key, metric)) for label, key in baselines]
        text = " | ".join(f"{label} {_fmt(v, metric.digits)}" for label, v in cells if v is not None)
        lines.append(f"{metric.label}: {text}")
    for v in verdicts:
        if v["won"] is None:
            continue
        word = "beats" if v["won"] else "LOSES to"
        lines.append(f"verdict ({v['metric']}): LSTM {_fmt(v['lstm'], v['digits'])} {word} the best baseline, "
                     f"{v['best_baseline']} {_fmt(v['best_value'], v['digits'])}")
    blend = (r.get("metrics") or {}).get("lstm_nblr") if app == "sentiment" else None
    if isinstance(blend, dict):  # reported beside the pure LSTM, never as it: the verdicts above are the LSTM's
        lines.append(f"LSTM + NB-LR blend (not a pure LSTM): accuracy {blend['accuracy']:.3f}, "
                     f"ROC-AUC {blend['roc_auc']:.3f}")
    if app == "textgen" and r.get("sample"):
        lines.append("sample: " + " ".join(str(r["sample"]).split())[:160])
    plots = r.get("plots") or ([r["plot"]] if r.get("plot") else [])
    if plots:
        lines.append(f"plot{'s' if len(plots) > 1 else ''}: {', '.join(map(str, plots))}")
    views = r.get("views") or {}
    if views:  # inside the model: `lstmkit viz cells|gates|errors` makes more of these
        lines.append(f"inside the model: cell page {views['cells_page']}, gate saturation {views['gates_plot']}")
    return [f"{app:<10} {lines[0]}", *[f"{'':<10} {line}" for line in lines[1:]]]
