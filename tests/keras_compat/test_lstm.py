"""Keras 3's keras/src/layers/rnn/lstm_test.py, ported to lstmkit.keras.

Expected values are Keras'. Every test runs twice: on ``LSTM(...)`` and on
``RNN(LSTMCell(...))`` (Keras' LSTM is that RNN, so the values hold for both). Adapted:
``run_layer_test`` is the stand-in of ``_rnn_cells``; ``implementation`` (1 or 2) is accepted
and ignored by lstmkit, so ``test_correctness`` runs for both values as in Keras. Skipped:
nothing. Keras' ``expected_num_losses=3`` is checked as ``len(layer.losses) == 3``.
"""

from __future__ import annotations

import numpy as np
import pytest

from lstmkit.keras import initializers, layers
from tests.keras_compat._rnn_cells import close, layer_factory, run_layer_test

pytestmark = pytest.mark.usefixtures("one_thread")
HOW = ["layer", "cell"]
CONST = dict(kernel_initializer=initializers.Constant(0.01), recurrent_initializer=initializers.Constant(0.02),
             bias_initializer=initializers.Constant(0.03))


def _cls(how):
    return layers.LSTM if how == "layer" else layers.RNN


def _kwargs(how, units, **kwargs):
    if how == "layer":
        return {"units": units, **kwargs}
    rnn = {k: kwargs.pop(k) for k in ("return_sequences",) if k in kwargs}
    return {"cell": layers.LSTMCell(units, **kwargs), **rnn}


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("kwargs", [{"dropout": 0.5}, {"dropout": 0.5, "recurrent_dropout": 0.5}])
def test_basics_dropout(how, kwargs):
    run_layer_test(_cls(how), _kwargs(how, 3, **kwargs), (3, 2, 4), (3, 3), call_kwargs={"training": True},
                   expected_num_trainable_weights=3, expected_num_non_trainable_weights=0, supports_masking=True)


@pytest.mark.parametrize("how", HOW)
def test_basics_regularizers(how):
    kwargs = _kwargs(how, 3, return_sequences=True, bias_regularizer="l1", kernel_regularizer="l2",
                     recurrent_regularizer="l2")
    run_layer_test(_cls(how), kwargs, (3, 2, 4), (3, 2, 3), expected_num_trainable_weights=3,
                   expected_num_non_trainable_weights=0, supports_masking=True)
    layer = _cls(how)(**_kwargs(how, 3, return_sequences=True, bias_regularizer="l1", kernel_regularizer="l2",
                                recurrent_regularizer="l2"))
    layer(np.ones((3, 2, 4), dtype="float32"))
    assert len(layer.losses) == 3


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("implementation", [1, 2])
@pytest.mark.parametrize("kwargs, expected", [
    ({}, [0.6288687, 0.86899155, 0.9460773]),
    ({"go_backwards": True}, [0.35622165, 0.74789524, 0.8872726]),
    ({"unroll": True}, [0.6288687, 0.86899155, 0.9460773]),
    ({"unit_forget_bias": False}, [0.57019705, 0.8661914, 0.9459622]),
    ({"use_bias": False}, [0.54986924, 0.86226785, 0.9443936]),
])
def test_correctness(how, implementation, kwargs, expected):
    sequence = np.arange(72).reshape((3, 6, 4)).astype("float32")
    layer = layer_factory("LSTM", "LSTMCell", how)(3, **CONST, implementation=implementation, **kwargs)
    close(layer(sequence), np.repeat(np.array(expected)[:, None], 3, axis=1), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("how", HOW)
def test_statefulness(how):
    sequence = np.arange(24).reshape((2, 3, 4)).astype("float32")
    layer = layer_factory("LSTM", "LSTMCell", how)(4, stateful=True, **CONST)
    expected = np.repeat(np.array([0.3124785, 0.6863672])[:, None], 4, axis=1)
    layer(sequence)
    close(layer(sequence), expected, atol=1e-5, rtol=1e-5)
    layer.reset_state()
    layer(sequence)
    close(layer(sequence), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("kwargs, expected", [
    ({}, [[0.20574439, 0.3558822], [0.64930826, 0.66276]]),
    ({"go_backwards": True}, [[0.13281618, 0.2790356], [0.5839337, 0.5992567]]),
])
def test_pass_initial_state(how, kwargs, expected):
    sequence = np.arange(24).reshape((2, 4, 3)).astype("float32")
    initial_state = [np.arange(4).reshape((2, 2)).astype("float32"), np.arange(4).reshape((2, 2)).astype("float32")]
    layer = layer_factory("LSTM", "LSTMCell", how)(2, **CONST, **kwargs)
    close(layer(sequence, initial_state=initial_state), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("how", HOW)
def test_masking(how):
    sequence = np.arange(24).reshape((2, 4, 3)).astype("float32")
    mask = np.array([[True, True, True, False], [True, True, False, False]])
    make = layer_factory("LSTM", "LSTMCell", how)
    close(make(2, **CONST, unroll=True)(sequence, mask=mask), [[0.11755939] * 2, [0.28556206] * 2], atol=1e-5,
          rtol=1e-5)
    output = make(2, **CONST, return_sequences=True)(sequence, mask=mask)
    close(output[0], [[0.01588910] * 2, [0.05552048] * 2, [0.11755939] * 2, [0.11755939] * 2], atol=1e-5, rtol=1e-5)
    close(output[1], [[0.14185596] * 2, [0.28556206] * 2, [0.28556206] * 2, [0.28556206] * 2], atol=1e-5, rtol=1e-5)
    output = make(2, **CONST, return_sequences=True, zero_output_for_mask=True)(sequence, mask=mask)
    close(output[0], [[0.01588910] * 2, [0.05552048] * 2, [0.11755939] * 2, [0.0] * 2], atol=1e-5, rtol=1e-5)
    close(output[1], [[0.14185596] * 2, [0.28556206] * 2, [0.0] * 2, [0.0] * 2], atol=1e-5, rtol=1e-5)
    backwards_mask = np.array([[False, True, True, True], [False, False, True, True]])
    close(make(2, **CONST, go_backwards=True)(sequence, mask=backwards_mask), [[0.15341201] * 2, [0.3844719] * 2],
          atol=1e-5, rtol=1e-5)
