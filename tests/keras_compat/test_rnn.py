"""Keras 3's keras/src/layers/rnn/rnn_test.py, ported to lstmkit.keras (numpy in, numpy out).

Expected values are Keras'. Adapted: ``run_layer_test`` is the stand-in of ``_rnn_cells``;
``ops.random.uniform`` is NumPy's; the toy cells use torch.matmul where Keras' use ops.matmul.
Skipped: nothing. Keras' ``expected_num_seed_generators`` has no counterpart (no seed
generators here) and is not checked.
"""

from __future__ import annotations

import numpy as np
import pytest

from lstmkit import keras
from lstmkit.keras import layers
from tests.keras_compat._rnn_cells import OneStateRNNCell, TwoStatesRNNCell, close, run_layer_test

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("init_kwargs, expected_shape, n_weights", [
    ({"cell": OneStateRNNCell(5, state_size=5)}, (3, 5), 2),
    ({"cell": OneStateRNNCell(5, state_size=[5])}, (3, 5), 2),
    ({"cell": OneStateRNNCell(5, state_size=(5,))}, (3, 5), 2),
    ({"cell": OneStateRNNCell(5), "return_sequences": True}, (3, 2, 5), 2),
    ({"cell": OneStateRNNCell(5), "go_backwards": True, "unroll": True}, (3, 5), 2),
    ({"cell": TwoStatesRNNCell(5, state_size=[5, 5])}, (3, 5), 3),
    ({"cell": TwoStatesRNNCell(5, state_size=(5, 5))}, (3, 5), 3),
    ({"cell": TwoStatesRNNCell(5), "return_sequences": True}, (3, 2, 5), 3),
])
def test_basics(init_kwargs, expected_shape, n_weights):
    run_layer_test(layers.RNN, init_kwargs, (3, 2, 4), expected_shape, expected_num_trainable_weights=n_weights,
                   expected_num_non_trainable_weights=0, supports_masking=True)


@pytest.mark.parametrize("cell_cls, n_states", [(OneStateRNNCell, 1), (TwoStatesRNNCell, 2)])
@pytest.mark.parametrize("shape", [(3, 4, 5), (None, None, 3)])
def test_compute_output_shape(cell_cls, n_states, shape):
    batch, steps = shape[:2]
    assert layers.RNN(cell_cls(8)).compute_output_shape(shape) == (batch, 8)
    assert layers.RNN(cell_cls(8), return_sequences=True).compute_output_shape(shape) == (batch, steps, 8)
    out = layers.RNN(cell_cls(8), return_state=True).compute_output_shape(shape)
    assert out[0] == (batch, 8) and all(s == (batch, 8) for s in out[1:]) and len(out) == 1 + n_states
    out = layers.RNN(cell_cls(8), return_sequences=True, return_state=True).compute_output_shape(shape)
    assert out[0] == (batch, steps, 8) and all(s == (batch, 8) for s in out[1:]) and len(out) == 1 + n_states


def test_forward_pass_single_state():
    sequence = np.ones((1, 2, 3))
    close(layers.RNN(OneStateRNNCell(2))(sequence), [[9.0, 9.0]])
    close(layers.RNN(OneStateRNNCell(2), return_sequences=True)(sequence),
                               [[[3.0, 3.0], [9.0, 9.0]]])
    output, state = layers.RNN(OneStateRNNCell(2), return_state=True)(sequence)
    close(output, [[9.0, 9.0]])
    close(state, [[9.0, 9.0]])
    output, state = layers.RNN(OneStateRNNCell(2), return_sequences=True, return_state=True)(sequence)
    close(output, [[[3.0, 3.0], [9.0, 9.0]]])
    close(state, [[9.0, 9.0]])


def test_forward_pass_two_states():
    sequence = np.ones((1, 2, 3))
    close(layers.RNN(TwoStatesRNNCell(2))(sequence), [[18.0, 18.0]])
    close(layers.RNN(TwoStatesRNNCell(2), return_sequences=True)(sequence),
                               [[[6.0, 6.0], [18.0, 18.0]]])
    output, s1, s2 = layers.RNN(TwoStatesRNNCell(2), return_state=True)(sequence)
    close(output, [[18.0, 18.0]])
    close(s1, [[9.0, 9.0]])
    close(s2, [[9.0, 9.0]])
    output, s1, s2 = layers.RNN(TwoStatesRNNCell(2), return_sequences=True, return_state=True)(sequence)
    close(output, [[[6.0, 6.0], [18.0, 18.0]]])
    close(s1, [[9.0, 9.0]])
    close(s2, [[9.0, 9.0]])


