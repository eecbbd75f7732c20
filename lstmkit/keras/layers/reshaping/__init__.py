"""Reshaping layers: Flatten, Reshape, RepeatVector (Keras: keras/src/layers/reshaping)."""
