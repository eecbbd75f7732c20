"""Keras layers on torch (``lstmkit.keras.layers``, as ``tensorflow.keras.layers``).

Names resolve lazily to the module that defines them, so importing one layer does not import
them all.
"""

from __future__ import annotations

import importlib

from lstmkit._lazy import lazy_exports
from lstmkit.keras.engine import registry

_WHERE = {
    "lstmkit.keras.engine.input_layer": ["Input", "InputLayer"],
    "lstmkit.keras.engine.layer": ["Layer"],
    "lstmkit.keras.layers.core": ["Dense", "Dropout", "Activation", "Flatten", "Reshape", "RepeatVector", "Masking",
                                  "Embedding", "LayerNormalization", "TimeDistributed"],
    "lstmkit.keras.layers.merge": ["Concatenate", "Add", "Multiply", "Average", "concatenate", "add",
                                   "multiply", "average"],
    "lstmkit.keras.layers.pooling": ["GlobalAveragePooling1D", "GlobalMaxPooling1D", "GlobalAvgPool1D",
                                     "GlobalMaxPool1D"],
    "lstmkit.keras.layers.attention": ["Attention", "AdditiveAttention"],
    "lstmkit.keras.layers.recurrent": ["LSTM", "GRU", "SimpleRNN"],
    "lstmkit.keras.layers.bidirectional": ["Bidirectional"],
    "lstmkit.keras.layers.text_vectorization": ["TextVectorization"],
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, {name: module for module, names in _WHERE.items()
                                                      for name in names})


def _import_all() -> None:
    """Import every layer module, so that each layer class is registered (for loading models)."""
    for module in _WHERE:
        importlib.import_module(module)


registry.add_loader("layer", _import_all)
