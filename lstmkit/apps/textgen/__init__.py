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

from lstmkit._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "CharLSTM": "model", "TextGenConfig": "config", "TextGenerator": "model", "Vocab": "vocab",
    "NGramModel": "ngram", "load_corpus": "experiment", "run": "experiment",
})
