"""Keras 3's own tests of BatchNormalization
(keras/src/layers/normalization/batch_normalization_test.py), ported to lstmkit.keras with their
expected values.

Skipped or adapted:
- ``synchronized=True`` cases: TensorFlow-only in Keras (lstmkit accepts the flag and ignores it).
- test_large_value_within_autocast_scope: Keras' float16 ``AutocastScope`` has no lstmkit
  counterpart (the moving statistics are always stored in the layer's dtype).
- ``run_eagerly`` in test_bachnorm_ignore_masked_values: lstmkit always runs eagerly (one case).
- ``variable.assign(value)`` is done with ``set_weights`` / ``copy_``.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch

from lstmkit.keras import initializers, layers
from lstmkit.keras.models import Model
from tests.keras_compat._misc_layer_test import run_layer_test

pytestmark = pytest.mark.usefixtures("fresh_names", "one_thread")


def _np(x):
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _close(a, b, atol=1e-6, rtol=1e-6):
    np.testing.assert_allclose(_np(a), _np(b), atol=atol, rtol=rtol)


def _not_close(a, b):
    assert not np.allclose(_np(a), _np(b), atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("init_kwargs,input_shape,trainable,losses", [
    ({"center": True, "scale": True}, (2, 3), 2, 0),
    ({"center": False, "scale": False}, (2, 3), 0, 0),
    ({"center": True, "scale": True, "beta_regularizer": "l2", "gamma_regularizer": "l2"}, (2, 4, 4, 3), 2, 2),
])
def test_bn_basics(init_kwargs, input_shape, trainable, losses):
    run_layer_test(layers.BatchNormalization, init_kwargs, input_shape, call_kwargs={"training": True},
                   expected_output_shape=input_shape, expected_num_trainable_weights=trainable,
                   expected_num_non_trainable_weights=2, expected_num_losses=losses, supports_masking=True)


@pytest.mark.parametrize("axis,input_shape,moving_mean_initializer,moving_variance_initializer", list(
    itertools.product((-1, 1), ((5, 2, 3), (5, 3, 3, 2)), ("zeros", "ones"), ("zeros", "ones"))))
def test_correctness(axis, input_shape, moving_mean_initializer, moving_variance_initializer):
    layer = layers.BatchNormalization(axis=axis, momentum=0, moving_mean_initializer=moving_mean_initializer,
                                      moving_variance_initializer=moving_variance_initializer)
    x = np.random.normal(loc=5.0, scale=10.0, size=input_shape)
    out = x
    for _ in range(3):
        out = layer(out, training=True)
    broadcast_shape = [1] * len(input_shape)
    broadcast_shape[axis] = input_shape[axis]
    out = _np(out) - np.reshape(_np(layer.beta), broadcast_shape)
    out = out / np.reshape(_np(layer.gamma), broadcast_shape)
    reduction_axes = list(range(len(input_shape)))
    del reduction_axes[axis]
    reduction_axes = tuple(reduction_axes)
    _close(np.mean(out, axis=reduction_axes), 0.0, atol=1e-3)
    _close(np.std(out, axis=reduction_axes), 1.0, atol=1e-3)
    _close(layer.moving_mean, np.zeros(input_shape[axis]), atol=1e-3)
    _close(layer.moving_variance, np.ones(input_shape[axis]), atol=1e-3)

    # Inference done before training shouldn't match.
    inference_out = layer(x, training=False)
    training_out = layer(x, training=True)
    _not_close(inference_out, training_out)
    # Since momentum is zero, inference after training should match.
    training_out = layer(x, training=True)
    inference_out = layer(x, training=False)
    _close(inference_out, training_out, atol=1e-5, rtol=1e-5)

    # Masked result with no training should not differ
    x[:, 1, :] = 0.0
    unmasked_out = layer(x, training=False)
    masked_out = layer(layers.Masking()(x), training=False)
    _close(unmasked_out, masked_out)
    # Masked result should differ from unmasked result
    unmasked_out = layer(x, training=False)
    masked_out = layer(layers.Masking()(x), training=True)
    _not_close(unmasked_out, masked_out)


def test_input_fully_masked():
    norm = layers.BatchNormalization(scale=False, center=False)
    y = norm(np.zeros((4, 5)), mask=np.zeros((4,), dtype=np.float32), training=True)
    _close(y, np.zeros((4, 5), dtype=np.float32))


@pytest.mark.parametrize("mask_value", [0.0, 0.1, 1])
def test_bachnorm_ignore_masked_values(mask_value):
    padded_data = np.array([[[1, 5], [2, 5], [mask_value, mask_value], [mask_value, mask_value]]
                            for _ in range(10)], dtype="float32")
    inputs = layers.Input((None, 2))
    masked = layers.Masking(mask_value=mask_value)(inputs)
    normed = layers.BatchNormalization(momentum=0.0)(masked)
    model = Model(inputs, normed)
    model.compile("rmsprop", loss="mse")
    model.fit(x=padded_data, y=padded_data, batch_size=10, epochs=5, verbose=0)
    _close(model.layers[2].moving_mean, [1.5, 5.0])
    _close(model.layers[2].moving_variance, [0.25, 0.0])


def test_trainable_behavior():
    layer = layers.BatchNormalization(axis=-1, momentum=0.8, epsilon=1e-7)
    layer.build((1, 4, 4, 3))
    layer.trainable = False
    assert len(layer.weights) == 4 and len(layer.trainable_weights) == 0 and len(layer.non_trainable_weights) == 4
    x = np.random.normal(loc=5.0, scale=10.0, size=(200, 4, 4, 3))
    _close(layer(x, training=True), x.astype("float32"), atol=1e-5, rtol=1e-6)
    layer.trainable = True
    assert len(layer.weights) == 4 and len(layer.trainable_weights) == 2 and len(layer.non_trainable_weights) == 2
    for _ in range(10):
        out = layer(x, training=True)
    out = _np(out) - np.reshape(_np(layer.beta), (1, 1, 1, 3))
    out = out / np.reshape(_np(layer.gamma), (1, 1, 1, 3))
    _close(np.mean(out, axis=(0, 1, 2)), 0.0, atol=1e-3)
    _close(np.std(out, axis=(0, 1, 2)), 1.0, atol=1e-3)


def test_masked_broadcast_normalization():
    layer = layers.BatchNormalization(axis=-1, momentum=0.0, epsilon=1e-3)
    y = layer(np.ones((1, 2, 3, 4)), training=True, mask=np.ones((1, 2, 1)))
    _close(_np(y).mean(axis=(0, 1, 2)), np.zeros((4,)))
    _close(y, np.zeros((1, 2, 3, 4)))
    _close(layer.moving_mean, np.ones((4,)))
    _close(layer.moving_variance, np.zeros((4,)))


@pytest.mark.parametrize("init_kwargs,input_shape", [
    ({"center": True, "scale": True, "renorm": True}, (2, 3)),
    ({"center": True, "scale": True, "renorm": True, "renorm_clipping": {"rmax": 3.0, "rmin": 0.3, "dmax": 5.0}},
     (2, 4, 4, 3)),
])
def test_renorm_basics(init_kwargs, input_shape):
    run_layer_test(layers.BatchNormalization, init_kwargs, input_shape, call_kwargs={"training": True},
                   expected_output_shape=input_shape, expected_num_trainable_weights=2,
                   expected_num_non_trainable_weights=5, expected_num_losses=0, supports_masking=True)


def test_renorm_invalid_clipping_keys():
    with pytest.raises(ValueError, match="Received invalid keys"):
        layers.BatchNormalization(renorm=True, renorm_clipping={"random_key": 1.0})
    with pytest.raises(ValueError, match="rmax should be"):
        layers.BatchNormalization(renorm=True, renorm_clipping={"rmax": 0.0, "rmin": 1.0})
    with pytest.raises(ValueError, match="dmax should be non-negative"):
        layers.BatchNormalization(renorm=True, renorm_clipping={"rmax": 1.0, "dmax": -1.0})


def test_renorm_stddev_initializer():
    layer = layers.BatchNormalization(renorm=True, moving_variance_initializer=initializers.Constant(4.0))
    layer.build((None, 5))
    _close(layer.moving_stddev, np.full((5,), 2.0))
    _close(layer.renorm_stddev, np.full((5,), 2.0))


def test_renorm_inference():
    bn, bn_renorm = layers.BatchNormalization(renorm=False), layers.BatchNormalization(renorm=True)
    bn.build((None, 10))
    bn_renorm.build((None, 10))
    values = [np.random.normal(size=(10,)).astype("float32") for _ in range(4)]
    bn.set_weights(values)
    bn_renorm.set_weights(values + bn_renorm.get_weights()[4:])
    x = np.random.normal(size=(4, 10))
    _close(bn(x, training=False), bn_renorm(x, training=False), atol=1e-5, rtol=1e-5)


def test_renorm_correctness():
    epsilon, momentum, renorm_momentum = 1e-3, 0.9, 0.8
    layer = layers.BatchNormalization(axis=-1, epsilon=epsilon, momentum=momentum, renorm=True,
                                      renorm_momentum=renorm_momentum)
    layer.build((None, 3))
    rng = np.random.default_rng(1337)
    size = (3,)
    init_moving_mean = rng.normal(0.0, 1.0, size=size)
    init_moving_var = np.abs(rng.normal(1.0, 0.5, size=size))
    init_moving_stddev = np.sqrt(init_moving_var)
    init_renorm_mean = rng.normal(0.0, 1.0, size=size)
    init_renorm_stddev = np.abs(rng.normal(1.0, 0.5, size=size))
    init_gamma = rng.normal(1.0, 0.1, size=size)
    init_beta = rng.normal(0.0, 0.1, size=size)
    # Keras order: gamma, beta, moving_mean, moving_variance, moving_stddev, renorm_mean, renorm_stddev
    layer.set_weights([init_gamma, init_beta, init_moving_mean, init_moving_var, init_moving_stddev,
                       init_renorm_mean, init_renorm_stddev])
    x = np.array([[4.0, 6.0, 2.0], [8.0, -2.0, 5.0], [6.0, 4.0, 3.0]], dtype="float32")
    batch_mean, batch_var = np.mean(x, axis=0), np.var(x, axis=0)
    batch_stddev = np.sqrt(batch_var + epsilon)
    r = batch_stddev / init_renorm_stddev
    d = (batch_mean - init_renorm_mean) / init_renorm_stddev
    expected_output = (((x - batch_mean) / batch_stddev) * r + d) * init_gamma + init_beta
    _close(layer(x, training=True), expected_output, atol=1e-5)
    _close(layer.renorm_mean, init_renorm_mean * renorm_momentum + batch_mean * (1 - renorm_momentum), atol=1e-5)
    _close(layer.renorm_stddev, init_renorm_stddev * renorm_momentum + batch_stddev * (1 - renorm_momentum),
           atol=1e-5)
    _close(layer.moving_mean, init_moving_mean * momentum + batch_mean * (1 - momentum), atol=1e-5)
    expected_moving_stddev = init_moving_stddev * momentum + batch_stddev * (1 - momentum)
    _close(layer.moving_stddev, expected_moving_stddev, atol=1e-5)
    _close(layer.moving_variance, expected_moving_stddev**2 - epsilon, atol=1e-5)


def test_serialization():
    layer = layers.BatchNormalization(renorm=True, renorm_clipping={"rmax": 3.0, "rmin": 0.3, "dmax": 5.0},
                                      renorm_momentum=0.95)
    config = layer.get_config()
    assert layers.BatchNormalization.from_config(config).get_config() == config
    assert layers.BatchNormalization.from_config(json.loads(json.dumps(config))).get_config() == config
