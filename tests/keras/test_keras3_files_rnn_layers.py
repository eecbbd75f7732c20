"""Keras 3 files per layer class, part 2 (recurrent layers and cells, wrappers, ConvLSTM,
attention, merging): each case is built the same way in real Keras 3 and in lstmkit and crosses
both ways as a ``.keras`` archive and a ``.weights.h5`` file with the same predictions (1e-5; see
``_keras3_roundtrip``). Part 1 is ``test_keras3_files_layers.py``."""

from __future__ import annotations

import pytest

from tests.keras._keras3_roundtrip import keras_to_lstmkit, lstmkit_to_keras

pytestmark = pytest.mark.usefixtures("one_thread")
T, F = 5, 3


def _seq(*layers, shape=(T, F), dtype="float32"):
    """A builder: ``m`` (keras or lstmkit.keras) -> Sequential([Input(shape), *layers(m.layers)])."""
    return lambda m: m.Sequential([m.Input(shape, dtype=dtype), *[make(m.layers) for make in layers]])


def _two(body, shapes=((T, F), (T, F))):
    """A builder of a functional model of two inputs: ``body(layers, a, b)`` -> outputs."""
    def build(m):
        a, b = (m.Input(s) for s in shapes)
        return m.Model([a, b], body(m.layers, a, b))
    return build


def _one(body, shape=(T, F)):
    def build(m):
        x = m.Input(shape)
        return m.Model(x, body(m.layers, x))
    return build


CASES = {
    # recurrent layers
    "lstm": _seq(lambda L: L.LSTM(4, return_sequences=True, go_backwards=True),
                 lambda L: L.LSTM(3, unit_forget_bias=False, recurrent_activation="hard_sigmoid")),
    "lstm_no_bias": _seq(lambda L: L.LSTM(3, use_bias=False, activation="relu")),
    "gru": _seq(lambda L: L.GRU(4, return_sequences=True), lambda L: L.GRU(3, reset_after=False)),
    "simple_rnn": _seq(lambda L: L.SimpleRNN(4, return_sequences=True, activation="relu"),
                       lambda L: L.SimpleRNN(2, use_bias=False)),
    "lstm_return_state": _one(lambda L, x: L.LSTM(3, return_state=True)(x)),
    "gru_initial_state": _two(lambda L, a, b: L.GRU(3)(a, initial_state=L.GRU(3)(b))),
    "rnn_cells": _seq(lambda L: L.RNN(L.LSTMCell(3), return_sequences=True),
                      lambda L: L.RNN(L.GRUCell(3, reset_after=False), return_sequences=True),
                      lambda L: L.RNN(L.SimpleRNNCell(2))),
    "stacked_rnn_cells": _seq(lambda L: L.RNN(L.StackedRNNCells([L.LSTMCell(3), L.GRUCell(2),
                                                                 L.SimpleRNNCell(2)]))),
    "rnn_cell_list": _seq(lambda L: L.RNN([L.LSTMCell(2), L.LSTMCell(3)], return_sequences=True)),
    # wrappers
    "bidirectional": _seq(lambda L: L.Bidirectional(L.LSTM(3, return_sequences=True)),
                          lambda L: L.Bidirectional(L.GRU(2, return_sequences=True), merge_mode="sum"),
                          lambda L: L.Bidirectional(L.SimpleRNN(2), merge_mode="mul")),
    "bidirectional_ave_backward_layer": _seq(lambda L: L.Bidirectional(
        L.LSTM(3), backward_layer=L.LSTM(3, go_backwards=True, activation="relu"), merge_mode="ave")),
    "bidirectional_no_merge": _one(lambda L, x: L.Bidirectional(L.GRU(2), merge_mode=None)(x)),
    "time_distributed": _seq(lambda L: L.TimeDistributed(L.Dense(2)), lambda L: L.TimeDistributed(L.Flatten())),
    "time_distributed_conv": _seq(lambda L: L.TimeDistributed(L.Conv1D(2, 2)), shape=(T, 4, 2)),
    # ConvLSTM
    "conv_lstm1d": _seq(lambda L: L.ConvLSTM1D(2, 2, padding="same", return_sequences=True),
                        lambda L: L.ConvLSTM1D(2, 2), shape=(3, 5, 2)),
    "conv_lstm2d": _seq(lambda L: L.ConvLSTM2D(2, (2, 2), strides=1, go_backwards=True), shape=(3, 4, 4, 1)),
    "conv_lstm2d_channels_first": _seq(lambda L: L.ConvLSTM2D(2, 2, data_format="channels_first",
                                                              use_bias=False), shape=(3, 1, 4, 4)),
    "conv_lstm3d": _seq(lambda L: L.ConvLSTM3D(1, 2, padding="same"), shape=(2, 3, 3, 3, 1)),
    # attention
    "attention": _two(lambda L, q, v: L.Attention(use_scale=True)([q, v])),
    "attention_concat_key": _two(lambda L, q, v: L.Attention(score_mode="concat")([q, v, v])),
    "additive_attention": _two(lambda L, q, v: L.AdditiveAttention()([q, v])),
    "multi_head_attention": _two(lambda L, q, v: L.MultiHeadAttention(2, 3, value_dim=2)(q, v)),
    "multi_head_attention_no_bias": _one(lambda L, x: L.MultiHeadAttention(1, 2, use_bias=False,
                                                                           output_shape=4)(x, x)),
    # merging
    "merges": _two(lambda L, a, b: [L.Add()([a, b]), L.Subtract()([a, b]), L.Multiply()([a, b]),
                                    L.Average()([a, b]), L.Maximum()([a, b]), L.Minimum()([a, b])]),
    "concatenate": _two(lambda L, a, b: L.Concatenate(axis=1)([a, b])),
    "dot": _two(lambda L, a, b: [L.Dot(axes=(2, 2))([a, b]), L.Dot(axes=1, normalize=True)([a, b])]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_keras_files_load_in_lstmkit(tmp_path, case) -> None:
    keras_to_lstmkit(CASES[case], tmp_path)


@pytest.mark.parametrize("case", sorted(CASES))
def test_lstmkit_files_load_in_keras(tmp_path, case) -> None:
    lstmkit_to_keras(CASES[case], tmp_path)
