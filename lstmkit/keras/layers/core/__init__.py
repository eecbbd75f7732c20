"""Core layers: Dense, Embedding, Masking (Keras: keras/src/layers/core)."""
