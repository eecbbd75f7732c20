"""Keras 3's own tests of SpatialDropout1D, GaussianNoise and GaussianDropout
(keras/src/layers/regularization/{spatial_dropout,gaussian_noise,gaussian_dropout}_test.py),
ported to lstmkit.keras with their expected values.

Skipped:
- SpatialDropout2D / SpatialDropout3D tests: those layers are not part of lstmkit (sequence
  models only).
- ``assert_built_after_instantiation`` and ``expected_num_seed_generators=1``: Keras-internal
  state; the seeded stream is checked by tests/keras/test_normalization_regularization.py instead.
"""

from __future__ import annotations

import numpy as np
import pytest

from lstmkit.keras import layers
from tests.keras_compat._misc_layer_test import run_layer_test

pytestmark = pytest.mark.usefixtures("fresh_names", "one_thread")


@pytest.mark.parametrize("training", [True, False])
def test_spatial_dropout_1d(training):
    run_layer_test(layers.SpatialDropout1D, {"rate": 0.5}, (2, 3, 4), call_kwargs={"training": training},
                   expected_output_shape=(2, 3, 4))


def test_spatial_dropout_1d_dynamic():
    assert layers.SpatialDropout1D(0.5)(layers.Input((3, 2)), training=True).shape == (None, 3, 2)


def test_spatial_dropout_1d_correctness():
    outputs = layers.SpatialDropout1D(0.5)(np.ones((10, 3, 10)), training=True).numpy()
    np.testing.assert_allclose(outputs[:, 0, :], outputs[:, 1, :])


def test_gaussian_noise_basics():
    run_layer_test(layers.GaussianNoise, {"stddev": 0.2}, (2, 3), call_kwargs={"training": True},
                   expected_output_shape=(2, 3), expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=0, expected_num_losses=0, supports_masking=True)


def test_gaussian_noise_correctness():
    outputs = layers.GaussianNoise(0.3, seed=1337)(np.ones((20, 500)), training=True).numpy()
    np.testing.assert_allclose(np.std(outputs), 0.3, atol=0.02)


def test_gaussian_dropout_basics():
    run_layer_test(layers.GaussianDropout, {"rate": 0.2}, (2, 3), call_kwargs={"training": True},
                   expected_output_shape=(2, 3), expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=0, expected_num_losses=0, supports_masking=True)


def test_gaussian_dropout_correctness():
    outputs = layers.GaussianDropout(0.3, seed=1337)(np.ones((20, 500)), training=True).numpy()
    np.testing.assert_allclose(np.std(outputs), np.sqrt(0.3 / (1 - 0.3)), atol=0.02)
