"""Stateful recurrent layers for real: a fixed batch size (``Input(batch_shape=)`` /
``Input(batch_size=)``), zero states from build (as Keras), ``reset_states()`` /
``reset_states(states=...)``, the states carried across ``predict``, ``predict_on_batch``,
``train_on_batch``, ``test_on_batch`` and ``fit(shuffle=False)``, Keras' ValueError when the batch
size changes, and the defining property: a stateful model fed consecutive chunks of long
sequences computes what one unstateful pass over the whole sequences computes, with the same
weights (also after training it chunk by chunk).

``reset_states(states=...)`` is Keras 2's argument (Keras 3 only zeroes); it is kept as an extra.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit import keras as lk

keras = pytest.importorskip("keras")
pytestmark = [pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),  # Keras internals
              pytest.mark.usefixtures("one_thread")]

TOL = dict(atol=1e-5, rtol=1e-5)
B, CHUNK, N_CHUNKS, F, U = 2, 4, 3, 3, 5
KINDS = ["LSTM", "GRU", "SimpleRNN"]
N_STATES = {"LSTM": 2, "GRU": 1, "SimpleRNN": 1}
LONG = np.random.default_rng(0).standard_normal((B, CHUNK * N_CHUNKS, F)).astype(np.float32)
CHUNKS = [LONG[:, k * CHUNK:(k + 1) * CHUNK] for k in range(N_CHUNKS)]


def _model(lib, kind: str, stateful: bool, steps: int | None, *, batch_shape: bool = True, stacked: bool = False):
    """A (stacked) recurrent model returning every step's output; stateful ones fix the batch size."""
    if stateful:
        x = lib.Input(batch_shape=(B, steps, F)) if batch_shape else lib.Input(shape=(steps, F), batch_size=B)
    else:
        x = lib.Input(shape=(steps, F))
    h = x
    for k in range(2 if stacked else 1):
        h = getattr(lib.layers, kind)(U, stateful=stateful, return_sequences=True, bias_initializer="random_normal",
                                      name=f"rnn{k}")(h)
    return lib.Model(x, h)


def _pair(kind: str, **kw):
    """A stateful model over chunks and an unstateful one over the long sequences, same weights."""
    lk.utils.set_random_seed(0)
    stateful = _model(lk, kind, True, CHUNK, **kw)
    whole = _model(lk, kind, False, None, stacked=kw.get("stacked", False))
    whole.set_weights(stateful.get_weights())
    return stateful, whole


def _states(model, name="rnn0") -> list[np.ndarray]:
    return [s.detach().numpy().copy() for s in model.get_layer(name).states]


def _final_states(model, x: np.ndarray, name="rnn0") -> list[np.ndarray]:
    """The final states of an unstateful layer of ``model`` over ``x`` (the layer's input is the model input)."""
    layer = model.get_layer(name)
    was = layer.return_state
    layer.return_state = True
    try:
        out = layer(torch.from_numpy(x))
    finally:
        layer.return_state = was
    return [s.detach().numpy() for s in out[1:]]


