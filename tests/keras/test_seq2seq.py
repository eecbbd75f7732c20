"""Keras' encoder-decoder recipe (keras.io/examples/nlp/lstm_seq2seq), small and fast: the encoder
LSTM's ``return_state`` states feed the decoder's ``initial_state=``; trained with teacher forcing
to reverse 3-digit strings; then separate encoder / decoder inference models built from the same
layer objects decode greedily, step by step, and get the reversals right.

``examples/seq2seq_reverse.py`` is the full-size script (tests/examples/test_seq2seq_example.py runs it).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit import keras

pytestmark = pytest.mark.usefixtures("one_thread")

DIGITS, LENGTH, UNITS = 5, 3, 32
START, END = DIGITS, DIGITS + 1  # decoder tokens: the digits, then "start" and "end"
TOKENS = DIGITS + 2


def _one_hot(ids: np.ndarray, depth: int) -> np.ndarray:
    return np.eye(depth, dtype=np.float32)[ids]


def _data(n: int, seed: int):
    digits = np.random.default_rng(seed).integers(0, DIGITS, size=(n, LENGTH))
    target = np.concatenate([digits[:, ::-1], np.full((n, 1), END)], axis=1)  # reversed, then "end"
    decoder_in = np.concatenate([np.full((n, 1), START), target[:, :-1]], axis=1)  # teacher forcing: shifted by one
    return _one_hot(digits, DIGITS), _one_hot(decoder_in, TOKENS), _one_hot(target, TOKENS), digits


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(0)
    encoder_inputs = keras.Input(shape=(None, DIGITS))
    encoder = keras.layers.LSTM(UNITS, return_state=True, name="encoder")
    _, state_h, state_c = encoder(encoder_inputs)
    decoder_inputs = keras.Input(shape=(None, TOKENS))
    decoder_lstm = keras.layers.LSTM(UNITS, return_sequences=True, return_state=True, name="decoder")
    decoder_seq, _, _ = decoder_lstm(decoder_inputs, initial_state=[state_h, state_c])
    decoder_dense = keras.layers.Dense(TOKENS, activation="softmax", name="readout")
    model = keras.Model([encoder_inputs, decoder_inputs], decoder_dense(decoder_seq))
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="categorical_crossentropy", metrics=["accuracy"])
    enc_x, dec_x, dec_y, _ = _data(1000, seed=0)
    history = model.fit([enc_x, dec_x], dec_y, batch_size=50, epochs=12, verbose=0)

    # inference models from the same layer objects (the example's way): they share the trained weights
    encoder_model = keras.Model(encoder_inputs, [state_h, state_c])
    h_in, c_in = keras.Input(shape=(UNITS,)), keras.Input(shape=(UNITS,))
    step_seq, h_out, c_out = decoder_lstm(decoder_inputs, initial_state=[h_in, c_in])
    decoder_model = keras.Model([decoder_inputs, h_in, c_in], [decoder_dense(step_seq), h_out, c_out])
    return model, encoder_model, decoder_model, history


def _greedy(encoder_model, decoder_model, enc_x: np.ndarray) -> np.ndarray:
    h, c = encoder_model.predict(enc_x, verbose=0)
    token = np.full((len(enc_x),), START)
    out = []
    for _ in range(LENGTH + 1):
        probs, h, c = decoder_model.predict([_one_hot(token, TOKENS)[:, None], h, c], verbose=0)
        token = probs[:, -1].argmax(-1)
        out.append(token)
    return np.stack(out, axis=1)


def test_teacher_forced_training_reaches_its_accuracy(trained):
    _, _, _, history = trained
    assert history.history["accuracy"][-1] > 0.97, history.history["accuracy"]
    assert history.history["loss"][-1] < 0.25 * history.history["loss"][0]


def test_greedy_step_by_step_decoding_reverses_unseen_strings(trained):
    model, encoder_model, decoder_model, _ = trained
    enc_x, _, _, digits = _data(200, seed=1)
    decoded = _greedy(encoder_model, decoder_model, enc_x)
    exact = np.mean(np.all(decoded[:, :LENGTH] == digits[:, ::-1], axis=1))
    assert exact > 0.95, f"{exact:.1%} reversed exactly"
    assert np.mean(decoded[:, LENGTH] == END) > 0.95  # and then it stops


def test_inference_models_share_the_trained_layers(trained):
    model, encoder_model, decoder_model, _ = trained
    shared = {layer.name for layer in model.layers} & {layer.name for layer in decoder_model.layers}
    assert {"decoder", "readout"} <= shared
    assert model.get_layer("decoder") is decoder_model.get_layer("decoder")
    assert model.get_layer("encoder") is encoder_model.get_layer("encoder")


def test_feeding_the_true_previous_token_step_by_step_equals_the_training_model(trained):
    """One decoder step at a time, the states fed back in, computes what the teacher-forced
    training model computes over the whole target sequence at once."""
    model, encoder_model, decoder_model, _ = trained
    enc_x, dec_x, _, _ = _data(8, seed=2)
    want = model.predict([enc_x, dec_x], verbose=0)
    h, c = encoder_model.predict(enc_x, verbose=0)
    steps = []
    for t in range(dec_x.shape[1]):
        probs, h, c = decoder_model.predict([dec_x[:, t:t + 1], h, c], verbose=0)
        steps.append(probs[:, 0])
    torch.testing.assert_close(torch.from_numpy(np.stack(steps, axis=1)), torch.from_numpy(want),
                               atol=1e-5, rtol=1e-5)
