"""Keras 3's keras/src/layers/rnn/stacked_rnn_cells_test.py, ported to lstmkit.keras.

Expected values are Keras'. Adapted: ``run_layer_test`` is the stand-in of ``_rnn_cells``
(Keras' ``expected_num_seed_generators`` is not checked: lstmkit's cells keep a
``torch.Generator``, not a Keras SeedGenerator). Skipped: nothing.
"""

from __future__ import annotations

import numpy as np
import pytest

from lstmkit.keras import layers
from tests.keras_compat._rnn_cells import OneStateRNNCell, TwoStatesRNNCell, close, run_layer_test

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("make_cells, n_weights", [
    (lambda: [OneStateRNNCell(3), OneStateRNNCell(4), OneStateRNNCell(5)], 6),
    (lambda: [TwoStatesRNNCell(3), TwoStatesRNNCell(4), TwoStatesRNNCell(5)], 9),
])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_basics_toy_cells(make_cells, n_weights, return_sequences):
    run_layer_test(layers.RNN, {"cell": make_cells(), "return_sequences": return_sequences}, (2, 3, 4),
                   (2, 3, 5) if return_sequences else (2, 5), expected_num_trainable_weights=n_weights,
                   expected_num_non_trainable_weights=0, supports_masking=True)


@pytest.mark.parametrize("cell_cls", [layers.SimpleRNNCell, layers.GRUCell, layers.LSTMCell])
def test_basics_builtin_cells_with_dropout(cell_cls):
    cells = [cell_cls(n, dropout=0.1, recurrent_dropout=0.1) for n in (3, 4, 5)]
    run_layer_test(layers.RNN, {"cell": cells, "return_sequences": True}, (2, 3, 4), (2, 3, 5),
                   expected_num_trainable_weights=9, expected_num_non_trainable_weights=0, supports_masking=True,
                   call_kwargs={"training": True})


def test_correctness_single_state_stack():
    sequence = np.arange(24).reshape((2, 3, 4)).astype("float32")
    close(layers.RNN([OneStateRNNCell(3), OneStateRNNCell(2)])(sequence), [[786.0, 786.0], [4386.0, 4386.0]])
    seq = [[[18.0, 18.0], [156.0, 156.0], [786.0, 786.0]], [[162.0, 162.0], [1020.0, 1020.0], [4386.0, 4386.0]]]
    close(layers.RNN([OneStateRNNCell(3), OneStateRNNCell(2)], return_sequences=True)(sequence), seq)
    output, s1, s2 = layers.RNN([OneStateRNNCell(3), OneStateRNNCell(2)], return_state=True)(sequence)
    close(output, [[786.0, 786.0], [4386.0, 4386.0]])
    close(s1, [[158.0, 158.0, 158.0], [782.0, 782.0, 782.0]])
    close(s2, [[786.0, 786.0], [4386.0, 4386.0]])
    output, s1, s2 = layers.RNN([OneStateRNNCell(3), OneStateRNNCell(2)], return_sequences=True,
                                return_state=True)(sequence)
    close(output, seq)
    close(s1, [[158.0, 158.0, 158.0], [782.0, 782.0, 782.0]])
    close(s2, [[786.0, 786.0], [4386.0, 4386.0]])


def test_correctness_two_states_stack():
    sequence = np.arange(24).reshape((2, 3, 4)).astype("float32")
    close(layers.RNN([TwoStatesRNNCell(3), TwoStatesRNNCell(2)])(sequence), [[3144.0, 3144.0], [17544.0, 17544.0]])
    close(layers.RNN([TwoStatesRNNCell(3), TwoStatesRNNCell(2)], return_sequences=True)(sequence),
          [[[72.0, 72.0], [624.0, 624.0], [3144.0, 3144.0]], [[648.0, 648.0], [4080.0, 4080.0], [17544.0, 17544.0]]])
    output, s1, s2 = layers.RNN([TwoStatesRNNCell(3), TwoStatesRNNCell(2)], return_state=True)(sequence)
    close(output, [[3144.0, 3144.0], [17544.0, 17544.0]])
    close(s1[0], [[158.0, 158.0, 158.0], [782.0, 782.0, 782.0]])
    close(s1[1], [[158.0, 158.0, 158.0], [782.0, 782.0, 782.0]])
    close(s2[0], [[1572.0, 1572.0], [8772.0, 8772.0]])
    close(s2[1], [[1572.0, 1572.0], [8772.0, 8772.0]])


def test_statefullness_single_state_stack():
    sequence = np.arange(24).reshape((2, 3, 4)).astype("float32")
    layer = layers.RNN([OneStateRNNCell(3), OneStateRNNCell(2)], stateful=True)
    layer(sequence)
    close(layer(sequence), [[34092.0, 34092.0], [173196.0, 173196.0]])


def test_statefullness_two_states_stack():
    sequence = np.arange(24).reshape((2, 3, 4)).astype("float32")
    layer = layers.RNN([TwoStatesRNNCell(3), TwoStatesRNNCell(2)], stateful=True)
    layer(sequence)
    close(layer(sequence), [[136368.0, 136368.0], [692784.0, 692784.0]])


def test_return_state_stacked_lstm_cell():
    layer = layers.RNN([layers.LSTMCell(10), layers.LSTMCell(10)], return_state=True)
    out = layer(np.zeros((2, 3, 5)))
    assert len(out) == 3
    assert tuple(out[0].shape) == (2, 10)
    for state in out[1:]:
        assert [tuple(s.shape) for s in state] == [(2, 10), (2, 10)]
    shape = layer.compute_output_shape((2, 3, 5))
    assert len(shape) == 3 and shape[0] == (2, 10)
    assert shape[1] == [(2, 10), (2, 10)] and shape[2] == [(2, 10), (2, 10)]


def test_stacked_lstm_cell_mask():
    sequence = np.ones((2, 3, 4))
    mask = np.array([[True, True, True], [True, True, False]])
    cells = [layers.LSTMCell(units=1, kernel_initializer="ones", recurrent_initializer="ones") for _ in range(2)]
    close(layers.RNN(cells)(sequence, mask=mask), [[0.7793], [0.5998]], atol=1e-4)
