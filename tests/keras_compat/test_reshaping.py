"""Keras 3's own tests of the 1-D reshaping layers (keras/src/layers/reshaping/permute_test.py,
zero_padding1d_test.py, cropping1d_test.py, up_sampling1d_test.py), ported to lstmkit.keras with
their expected values kept.

Skipped or adapted, and why:
- test_permute's "sparse" case: sparse tensors are TensorFlow/JAX-only (Keras skips it on torch too).
- test_zero_padding_1d_get_config: Keras' "dtype" entry is a serialized DTypePolicy; ours is the
  dtype name, so it is compared as ``layer.dtype``; the other entries are Keras' expected ones.
- test_upsampling_1d_with_dynamic_batch_size / _with_dynamic_shape: Keras calls the layer on a bare
  ``KerasTensor([None, 2, 3])``; here the same shapes come from ``Input(batch_shape=...)``.
- run_layer_test is tests/keras_compat/_spatial_layer_test.py (the checks that apply here).
"""

from __future__ import annotations

import numpy as np
import pytest

from lstmkit.keras import layers
from lstmkit.keras.engine.input_layer import Input
from tests.keras_compat._spatial_layer_test import run_layer_test

pytestmark = pytest.mark.usefixtures("fresh_names", "one_thread")


# ---------------------------------------------------------------- Permute
def test_permute():
    inputs = np.random.default_rng(0).random((10, 3, 5, 5)).astype("float32")
    inputs = np.multiply(inputs, inputs >= 0.8)  # relatively sparse, as in Keras' test
    expected_output = np.transpose(inputs, axes=(0, 3, 1, 2))
    run_layer_test(layers.Permute, {"dims": (3, 1, 2)}, input_data=inputs, expected_output=expected_output)


@pytest.mark.skip(reason="sparse tensors are TensorFlow/JAX-only; Keras skips this case on the torch backend too")
def test_permute_sparse():
    pass


def test_permute_with_dynamic_batch_size():
    input_layer = Input(batch_shape=(None, 3, 5))
    permuted = layers.Permute((2, 1))(input_layer)
    assert permuted.shape == (None, 5, 3)


def test_permute_errors_on_invalid_starting_dims_index():
    with pytest.raises(ValueError, match=r"Invalid permutation .*dims.*"):
        run_layer_test(layers.Permute, {"dims": (0, 1, 2)}, input_shape=(3, 2, 4))


def test_permute_errors_on_invalid_set_of_dims_indices():
    with pytest.raises(ValueError, match=r"Invalid permutation .*dims.*"):
        run_layer_test(layers.Permute, {"dims": (1, 4, 2)}, input_shape=(3, 2, 4))


# ---------------------------------------------------------------- ZeroPadding1D
@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
def test_zero_padding_1d(data_format):
    inputs = np.random.default_rng(0).random((1, 2, 3)).astype("float32")
    outputs = layers.ZeroPadding1D(padding=(1, 2), data_format=data_format)(inputs).numpy()
    if data_format == "channels_last":
        for index in [0, -1, -2]:
            np.testing.assert_allclose(outputs[:, index, :], 0.0)
        np.testing.assert_allclose(outputs[:, 1:-2, :], inputs)
    else:
        for index in [0, -1, -2]:
            np.testing.assert_allclose(outputs[:, :, index], 0.0)
        np.testing.assert_allclose(outputs[:, :, 1:-2], inputs)


@pytest.mark.parametrize("padding", [(2, 2), 2], ids=["one_tuple", "one_int"])
def test_zero_padding_1d_with_same_padding(padding):
    inputs = np.random.default_rng(0).random((1, 2, 3)).astype("float32")
    outputs = layers.ZeroPadding1D(padding=padding, data_format="channels_last")(inputs).numpy()
    for index in [0, 1, -1, -2]:
        np.testing.assert_allclose(outputs[:, index, :], 0.0)
    np.testing.assert_allclose(outputs[:, 2:-2, :], inputs)


def test_zero_padding_1d_with_dynamic_spatial_dim():
    padded = layers.ZeroPadding1D((1, 2), data_format="channels_last")(Input(batch_shape=(1, None, 3)))
    assert padded.shape == (1, None, 3)
    padded = layers.ZeroPadding1D((1, 2), data_format="channels_last")(Input(batch_shape=(1, 2, 3)))
    assert padded.shape == (1, 5, 3)


