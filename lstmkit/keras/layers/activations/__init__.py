"""Activation layers: Activation, ReLU, LeakyReLU, ELU, PReLU, Softmax (Keras:
keras/src/layers/activations). Names resolve lazily to their modules."""

from lstmkit._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "Activation": "activation", "ReLU": "relu", "LeakyReLU": "leaky_relu", "ELU": "elu", "PReLU": "prelu",
    "Softmax": "softmax"})
