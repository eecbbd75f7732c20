"""Activation layers (Keras: keras/src/layers/activations)."""
