"""Keras 3's own TimeDistributed tests (keras/src/layers/rnn/time_distributed_test.py), ported to
lstmkit.keras with their expected values kept (numpy in and out).

Adapted: ``run_layer_test`` becomes ``_layer_test`` below (output shape, weight counts, masking
support, config round trip, symbolic shape); the masked inner layer of test_masking, a
``keras.layers.Wrapper`` subclass there, is a plain ``Layer`` holding a ``Dense`` here
(lstmkit.keras has no ``Wrapper`` base); as in Keras, it gets the mask of each (sample, step).

Skipped:
- test_build: wraps ``Conv2D``, which lstmkit.keras does not have (a sequence library: no
  convolution layers).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit.keras import Input, Sequential, initializers, layers
from lstmkit.keras.engine import registry
from lstmkit.keras.engine.layer import Layer

pytestmark = pytest.mark.usefixtures("one_thread")
MISMATCH = r"The `mask` passed to the `TimeDistributed` layer has a shape.*"
BATCH, TIMESTEPS, FEATURES = 4, 5, 3


def _close(got, want) -> None:
    np.testing.assert_allclose(got.detach().numpy(), np.asarray(want), atol=1e-6, rtol=1e-6)


def test_basics():
    def make():
        return layers.TimeDistributed(layers.Dense(1, use_bias=False))

    layer = make()
    out = layer(np.random.default_rng(0).standard_normal((3, 2, 4)).astype("float32"))
    assert tuple(out.shape) == (3, 2, 1)
    assert len(layer.trainable_weights) == 1 and len(layer.non_trainable_weights) == 0
    assert layer.supports_masking
    clone = registry.deserialize("layer", registry.serialize(layer))
    assert clone.get_config() == layer.get_config()
    assert make()(Input(batch_shape=(3, 2, 4))).shape == (3, 2, 1)


@pytest.mark.skip(reason="wraps Conv2D, which lstmkit.keras does not have")
def test_build():
    pass


def test_correctness():
    sequence = np.arange(24).reshape((3, 2, 4)).astype("float32")
    layer = layers.TimeDistributed(layer=layers.Dense(1, kernel_initializer=initializers.Constant(0.01),
                                                      use_bias=False))
    _close(layer(sequence), [[[0.06], [0.22]], [[0.38], [0.53999996]], [[0.7], [0.86]]])


class MaskedDense(Layer):
    """Keras' test layer: a Dense whose outputs are zeroed where the mask is False."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.layer = layers.Dense(units, kernel_initializer=initializers.Constant(0.01), use_bias=False)
        self.supports_masking = True

    def build(self, input_shape):
        self.layer._maybe_build(input_shape)

    def call(self, inputs, training=False, mask=None):
        unmasked = self.layer(inputs)
        if mask is None:
            return unmasked
        return (unmasked.T * mask.to(inputs.dtype)).T


def test_masking():
    sequence = np.arange(24).reshape((3, 2, 4)).astype("float32")
    layer = layers.TimeDistributed(layer=MaskedDense(1))
    mask = np.array([[False, True], [True, False], [True, True]])
    _close(layer(sequence, mask=mask), [[[0], [0.22]], [[0.38], [0]], [[0.7], [0.86]]])


def test_with_mask_zero():
    model = Sequential([
        Input(shape=(20,)),
        layers.Embedding(input_dim=10, output_dim=5, mask_zero=True),
        layers.TimeDistributed(layers.Dense(units=5, activation="softmax")),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    X_train = rng.uniform(1, 10, size=(22, 20))
    Y_train = rng.integers(1, 2, size=(22, 20))
    history = model.fit(X_train, Y_train, epochs=1, batch_size=16, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def _td():
    return layers.TimeDistributed(layers.Dense(units=5, activation="softmax"))


def test_mask_validation_with_mismatched_timesteps():
    td = _td()
    inputs = np.zeros((BATCH, TIMESTEPS, FEATURES))
    assert tuple(td(inputs, mask=np.ones((BATCH, TIMESTEPS), dtype=bool)).shape) == (BATCH, TIMESTEPS, 5)
    with pytest.raises(ValueError, match=MISMATCH):
        td(inputs, mask=np.ones((BATCH, TIMESTEPS + 1), dtype=bool))


def test_mask_validation_with_mismatched_batch_size():
    with pytest.raises(ValueError, match=MISMATCH):
        _td()(np.zeros((BATCH, TIMESTEPS, FEATURES)), mask=np.ones((BATCH + 1, TIMESTEPS), dtype=bool))


def test_mask_validation_with_correct_shape():
    output = _td()(np.zeros((BATCH, TIMESTEPS, FEATURES)), mask=np.ones((BATCH, TIMESTEPS, 1), dtype=bool))
    assert tuple(output.shape) == (BATCH, TIMESTEPS, 5)


def test_mask_validation_with_3d_mask():
    td = _td()
    inputs = np.zeros((BATCH, TIMESTEPS, FEATURES))
    assert tuple(td(inputs, mask=np.ones((BATCH, TIMESTEPS, 2), dtype=bool)).shape) == (BATCH, TIMESTEPS, 5)
    with pytest.raises(ValueError, match=MISMATCH):
        td(inputs, mask=np.ones((BATCH, TIMESTEPS + 1, 2), dtype=bool))


def test_mask_validation_with_none_mask():
    assert tuple(_td()(np.zeros((BATCH, TIMESTEPS, FEATURES)), mask=None).shape) == (BATCH, TIMESTEPS, 5)


def test_mask_validation_with_both_batch_and_timesteps_mismatched():
    with pytest.raises(ValueError, match=MISMATCH):
        _td()(np.zeros((BATCH, TIMESTEPS, FEATURES)), mask=np.ones((BATCH + 1, TIMESTEPS + 1), dtype=bool))


def test_a_one_dimensional_mask_is_an_error():
    """Keras' call also rejects a mask of rank < 2 (no test of its own there)."""
    with pytest.raises(ValueError, match="must be at least 2D"):
        _td()(torch.zeros(BATCH, TIMESTEPS, FEATURES), mask=np.ones((BATCH,), dtype=bool))
