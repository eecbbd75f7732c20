"""Regularization layers: Dropout, SpatialDropout1D, GaussianNoise, GaussianDropout (Keras:
keras/src/layers/regularization); ``seeded`` draws their seeded noise as Keras 3 does.
Names resolve lazily to their modules."""

from lstmkit._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "Dropout": "dropout", "SpatialDropout1D": "spatial_dropout", "GaussianNoise": "gaussian_noise",
    "GaussianDropout": "gaussian_dropout"})
