"""Quality rows of ``lstmkit sentiment``: test accuracy and ROC-AUC of the BiLSTM ensemble against
TF-IDF + LR and NB-LR (Wang & Manning 2012), on the Rotten Tomatoes split of each seed; the
LSTM + NB-LR blend is a row of its own, reported beside the pure LSTM and never in its place.

Every run is ``lstmkit sentiment train --seed <s>`` with its defaults (``pipeline.train_run``):
the seed picks the split, the weights and the batch order; every choice (best epoch, baseline C,
blend weight) is made on the validation split; the test split is only scored.

    python bench/_quality_sentiment.py              # seeds 0-2
    python bench/_quality_sentiment.py --seeds 0
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

DEFAULT_SEEDS = [0, 1, 2]
BASELINES = {"tfidf_logreg": "TF-IDF + LR", "nblr": "NB-LR"}
FLOOR_ACCURACY = 0.79


def train_seed(seed: int) -> dict[str, Any]:
    from lstmkit.apps.sentiment.pipeline import DataSpec, train_run
    from lstmkit.apps.threads import limited_threads

    tic = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lstmkit-sentiment-") as out, limited_threads(1):
        report = train_run(DataSpec(seed=seed), out, plots=False, verbose=0, log=lambda *_: None)
    return {"metrics": report["metrics"], "seconds": round(time.perf_counter() - tic, 1),
            "train_seconds": report["train_seconds"], "blend_weight": report["lstm_nblr"]["lstm_weight"]}


def _row(model: str, label: str, results: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """One row per model judged: accuracy and ROC-AUC means, stds and seeds; the baselines' means."""
    def stats(name: str, key: str) -> tuple[float, float, dict[str, float]]:
        per = {str(s): round(r["metrics"][name][key], 4) for s, r in results.items()}
        v = list(per.values())
        return round(statistics.fmean(v), 4), round(statistics.stdev(v), 4) if len(v) > 1 else 0.0, per

    acc, acc_sd, acc_seeds = stats(model, "accuracy")
    auc, auc_sd, auc_seeds = stats(model, "roc_auc")
    base = {BASELINES[k]: {"accuracy": stats(k, "accuracy")[0], "roc_auc": stats(k, "roc_auc")[0]} for k in BASELINES}
    met = acc >= FLOOR_ACCURACY and all(acc > b["accuracy"] and auc > b["roc_auc"] for b in base.values())
    best = max(base, key=lambda k: base[k]["accuracy"])
    return {"app": "sentiment", "metric": f"{label}: test accuracy / ROC-AUC (Rotten Tomatoes, split per seed)",
            "floor": f"accuracy >= {FLOOR_ACCURACY} and both above NB-LR and TF-IDF + LR",
            "lstm_mean": acc, "lstm_std": acc_sd, "per_seed": acc_seeds,
            "roc_auc_mean": auc, "roc_auc_std": auc_sd, "roc_auc_per_seed": auc_seeds,
            "baselines": {k: v["accuracy"] for k, v in base.items()},
            "baselines_roc_auc": {k: v["roc_auc"] for k, v in base.items()}, "best_baseline": best,
            "met": bool(met), "seconds": {str(s): r["seconds"] for s, r in results.items()}}


def run(seeds: list[int] | None = None, log: Callable[..., Any] = print) -> dict[str, Any]:
    """The app's rows (pure LSTM, then the blend), JSON-ready, as ``bench/quality.py`` expects."""
    seeds = list(DEFAULT_SEEDS if seeds is None else seeds)
    if not seeds:
        raise ValueError("seeds is empty: expected at least one seed, e.g. [0]")
    started, results = time.perf_counter(), {}
    for seed in seeds:
        results[seed] = r = train_seed(seed)
        m = r["metrics"]
        log(f"sentiment seed {seed}: " + ", ".join(
            f"{name} {m[k]['accuracy']:.4f}/{m[k]['roc_auc']:.4f}" for k, name in
            (("lstm", "LSTM"), ("tfidf_logreg", "TF-IDF + LR"), ("nblr", "NB-LR"), ("lstm_nblr", "LSTM + NB-LR")))
            + f" (accuracy/AUC; blend weight {r['blend_weight']}, {r['seconds']:.0f} s)")
    rows = [_row("lstm", "BiLSTM ensemble (pure LSTM)", results),
            _row("lstm_nblr", "LSTM + NB-LR blend (not a pure LSTM; reported beside it)", results)]
    return {"rows": rows, "seconds": round(time.perf_counter() - started, 1)}


def main(argv: list[str] | None = None) -> int:
    import json

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", default=",".join(map(str, DEFAULT_SEEDS)),
                   help="comma-separated seeds (default: %(default)s)")
    args = p.parse_args(argv)
    try:
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        p.error(f"--seeds takes comma-separated integers, got {args.seeds!r}")
    print(json.dumps(run(seeds), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
