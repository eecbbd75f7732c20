"""Merging layers: Add, Average, Multiply, Concatenate (Keras: keras/src/layers/merging)."""
