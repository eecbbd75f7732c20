"""Preprocessing layers: TextVectorization (Keras: keras/src/layers/preprocessing)."""
