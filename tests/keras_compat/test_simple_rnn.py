"""Keras 3's keras/src/layers/rnn/simple_rnn_test.py, ported to lstmkit.keras.

Expected values are Keras'. Every test runs on ``SimpleRNN(...)`` and on
``RNN(SimpleRNNCell(...))`` (Keras' SimpleRNN is that RNN). Adapted: ``run_layer_test`` is
the stand-in of ``_rnn_cells``; Keras' ``expected_num_non_trainable_variables=1`` (its seed
generator) is not checked. Skipped: nothing.
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


def _build(how, units, **kwargs):
    if how == "layer":
        return layers.SimpleRNN, {"units": units, **kwargs}
    rnn = {k: kwargs.pop(k) for k in ("return_sequences",) if k in kwargs}
    return layers.RNN, {"cell": layers.SimpleRNNCell(units, **kwargs), **rnn}


def _rows(values, width):
    return np.repeat(np.array(values)[:, None], width, axis=1)


@pytest.mark.parametrize("how", HOW)
def test_basics(how):
    cls, init = _build(how, 3, dropout=0.5, recurrent_dropout=0.5)
    run_layer_test(cls, init, (3, 2, 4), (3, 3), call_kwargs={"training": True}, expected_num_trainable_weights=3,
                   expected_num_non_trainable_weights=0, supports_masking=True)
    regs = dict(return_sequences=True, bias_regularizer="l1", kernel_regularizer="l2", recurrent_regularizer="l2")
    cls, init = _build(how, 3, **regs)
    run_layer_test(cls, init, (3, 2, 4), (3, 2, 3), expected_num_trainable_weights=3,
                   expected_num_non_trainable_weights=0, supports_masking=True)
    cls, init = _build(how, 3, **regs)
    layer = cls(**init)
    layer(np.ones((3, 2, 4), dtype="float32"))
    assert len(layer.losses) == 3


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("kwargs, expected", [
    ({}, [0.405432, 0.73605347]),
    ({"unroll": True}, [0.405432, 0.73605347]),
    ({"go_backwards": True}, [0.11144729, 0.5528889]),
    ({"go_backwards": True, "unroll": True}, [0.11144729, 0.5528889]),
])
def test_correctness(how, kwargs, expected):
    sequence = np.arange(24).reshape((2, 3, 4)).astype("float32")
    close(layer_factory("SimpleRNN", "SimpleRNNCell", how)(4, **CONST, **kwargs)(sequence), _rows(expected, 4),
          atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("how", HOW)
def test_statefulness(how):
    sequence = np.arange(24).reshape((2, 3, 4)).astype("float32")
    layer = layer_factory("SimpleRNN", "SimpleRNNCell", how)(4, stateful=True, **CONST)
    layer(sequence)
    close(layer(sequence), _rows([0.40559256, 0.7361247], 4), atol=1e-5, rtol=1e-5)
    layer.reset_state()
    layer(sequence)
    close(layer(sequence), _rows([0.40559256, 0.7361247], 4), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("kwargs, expected", [({}, [0.33621645, 0.6262637]),
                                              ({"go_backwards": True}, [0.07344437, 0.43043602])])
def test_pass_initial_state(how, kwargs, expected):
    sequence = np.arange(24).reshape((2, 4, 3)).astype("float32")
    initial_state = np.arange(8).reshape((2, 4)).astype("float32")
    layer = layer_factory("SimpleRNN", "SimpleRNNCell", how)(4, **CONST, **kwargs)
    close(layer(sequence, initial_state=initial_state), _rows(expected, 4), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("how", HOW)
def test_masking(how):
    sequence = np.arange(24).reshape((2, 4, 3)).astype("float32")
    mask = np.array([[True, True, False, True], [True, False, False, True]])
    make = layer_factory("SimpleRNN", "SimpleRNNCell", how)
    close(make(4, **CONST, unroll=True)(sequence, mask=mask), _rows([0.32951632, 0.61799484], 4), atol=1e-5,
          rtol=1e-5)
    output = make(2, **CONST, return_sequences=True)(sequence, mask=mask)
    close(output[0], [[0.0599281] * 2, [0.15122814] * 2, [0.15122814] * 2, [0.32394567] * 2], atol=1e-5, rtol=1e-5)
    close(output[1], [[0.3969304] * 2, [0.3969304] * 2, [0.3969304] * 2, [0.608085] * 2], atol=1e-5, rtol=1e-5)
    output = make(2, **CONST, return_sequences=True, zero_output_for_mask=True)(sequence, mask=mask)
    close(output[0], [[0.0599281] * 2, [0.15122814] * 2, [0.0] * 2, [0.32394567] * 2], atol=1e-5, rtol=1e-5)
    close(output[1], [[0.3969304] * 2, [0.0] * 2, [0.0] * 2, [0.608085] * 2], atol=1e-5, rtol=1e-5)
    close(make(4, **CONST, go_backwards=True)(sequence, mask=mask), _rows([0.07376196, 0.43645123], 4), atol=1e-5,
          rtol=1e-5)
