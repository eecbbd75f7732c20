"""``SentimentClassifier``: texts in, P(positive) out. A seed ensemble of small bidirectional
lstmkit LSTMs (``net.py``), each trained with its best validation epoch kept (``training.py``);
their logits are averaged.

Why an ensemble of small LSTMs and not one big one: on ~10k labelled snippets one LSTM overfits
within two epochs and its test score swings by a point with the seed. Several members trained
from different seeds (weights, dropout masks, batch order) make different mistakes; averaging
them is worth more than any single setting we tried (see BENCHMARKS/README for the numbers), and
the result is still a pure LSTM model. Every run is a fixed number of epochs, so one seed gives
one result; ``time_budget_s`` is only a safety net.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from lstmkit.apps.sentiment.config import SentimentConfig
from lstmkit.apps.sentiment.metrics import binary_metrics
from lstmkit.apps.sentiment.tokenizer import TextEncoder

__all__ = ["SentimentClassifier", "SentimentConfig"]

APP = "sentiment"


def _member_seed(seed: int, k: int) -> int:
    return (int(seed) * 1009 + k) % 2**63


class SentimentClassifier:
    """A binary text classifier: ``fit`` on texts and 0/1 labels, then ``predict_proba`` (P of class
    1), ``predict`` (class names), ``evaluate`` (metrics), ``save`` / ``load`` (checkpoint folder).

    Args:
        config: the settings (default: ``SentimentConfig()``).
        classes: names of label 0 and label 1, e.g. ``["rotten", "fresh"]``.
    """

    def __init__(self, config: SentimentConfig | None = None, classes: list[str] | tuple[str, str] = ("0", "1")):
        if len(classes) != 2:
            raise ValueError(f"classes must name exactly two labels, got {classes!r}")
        self.config = config or SentimentConfig()
        self.config.check()
        self.classes = [str(c) for c in classes]
        self.encoder = TextEncoder(self.config.num_words, self.config.maxlen)
        self.model: Any = None  # torch.nn.ModuleList of SentimentNet members
        self.history: dict[str, Any] = {}
        self.info: dict[str, Any] = {}  # extra checkpoint state (data source, split, metrics, ...)

    def build(self) -> Any:
        """One fresh ensemble member (a ``SentimentNet``) for this config."""
        from lstmkit.apps.sentiment.net import SentimentNet

        c = self.config
        return SentimentNet(c.num_words, c.embed_dim, c.units, c.bidirectional, embed_dropout=c.embed_dropout,
                            word_dropout=c.word_dropout, output_dropout=c.dropout)

    def fit(self, texts: list[str], labels: Any, val_texts: list[str], val_labels: Any, *, seed: int = 0,
            verbose: int = 1, time_budget_s: float | None = None) -> dict[str, Any]:
        """Fit the vocabulary on ``texts``, then train ``members`` LSTMs on the labels, each keeping
        its epoch with the lowest validation loss (the validation texts choose, never train).
        Returns the per-member histories.

        ``time_budget_s`` is a safety net: once spent, the member in training stops and no further
        member starts (at least one is always kept).
        """
        import torch

        from lstmkit.apps.sentiment.training import train_member

        c = self.config
        y, val_y = _labels(labels, len(texts)), _labels(val_labels, len(val_texts))
        if len(texts) == 0 or len(val_texts) == 0:
            raise ValueError(f"fit needs training and validation texts, got {len(texts)} and {len(val_texts)}")
        log = print if verbose else None
        self.encoder = TextEncoder(c.num_words, c.maxlen).fit(list(texts))
        seqs, val_seqs = self.encoder.encode(texts), self.encoder.encode(val_texts)
        start, members, self.history = time.perf_counter(), torch.nn.ModuleList(), {"members": []}
        capped = False
        for k in range(c.members):
            left = None if time_budget_s is None else time_budget_s - (time.perf_counter() - start)
            if left is not None and left <= 0 and members:
                capped = True
                break
            torch.manual_seed(_member_seed(seed, k))
            net = self.build()
            if log:
                log(f"member {k + 1}/{c.members}")
            tuned = train_member(net, seqs, y, val_seqs, val_y, epochs=c.epochs, batch_size=c.batch_size,
                             lr=c.learning_rate, encoder_lr_scale=c.encoder_lr_scale, patience=c.patience,
                             seed=_member_seed(seed, k), time_cap_s=left, log=log)
            members.append(net)
            self.history["members"].append({**tuned["history"], "best_epoch": tuned["best_epoch"]})
            capped = capped or tuned["stopped_by_time_cap"]
        self.model = members.eval()
        best = [m["best_epoch"] for m in self.history["members"]]
        self.info.update(members_trained=len(members), best_epoch=best, stopped_by_time_budget=capped,
                         epochs_run=[len(m["loss"]) for m in self.history["members"]])
        return self.history

    def predict_logits(self, texts: list[str], batch_size: int = 256) -> np.ndarray:
        """The ensemble's logit for each text: the mean of its members' logits."""
        from lstmkit.apps.sentiment.training import predict_logits

        self._require()
        seqs = self.encoder.encode(texts) if len(texts) else []
        if not seqs:
            return np.zeros(0)
        return np.mean([predict_logits(net, seqs, batch_size) for net in self.model], axis=0)

    def predict_proba(self, texts: list[str], batch_size: int = 256) -> np.ndarray:
        """P(class 1) for each text (float64 array). Unknown words count as the OOV token."""
        return 1.0 / (1.0 + np.exp(-self.predict_logits(texts, batch_size)))

    def predict(self, texts: list[str], threshold: float = 0.5) -> list[str]:
        """The class name of each text (class 1 when P(class 1) >= threshold)."""
        return [self.classes[int(p >= threshold)] for p in self.predict_proba(texts)]

    def evaluate(self, texts: list[str], labels: Any) -> dict[str, Any]:
        """Accuracy, precision, recall, F1 (of class 1), ROC-AUC and the confusion matrix on labelled
        texts (see ``metrics.binary_metrics``)."""
        return binary_metrics(_labels(labels, len(texts)), self.predict_proba(texts))

    # ------------------------------------------------------------------ saving
    def save(self, out_dir: str | Path) -> Path:
        """Write the checkpoint folder (model.safetensors: every member's weights; app.json: config,
        classes, vocabulary, history and ``info``), atomically; returns the folder."""
        from lstmkit.checkpoint import save_checkpoint

        self._require()
        state = {"config": asdict(self.config), "classes": self.classes, "tokenizer": self.encoder.to_state(),
                 "members": len(self.model), "history": self.history, "info": self.info}
        return save_checkpoint(out_dir, APP, state, module=self.model)

    @classmethod
    def load(cls, path: str | Path) -> SentimentClassifier:
        """Read a checkpoint folder written by ``save`` (AppError for a missing folder, another app's
        checkpoint or a damaged one)."""
        import torch

        from lstmkit.checkpoint import load_checkpoint
        from lstmkit.errors import AppError

        state, weights, _ = load_checkpoint(path, APP)
        if not isinstance(weights, dict):
            raise AppError(f"{path} holds no LSTM ensemble weights (model.safetensors); it was written by an older "
                           "lstmkit: retrain it with `lstmkit sentiment train`")
        try:
            clf = cls(SentimentConfig.from_dict(state["config"]), state["classes"])
            clf.encoder = TextEncoder.from_state(state["tokenizer"])
            members = torch.nn.ModuleList(clf.build() for _ in range(int(state["members"])))
            members.load_state_dict(weights)
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise AppError(f"{path} is a damaged sentiment checkpoint: {exc}") from None
        clf.model = members.eval()
        clf.history = state.get("history", {})
        clf.info = state.get("info", {})
        return clf

    def _require(self) -> None:
        if self.model is None or not self.encoder.fitted:
            raise RuntimeError("the classifier is not trained: call fit(...) or SentimentClassifier.load(path)")


def _labels(labels: Any, n: int) -> np.ndarray:
    y = np.asarray(labels).astype(np.int64).reshape(-1)
    if y.size != n:
        raise ValueError(f"got {n} texts but {y.size} labels")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 or 1 (index into classes)")
    return y