# ---------------------------------------------------------------- fixed batch size, zero states
@pytest.mark.parametrize("batch_shape", [True, False], ids=["batch_shape", "batch_size"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_fixed_batch_size_gives_zero_states_from_the_start_as_keras(kind, batch_shape):
    ours = _model(lk, kind, True, CHUNK, batch_shape=batch_shape)
    theirs = _model(keras, kind, True, CHUNK, batch_shape=batch_shape)
    assert ours.inputs[0].shape == (B, CHUNK, F) == tuple(theirs.inputs[0].shape)
    assert ours.outputs[0].shape == (B, CHUNK, U) == tuple(theirs.outputs[0].shape)
    ours_states, theirs_states = ours.get_layer("rnn0").states, theirs.get_layer("rnn0").states
    assert len(ours_states) == len(theirs_states) == N_STATES[kind]
    for s in ours_states:
        assert tuple(s.shape) == (B, U) and float(s.abs().sum()) == 0.0


@pytest.mark.parametrize("kind", KINDS)
def test_stateful_predict_matches_keras_call_after_call(kind):
    keras.utils.set_random_seed(0)
    theirs = _model(keras, kind, True, CHUNK, stacked=True)
    ours = _model(lk, kind, True, CHUNK, stacked=True)
    ours.set_weights(theirs.get_weights())
    for chunk in CHUNKS:
        np.testing.assert_allclose(ours.predict(chunk, batch_size=B, verbose=0),
                                   theirs.predict(chunk, batch_size=B, verbose=0), **TOL)
    ours.reset_states()
    for layer in theirs.layers[1:]:  # Keras 3 models have no reset_states() (Keras 2 had): its layers do
        layer.reset_state()
    np.testing.assert_allclose(ours.predict(CHUNKS[0], batch_size=B, verbose=0),
                               theirs.predict(CHUNKS[0], batch_size=B, verbose=0), **TOL)


# ---------------------------------------------------------------- chunks == one long pass
@pytest.mark.parametrize("stacked", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_consecutive_chunks_equal_one_long_unstateful_pass(kind, stacked):
    stateful, whole = _pair(kind, stacked=stacked)
    want = whole.predict(LONG, verbose=0)
    got = np.concatenate([stateful.predict(c, batch_size=B, verbose=0) for c in CHUNKS], axis=1)
    np.testing.assert_allclose(got, want, **TOL)
    got = np.concatenate([np.asarray(stateful.predict_on_batch(c)) for c in CHUNKS], axis=1)
    assert not np.allclose(got, want, atol=1e-3)  # without a reset, the second pass starts where the first ended
    stateful.reset_states()
    got = np.concatenate([np.asarray(stateful.predict_on_batch(c)) for c in CHUNKS], axis=1)
    np.testing.assert_allclose(got, want, **TOL)


@pytest.mark.parametrize("kind", KINDS)
def test_a_model_trained_chunk_by_chunk_still_equals_the_long_pass_on_its_weights(kind):
    stateful, whole = _pair(kind)
    stateful.compile(optimizer=lk.optimizers.Adam(0.05), loss="mse")
    target = np.tanh(LONG[..., :1]).repeat(U, axis=-1)
    losses = []
    for _epoch in range(3):
        stateful.reset_states()
        for k, chunk in enumerate(CHUNKS):
            losses.append(float(stateful.train_on_batch(chunk, target[:, k * CHUNK:(k + 1) * CHUNK])))
    assert losses[-1] < losses[0]
    whole.set_weights(stateful.get_weights())
    stateful.reset_states()
    got = np.concatenate([stateful.predict(c, batch_size=B, verbose=0) for c in CHUNKS], axis=1)
    np.testing.assert_allclose(got, whole.predict(LONG, verbose=0), **TOL)


@pytest.mark.parametrize("how", ["train_on_batch", "test_on_batch", "fit"])
@pytest.mark.parametrize("kind", KINDS)
def test_training_and_evaluation_calls_keep_the_states(kind, how):
    """After each call the states are those of the long sequence up to the chunks seen so far (a
    zero learning rate keeps the weights, so the long pass can be computed on them)."""
    stateful, whole = _pair(kind)
    stateful.compile(optimizer=lk.optimizers.SGD(learning_rate=0.0), loss="mse")
    y = np.zeros((B, CHUNK, U), np.float32)
    if how == "fit":  # rows [chunk 0 | chunk 1] of one epoch: batch 2 continues batch 1, as Keras' docs ask
        stateful.fit(np.concatenate(CHUNKS[:2]), np.concatenate([y, y]), batch_size=B, shuffle=False, epochs=1,
                     verbose=0)
    else:
        for chunk in CHUNKS[:2]:
            getattr(stateful, how)(chunk, y)
    for got, want in zip(_states(stateful), _final_states(whole, LONG[:, :2 * CHUNK])):
        np.testing.assert_allclose(got, want, **TOL)


# ---------------------------------------------------------------- reset_states
@pytest.mark.parametrize("kind", KINDS)
def test_reset_states_zeroes_and_reset_states_with_values_sets_them(kind):
    layer = getattr(lk.layers, kind)(U, stateful=True, return_sequences=True)
    first = layer(CHUNKS[0]).detach().numpy()
    assert not np.allclose(layer(CHUNKS[0]).detach().numpy(), first)
    layer.reset_states()
    np.testing.assert_allclose(layer(CHUNKS[0]).detach().numpy(), first, **TOL)
    values = [np.random.default_rng(k).standard_normal((B, U)).astype(np.float32) for k in range(N_STATES[kind])]
    layer.reset_states(states=values)
    got = layer(CHUNKS[0]).detach().numpy()
    free = getattr(lk.layers, kind)(U, return_sequences=True)
    free.build((None, CHUNK, F))
    free.set_weights(layer.get_weights())
    np.testing.assert_allclose(got, free(CHUNKS[0], initial_state=values).detach().numpy(), **TOL)


def test_bidirectional_reset_states_with_values_takes_forward_then_backward_states():
    layer = lk.layers.Bidirectional(lk.layers.LSTM(U, stateful=True))
    layer(CHUNKS[0])
    values = [np.random.default_rng(k).standard_normal((B, U)).astype(np.float32) for k in range(4)]
    layer.reset_states(states=values)
    for got, want in zip(layer.states, values):
        np.testing.assert_allclose(got.numpy(), want)
    layer.reset_states()
    assert all(float(s.abs().sum()) == 0.0 for s in layer.states)
    with pytest.raises(ValueError, match="expects 4 arrays .*got 2"):
        layer.reset_states(states=values[:2])
    with pytest.raises(AttributeError, match="not stateful"):
        lk.layers.Bidirectional(lk.layers.LSTM(U)).reset_states()


def test_a_layer_that_is_not_stateful_keeps_no_states():
    layer = lk.layers.LSTM(U)
    layer(CHUNKS[0])
    layer.reset_states()
    assert layer.states is None


# ---------------------------------------------------------------- batch size changes
@pytest.mark.parametrize("kind", KINDS)
def test_another_batch_size_is_keras_value_error_naming_both_sizes(kind):
    layer = getattr(lk.layers, kind)(U, stateful=True)
    layer(CHUNKS[0])
    with pytest.raises(ValueError, match=f"(?s)Expected batch size: {B}.*[Rr]eceived batch size: {B + 1}"):
        layer(np.zeros((B + 1, CHUNK, F), np.float32))
    with pytest.raises(ValueError, match=f"(?s)Expected batch size: {B}.*[Rr]eceived batch size: {B + 1}"):
        keras_layer = getattr(keras.layers, kind)(U, stateful=True)  # Keras words it the same way
        keras_layer(CHUNKS[0])
        keras_layer(np.zeros((B + 1, CHUNK, F), np.float32))


def test_predict_with_a_last_batch_of_another_size_is_the_same_error_as_keras():
    model = _model(lk, "LSTM", True, CHUNK)
    with pytest.raises(ValueError, match=f"Expected batch size: {B}, received batch size: 1"):
        model.predict(np.zeros((B + 1, CHUNK, F), np.float32), batch_size=B, verbose=0)


def test_new_states_must_have_the_batch_size_of_the_layer():
    layer = lk.layers.GRU(U, stateful=True)
    layer(CHUNKS[0])
    with pytest.raises(ValueError, match=r"expects 1 arrays of shape \(2, 5\), got \[\(3, 5\)\]"):
        layer.reset_states(states=[np.zeros((B + 1, U), np.float32)])


def test_a_stateful_layer_needs_a_fixed_batch_size_in_a_functional_model():
    with pytest.raises(ValueError, match="stateful.*fixed batch size.*batch_size=N"):
        lk.layers.LSTM(U, stateful=True)(lk.Input(shape=(CHUNK, F)))
