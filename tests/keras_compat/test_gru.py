"""Keras 3's keras/src/layers/rnn/gru_test.py, ported to lstmkit.keras.

Expected values are Keras'. Every test runs on ``GRU(...)`` and on ``RNN(GRUCell(...))``
(Keras' GRU is that RNN). Adapted: ``run_layer_test`` is the stand-in of ``_rnn_cells``;
``test_torch_cudnn_dispatch_fires`` spies on lstmkit's entry to torch's GRU kernel
(``lstmkit.kernels.native.STACKS["gru"]``, which is ``torch.gru``) instead of ``torch._VF.gru``.
Skipped: ``test_stateful_with_symbolic_batch_size`` (TensorFlow only: tf.function with a
symbolic batch size). ``test_torch_cudnn_dispatch_fires`` needs CUDA and skips without it.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit.keras import initializers, layers
from tests.keras_compat._rnn_cells import close, layer_factory, run_layer_test

pytestmark = pytest.mark.usefixtures("one_thread")
HOW = ["layer", "cell"]
CONST = dict(kernel_initializer=initializers.Constant(0.01), recurrent_initializer=initializers.Constant(0.02),
             bias_initializer=initializers.Constant(0.03))
CORRECT = [0.5217289, 0.6371659, 0.39384964]


def _build(how, units, **kwargs):
    if how == "layer":
        return layers.GRU, {"units": units, **kwargs}
    rnn = {k: kwargs.pop(k) for k in ("return_sequences",) if k in kwargs}
    return layers.RNN, {"cell": layers.GRUCell(units, **kwargs), **rnn}


def _rows(values, width):
    return np.repeat(np.array(values)[:, None], width, axis=1)


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("kwargs", [{"dropout": 0.5}, {"dropout": 0.5, "recurrent_dropout": 0.5}])
def test_basics_dropout(how, kwargs):
    cls, init = _build(how, 3, **kwargs)
    run_layer_test(cls, init, (3, 2, 4), (3, 3), call_kwargs={"training": True}, expected_num_trainable_weights=3,
                   expected_num_non_trainable_weights=0, supports_masking=True)


@pytest.mark.parametrize("how", HOW)
def test_basics_regularizers(how):
    regs = dict(return_sequences=True, bias_regularizer="l1", kernel_regularizer="l2", recurrent_regularizer="l2")
    cls, init = _build(how, 3, **regs)
    run_layer_test(cls, init, (3, 2, 4), (3, 2, 3), expected_num_trainable_weights=3,
                   expected_num_non_trainable_weights=0, supports_masking=True)
    cls, init = _build(how, 3, **regs)
    layer = cls(**init)
    layer(np.ones((3, 2, 4), dtype="float32"))
    assert len(layer.losses) == 3


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("implementation", [1, 2])
@pytest.mark.parametrize("kwargs, expected", [
    ({}, CORRECT),
    ({"go_backwards": True}, [0.24406259, 0.611516, 0.3928808]),
    ({"unroll": True}, CORRECT),
    ({"reset_after": False}, [0.51447755, 0.6426879, 0.40208298]),
    ({"use_bias": False}, [0.49988455, 0.64701194, 0.4103359]),
])
def test_correctness(how, implementation, kwargs, expected):
    sequence = np.arange(72).reshape((3, 6, 4)).astype("float32")
    layer = layer_factory("GRU", "GRUCell", how)(3, **CONST, implementation=implementation, **kwargs)
    close(layer(sequence), _rows(expected, 3), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("how", HOW)
def test_statefulness(how):
    sequence = np.arange(24).reshape((2, 3, 4)).astype("float32")
    layer = layer_factory("GRU", "GRUCell", how)(4, stateful=True, **CONST)
    layer(sequence)
    close(layer(sequence), _rows([0.29542392, 0.5885018], 4), atol=1e-5, rtol=1e-5)
    layer.reset_state()
    layer(sequence)
    close(layer(sequence), _rows([0.29542392, 0.5885018], 4), atol=1e-5, rtol=1e-5)


PASS_STATE = [({}, [[0.23774096, 0.33508456], [0.83659905, 1.0227708]]),
              ({"go_backwards": True}, [[0.13486053, 0.23261218], [0.78257304, 0.9691353]])]


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("kwargs, expected", PASS_STATE)
def test_pass_initial_state(how, kwargs, expected):
    sequence = np.arange(24).reshape((2, 4, 3)).astype("float32")
    initial_state = np.arange(4).reshape((2, 2)).astype("float32")
    layer = layer_factory("GRU", "GRUCell", how)(2, **CONST, **kwargs)
    close(layer(sequence, initial_state=initial_state), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("kwargs, expected", PASS_STATE)
def test_pass_return_state(how, kwargs, expected):
    sequence = np.arange(24).reshape((2, 4, 3)).astype("float32")
    initial_state = np.arange(4).reshape((2, 2)).astype("float32")
    layer = layer_factory("GRU", "GRUCell", how)(2, **CONST, return_state=True, **kwargs)
    output, state = layer(sequence, initial_state=initial_state)
    close(output, expected, atol=1e-5, rtol=1e-5)
    close(state, output.detach().numpy(), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("how", HOW)
def test_masking(how):
    sequence = np.arange(24).reshape((2, 4, 3)).astype("float32")
    mask = np.array([[True, True, False, True], [True, False, False, True]])
    make = layer_factory("GRU", "GRUCell", how)
    close(make(2, **CONST, unroll=True)(sequence, mask=mask), [[0.19393763] * 2, [0.30818558] * 2], atol=1e-5,
          rtol=1e-5)
    output = make(2, **CONST, return_sequences=True)(sequence, mask=mask)
    close(output[0], [[0.03606692] * 2, [0.09497581] * 2, [0.09497581] * 2, [0.19393763] * 2], atol=1e-5, rtol=1e-5)
    close(output[1], [[0.16051409] * 2, [0.16051409] * 2, [0.16051409] * 2, [0.30818558] * 2], atol=1e-5, rtol=1e-5)
    output = make(2, **CONST, return_sequences=True, zero_output_for_mask=True)(sequence, mask=mask)
    close(output[0], [[0.03606692] * 2, [0.09497581] * 2, [0.0] * 2, [0.19393763] * 2], atol=1e-5, rtol=1e-5)
    close(output[1], [[0.16051409] * 2, [0.0] * 2, [0.0] * 2, [0.30818558] * 2], atol=1e-5, rtol=1e-5)
    close(make(2, **CONST, go_backwards=True)(sequence, mask=mask), [[0.11669192] * 2, [0.28380975] * 2],
          atol=1e-5, rtol=1e-5)


def test_legacy_implementation_argument():
    sequence = np.arange(72).reshape((3, 6, 4)).astype("float32")
    config = layers.GRU(3, **CONST).get_config()
    config["implementation"] = 0  # a legacy argument
    close(layers.GRU.from_config(config)(sequence), _rows(CORRECT, 3), atol=1e-5, rtol=1e-5)


@pytest.mark.skip(reason="TensorFlow only: tf.function with a symbolic batch size")
def test_stateful_with_symbolic_batch_size():
    pass


@pytest.mark.parametrize("how", HOW)
def test_torch_cudnn_dispatch_fires(how, monkeypatch):
    if not torch.cuda.is_available():
        pytest.skip("Requires a CUDA device.")
    from lstmkit.kernels import native

    x = torch.randn(4, 6, 5, device="cuda")
    layer = layer_factory("GRU", "GRUCell", how)(8, return_sequences=True)
    layer(x)  # build on cuda
    calls = []
    real = native.STACKS["gru"]
    monkeypatch.setitem(native.STACKS, "gru", lambda *a, **k: calls.append(True) or real(*a, **k))
    layer(x)
    assert calls, "torch's GRU kernel (cuDNN on CUDA) was never invoked"
