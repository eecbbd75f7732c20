"""Keras 3's own tests of the activation layers (keras/src/layers/activations/{relu,leaky_relu,elu,
prelu,softmax}_test.py), ported to lstmkit.keras with their expected values.

Skipped or adapted:
- ``compute_output_shape`` (relu_test): lstmkit layers infer shapes symbolically instead; the
  port checks the functional-API shape.
- ``assert_built_after_instantiation`` / ``expected_num_seed_generators``: Keras-internal state
  with no lstmkit counterpart; not checked.
- ``prelu_layer.alpha.assign(w)``: done with ``set_weights``.
"""

from __future__ import annotations

import numpy as np
import pytest

from lstmkit.keras import layers
from lstmkit.keras.engine.input_layer import Input
from tests.keras_compat._misc_layer_test import run_layer_test

pytestmark = pytest.mark.usefixtures("fresh_names", "one_thread")


def _close(got, want, atol=1e-6):
    np.testing.assert_allclose(np.asarray(got.detach() if hasattr(got, "detach") else got), want, atol=atol,
                               rtol=1e-6)


# ---------------------------------------------------------------------- ReLU
def test_relu():
    run_layer_test(layers.ReLU, {"max_value": 10, "negative_slope": 1, "threshold": 0.5}, (2, 3, 4),
                   supports_masking=True, expected_output_shape=(2, 3, 4))


@pytest.mark.parametrize("kwargs,inputs,expected", [
    ({"max_value": 10, "negative_slope": 0.0, "threshold": 0}, [-10, -5, 0.0, 5, 10], [0.0, 0.0, 0.0, 5.0, 10.0]),
    ({"max_value": 10, "negative_slope": 0.5, "threshold": 0}, [-10, -5, 0.0, 5, 10], [-5.0, -2.5, 0.0, 5.0, 10.0]),
    ({"max_value": 8, "negative_slope": 0.0, "threshold": 5}, [6.0, 7.0, 0.0, 5, 10], [6.0, 7.0, 0.0, 0.0, 8.0]),
    ({}, [-3.0, -1.0, 0.0, 1.0, 3.0], [0.0, 0.0, 0.0, 1.0, 3.0]),
    ({"max_value": None}, [0.0, 100.0, 1000.0, 99999.0], [0.0, 100.0, 1000.0, 99999.0]),
], ids=["normal", "leaky", "threshold", "default", "unlimited"])
def test_relu_correctness(kwargs, inputs, expected):
    _close(layers.ReLU(**kwargs)(np.array(inputs)), np.array(expected))


def test_relu_zeros_and_multidimensional_input():
    relu = layers.ReLU()
    _close(relu(np.zeros((3, 4))), np.zeros((3, 4)))
    _close(relu(np.array([[-1.0, 2.0], [3.0, -4.0]])), np.array([[0.0, 2.0], [3.0, 0.0]]))
    _close(relu(np.ones((2, 3, 4)) * -1.0), np.zeros((2, 3, 4)))


@pytest.mark.parametrize("kwargs,message", [
    ({"max_value": -10, "negative_slope": 1, "threshold": 0.5}, "max_value of a ReLU layer cannot be a negative value"),
    ({"max_value": 10, "negative_slope": -10, "threshold": 0.5},
     "negative_slope of a ReLU layer cannot be None or a negative value"),
    ({"max_value": 10, "negative_slope": 1, "threshold": -10},
     "threshold of a ReLU layer cannot be None or a negative value"),
    ({"negative_slope": None}, "negative_slope of a ReLU layer cannot be None or a negative value"),
    ({"threshold": None}, "threshold of a ReLU layer cannot be None or a negative value"),
])
def test_relu_invalid_usage(kwargs, message):
    with pytest.raises(ValueError, match=message):
        layers.ReLU(**kwargs)


def test_relu_get_config_and_from_config():
    config = layers.ReLU(max_value=5.0, negative_slope=0.2, threshold=1.0).get_config()
    assert (config["max_value"], config["negative_slope"], config["threshold"]) == (5.0, 0.2, 1.0)
    default = layers.ReLU().get_config()
    assert default["max_value"] is None and default["negative_slope"] == 0.0 and default["threshold"] == 0.0
    restored = layers.ReLU.from_config(config)
    assert (restored.max_value, restored.negative_slope, restored.threshold) == (5.0, 0.2, 1.0)


@pytest.mark.parametrize("shape", [(2, 3), (4, 5, 6)])
def test_relu_output_shape(shape):
    assert layers.ReLU()(Input(shape[1:])).shape == (None, *shape[1:])


