"""Recurrent states and masks in functional models, against real Keras 3 (torch backend): the same
model built with both libraries, Keras' weights copied into ours, same outputs to 1e-5.

Covers ``return_state`` of every recurrent layer and of ``Bidirectional`` (``[output,
*forward_states, *backward_states]``), ``initial_state=`` from symbolic tensors (Bidirectional:
forward states then backward states), masks carried through ``Masking``,
``Embedding(mask_zero=True)``, ``TimeDistributed``, ``Bidirectional`` and merges of two masked
branches, ``constants=`` (Keras 3 has none: a TypeError), and a mask given as a bool ``Input``
(issue 16: it used to fail inside the shape pass).
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
B, T, F, U, V = 3, 6, 4, 5, 7
KINDS = ["LSTM", "GRU", "SimpleRNN"]
N_STATES = {"LSTM": 2, "GRU": 1, "SimpleRNN": 1}


def _data(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Float sequences with padded (all-zero) steps, the matching bool mask, and token ids with 0 as padding."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((B, T, F)).astype(np.float32)
    mask = np.ones((B, T), dtype=bool)
    mask[0, :2] = False  # pre-padding
    mask[1, 4:] = False  # post-padding
    x[~mask] = 0.0
    ids = rng.integers(1, V, size=(B, T))
    ids[~mask] = 0
    return x, mask, ids


def _both(build):
    """``build(lib)`` with Keras and with lstmkit.keras; Keras' weights copied into ours."""
    keras.utils.set_random_seed(0)
    theirs = build(keras)
    ours = build(lk)
    ours.set_weights(theirs.get_weights())
    return ours, theirs


def _same(ours, theirs, inputs) -> None:
    a = ours.predict(inputs, verbose=0)
    b = theirs.predict(inputs, verbose=0)
    a, b = (list(a), list(b)) if isinstance(b, (list, tuple)) else ([a], [b])
    assert len(a) == len(b)
    for u, v in zip(a, b):
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), **TOL)


def _rnn(lib, kind: str, **kw):
    # a non-zero bias, so that a state that should stay zero (or a masked step) would show
    return getattr(lib.layers, kind)(U, bias_initializer="random_normal", **kw)


# ---------------------------------------------------------------- return_state / initial_state
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_return_state_in_a_functional_model_matches_keras(kind, return_sequences):
    def build(lib):
        x = lib.Input(shape=(T, F))
        outs = _rnn(lib, kind, return_sequences=return_sequences, return_state=True)(lib.layers.Masking()(x))
        return lib.Model(x, list(outs))

    ours, theirs = _both(build)
    assert len(ours.outputs) == 1 + N_STATES[kind]
    assert [t.shape for t in ours.outputs] == [tuple(t.shape) for t in theirs.outputs]
    _same(ours, theirs, _data()[0])


@pytest.mark.parametrize("merge_mode", ["concat", "sum", None])
@pytest.mark.parametrize("kind", KINDS)
def test_bidirectional_return_state_is_output_then_forward_then_backward_states(kind, merge_mode):
    def build(lib):
        x = lib.Input(shape=(T, F))
        outs = lib.layers.Bidirectional(_rnn(lib, kind, return_sequences=True, return_state=True),
                                        merge_mode=merge_mode)(lib.layers.Masking()(x))
        return lib.Model(x, list(outs))

    ours, theirs = _both(build)
    n_out = 2 if merge_mode is None else 1
    assert len(ours.outputs) == n_out + 2 * N_STATES[kind]
    _same(ours, theirs, _data()[0])
    # the states are the two halves' own final states, forward first
    bi = next(layer for layer in ours.layers if isinstance(layer, lk.layers.Bidirectional))
    got = ours.predict(_data()[0], verbose=0)[n_out:]
    x = torch.from_numpy(_data()[0])
    mask = torch.from_numpy(_data()[1])
    want = list(bi.forward_layer(x, mask=mask)[1:]) + list(bi.backward_layer(x, mask=mask)[1:])
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w.detach().numpy(), **TOL)


@pytest.mark.parametrize("kind", KINDS)
def test_bidirectional_initial_state_from_a_bidirectional_encoder_matches_keras(kind):
    def build(lib):
        enc_in, dec_in = lib.Input(shape=(T, F)), lib.Input(shape=(T - 2, F))
        enc = lib.layers.Bidirectional(_rnn(lib, kind, return_state=True))(enc_in)
        dec = lib.layers.Bidirectional(_rnn(lib, kind, return_sequences=True))(dec_in, initial_state=list(enc[1:]))
        return lib.Model([enc_in, dec_in], dec)

    ours, theirs = _both(build)
    x = _data()[0]
    y = _data(1)[0][:, :T - 2]
    _same(ours, theirs, [x, y])
    # and the initial states do change the output
    free = ours.get_layer(ours.layers[-1].name)(torch.from_numpy(y)).detach().numpy()
    assert not np.allclose(ours.predict([x, y], verbose=0), free, atol=1e-3)


def test_bidirectional_initial_state_with_an_odd_count_is_a_clear_error():
    layer = lk.layers.Bidirectional(lk.layers.LSTM(U))
    with pytest.raises(ValueError, match="initial_state.*even number.*got 3"):
        layer(_data()[0], initial_state=[np.zeros((B, U), np.float32)] * 3)


