"""Keras metrics on torch (``lstmkit.keras.metrics``, as ``tensorflow.keras.metrics``).

Streaming metrics that accumulate in tensors (no host sync per batch) with Keras 3's names,
defaults and values, and ``get`` for what ``model.compile(metrics=[...])`` accepts, including
Keras' resolution of "accuracy" / "acc" from the loss and output shape.
"""

from __future__ import annotations

from lstmkit.keras.losses import functions as _loss_functions
from lstmkit.keras.metrics.accuracy import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from lstmkit.keras.metrics.auc import AUC
from lstmkit.keras.metrics.base import Mean, MeanMetricWrapper, Metric, Sum
from lstmkit.keras.metrics.confusion import (
    FalseNegatives,
    FalsePositives,
    Precision,
    Recall,
    TrueNegatives,
    TruePositives,
)
from lstmkit.keras.metrics.fscore import F1Score, FBetaScore
from lstmkit.keras.metrics.lookup import FUNCTIONS, NAMES, deserialize, get, serialize
from lstmkit.keras.metrics.regression import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CategoricalHinge,
    CosineSimilarity,
    Hinge,
    KLDivergence,
    LogCoshError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    Poisson,
    RootMeanSquaredError,
    SparseCategoricalCrossentropy,
    SquaredHinge,
    cosine_similarity,
)

# the per-sample functions Keras also exports from keras.metrics
mean_squared_error = _loss_functions.mean_squared_error
mean_absolute_error = _loss_functions.mean_absolute_error
mean_absolute_percentage_error = _loss_functions.mean_absolute_percentage_error
mean_squared_logarithmic_error = _loss_functions.mean_squared_logarithmic_error
binary_crossentropy = _loss_functions.binary_crossentropy
categorical_crossentropy = _loss_functions.categorical_crossentropy
sparse_categorical_crossentropy = _loss_functions.sparse_categorical_crossentropy
kl_divergence = _loss_functions.kl_divergence
poisson = _loss_functions.poisson
hinge = _loss_functions.hinge
squared_hinge = _loss_functions.squared_hinge
categorical_hinge = _loss_functions.categorical_hinge
log_cosh = _loss_functions.log_cosh
huber = _loss_functions.huber

__all__ = ["Metric", "MeanMetricWrapper", "Mean", "Sum", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy",
           "SparseCategoricalAccuracy", "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
           "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
           "MeanSquaredLogarithmicError", "RootMeanSquaredError", "LogCoshError", "CosineSimilarity",
           "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "KLDivergence",
           "Poisson", "Hinge", "SquaredHinge", "CategoricalHinge", "TruePositives", "FalsePositives",
           "TrueNegatives", "FalseNegatives", "Precision", "Recall", "AUC", "F1Score", "FBetaScore",
           "FUNCTIONS", "NAMES", "accuracy", "binary_accuracy", "categorical_accuracy",
           "sparse_categorical_accuracy", "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy",
           "cosine_similarity", "mean_squared_error", "mean_absolute_error",
           "mean_absolute_percentage_error", "mean_squared_logarithmic_error", "binary_crossentropy",
           "categorical_crossentropy", "sparse_categorical_crossentropy", "kl_divergence", "poisson",
           "hinge", "squared_hinge", "categorical_hinge", "log_cosh", "huber", "get", "serialize",
           "deserialize"]