# ---------------------------------------------------------------------- LeakyReLU, ELU
def test_leaky_relu():
    run_layer_test(layers.LeakyReLU, {"negative_slope": 1}, (2, 3, 4), supports_masking=True,
                   expected_output_shape=(2, 3, 4))
    _close(layers.LeakyReLU(negative_slope=0.5)(np.array([-10, -5, 0.0, 5, 10])),
           np.array([-5.0, -2.5, 0.0, 5.0, 10.0]))
    with pytest.raises(ValueError, match="The negative_slope value of a Leaky ReLU layer cannot be None"):
        layers.LeakyReLU(negative_slope=None)


def test_elu():
    run_layer_test(layers.ELU, {}, (2, 3, 4), supports_masking=True, expected_output_shape=(2, 3, 4))

    def np_elu(x, alpha=1.0):
        return (x > 0) * x + (x <= 0) * alpha * (np.exp(x) - 1)

    x = np.random.random((2, 2, 5))
    _close(layers.ELU()(x), np_elu(x))
    _close(layers.ELU(alpha=0.7)(x), np_elu(x, alpha=0.7))
    layer = layers.ELU(alpha=0.7)  # run_class_serialization_test
    assert layers.ELU.from_config(layer.get_config()).get_config() == layer.get_config()


# ---------------------------------------------------------------------- PReLU
def test_prelu():
    kwargs = {"alpha_initializer": "zeros", "alpha_regularizer": "L1", "alpha_constraint": "MaxNorm", "shared_axes": 1}
    run_layer_test(layers.PReLU, kwargs, (2, 3, 4), supports_masking=True, expected_output_shape=(2, 3, 4),
                   expected_num_trainable_weights=1, expected_num_losses=1)


def test_prelu_correctness():
    def np_prelu(x, alpha):
        return (x > 0) * x + (x <= 0) * alpha * x

    inputs = np.random.randn(2, 10, 5, 3)
    layer = layers.PReLU(alpha_initializer="glorot_uniform", alpha_regularizer="l1", alpha_constraint="non_neg",
                         shared_axes=(1, 2))
    layer.build(inputs.shape)
    weights = np.random.random((1, 1, 3))
    layer.set_weights([weights])
    _close(layer(inputs), np_prelu(inputs, weights), atol=1e-5)


# ---------------------------------------------------------------------- Softmax
SOFTMAX_ROW = [0.21194157, 0.5761169, 0.21194157]


def test_softmax():
    run_layer_test(layers.Softmax, {}, (2, 3, 4), supports_masking=True, expected_output_shape=(2, 3, 4))
    x = np.array([[1.0, 2.0, 1.0], [1.0, 2.0, 1.0]])
    _close(layers.Softmax()(x), np.array([SOFTMAX_ROW, SOFTMAX_ROW]))
    _close(layers.Softmax(axis=1)(x), np.array([SOFTMAX_ROW, SOFTMAX_ROW]))


def test_softmax_correctness_with_mask():
    x = np.array([[1.0, 2.0, 1.0], [1.0, 2.0, 1.0]])
    mask = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    _close(layers.Softmax(axis=(1, 0))(x, mask=mask), np.array([[0.21194154, 0.0, 0.21194154], [0.0, 0.57611686, 0.0]]))


def test_softmax_masked_values_are_zero_including_fully_masked():
    x = np.array([[1.0, 2.0, 5.0, 1.0], [1.0, 1.0, 1.0, 1.0], [3.0, 1.0, 2.0, 4.0]], dtype=np.float32)
    mask = np.array([[True, True, False, False], [False, False, False, False], [True, True, True, True]])
    expected = np.array([[0.268941, 0.731059, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0],
                         [0.236883, 0.032059, 0.087144, 0.643914]])
    _close(layers.Softmax()(x, mask=mask), expected)


@pytest.mark.parametrize("mask", [np.array([[1.0, 0.0, 1.0]]), np.array([1.0, 0.0, 1.0])])
def test_softmax_mask_broadcastable(mask):
    out = layers.Softmax(axis=-1)(np.array([[1.0, 2.0, 1.0], [3.0, 4.0, 5.0]]), mask=mask)
    _close(out[:, 1], [0.0, 0.0])


def test_softmax_mask_errors():
    with pytest.raises(ValueError, match="broadcastable"):
        layers.Softmax()(np.array([[1.0, 2.0, 1.0]]), mask=np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]))
    with pytest.raises(ValueError, match="must not have more dimensions"):
        layers.Softmax()(np.array([[1.0, 2.0, 1.0]]), mask=np.array([[[1.0, 0.0, 1.0]]]))
