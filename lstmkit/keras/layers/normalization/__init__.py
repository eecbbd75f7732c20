"""Normalization layers: LayerNormalization, BatchNormalization (Keras:
keras/src/layers/normalization). Names resolve lazily to their modules."""

from lstmkit._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "LayerNormalization": "layer_normalization", "BatchNormalization": "batch_normalization"})
