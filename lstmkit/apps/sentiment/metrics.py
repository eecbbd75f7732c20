"""Binary classification metrics on held-out predictions: accuracy, precision, recall, F1, ROC-AUC,
the confusion matrix and the ROC curve.

Why NumPy and not scikit-learn: ``lstmkit sentiment predict`` and ``evaluate`` should not need the
optional sklearn install just to count; the tests check every number against sklearn.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["binary_metrics", "confusion_matrix", "roc_auc", "roc_curve"]


def _check(y_true: Any, proba: Any) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true).astype(np.int64).ravel()
    p = np.asarray(proba, dtype=np.float64).ravel()
    if y.shape != p.shape:
        raise ValueError(f"y_true has {y.size} labels but there are {p.size} probabilities")
    if y.size == 0:
        raise ValueError("no samples to score")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y_true must hold only 0 and 1")
    return y, p


def confusion_matrix(y_true: Any, y_pred: Any) -> np.ndarray:
    """``[[TN, FP], [FN, TP]]``: row = true class, column = predicted class (sklearn's layout)."""
    y = np.asarray(y_true).astype(np.int64).ravel()
    q = np.asarray(y_pred).astype(np.int64).ravel()
    return np.bincount(2 * y + q, minlength=4).reshape(2, 2)


def roc_curve(y_true: Any, proba: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(fpr, tpr, thresholds)`` at every distinct score, highest threshold first, starting at
    (0, 0) with threshold +inf. NaN rates when a class is absent."""
    y, p = _check(y_true, proba)
    order = np.argsort(-p, kind="mergesort")
    p, y = p[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(p)), y.size - 1]  # the last index of each distinct score
    tp = np.cumsum(y)[last]
    fp = (last + 1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr = np.r_[0.0, tp / tp[-1]]
        fpr = np.r_[0.0, fp / fp[-1]]
    return fpr, tpr, np.r_[np.inf, p[last]]


def roc_auc(y_true: Any, proba: Any) -> float:
    """Area under the ROC curve: the chance that a random positive scores above a random negative
    (ties count half), NaN when only one class is present."""
    y, p = _check(y_true, proba)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(y.size, dtype=np.float64)
    sorted_p = p[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_p)) + 1]
    ends = np.r_[starts[1:], y.size]
    average = (starts + ends + 1) / 2.0  # 1-based average rank of each tie group
    ranks[order] = np.repeat(average, ends - starts)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def binary_metrics(y_true: Any, proba: Any, threshold: float = 0.5) -> dict[str, Any]:
    """Scores of P(class 1) = ``proba`` against 0/1 labels, class 1 predicted when proba >= threshold.

    Returns JSON-ready values: n, accuracy, precision, recall, f1 (of class 1; 0 when undefined, as
    sklearn's zero_division=0), roc_auc, confusion ``[[TN, FP], [FN, TP]]`` and the majority-class
    accuracy (what always answering the commoner class would score on the same data).
    """
    y, p = _check(y_true, proba)
    cm = confusion_matrix(y, (p >= threshold).astype(np.int64))
    (tn, fp), (fn, tp) = cm.tolist()
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    positives = int(y.sum())
    return {
        "n": int(y.size),
        "accuracy": float((tp + tn) / y.size),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "roc_auc": roc_auc(y, p),
        "confusion": cm.tolist(),
        "majority_accuracy": float(max(positives, y.size - positives) / y.size),
    }
