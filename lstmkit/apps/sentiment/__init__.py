"""Sentiment analysis app: ``lstmkit sentiment train | evaluate | predict`` and the Python API
(``SentimentClassifier``, ``TfidfLogReg``, ``load_csv``, ``load_rotten``, ``split_data``, ``demo``).

Names load lazily, so importing the CLI module (``lstmkit.apps.sentiment.cli``) does not import
torch, sklearn or matplotlib.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "SentimentClassifier": "model", "SentimentConfig": "model", "TfidfLogReg": "baseline", "TextEncoder": "tokenizer",
    "LabelledTexts": "data", "Split": "data", "load_csv": "data", "load_rotten": "data", "split_data": "data",
    "binary_metrics": "metrics", "DataSpec": "pipeline", "train_run": "pipeline", "demo": "demo",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'lstmkit.apps.sentiment' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"lstmkit.apps.sentiment.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
