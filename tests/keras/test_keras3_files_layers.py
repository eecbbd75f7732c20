"""Keras 3 files per layer class, part 1 (the non-recurrent families: core, activations,
regularization, reshaping, convolution, pooling, normalization, preprocessing): each case is built
the same way in real Keras 3 and in lstmkit, and crosses both ways as a ``.keras`` archive and a
``.weights.h5`` file with the same predictions (1e-5; see ``_keras3_roundtrip``). Part 2
(recurrent, attention, merging) is ``test_keras3_files_rnn_layers.py``; nested models and shared
layers are ``test_keras3_files_nested.py``.

Not crossed with Keras, and why:

- ``StringLookup``, ``IntegerLookup``, ``TextVectorization``: Keras 3 implements them with
  TensorFlow (``tf.lookup`` tables, ``tf.strings``), which is not installed with the torch
  backend, so Keras cannot build or load them here; lstmkit's own ``.keras`` round trip is tested.
- ``Lambda``: Keras stores its function as marshalled bytecode, which lstmkit never unpickles or
  runs from a file (lstmkit falls back to its own format for it; tests/keras/test_lambda_layer.py).
"""

from __future__ import annotations

import numpy as np
import pytest

import lstmkit.keras as lk
from lstmkit.keras.models import load_model
from tests.keras._keras3_roundtrip import keras_to_lstmkit, lstmkit_to_keras

pytestmark = pytest.mark.usefixtures("one_thread")
T, F = 6, 3


def _seq(*layers, shape=(T, F), dtype="float32"):
    """A builder: ``m`` (keras or lstmkit.keras) -> Sequential([Input(shape), *layers(m.layers)])."""
    return lambda m: m.Sequential([m.Input(shape, dtype=dtype), *[make(m.layers) for make in layers]])


def _adapted(m):
    norm = m.layers.Normalization(axis=-1)
    norm.adapt(np.random.default_rng(3).standard_normal((8, T, F)).astype("float32") * 2 + 1)
    return m.Sequential([m.Input((T, F)), norm, m.layers.Dense(2)])