@pytest.mark.parametrize("padding", [(1,), (1, 2, 3), "1"])
def test_zero_padding_1d_errors_if_padding_argument_invalid(padding):
    with pytest.raises(ValueError):
        layers.ZeroPadding1D(padding)


@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
def test_zero_padding_1d_get_config(data_format):
    layer = layers.ZeroPadding1D(padding=(1, 2), data_format=data_format)
    expected_config = {"dtype": layer.dtype, "data_format": data_format, "name": layer.name, "padding": (1, 2),
                       "trainable": layer.trainable}
    assert layer.get_config() == expected_config


# ---------------------------------------------------------------- Cropping1D
def test_cropping_1d():
    inputs = np.random.default_rng(0).random((3, 5, 7)).astype("float32")
    for cropping, expected in [((1, 2), inputs[:, 1:3, :]), ((1, 1), inputs[:, 1:4, :]), (1, inputs[:, 1:4, :]),
                               ((0, 1), inputs[:, 0:4, :]), ((1, 0), inputs[:, 1:5, :])]:
        run_layer_test(layers.Cropping1D, {"cropping": cropping}, input_data=inputs, expected_output=expected)


def test_cropping_1d_with_dynamic_spatial_dim():
    cropped = layers.Cropping1D((1, 2))(Input(batch_shape=(1, None, 7)))
    assert cropped.shape == (1, None, 7)


def test_cropping_1d_errors_if_cropping_argument_invalid():
    for cropping in ((1,), (1, 2, 3), "1"):
        with pytest.raises(ValueError):
            layers.Cropping1D(cropping=cropping)


def test_cropping_1d_errors_if_cropping_more_than_available():
    with pytest.raises(ValueError, match="`cropping` parameter of `Cropping1D` layer must be smaller than"):
        layers.Cropping1D(cropping=(2, 3))(Input(batch_shape=(3, 5, 7)))


def test_cropping_1d_error_on_excessive_cropping():
    inputs = np.random.default_rng(0).random((3, 5, 7))
    with pytest.raises(ValueError, match="`cropping` parameter of `Cropping1D` layer must be smaller than"):
        layers.Cropping1D(cropping=(3, 3))(inputs)


# ---------------------------------------------------------------- UpSampling1D
def test_upsampling_1d():
    run_layer_test(layers.UpSampling1D, {"size": 2}, input_shape=(3, 5, 4), expected_output_shape=(3, 10, 4),
                   expected_output_dtype="float32", expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=0, expected_num_losses=0, supports_masking=False)


def test_upsampling_1d_correctness():
    np.testing.assert_allclose(
        layers.UpSampling1D(size=2)(np.arange(12).reshape((2, 2, 3))).numpy(),
        np.array([[[0.0, 1.0, 2.0], [0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [3.0, 4.0, 5.0]],
                  [[6.0, 7.0, 8.0], [6.0, 7.0, 8.0], [9.0, 10.0, 11.0], [9.0, 10.0, 11.0]]]))


def test_upsampling_1d_correctness_with_ones():
    np.testing.assert_allclose(layers.UpSampling1D(size=3)(np.ones((2, 1, 5))).numpy(), np.ones((2, 3, 5)))


def test_upsampling_1d_with_dynamic_batch_size():
    x = Input(batch_shape=(None, 2, 3))
    assert layers.UpSampling1D(size=2)(x).shape == (None, 4, 3)
    assert layers.UpSampling1D(size=4)(x).shape == (None, 8, 3)


def test_upsampling_1d_with_dynamic_shape():
    y = Input(batch_shape=(2, None, 3))
    assert layers.UpSampling1D(size=2)(y).shape == (2, None, 3)
    assert layers.UpSampling1D(size=4)(y).shape == (2, None, 3)
    z = Input(batch_shape=(2, 3, None))
    assert layers.UpSampling1D(size=2)(z).shape == (2, 6, None)
    assert layers.UpSampling1D(size=4)(z).shape == (2, 12, None)


def test_upsampling_1d_with_invalid_size():
    for size in (0, -2):
        with pytest.raises(ValueError, match="should be a positive integer"):
            layers.UpSampling1D(size=size)
    for size in (2.5, "2", True):
        with pytest.raises(TypeError, match="Expected an integer value for `size`"):
            layers.UpSampling1D(size=size)
