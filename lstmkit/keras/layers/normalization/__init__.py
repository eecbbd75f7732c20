"""Normalization layers: LayerNormalization (Keras: keras/src/layers/normalization)."""
