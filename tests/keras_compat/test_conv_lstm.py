"""Keras 3's own ConvLSTM tests, ported: keras/src/layers/rnn/conv_lstm_test.py,
conv_lstm1d_test.py, conv_lstm2d_test.py and conv_lstm3d_test.py, expected values kept.

Adaptations (nothing is skipped):

- Keras picks ``channels_last`` / ``channels_first`` from its global ``image_data_format``; lstmkit
  has no such global, so each test runs for both, passing ``data_format=`` explicitly and
  transposing inputs and expected values exactly as Keras' tests do.
- ``ConvLSTMCellTest`` calls Keras' ``ConvLSTMCell`` layer, which lstmkit does not expose (its
  ConvLSTM layers run the cell internally). The same numbers are checked twice: on the float64
  reference step ``lstmkit.cells.conv_lstm.conv_lstm_step`` (the cell's equations) and on a
  one-step ``ConvLSTM2D`` with ``initial_state`` and ``return_state`` (its output h and states).
- ``ConvLSTMTest`` builds the abstract ``ConvLSTM(rank=2, ...)``; that is ``ConvLSTM2D`` here.
- ``run_layer_test`` is Keras' testing harness; ``_run_layer_test`` below checks what it checks
  that applies to lstmkit: eager and symbolic output shapes, weight counts, ``supports_masking``,
  a config round-trip, and a training step through compile/fit. Its seed-generator count and
  mixed-precision checks are about Keras' own variable/seed objects and are left out.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lstmkit.keras as lk
from lstmkit.cells.conv_lstm import conv_lstm_step
from lstmkit.keras import initializers, layers
from lstmkit.keras.engine import registry
from lstmkit.keras.models import Sequential

pytestmark = pytest.mark.usefixtures("one_thread", "fresh_names")
FORMATS = ["channels_last", "channels_first"]


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


def _run_layer_test(cls, init_kwargs, input_shape, expected_output_shape, call_kwargs=None):
    call_kwargs = call_kwargs or {}
    x = np.random.default_rng(0).standard_normal(input_shape).astype("float32")
    layer = cls(**init_kwargs)
    out = layer(x, **call_kwargs)
    assert tuple(out.shape) == expected_output_shape
    assert len(layer.trainable_weights) == 3 and len(layer.non_trainable_weights) == 0
    assert layer.supports_masking
    again = registry.deserialize("layer", registry.serialize(layer))
    assert type(again) is cls and again.get_config() == layer.get_config()
    symbolic = cls(**init_kwargs)(lk.Input(input_shape[1:]))
    assert tuple(symbolic.shape) == (None, *expected_output_shape[1:])
    model = Sequential([lk.Input(input_shape[1:]), cls(**init_kwargs)])
    model.compile(optimizer="sgd", loss="mse")
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, np.zeros(expected_output_shape, "float32"), epochs=1, batch_size=input_shape[0], verbose=0)
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))


def _constant_layer(cls, data_format, **kw):
    return cls(filters=2, kernel_size=3, data_format=data_format, kernel_initializer=initializers.Constant(0.01),
               recurrent_initializer=initializers.Constant(0.02), bias_initializer=initializers.Constant(0.03), **kw)


# ----------------------------------------------------------------------------- conv_lstm_test.py
def test_cell_correctness_reference_step():
    x = np.arange(150).reshape((2, 5, 5, 3)).astype("float32") / 10
    s1 = np.arange(200).reshape((2, 5, 5, 4)).astype("float32") / 10
    s2 = np.arange(200).reshape((2, 5, 5, 4)).astype("float32") / 10
    bias = np.concatenate([np.zeros(4), np.ones(4), np.zeros(8)])  # zeros, with unit_forget_bias
    h, c, _ = conv_lstm_step(x, s1, s2, np.full((3, 3, 3, 16), 0.01), np.full((3, 3, 4, 16), 0.02), bias,
                             padding="same")
    np.testing.assert_allclose(np.sum(h), 188.89502, rtol=1e-6)
    np.testing.assert_allclose(np.sum(c), 2170.444, rtol=1e-6)


@pytest.mark.parametrize("data_format", FORMATS)
def test_cell_correctness(data_format):
    x = np.arange(150).reshape((2, 5, 5, 3)).astype("float32") / 10
    s1 = np.arange(200).reshape((2, 5, 5, 4)).astype("float32") / 10
    s2 = np.arange(200).reshape((2, 5, 5, 4)).astype("float32") / 10
    if data_format == "channels_first":
        x = x.transpose((0, 3, 1, 2))
        s1 = s1.transpose((0, 3, 1, 2))
        s2 = s2.transpose((0, 3, 1, 2))
    layer = layers.ConvLSTM2D(filters=4, kernel_size=3, padding="same", data_format=data_format, return_state=True,
                              kernel_initializer=initializers.Constant(0.01),
                              recurrent_initializer=initializers.Constant(0.02))
    output, h, c = layer(x[:, None], initial_state=[s1, s2])  # one time step
    np.testing.assert_allclose(np.sum(_np(output)), 188.89502, rtol=1e-5)
    np.testing.assert_allclose(np.sum(_np(h)), 188.89502, rtol=1e-5)
    np.testing.assert_allclose(np.sum(_np(c)), 2170.444, rtol=1e-5)


@pytest.mark.parametrize("data_format", FORMATS)
def test_conv_lstm_correctness(data_format):
    x = np.arange(450).reshape((2, 3, 5, 5, 3)).astype("float32") / 100
    s1 = np.arange(200).reshape((2, 5, 5, 4)).astype("float32") / 100
    s2 = np.arange(200).reshape((2, 5, 5, 4)).astype("float32") / 100
    if data_format == "channels_first":
        x = x.transpose((0, 1, 4, 2, 3))
        s1 = s1.transpose((0, 3, 1, 2))
        s2 = s2.transpose((0, 3, 1, 2))
    layer = layers.ConvLSTM2D(filters=4, kernel_size=3, padding="same", data_format=data_format,
                              kernel_initializer=initializers.Constant(0.01),
                              recurrent_initializer=initializers.Constant(0.02))
    output = layer(x, initial_state=[s1, s2])
    np.testing.assert_allclose(np.sum(_np(output)), 119.812454, rtol=1e-5)


# ----------------------------------------------------------------------------- conv_lstm1d_test.py
@pytest.mark.parametrize("data_format", FORMATS)
def test_conv_lstm1d_basics(data_format):
    last = data_format == "channels_last"
    cls = layers.ConvLSTM1D
    _run_layer_test(cls, {"filters": 5, "kernel_size": 3, "padding": "same", "data_format": data_format},
                    (3, 2, 4, 3) if last else (3, 2, 3, 4), (3, 4, 5) if last else (3, 5, 4))
    _run_layer_test(cls, {"filters": 5, "kernel_size": 3, "padding": "valid", "recurrent_dropout": 0.5,
                          "data_format": data_format},
                    (3, 2, 8, 3) if last else (3, 2, 3, 8), (3, 6, 5) if last else (3, 5, 6), {"training": True})
    _run_layer_test(cls, {"filters": 5, "kernel_size": 3, "padding": "valid", "return_sequences": True,
                          "data_format": data_format},
                    (3, 2, 8, 3) if last else (3, 2, 3, 8), (3, 2, 6, 5) if last else (3, 2, 5, 6))


@pytest.mark.parametrize("data_format", FORMATS)
def test_conv_lstm1d_correctness(data_format):
    sequence = np.arange(120).reshape((2, 3, 4, 5)).astype("float32") / 10
    expected_output = np.array([
        [[0.40807986, 0.40807986], [0.46421072, 0.46421072]],
        [[0.80933154, 0.80933154], [0.8233646, 0.8233646]],
    ])
    if data_format == "channels_first":
        sequence = sequence.transpose((0, 1, 3, 2))
        expected_output = expected_output.transpose((0, 2, 1))
    output = _constant_layer(layers.ConvLSTM1D, data_format)(sequence)
    np.testing.assert_allclose(_np(output), expected_output, atol=1e-6, rtol=1e-6)


def test_conv_lstm1d_symbolic_invalid_strides_dilation_rate():
    with pytest.raises(ValueError, match=r"Specifying `strides > 1` is not compatible with `dilation_rate > 1`"):
        layers.ConvLSTM1D(filters=1, kernel_size=1, strides=2, padding="same", dilation_rate=3,
                          return_sequences=True)


# ----------------------------------------------------------------------------- conv_lstm2d_test.py
@pytest.mark.parametrize("data_format", FORMATS)
def test_conv_lstm2d_basics(data_format):
    last = data_format == "channels_last"
    cls = layers.ConvLSTM2D
    _run_layer_test(cls, {"filters": 5, "kernel_size": 3, "padding": "same", "data_format": data_format},
                    (3, 2, 4, 4, 3) if last else (3, 2, 3, 4, 4), (3, 4, 4, 5) if last else (3, 5, 4, 4))
    _run_layer_test(cls, {"filters": 5, "kernel_size": 3, "padding": "valid", "recurrent_dropout": 0.5,
                          "data_format": data_format},
                    (3, 2, 8, 8, 3) if last else (3, 2, 3, 8, 8), (3, 6, 6, 5) if last else (3, 5, 6, 6),
                    {"training": True})
    _run_layer_test(cls, {"filters": 5, "kernel_size": 3, "padding": "valid", "return_sequences": True,
                          "data_format": data_format},
                    (3, 2, 8, 8, 3) if last else (3, 2, 3, 8, 8), (3, 2, 6, 6, 5) if last else (3, 2, 5, 6, 6))


@pytest.mark.parametrize("data_format", FORMATS)
def test_conv_lstm2d_correctness(data_format):
    sequence = np.arange(480).reshape((2, 3, 4, 4, 5)).astype("float32") / 100
    expected_output = np.array([
        [[[0.48694518, 0.48694518], [0.50237733, 0.50237733]], [[0.5461202, 0.5461202], [0.5598283, 0.5598283]]],
        [[[0.8661607, 0.8661607], [0.86909103, 0.86909103]], [[0.8774414, 0.8774414], [0.8800861, 0.8800861]]],
    ])
    if data_format == "channels_first":
        sequence = sequence.transpose((0, 1, 4, 2, 3))
        expected_output = expected_output.transpose((0, 3, 1, 2))
    output = _constant_layer(layers.ConvLSTM2D, data_format)(sequence)
    np.testing.assert_allclose(_np(output), expected_output, atol=1e-6, rtol=1e-6)


def test_conv_lstm2d_symbolic_invalid_strides_dilation_rate():
    with pytest.raises(ValueError, match=r"Specifying `strides > 1` is not compatible with `dilation_rate > 1`"):
        layers.ConvLSTM2D(filters=1, kernel_size=1, strides=2, padding="same", dilation_rate=3,
                          return_sequences=True)


# ----------------------------------------------------------------------------- conv_lstm3d_test.py
@pytest.mark.parametrize("data_format", FORMATS)
def test_conv_lstm3d_basics(data_format):
    last = data_format == "channels_last"
    cls = layers.ConvLSTM3D
    _run_layer_test(cls, {"filters": 5, "kernel_size": 3, "padding": "same", "data_format": data_format},
                    (3, 2, 4, 4, 4, 3) if last else (3, 2, 3, 4, 4, 4),
                    (3, 4, 4, 4, 5) if last else (3, 5, 4, 4, 4))
    _run_layer_test(cls, {"filters": 5, "kernel_size": 3, "padding": "valid", "recurrent_dropout": 0.5,
                          "data_format": data_format},
                    (3, 2, 8, 8, 8, 3) if last else (3, 2, 3, 8, 8, 8),
                    (3, 6, 6, 6, 5) if last else (3, 5, 6, 6, 6), {"training": True})
    _run_layer_test(cls, {"filters": 5, "kernel_size": 3, "padding": "valid", "return_sequences": True,
                          "data_format": data_format},
                    (3, 2, 8, 8, 8, 3) if last else (3, 2, 3, 8, 8, 8),
                    (3, 2, 6, 6, 6, 5) if last else (3, 2, 5, 6, 6, 6))


@pytest.mark.parametrize("data_format", FORMATS)
def test_conv_lstm3d_correctness(data_format):
    sequence = np.arange(1920).reshape((2, 3, 4, 4, 4, 5)).astype("float32") / 100
    expected_output = np.array([
        [[[[0.99149036, 0.99149036], [0.99180907, 0.99180907]], [[0.99258363, 0.99258363], [0.9927925, 0.9927925]]],
         [[[0.99413764, 0.99413764], [0.99420583, 0.99420583]], [[0.9943788, 0.9943788], [0.9944278, 0.9944278]]]],
        [[[[0.9950547, 0.9950547], [0.9950547, 0.9950547]], [[0.9950547, 0.9950547], [0.9950547, 0.9950547]]],
         [[[0.9950547, 0.9950547], [0.9950547, 0.9950547]], [[0.9950547, 0.9950547], [0.9950547, 0.9950547]]]],
    ])
    if data_format == "channels_first":
        sequence = sequence.transpose((0, 1, 5, 2, 3, 4))
        expected_output = expected_output.transpose((0, 4, 1, 2, 3))
    output = _constant_layer(layers.ConvLSTM3D, data_format)(sequence)
    np.testing.assert_allclose(_np(output), expected_output, atol=1e-6, rtol=1e-6)


def test_conv_lstm3d_symbolic_invalid_strides_dilation_rate():
    with pytest.raises(ValueError, match=r"Specifying `strides > 1` is not compatible with `dilation_rate > 1`"):
        layers.ConvLSTM3D(filters=1, kernel_size=1, strides=2, padding="same", dilation_rate=(1, 2, 2),
                          return_state=True)
