"""``SentimentClassifier``: texts in, P(positive) out. Embedding(mask_zero) -> (Bi)LSTM -> Dense
(sigmoid), built and trained with lstmkit.keras, early-stopped on the validation loss.

Why batches are built here and not by ``fit(x_array)``: review snippets are short (about 18 words,
at most 53 in Rotten Tomatoes) while the model accepts up to ``maxlen`` (200) words. Padding every
batch to 200 would make the recurrent layer and its mask handling walk 200 steps for nothing, so
texts are grouped by length (shuffled within pools of similar length, batch order shuffled) and
each batch is post-padded to its own longest text. With ``mask_zero`` and post-padding this gives
exactly the outputs of the fixed-size 200-wide input, several times faster.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from lstmkit.apps.sentiment.metrics import binary_metrics
from lstmkit.apps.sentiment.tokenizer import TextEncoder, pad
from lstmkit.keras.callbacks import TimeBudget
from lstmkit.keras.utils import PyDataset

__all__ = ["SentimentClassifier", "SentimentConfig"]

APP = "sentiment"
_POOL = 32  # batches per length pool: enough randomness per batch, enough length sorting for speed


@dataclass
class SentimentConfig:
    """Model and training settings (all JSON-ready; saved in the checkpoint)."""

    num_words: int = 10000  # vocabulary: ids 0 (padding), 1 (OOV) and the 9,998 commonest training words
    maxlen: int = 200  # words per text kept (the last ones)
    embed_dim: int = 64
    units: int = 64  # LSTM units (per direction)
    bidirectional: bool = True
    dropout: float = 0.5  # on the embeddings and on the LSTM output
    batch_size: int = 32
    learning_rate: float = 1e-3
    epochs: int = 10
    patience: int = 2  # epochs without a better validation loss before stopping

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SentimentConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


class LengthBatches(PyDataset):
    """``(ids, labels)`` batches, each padded to its own longest text. With ``shuffle`` the order
    changes every epoch (from ``seed``): shuffle, sort by length within pools of ``_POOL`` batches,
    shuffle the batches. Without it the rows are sorted by length (for prediction)."""

    def __init__(self, seqs: list[np.ndarray], labels: np.ndarray | None, batch_size: int, shuffle: bool = False,
                 seed: int = 0):
        super().__init__()
        self.seqs, self.labels, self.batch_size, self.shuffle = seqs, labels, batch_size, shuffle
        self.lengths = np.asarray([len(s) for s in seqs])
        self.rng = np.random.default_rng(seed)
        self.batches: list[np.ndarray] = []
        self._arrange()

    def _arrange(self) -> None:
        n, bs = len(self.seqs), self.batch_size
        if not self.shuffle:
            order = np.argsort(self.lengths, kind="stable")
            self.batches = [order[i:i + bs] for i in range(0, n, bs)]
            return
        order = self.rng.permutation(n)
        pool = bs * _POOL
        batches = []
        for start in range(0, n, pool):
            chunk = order[start:start + pool]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches += [chunk[i:i + bs] for i in range(0, len(chunk), bs)]
        self.batches = [batches[k] for k in self.rng.permutation(len(batches))]

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int) -> Any:
        rows = self.batches[index]
        x = pad([self.seqs[i] for i in rows])
        if self.labels is None:
            return x
        return x, self.labels[rows].astype(np.float32)[:, None]

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self._arrange()



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
        self.classes = [str(c) for c in classes]
        self.encoder = TextEncoder(self.config.num_words, self.config.maxlen)
        self.model: Any = None
        self.history: dict[str, list[float]] = {}
        self.info: dict[str, Any] = {}  # extra checkpoint state (data source, split, metrics, ...)

    def build(self) -> Any:
        """The lstmkit.keras model (uncompiled weights are created on first use)."""
        from lstmkit.keras.layers import LSTM, Bidirectional, Dense, Dropout, Embedding
        from lstmkit.keras.models import Sequential

        c = self.config
        rnn = LSTM(c.units)
        return Sequential([
            Embedding(c.num_words, c.embed_dim, mask_zero=True),
            Dropout(c.dropout),
            Bidirectional(rnn) if c.bidirectional else rnn,
            Dropout(c.dropout),
            Dense(1, activation="sigmoid"),
        ])

    def fit(self, texts: list[str], labels: Any, val_texts: list[str], val_labels: Any, *, seed: int = 0,
            verbose: int = 1, time_budget_s: float | None = None) -> dict[str, list[float]]:
        """Fit the vocabulary on ``texts`` and train, keeping the weights of the epoch with the lowest
        validation loss (EarlyStopping with restore_best_weights). Returns the per-epoch history.

        ``time_budget_s`` stops training after that many seconds (the best epoch so far is kept).
        """
        from lstmkit.keras.callbacks import EarlyStopping
        from lstmkit.keras.optimizers import Adam
        from lstmkit.keras.utils import set_random_seed

        c = self.config
        y, val_y = _labels(labels, len(texts)), _labels(val_labels, len(val_texts))
        set_random_seed(seed)
        self.encoder = TextEncoder(c.num_words, c.maxlen).fit(texts)
        train = LengthBatches(self.encoder.encode(texts), y, c.batch_size, shuffle=True, seed=seed)
        val = LengthBatches(self.encoder.encode(val_texts), val_y, max(256, c.batch_size))
        self.model = self.build()
        self.model.compile(optimizer=Adam(c.learning_rate), loss="binary_crossentropy", metrics=["accuracy"])
        callbacks: list[Any] = [EarlyStopping(monitor="val_loss", patience=c.patience, restore_best_weights=True)]
        budget = TimeBudget(time_budget_s, per_batch=True) if time_budget_s is not None else None
        if budget is not None:
            callbacks.append(budget)
        history = self.model.fit(train, epochs=c.epochs, validation_data=val, callbacks=callbacks, verbose=verbose)
        self.history = {k: [float(v) for v in vs] for k, vs in history.history.items()}
        self.info["stopped_by_time_budget"] = bool(budget and budget.hit)
        losses = self.history.get("val_loss", [])
        self.info["best_epoch"] = int(np.argmin(losses)) + 1 if losses else 0
        self.info["epochs_run"] = len(losses)
        return self.history

    def predict_proba(self, texts: list[str], batch_size: int = 256) -> np.ndarray:
        """P(class 1) for each text (float64 array). Unknown words count as the OOV token."""
        self._require()
        if not len(texts):
            return np.zeros(0)
        data = LengthBatches(self.encoder.encode(texts), None, batch_size)
        out = np.empty(len(texts))
        for index in range(len(data)):
            rows = data.batches[index]
            out[rows] = self.model.predict_on_batch(data[index]).reshape(-1)
        return out

    def predict(self, texts: list[str], threshold: float = 0.5) -> list[str]:
        """The class name of each text (class 1 when P(class 1) >= threshold)."""
        return [self.classes[int(p >= threshold)] for p in self.predict_proba(texts)]

    def evaluate(self, texts: list[str], labels: Any) -> dict[str, Any]:
        """Accuracy, precision, recall, F1 (of class 1), ROC-AUC and the confusion matrix on labelled
        texts (see ``metrics.binary_metrics``)."""
        return binary_metrics(_labels(labels, len(texts)), self.predict_proba(texts))

    # ------------------------------------------------------------------ saving
    def save(self, out_dir: str | Path) -> Path:
        """Write the checkpoint folder (model.keras + app.json with config, classes, vocabulary and
        ``info``), atomically; returns the folder."""
        from lstmkit.apps.checkpoint import save_checkpoint

        self._require()
        state = {"config": asdict(self.config), "classes": self.classes, "tokenizer": self.encoder.to_state(),
                 "history": self.history, "info": self.info}
        return save_checkpoint(out_dir, APP, state, keras_model=self.model)

    @classmethod
    def load(cls, path: str | Path) -> SentimentClassifier:
        """Read a checkpoint folder written by ``save`` (AppError for a missing folder, another app's
        checkpoint or a damaged one)."""
        from lstmkit.apps.checkpoint import load_checkpoint
        from lstmkit.apps.errors import AppError

        state, model, _ = load_checkpoint(path, APP)
        try:
            clf = cls(SentimentConfig.from_dict(state["config"]), state["classes"])
            clf.encoder = TextEncoder.from_state(state["tokenizer"])
        except (KeyError, TypeError, ValueError) as exc:
            raise AppError(f"{path} is a damaged sentiment checkpoint: {exc}") from None
        clf.model = model
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