def test_passing_initial_state_single_state():
    sequence, state = np.ones((2, 3, 2)), np.ones((2, 2))
    close(layers.RNN(OneStateRNNCell(2))(sequence, initial_state=state), [[22.0, 22.0]] * 2)
    output, state = layers.RNN(OneStateRNNCell(2), return_state=True)(sequence, initial_state=state)
    close(output, [[22.0, 22.0]] * 2)
    close(state, [[22.0, 22.0]] * 2)


def test_passing_initial_state_two_states():
    sequence, state = np.ones((2, 3, 2)), [np.ones((2, 2)), np.ones((2, 2))]
    close(layers.RNN(TwoStatesRNNCell(2))(sequence, initial_state=state), [[44.0, 44.0]] * 2)
    output, s1, s2 = layers.RNN(TwoStatesRNNCell(2), return_state=True)(sequence, initial_state=state)
    close(output, [[44.0, 44.0]] * 2)
    close(s1, [[22.0, 22.0]] * 2)
    close(s2, [[22.0, 22.0]] * 2)


def test_statefulness_single_state():
    sequence = np.ones((1, 2, 3))
    layer = layers.RNN(OneStateRNNCell(2), stateful=True)
    layer(sequence)
    close(layer(sequence), [[45.0, 45.0]])
    layer = layers.RNN(OneStateRNNCell(2), stateful=True, return_state=True)
    layer(sequence)
    output, state = layer(sequence)
    close(output, [[45.0, 45.0]])
    close(state, [[45.0, 45.0]])


def test_statefulness_two_states():
    sequence = np.ones((1, 2, 3))
    layer = layers.RNN(TwoStatesRNNCell(2), stateful=True)
    layer(sequence)
    close(layer(sequence), [[90.0, 90.0]])
    layer = layers.RNN(TwoStatesRNNCell(2), stateful=True, return_state=True)
    layer(sequence)
    output, s1, s2 = layer(sequence)
    close(output, [[90.0, 90.0]])
    close(s1, [[45.0, 45.0]])
    close(s2, [[45.0, 45.0]])


def test_go_backwards():
    sequence = np.arange(24).reshape((2, 3, 4)).astype("float32")
    layer = layers.RNN(OneStateRNNCell(2), go_backwards=True)
    layer(sequence)
    close(layer(sequence), [[202.0, 202.0], [538.0, 538.0]])
    layer = layers.RNN(OneStateRNNCell(2), stateful=True, return_state=True)
    layer(sequence)
    output, state = layer(sequence)
    close(output, [[954.0, 954.0], [3978.0, 3978.0]])
    close(state, [[954.0, 954.0], [3978.0, 3978.0]])


@pytest.mark.parametrize("cell_cls", [TwoStatesRNNCell, OneStateRNNCell])
def test_serialization(cell_cls):
    layer = layers.RNN(cell_cls(2), return_sequences=False)
    config = layer.get_config()
    revived = layers.RNN.from_config(config)
    assert revived.get_config() == config


def test_stateful_batch_size_mismatch_raises():
    batch_size, timesteps, features = 4, 5, 3
    layer = layers.RNN(TwoStatesRNNCell(2), stateful=True)
    inputs = layers.Input(shape=(timesteps, features), batch_size=batch_size)
    model = keras.Model(inputs, layer(inputs))
    model(np.random.default_rng(0).uniform(size=(batch_size, timesteps, features)).astype("float32"))
    with pytest.raises(ValueError, match="batch size"):
        model(np.random.default_rng(1).uniform(size=(1, timesteps, features)).astype("float32"))


@pytest.mark.parametrize("unroll", [False, True])
def test_masking(unroll):
    sequence = np.arange(24).reshape((2, 4, 3)).astype("float32")
    mask = np.array([[True, True, True, False], [True, True, False, False]])
    output = layers.RNN(OneStateRNNCell(2), unroll=unroll)(sequence, mask=mask)
    close(output, [[57.0, 57.0], [126.0, 126.0]], atol=1e-5, rtol=1e-5)
    output = layers.RNN(OneStateRNNCell(2), return_sequences=True, unroll=unroll)(sequence, mask=mask)
    close(
        output, [[[3.0, 3.0], [18.0, 18.0], [57.0, 57.0], [57.0, 57.0]],
                 [[39.0, 39.0], [126.0, 126.0], [126.0, 126.0], [126.0, 126.0]]], atol=1e-5, rtol=1e-5)
