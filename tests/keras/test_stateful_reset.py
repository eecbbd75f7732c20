"""``model.reset_states()`` and tensors passed as call arguments in the functional API (a mask
Input, initial states from an encoder): both of Keras' documented uses."""

from __future__ import annotations

import numpy as np
import torch

from lstmkit import keras
from lstmkit.keras import layers

B, T, F, U = 2, 5, 3, 4
RNG = np.random.default_rng(0)
X = RNG.normal(size=(B, T, F)).astype("float32")


def test_model_reset_states_zeroes_every_stateful_layer_and_predict_repeats():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(T, F), batch_size=B),
                              layers.LSTM(U, stateful=True, return_sequences=True),
                              layers.Bidirectional(layers.GRU(U, stateful=True))])
    first = model.predict(X, verbose=0)
    second = model.predict(X, verbose=0)  # starts from the states the first call left
    assert not np.allclose(first, second)
    model.reset_states()
    for layer in (model.layers[0], model.layers[1].forward_layer, model.layers[1].backward_layer):
        assert all(float(s.abs().sum()) == 0.0 for s in layer.states)
    np.testing.assert_allclose(model.predict(X, verbose=0), first, rtol=1e-6, atol=1e-6)


def test_a_mask_input_is_a_graph_input():
    keras.utils.set_random_seed(0)
    x, m = keras.Input(shape=(T, F)), keras.Input(shape=(T,), dtype="bool")
    model = keras.Model([x, m], layers.GRU(U, name="gru")(x, mask=m))
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=bool)
    want = model.get_layer("gru")(torch.from_numpy(X), mask=torch.from_numpy(mask)).detach().numpy()
    np.testing.assert_allclose(model.predict([X, mask], verbose=0), want, rtol=1e-6, atol=1e-6)
    short = model.predict([X, np.ones((B, T), dtype=bool)], verbose=0)
    assert not np.allclose(short[0], want[0])  # the mask changes what the first sequence returns


def test_seq2seq_initial_state_from_the_encoder():
    keras.utils.set_random_seed(0)
    enc_in = keras.Input(shape=(None, F))
    _, h, c = layers.LSTM(U, return_state=True, name="enc")(enc_in)
    dec_in = keras.Input(shape=(None, 2))
    dec = layers.LSTM(U, return_sequences=True, name="dec")(dec_in, initial_state=[h, c])
    model = keras.Model([enc_in, dec_in], dec)
    y = np.zeros((B, 4, 2), dtype="float32")
    got = model.predict([X, y], verbose=0)
    _, h_n, c_n = model.get_layer("enc")(torch.from_numpy(X))
    want = model.get_layer("dec")(torch.from_numpy(y), initial_state=[h_n, c_n]).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
