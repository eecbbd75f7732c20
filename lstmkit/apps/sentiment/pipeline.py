"""One sentiment run end to end, shared by ``lstmkit sentiment train``/``evaluate`` and ``demo()``:
load, split, train the LSTM, fit the TF-IDF + LR and NB-LR baselines on the same split (and the
LSTM + NB-LR blend, reported as such), score all on the same test texts, write the checkpoint,
``metrics.json`` and the plots.

Why the checkpoint records where its data came from: ``evaluate`` without a file re-creates the
exact test split (same source, limit, seed and fractions) and checks its fingerprint, so the
numbers it prints are for texts the model never trained on, or it says why it cannot.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lstmkit.apps.sentiment.data import LabelledTexts, Split, load_csv, load_rotten, split_data, subsample
from lstmkit.errors import AppError

__all__ = ["DataSpec", "load_data", "rebuild_test_split", "train_run"]

METRICS_FILE = "metrics.json"


@dataclass
class DataSpec:
    """Where the labelled texts come from and how they are split (saved in the checkpoint)."""

    csv: str | None = None  # None: the Rotten Tomatoes snippets
    text_col: str = "text"
    label_col: str = "label"
    positive: str | None = None
    delimiter: str = ","
    limit: int | None = None  # a class-stratified random subset of this many texts (quick runs, tests)
    seed: int = 0
    val_frac: float = 0.1
    test_frac: float = 0.1


def load_data(spec: DataSpec) -> LabelledTexts:
    """The labelled texts ``spec`` describes (subsampled to ``spec.limit`` if given)."""
    if spec.csv is None:
        data = load_rotten()
    else:
        data = load_csv(spec.csv, spec.text_col, spec.label_col, spec.positive, spec.delimiter)
    if spec.limit is not None:
        data = subsample(data, spec.limit, spec.seed)
    return data


def describe(data: LabelledTexts) -> str:
    dropped = ", ".join(f"{n} {what}" for what, n in data.dropped.items() if n)
    return f"{data.source}: {len(data)} labelled texts" + (f" (dropped: {dropped})" if dropped else "")


def train_run(spec: DataSpec, out_dir: str | Path, config: Any = None, *, baseline: bool = True, plots: bool = True,
              verbose: int = 1, time_budget_s: float | None = None, log: Any = print) -> dict[str, Any]:
    """Train on ``spec``'s data, score on its test split, write everything under ``out_dir``.

    Returns the report also written to ``metrics.json``: data counts, split sizes, ``metrics``
    ({"lstm": ..., "tfidf_logreg": ..., "nblr": ..., "lstm_nblr": ...} on the test split; the last is
    the LSTM + NB-LR blend, ``hybrid.py``), the baselines' chosen settings, the accuracy gap, the
    training time and the files written.
    """
    from lstmkit.apps.sentiment.model import SentimentClassifier, SentimentConfig
    from lstmkit.io import atomic_write_json

    out = Path(out_dir)
    data = load_data(spec)
    split = split_data(data, spec.seed, spec.val_frac, spec.test_frac)
    log(f"data: {describe(data)}; classes 0={data.classes[0]!r}, 1={data.classes[1]!r}")
    log(f"split (seed {spec.seed}): train {len(split.train)} / validation {len(split.val)} / test {len(split.test)}")
    clf = SentimentClassifier(config or SentimentConfig(), data.classes)
    start = time.perf_counter()
    clf.fit(split.train.texts, split.train.labels, split.val.texts, split.val.labels, seed=spec.seed,
            verbose=verbose, time_budget_s=time_budget_s)
    train_seconds = time.perf_counter() - start
    test_y = split.test.labels
    lstm_logits = clf.predict_logits(split.test.texts)  # scored once: the metrics and the blend share it
    lstm_proba = 1.0 / (1.0 + np.exp(-lstm_logits))  # what clf.predict_proba returns
    from lstmkit.apps.sentiment.metrics import binary_metrics

    metrics = {"lstm": binary_metrics(test_y, lstm_proba)}
    scores = {"LSTM": lstm_proba}
    report: dict[str, Any] = {}
    if baseline:
        from lstmkit.apps.sentiment.baseline import TfidfLogReg

        start_b = time.perf_counter()
        base = TfidfLogReg(seed=spec.seed).fit(split.train.texts, split.train.labels, split.val.texts,
                                               split.val.labels)
        scores["TF-IDF + LR"] = base.predict_proba(split.test.texts)
        metrics["tfidf_logreg"] = binary_metrics(test_y, scores["TF-IDF + LR"])
        report["baseline"] = {**base.chosen, "seconds": round(time.perf_counter() - start_b, 2)}
        report["accuracy_gap_lstm_minus_baseline"] = metrics["lstm"]["accuracy"] - metrics["tfidf_logreg"]["accuracy"]
        from lstmkit.apps.sentiment.nblr import NBLogReg

        start_b = time.perf_counter()
        nblr = NBLogReg(seed=spec.seed).fit(split.train.texts, split.train.labels, split.val.texts, split.val.labels)
        nblr_test = nblr.decision_function(split.test.texts)
        scores["NB-LR"] = 1.0 / (1.0 + np.exp(-nblr_test))  # what nblr.predict_proba returns
        metrics["nblr"] = binary_metrics(test_y, scores["NB-LR"])
        report["nblr"] = {**nblr.chosen, "seconds": round(time.perf_counter() - start_b, 2)}
        from lstmkit.apps.sentiment.hybrid import fit_blend

        # the LSTM + NB-LR blend: its weight from validation only; reported beside the pure LSTM
        blend = fit_blend(clf.predict_logits(split.val.texts), nblr.decision_function(split.val.texts),
                          split.val.labels)
        scores["LSTM + NB-LR"] = blend.proba(lstm_logits, nblr_test)
        metrics["lstm_nblr"] = binary_metrics(test_y, scores["LSTM + NB-LR"])
        report["lstm_nblr"] = {"lstm_weight": blend.weight}
    report.update({
        "data": {"source": data.source, "texts": len(data), "dropped": data.dropped, "classes": data.classes},
        "split": {"seed": spec.seed, "train": len(split.train), "val": len(split.val), "test": len(split.test)},
        "metrics": metrics,
        "train_seconds": round(train_seconds, 2),
        "epochs_run": clf.info.get("epochs_run"), "best_epoch": clf.info.get("best_epoch"),
        "stopped_by_time_budget": clf.info.get("stopped_by_time_budget"),
        "oov_fraction_test": clf.encoder.oov_fraction(split.test.texts),
    })
    spec_state = dict(vars(spec))
    if spec.csv is not None:
        spec_state["csv"] = str(Path(spec.csv).resolve())
    clf.info.update(data=spec_state, test_fingerprint=split.test.fingerprint(), test_metrics=metrics)
    clf.save(out)
    files = [str(out / "app.json"), str(out / "model.safetensors")]
    if plots:
        from lstmkit.apps.sentiment.plot import plot_confusion, plot_roc

        files.append(str(plot_confusion(metrics["lstm"]["confusion"], data.classes, out / "confusion_matrix.png",
                                        title="LSTM on the test split")))
        files.append(str(plot_roc(test_y, scores, out / "roc.png")))
    report["files"] = files + [str(out / METRICS_FILE)]
    atomic_write_json(out / METRICS_FILE, report, create_dirs=True)
    return report


def rebuild_test_split(info: dict[str, Any]) -> Split:
    """The split a checkpoint was trained with, re-created from its recorded data spec; AppError if
    the data cannot be found or changed since (fingerprint mismatch)."""
    try:
        spec = DataSpec(**info["data"])
        expected = info["test_fingerprint"]
    except (KeyError, TypeError):
        raise AppError("this checkpoint does not record its data split; pass --csv FILE to evaluate on "
                       "labelled texts") from None
    split = split_data(load_data(spec), spec.seed, spec.val_frac, spec.test_frac)
    if split.test.fingerprint() != expected:
        where = spec.csv or "the Rotten Tomatoes data"
        raise AppError(f"{where} changed since training: the rebuilt test split differs from the one recorded in "
                       "the checkpoint; pass --csv FILE to evaluate on a labelled file instead")
    return split
