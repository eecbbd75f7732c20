"""Attention layers: Attention, AdditiveAttention (Keras: keras/src/layers/attention)."""
