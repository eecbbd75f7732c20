"""The sentiment part of ``lstmkit demo``: a short, time-boxed training run on the Rotten Tomatoes
snippets, scored on held-out texts against the TF-IDF + logistic regression baseline.

Why a time budget and not a fixed number of epochs: the demo must finish in about the same time
on any machine. Training stops once its share of ``budget_s`` is spent and keeps the epoch with
the best validation loss; the rest of the budget is kept for the baseline, the test scores and
the plots. The numbers are real held-out scores, whatever they turn out to be.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

__all__ = ["demo"]

RESERVE_S = 15.0  # measured: loading ~1 s, baseline grid ~5-10 s, test prediction and plots ~2 s


def demo(out_dir: Path, seed: int = 0, budget_s: float = 75, verbose: int = 1, threads: int = 1) -> dict[str, Any]:
    """Train the BiLSTM classifier on Rotten Tomatoes for about ``budget_s`` seconds in all.

    Writes the checkpoint, ``metrics.json``, ``confusion_matrix.png`` and ``roc.png`` under
    ``out_dir``. Returns ``{"metrics": {"lstm": {...}, "tfidf_logreg": {...}, "nblr": {...},
    "lstm_nblr": {...}}, "plots": [paths],
    "seconds": total, ...}`` with test-split accuracy, F1, ROC-AUC, precision, recall and the
    confusion matrix of each model.
    """
    from lstmkit.apps.sentiment.model import SentimentConfig
    from lstmkit.apps.sentiment.pipeline import DataSpec, train_run
    from lstmkit.apps.threads import limited_threads

    start = time.perf_counter()
    out = Path(out_dir)
    log = print if verbose else (lambda *a, **k: None)
    log(f"sentiment: Rotten Tomatoes snippets, BiLSTM vs TF-IDF + logistic regression (budget ~{budget_s:.0f} s)")
    with limited_threads(threads):
        train_budget = max(5.0, budget_s - RESERVE_S - (time.perf_counter() - start))
        report = train_run(DataSpec(seed=seed), out, SentimentConfig(), verbose=verbose, time_budget_s=train_budget,
                           log=log)
    seconds = time.perf_counter() - start
    lstm, base, nb = (report["metrics"][k] for k in ("lstm", "tfidf_logreg", "nblr"))
    log(f"test accuracy: LSTM {lstm['accuracy']:.4f} (AUC {lstm['roc_auc']:.4f}), TF-IDF + LR {base['accuracy']:.4f} "
        f"(AUC {base['roc_auc']:.4f}), NB-LR {nb['accuracy']:.4f} (AUC {nb['roc_auc']:.4f}), majority class "
        f"{lstm['majority_accuracy']:.4f}; {seconds:.0f} s in all")
    blend = report["metrics"].get("lstm_nblr")
    if blend:
        log(f"LSTM + NB-LR blend (reported beside the LSTM, not as it): accuracy {blend['accuracy']:.4f} "
            f"(AUC {blend['roc_auc']:.4f})")
    plots = [f for f in report["files"] if f.endswith(".png")]
    return {"metrics": report["metrics"], "plots": plots, "seconds": round(seconds, 1),
            "epochs_run": report["epochs_run"], "best_epoch": report["best_epoch"],
            "stopped_by_time_budget": report["stopped_by_time_budget"], "checkpoint": str(out),
            "split": report["split"]}
