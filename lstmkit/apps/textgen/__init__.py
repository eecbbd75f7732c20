"""Character-level text generation (``lstmkit textgen``): a stacked LSTM trained with truncated BPTT,
scored in bits per character against Kneser-Ney n-gram baselines on the same held-out text.

Python API (imported lazily, so ``lstmkit.apps.textgen.cli`` stays light)::

    from lstmkit.apps.textgen import TextGenerator, TextGenConfig, Vocab, NGramModel
    from lstmkit.apps.textgen.sample import sample  # (``demo`` likewise: lstmkit.apps.textgen.demo.demo)

    vocab = Vocab.from_text(train_text, heldout_text)
    gen = TextGenerator(vocab, TextGenConfig(layers=1, units=256), seed=0)
    gen.fit(train_text, seconds=600)
    gen.bits_per_char(heldout_text), NGramModel(5, vocab).fit(train_text).bits_per_char(heldout_text)
    sample(gen, "ROMEO:\\n", 300, temperature=0.8, top_k=0, seed=0)
    gen.save("runs/textgen"); gen, state = TextGenerator.load("runs/textgen")
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "CharLSTM": "model", "TextGenConfig": "config", "TextGenerator": "model", "Vocab": "vocab",
    "NGramModel": "ngram", "load_corpus": "experiment", "run": "experiment",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
