"""Core layers: Dense, Embedding, Masking, Lambda (Keras: keras/src/layers/core). Names resolve
lazily to their modules."""

from lstmkit._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "Dense": "dense", "Embedding": "embedding", "Masking": "masking", "Lambda": "lambda_layer"})
