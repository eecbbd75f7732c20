"""Keras 3's own tests of Lambda (keras/src/layers/core/lambda_layer_test.py), ported to
lstmkit.keras with their expected values.

Adapted: Keras' round trips ``Lambda.from_config(config, safe_mode=False)`` rebuild a Python
lambda from its marshalled bytecode. lstmkit never turns stored bytecode into code (not even
with ``safe_mode=False``), so these ports check that the same call is refused and that the
round trip works when the function is passed again through ``custom_objects``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit.keras import layers
from tests.keras_compat._misc_layer_test import run_layer_test

pytestmark = pytest.mark.usefixtures("fresh_names", "one_thread")


def stacker(x):
    return torch.cat([x, x], dim=1)


def stacker_shape(s):
    return (s[0], s[1] * 2)


def test_lambda_basics():
    common = {"expected_num_trainable_weights": 0, "expected_num_non_trainable_weights": 0,
              "expected_num_losses": 0}
    run_layer_test(layers.Lambda, {"function": torch.square}, (2, 3), expected_output_shape=(2, 3),
                   supports_masking=False, custom_objects={"square": torch.square}, **common)
    run_layer_test(layers.Lambda, {"function": torch.square, "mask": torch.ones((2, 3))}, (2, 3, 4),
                   expected_output_shape=(2, 3, 4), supports_masking=True, custom_objects={"square": torch.square},
                   **common)
    run_layer_test(layers.Lambda, {"function": stacker, "output_shape": (6,)}, (2, 3), expected_output_shape=(2, 6),
                   supports_masking=False, custom_objects={"stacker": stacker}, **common)
    run_layer_test(layers.Lambda, {"function": stacker, "output_shape": stacker_shape}, (2, 3),
                   expected_output_shape=(2, 6), supports_masking=False,
                   custom_objects={"stacker": stacker, "stacker_shape": stacker_shape}, **common)


def test_correctness():
    layer = layers.Lambda(lambda x: x**2)
    np.testing.assert_allclose(layer(2 * np.ones((2, 3))).numpy(), 4 * np.ones((2, 3)))
    config = layer.get_config()
    with pytest.raises(ValueError, match="Lambda"):
        layers.Lambda.from_config(config, safe_mode=False)
    layer = layers.Lambda.from_config(config, custom_objects={config["name"]: lambda x: x**2})
    np.testing.assert_allclose(layer(2 * np.ones((2, 3))).numpy(), 4 * np.ones((2, 3)))


def test_from_config_fails_closed_without_safe_mode_scope():
    config = layers.Lambda(lambda x: x**2).get_config()
    with pytest.raises(ValueError, match="Lambda"):
        layers.Lambda.from_config(config)


def test_correctness_lambda_shape():
    layer = layers.Lambda(lambda x: x**2, output_shape=lambda x: x)
    np.testing.assert_allclose(layer(2 * np.ones((2, 3))).numpy(), 4 * np.ones((2, 3)))
    config = layer.get_config()
    with pytest.warns(UserWarning, match="output_shape"):  # a lambda output_shape is dropped, not loaded
        layer = layers.Lambda.from_config(config, custom_objects={config["name"]: lambda x: x**2})
    np.testing.assert_allclose(layer(2 * np.ones((2, 3))).numpy(), 4 * np.ones((2, 3)))