@pytest.mark.parametrize("kind", KINDS)
def test_constants_is_not_an_argument_of_the_recurrent_layers_as_in_keras(kind):
    x, c = _data()[0], np.zeros((B, 2), np.float32)
    for lib in (keras, lk):
        for layer in (getattr(lib.layers, kind)(U), lib.layers.Bidirectional(getattr(lib.layers, kind)(U))):
            with pytest.raises(TypeError, match="constants"):
                layer(x, constants=[c])


# ---------------------------------------------------------------- masks through the graph
@pytest.mark.parametrize("kind", KINDS)
def test_embedding_mask_zero_reaches_a_stack_of_recurrent_layers_as_in_keras(kind):
    def build(lib):
        ids = lib.Input(shape=(T,), dtype="int32")
        h = lib.layers.Embedding(V, F, mask_zero=True)(ids)
        h = _rnn(lib, kind, return_sequences=True)(h)
        h = lib.layers.Bidirectional(_rnn(lib, kind, return_sequences=True))(h)
        h = lib.layers.TimeDistributed(lib.layers.Dense(3))(h)
        return lib.Model(ids, _rnn(lib, kind)(h))

    ours, theirs = _both(build)
    _same(ours, theirs, _data()[2])


def test_time_distributed_passes_the_mask_on():
    ids = lk.Input(shape=(T,), dtype="int32")
    h = lk.layers.TimeDistributed(lk.layers.Dense(3))(lk.layers.Embedding(V, F, mask_zero=True)(ids))
    assert h.has_mask
    embedded = lk.layers.Embedding(V, F, mask_zero=True)
    td = lk.layers.TimeDistributed(lk.layers.Dense(3))
    out = td(embedded(torch.from_numpy(_data()[2])))
    torch.testing.assert_close(out._keras_mask, torch.from_numpy(_data()[1]))


@pytest.mark.parametrize("merge", ["Concatenate", "Add"])
def test_a_merge_of_two_masked_branches_carries_the_mask_as_in_keras(merge):
    """Two branches with different masks (padding at the front / at the back): Keras merges them
    as Keras does (Concatenate: a step counts if any branch has it; Add: only if both have it)."""
    def build(lib):
        a, b = lib.Input(shape=(T, F)), lib.Input(shape=(T, F))
        ha = lib.layers.Masking()(a)
        hb = lib.layers.Masking()(b)
        merged = getattr(lib.layers, merge)()([ha, hb])
        return lib.Model([a, b], lib.layers.LSTM(U, bias_initializer="random_normal", return_sequences=True)(merged))

    ours, theirs = _both(build)
    xa, mask, _ = _data()
    xb = _data(1)[0]
    xb[:, :3] = 0.0  # branch b masks the first three steps of every row
    _same(ours, theirs, [xa, xb])


# ---------------------------------------------------------------- a bool Input as the mask (issue 16)
MASKED_LAYERS = {
    "GRU": lambda lib: lib.layers.GRU(U, bias_initializer="random_normal"),
    "LSTM": lambda lib: lib.layers.LSTM(U, bias_initializer="random_normal"),
    "SimpleRNN": lambda lib: lib.layers.SimpleRNN(U, bias_initializer="random_normal"),
    "Bidirectional": lambda lib: lib.layers.Bidirectional(lib.layers.LSTM(U, bias_initializer="random_normal")),
}


@pytest.mark.parametrize("mask_shape", [(T,), (None,)], ids=["fixed", "unknown-length"])
@pytest.mark.parametrize("batch_size", [None, B], ids=["free-batch", "fixed-batch"])
@pytest.mark.parametrize("name", list(MASKED_LAYERS))
def test_a_bool_input_as_the_mask_of_a_symbolic_call(name, batch_size, mask_shape):
    """``layer(x, mask=Input(shape=(T,), dtype="bool"))`` builds and runs as in Keras, also when
    the inputs fix the batch size or the time length and the mask Input does not."""
    def build(lib):
        x = lib.Input(shape=(T, F), batch_size=batch_size)
        m = lib.Input(shape=mask_shape, dtype="bool")
        return lib.Model([x, m], MASKED_LAYERS[name](lib)(x, mask=m))

    ours, theirs = _both(build)
    assert ours.outputs[0].shape[1:] == tuple(theirs.outputs[0].shape)[1:]
    x, mask, _ = _data(2)
    _same(ours, theirs, [x, mask])


@pytest.mark.parametrize("name", list(MASKED_LAYERS))
def test_a_symbolic_mask_on_concrete_inputs_is_a_clear_error(name):
    layer = MASKED_LAYERS[name](lk)
    with pytest.raises(TypeError, match="mask= is a symbolic tensor.*concrete data"):
        layer(_data()[0], mask=lk.Input(shape=(T,), dtype="bool"))


def test_a_symbolic_initial_state_on_concrete_inputs_is_a_clear_error():
    layer = lk.layers.GRU(U)
    with pytest.raises(TypeError, match="initial state h is a symbolic tensor"):
        layer(_data()[0], initial_state=[lk.Input(shape=(U,))])


def test_a_mask_input_of_the_wrong_length_is_a_clear_error():
    x, m = lk.Input(shape=(T, F)), lk.Input(shape=(T + 1,), dtype="bool")
    with pytest.raises(ValueError, match=r"mask must have shape \(batch, timesteps\)"):
        lk.layers.GRU(U)(x, mask=m)
