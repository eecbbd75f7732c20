"""The sentiment model's settings, stored in its checkpoint's ``app.json``.

Why a module of its own, free of torch: ``lstmkit sentiment train`` takes its defaults from here
(``--help`` must stay fast), so the command line, the Python API and the quality bench can never
disagree on what "the default model" is. How the defaults were chosen (validation split, seed 0,
see README's results): 5 members beat 1 and 3 on validation loss; embed 128, units 128 and a
smaller vocabulary did not help; language-model pretraining on the training snippets and the
corpus' plot synopses, and adversarial training of the word vectors, were tried and made the
validation and test scores worse at this data size, so neither ships.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

__all__ = ["SentimentConfig"]


@dataclass
class SentimentConfig:
    """Model and training settings (all JSON-ready; saved in the checkpoint)."""

    num_words: int = 20000  # vocabulary: ids 0 (padding), 1 (OOV) and the commonest training words
    maxlen: int = 200  # words per text kept (the last ones)
    embed_dim: int = 64
    units: int = 64  # LSTM units (per direction)
    bidirectional: bool = True
    dropout: float = 0.4  # on the pooled [last, mean, max] features
    embed_dropout: float = 0.3  # on the word vectors (one mask per text)
    word_dropout: float = 0.25  # whole word types dropped per batch
    batch_size: int = 64
    learning_rate: float = 3e-3
    encoder_lr_scale: float = 1.0  # the embedding and LSTM learn at this share of learning_rate
    epochs: int = 3  # fine-tuning epochs per member (the best one on validation is kept)
    patience: int = 2  # epochs without a better validation loss before a member stops early
    members: int = 5  # LSTMs in the seed ensemble

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SentimentConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def check(self) -> None:
        """ValueError naming the first setting out of range."""
        for name in ("embed_dim", "units", "batch_size", "epochs", "members"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("dropout", "embed_dropout", "word_dropout"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.patience < 0:
            raise ValueError(f"patience must be non-negative, got {self.patience}")
        if self.learning_rate <= 0 or self.encoder_lr_scale <= 0:
            raise ValueError("learning rates must be positive")
