"""Sentiment analysis app: ``lstmkit sentiment train | evaluate | predict`` and the Python API
(``SentimentClassifier``, ``TfidfLogReg``, ``load_csv``, ``load_rotten``, ``split_data``, ``demo``).

Names load lazily, so importing the CLI module (``lstmkit.apps.sentiment.cli``) does not import
torch, sklearn or matplotlib.
"""

from __future__ import annotations

from lstmkit._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "SentimentClassifier": "model", "SentimentConfig": "model", "TfidfLogReg": "baseline", "TextEncoder": "tokenizer",
    "LabelledTexts": "data", "Split": "data", "load_csv": "data", "load_rotten": "data", "split_data": "data",
    "binary_metrics": "metrics", "DataSpec": "pipeline", "train_run": "pipeline", "demo": "demo",
})
