"""Keras losses on torch (``lstmkit.keras.losses``, as ``tensorflow.keras.losses``).

Loss classes (``MeanSquaredError()`` ...), the per-sample functions (``mean_squared_error(y_true,
y_pred)`` ...), and ``get`` for the strings ``model.compile(loss=...)`` accepts ("mse",
"binary_crossentropy", ...). Values match Keras 3 (torch backend).
"""

from __future__ import annotations

from lstmkit.keras.losses.base import Loss, LossFunctionWrapper, reduce_weighted_values, squeeze_or_expand_to_same_rank
from lstmkit.keras.losses.classes import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CategoricalHinge,
    CosineSimilarity,
    Hinge,
    Huber,
    KLDivergence,
    LogCosh,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    Poisson,
    SparseCategoricalCrossentropy,
    SquaredHinge,
)
from lstmkit.keras.losses.functions import (
    binary_crossentropy,
    categorical_crossentropy,
    categorical_hinge,
    cosine_similarity,
    hinge,
    huber,
    kl_divergence,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    poisson,
    sparse_categorical_crossentropy,
    squared_hinge,
)
from lstmkit.keras.losses.lookup import NAMES, deserialize, get, serialize

__all__ = ["Loss", "LossFunctionWrapper", "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
           "MeanSquaredLogarithmicError", "Huber", "LogCosh", "BinaryCrossentropy", "CategoricalCrossentropy",
           "SparseCategoricalCrossentropy", "KLDivergence", "Poisson", "Hinge", "SquaredHinge", "CategoricalHinge",
           "CosineSimilarity", "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
           "mean_squared_logarithmic_error", "huber", "log_cosh", "binary_crossentropy", "categorical_crossentropy",
           "sparse_categorical_crossentropy", "kl_divergence", "poisson", "hinge", "squared_hinge",
           "categorical_hinge", "cosine_similarity", "mse", "mae", "mape", "msle", "kld", "logcosh",
           "reduce_weighted_values", "squeeze_or_expand_to_same_rank", "NAMES", "get", "serialize", "deserialize"]

# Keras' legacy function aliases
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh
