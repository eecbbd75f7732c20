"""Regularization layers: Dropout (Keras: keras/src/layers/regularization)."""
