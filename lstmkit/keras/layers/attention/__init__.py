"""Attention layers: Attention, AdditiveAttention, MultiHeadAttention (Keras: keras/src/layers/attention)."""
