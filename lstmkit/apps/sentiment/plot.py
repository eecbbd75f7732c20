"""The two pictures of a sentiment run: the LSTM's confusion matrix on the test split (which
mistakes it makes) and the ROC curves of the LSTM and the TF-IDF baseline on the same texts (how
they rank, at every threshold). matplotlib is imported here only, with the Agg backend, so the
CLI and headless machines never need a display.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lstmkit.apps.sentiment.metrics import roc_auc, roc_curve

__all__ = ["plot_confusion", "plot_roc"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    import io

    from lstmkit.io import atomic_write_bytes

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return atomic_write_bytes(path, buffer.getvalue(), create_dirs=True)


def plot_confusion(confusion: Any, classes: list[str], path: str | Path, title: str = "confusion matrix") -> Path:
    """A 2x2 heat map of ``[[TN, FP], [FN, TP]]`` (rows: true class, columns: predicted), with the
    count and the row share in each cell; written to ``path`` (PNG)."""
    plt = _pyplot()
    cm = np.asarray(confusion, dtype=np.int64)
    shares = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(4.2, 3.6))
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for i in range(2):
        for j in range(2):
            ax.text(j, i, f"{cm[i, j]}\n{shares[i, j]:.0%}", ha="center", va="center",
                    color="white" if shares[i, j] > 0.6 else "black")
    ax.set_xticks([0, 1], [f"pred. {c}" for c in classes])
    ax.set_yticks([0, 1], [f"true {c}" for c in classes])
    ax.set_title(title)
    try:
        return _save(fig, Path(path))
    finally:
        plt.close(fig)


def plot_roc(y_true: Any, scores: dict[str, Any], path: str | Path, title: str = "ROC on the test split") -> Path:
    """ROC curves of several models' P(class 1) on the same labels, AUC in the legend; the diagonal
    is chance. Written to ``path`` (PNG)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    for name, proba in scores.items():
        fpr, tpr, _ = roc_curve(y_true, proba)
        ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc(y_true, proba):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="chance")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend(loc="lower right")
    try:
        return _save(fig, Path(path))
    finally:
        plt.close(fig)
