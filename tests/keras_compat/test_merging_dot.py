"""Keras 3's own tests of the Dot layer (the Dot parts of keras/src/layers/merging/merging_test.py:
the ``dot_2d`` / ``dot_3d`` cases of test_basic, test_correctness_static/dynamic, and
test_dot_higher_dim), ported to lstmkit.keras with their expected values.

Skipped: test_errors for Dot (Keras skips it too: "Masking not supported"); the
``expected_num_seed_generators`` count (Keras-internal).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from lstmkit.keras import layers
from lstmkit.keras.models import Model

pytestmark = pytest.mark.usefixtures("fresh_names", "one_thread")


def np_dot(a, b, axes):
    if isinstance(axes, int):
        axes = (axes, axes)
    axes = [axis if axis < 0 else axis - 1 for axis in axes]
    res = np.stack([np.tensordot(a[i], b[i], axes) for i in range(a.shape[0])])
    if len(res.shape) == 1:
        res = np.expand_dims(res, axis=1)
    return res


CASES = [pytest.param((2, 4), (2, 1), id="dot_2d"), pytest.param((2, 4, 5), (2, 4, 4), id="dot_3d")]


@pytest.mark.parametrize("input_shape,expected_output_shape", CASES)
def test_basic(input_shape, expected_output_shape):
    layer = layers.Dot(axes=-1)
    config = json.loads(json.dumps(layer.get_config()))
    assert layers.Dot.from_config(config).get_config() == config
    x = np.random.rand(*input_shape).astype("float32")
    out = layer([x, x])
    assert tuple(out.shape) == expected_output_shape
    assert layer.weights == [] and layer.losses == [] and layer.supports_masking
    sym = layers.Dot(axes=-1)([layers.Input(input_shape[1:]), layers.Input(input_shape[1:])])
    assert sym.shape == (None, *expected_output_shape[1:])


@pytest.mark.parametrize("fixed_batch", [True, False], ids=["static", "dynamic"])
@pytest.mark.parametrize("input_shape,expected_output_shape", CASES)
def test_correctness(input_shape, expected_output_shape, fixed_batch):
    x1, x2 = np.random.rand(*input_shape), np.random.rand(*input_shape)
    x3 = np_dot(x1, x2, axes=-1)
    batch = {"batch_size": input_shape[0]} if fixed_batch else {}
    input_1, input_2 = layers.Input(shape=input_shape[1:], **batch), layers.Input(shape=input_shape[1:], **batch)
    layer = layers.Dot(axes=-1)
    model = Model([input_1, input_2], layer([input_1, input_2]))
    res = model([x1.astype("float32"), x2.astype("float32")])
    assert tuple(res.shape) == expected_output_shape
    np.testing.assert_allclose(res.detach().numpy(), x3, atol=1e-4)
    assert layer.compute_mask([x1, x2], [None, None]) is None


def test_dot_higher_dim():
    a_shape, b_shape = (1, 3, 2), (1, 1, 2, 3)
    a = layers.Input(batch_shape=a_shape)
    b = layers.Input(batch_shape=b_shape)
    assert layers.Dot(axes=(-2, -1))([a, b]).shape == (1, 2, 1, 2)
    c = layers.Dot(axes=(-2, -1))([np.random.random(a_shape), np.random.random(b_shape)])
    assert tuple(c.shape) == (1, 2, 1, 2)