CASES = {
    # core
    "dense": _seq(lambda L: L.Dense(4, activation="tanh"), lambda L: L.Dense(2, use_bias=False)),
    "embedding": _seq(lambda L: L.Embedding(10, 3), lambda L: L.Flatten(), shape=(T,), dtype="int32"),
    "masking": _seq(lambda L: L.Masking(0.0), lambda L: L.LSTM(3)),
    # activations
    "activation": _seq(lambda L: L.Activation("gelu"), lambda L: L.Activation("softplus")),
    "relu": _seq(lambda L: L.ReLU(max_value=1.0, negative_slope=0.1, threshold=0.2)),
    "leaky_relu": _seq(lambda L: L.LeakyReLU(negative_slope=0.2)),
    "elu": _seq(lambda L: L.ELU(alpha=0.5)),
    "prelu": _seq(lambda L: L.PReLU(shared_axes=[1])),
    "softmax": _seq(lambda L: L.Softmax(axis=1)),
    # regularization (identity at inference)
    "dropouts": _seq(lambda L: L.Dropout(0.5), lambda L: L.SpatialDropout1D(0.5), lambda L: L.GaussianNoise(0.3),
                     lambda L: L.GaussianDropout(0.3), lambda L: L.Dense(2)),
    # reshaping
    "flatten_reshape": _seq(lambda L: L.Flatten(), lambda L: L.Reshape((3, 6))),
    "permute": _seq(lambda L: L.Permute((2, 1)), lambda L: L.Dense(2)),
    "repeat_vector": _seq(lambda L: L.RepeatVector(4), lambda L: L.Dense(2), shape=(F,)),
    "padding_cropping_upsampling": _seq(lambda L: L.ZeroPadding1D((1, 2)), lambda L: L.Cropping1D((2, 1)),
                                        lambda L: L.UpSampling1D(2)),
    # convolution
    "conv1d": _seq(lambda L: L.Conv1D(3, 2, padding="causal", dilation_rate=2, activation="relu"),
                   lambda L: L.Conv1D(2, 3, strides=2, use_bias=False)),
    "conv1d_channels_first": _seq(lambda L: L.Conv1D(2, 2, data_format="channels_first")),
    "conv2d": _seq(lambda L: L.Conv2D(4, (2, 3), padding="same"), lambda L: L.Conv2D(2, 2, groups=2),
                   shape=(5, 5, 2)),
    "conv2d_channels_first": _seq(lambda L: L.Conv2D(2, 3, strides=2, data_format="channels_first"),
                                  shape=(2, 6, 6)),
    "conv3d": _seq(lambda L: L.Conv3D(2, 2, padding="same"), shape=(3, 3, 3, 2)),
    "conv1d_transpose": _seq(lambda L: L.Conv1DTranspose(2, 3, strides=2, padding="same")),
    "conv2d_transpose": _seq(lambda L: L.Conv2DTranspose(2, 2, strides=2), shape=(3, 3, 2)),
    "conv3d_transpose": _seq(lambda L: L.Conv3DTranspose(2, 2, use_bias=False), shape=(2, 2, 2, 2)),
    # pooling
    "pooling1d": _seq(lambda L: L.MaxPooling1D(2, padding="same"), lambda L: L.AveragePooling1D(2, strides=1)),
    "pooling2d": _seq(lambda L: L.MaxPooling2D(2), lambda L: L.AveragePooling2D(1), shape=(4, 4, 2)),
    "pooling3d": _seq(lambda L: L.MaxPooling3D(2), lambda L: L.AveragePooling3D(1), shape=(2, 2, 2, 2)),
    "global_pooling1d": _seq(lambda L: L.GlobalMaxPooling1D(keepdims=True), lambda L: L.GlobalAveragePooling1D()),
    "global_pooling2d": _seq(lambda L: L.GlobalAveragePooling2D(keepdims=True), lambda L: L.GlobalMaxPooling2D(),
                             shape=(3, 3, 2)),
    "global_pooling3d": _seq(lambda L: L.GlobalMaxPooling3D(keepdims=True), lambda L: L.GlobalAveragePooling3D(),
                             shape=(2, 2, 2, 2)),
    # normalization
    "batch_normalization": _seq(lambda L: L.BatchNormalization(momentum=0.9, epsilon=1e-3),
                                lambda L: L.BatchNormalization(axis=1, center=False, scale=False)),
    "layer_normalization": _seq(lambda L: L.LayerNormalization(), lambda L: L.LayerNormalization(
        axis=[1, 2], center=False)),
    # preprocessing
    "normalization_adapted": _adapted,
    "category_encoding": _seq(lambda L: L.CategoryEncoding(10, output_mode="count"), shape=(T,), dtype="int32"),
}
ZERO_STEPS = {"masking"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_keras_files_load_in_lstmkit(tmp_path, case) -> None:
    keras_to_lstmkit(CASES[case], tmp_path, zero_steps=case in ZERO_STEPS)


@pytest.mark.parametrize("case", sorted(CASES))
def test_lstmkit_files_load_in_keras(tmp_path, case) -> None:
    lstmkit_to_keras(CASES[case], tmp_path, zero_steps=case in ZERO_STEPS)


def test_integer_lookup_round_trips_in_lstmkit_files(tmp_path) -> None:
    """Keras 3 needs TensorFlow for IntegerLookup (not installed): lstmkit's own ``.keras`` file only."""
    model = lk.Sequential([lk.Input((3,), dtype="int32"), lk.layers.IntegerLookup(vocabulary=[3, 5, 7],
                                                                                  output_mode="one_hot")])
    x = np.array([[3, 7, 9], [5, 5, 3]], dtype="int32")
    model.save(tmp_path / "lookup.keras")
    loaded = load_model(tmp_path / "lookup.keras")
    np.testing.assert_array_equal(np.asarray(loaded.predict(x, verbose=0)), np.asarray(model.predict(x, verbose=0)))


@pytest.mark.parametrize("layer", [
    lambda: lk.layers.StringLookup(vocabulary=["a", "b", "c"], output_mode="count"),
    lambda: lk.layers.TextVectorization(max_tokens=8, output_sequence_length=4, vocabulary=["x", "y", "z"]),
], ids=["string_lookup", "text_vectorization"])
def test_string_layers_round_trip_through_their_config(layer) -> None:
    """Keras 3 needs TensorFlow for these; lstmkit runs string layers eagerly only (no string
    tensors in a model graph), so their saved form is the layer's serialized config."""
    from lstmkit.keras.saving import deserialize_keras_object, serialize_keras_object

    made = layer()
    x = np.array([["a", "c", "q"], ["b", "b", "a"]]) if type(made).__name__ == "StringLookup" else ["x z q", "y"]
    again = deserialize_keras_object(serialize_keras_object(made))
    assert again.get_config() == made.get_config()
    np.testing.assert_array_equal(np.asarray(again(x)), np.asarray(made(x)))
