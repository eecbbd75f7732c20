"""Preprocessing layers: TextVectorization, Normalization (Keras: keras/src/layers/preprocessing).
Names resolve lazily to their modules."""

from lstmkit._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "TextVectorization": "text_vectorization", "Normalization": "normalization"})
