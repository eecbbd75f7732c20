"""lstmkit.keras Bidirectional against real Keras 3 (torch backend): every merge mode, with
return_sequences / return_state and masks, same outputs to 1e-5 with Keras' weights; weights
order, config round trip, states and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit.keras.engine import registry
from lstmkit.keras.engine.input_layer import Input
from lstmkit.keras.layers import GRU, LSTM, SimpleRNN
from lstmkit.keras.layers.rnn.bidirectional import Bidirectional

keras = pytest.importorskip("keras")
pytestmark = [pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),  # Keras internals
              pytest.mark.usefixtures("one_thread")]


TOL = dict(atol=1e-5, rtol=1e-5)
B, T, F, U = 4, 6, 3, 5
MERGE_MODES = ["concat", "sum", "mul", "ave", None]
KINDS = {"lstm": (LSTM, "LSTM"), "gru": (GRU, "GRU"), "simple_rnn": (SimpleRNN, "SimpleRNN")}


@pytest.fixture
def x() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((B, T, F)).astype(np.float32)


def _mask() -> np.ndarray:
    mask = np.ones((B, T), dtype=bool)
    mask[0, :2] = False  # pre-padding
    mask[1, 4:] = False  # post-padding
    mask[2, 2:4] = False  # a hole
    return mask


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else keras.ops.convert_to_numpy(t)


def _assert_same(ours, theirs) -> None:
    ours = list(ours) if isinstance(ours, (list, tuple)) else [ours]
    theirs = list(theirs) if isinstance(theirs, (list, tuple)) else [theirs]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(_np(a), _np(b), **TOL)


def _pair(kind: str, merge_mode="concat", **kw):
    ours_cls, keras_name = KINDS[kind]
    keras.utils.set_random_seed(0)
    theirs = keras.layers.Bidirectional(getattr(keras.layers, keras_name)(U, bias_initializer="random_normal", **kw),
                                        merge_mode=merge_mode)
    theirs.build((None, T, F))
    ours = Bidirectional(ours_cls(U, **kw), merge_mode=merge_mode)
    ours.build((None, T, F))
    ours.set_weights(theirs.get_weights())
    return ours, theirs


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("return_state", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("merge_mode", MERGE_MODES)
def test_lstm_matches_keras(merge_mode, return_sequences, return_state, masked, x):
    ours, theirs = _pair("lstm", merge_mode, return_sequences=return_sequences, return_state=return_state)
    m = _mask() if masked else None
    _assert_same(ours(x, mask=m), theirs(x, mask=m))


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("kind", ["gru", "simple_rnn"])
@pytest.mark.parametrize("merge_mode", ["concat", None])
def test_gru_and_simple_rnn_match_keras(kind, merge_mode, return_sequences, masked, x):
    ours, theirs = _pair(kind, merge_mode, return_sequences=return_sequences, return_state=True)
    m = _mask() if masked else None
    _assert_same(ours(x, mask=m), theirs(x, mask=m))


def test_initial_state_matches_keras(x):
    ours, theirs = _pair("lstm", return_sequences=True)
    states = [np.random.default_rng(k).standard_normal((B, U)).astype(np.float32) for k in range(4)]
    _assert_same(ours(x, initial_state=states), theirs(x, initial_state=states))


@pytest.mark.parametrize("kind", list(KINDS))
def test_weights_order_and_count_match_keras(kind):
    ours, theirs = _pair(kind)
    assert ours.count_params() == theirs.count_params()
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    n = len(ours.forward_layer.get_weights())
    for a, b in zip(ours.get_weights(), ours.forward_layer.get_weights() + ours.backward_layer.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert n * 2 == len(ours.get_weights())


def test_sublayers_are_fresh_copies_with_keras_names():
    inner = GRU(U, name="enc")
    layer = Bidirectional(inner)
    assert layer.forward_layer is not inner
    assert (layer.forward_layer.name, layer.backward_layer.name) == ("forward_enc", "backward_enc")
    assert not layer.forward_layer.go_backwards and layer.backward_layer.go_backwards


def test_weights_argument_is_loaded_at_build(x):
    source, _ = _pair("gru")
    layer = Bidirectional(GRU(U), weights=source.get_weights())
    _assert_same(layer(x), source(x))


def test_explicit_backward_layer(x):
    layer = Bidirectional(LSTM(U), backward_layer=GRU(U, go_backwards=True), merge_mode="concat")
    assert layer(x).shape == (B, 2 * U)
    assert len(layer.get_weights()) == 6


@pytest.mark.parametrize("merge_mode", MERGE_MODES)
def test_config_round_trip(merge_mode, x):
    layer = Bidirectional(LSTM(U, return_sequences=True, dropout=0.1), merge_mode=merge_mode, name="bi")
    expected = layer(x)
    clone = registry.deserialize("layer", registry.serialize(layer))
    assert clone.get_config() == layer.get_config()
    clone(x)
    clone.set_weights(layer.get_weights())
    _assert_same(clone(x), expected)


def test_output_masks(x):
    m = _mask()
    out = Bidirectional(LSTM(U, return_sequences=True))(x, mask=m)
    assert torch.equal(out._keras_mask, torch.from_numpy(m))
    fwd, bwd, *states = Bidirectional(LSTM(U, return_sequences=True, return_state=True), merge_mode=None)(x, mask=m)
    assert fwd._keras_mask is not None and bwd._keras_mask is not None
    assert len(states) == 4 and all(getattr(s, "_keras_mask", None) is None for s in states)
    assert getattr(Bidirectional(LSTM(U))(x, mask=m), "_keras_mask", None) is None


def test_symbolic_shapes():
    inp = Input(shape=(T, F))
    assert Bidirectional(LSTM(U, return_sequences=True))(inp).shape == (None, T, 2 * U)
    out, h1, c1, h2, c2 = Bidirectional(LSTM(U, return_state=True), merge_mode="sum")(inp)
    assert out.shape == (None, U) and h2.shape == (None, U)


def test_stateful_bidirectional(x):
    layer = Bidirectional(GRU(U, stateful=True))
    layer(x)
    assert layer.states is not None and len(layer.states) == 2
    layer.reset_states()
    assert all(float(s.abs().sum()) == 0 for s in layer.states)
    with pytest.raises(ValueError, match="fixed batch size"):
        Bidirectional(GRU(U, stateful=True))(Input(shape=(T, F)))
    with pytest.raises(AttributeError, match="not stateful"):
        Bidirectional(GRU(U)).reset_states()


def test_input_shape_of_the_wrapped_layer_is_kept():
    assert Bidirectional(LSTM(U, input_shape=(T, F)))._input_shape_arg == (None, T, F)


@pytest.mark.parametrize("make, match", [
    (lambda: Bidirectional(object()), "wraps a recurrent layer"),
    (lambda: Bidirectional(LSTM(U), merge_mode="max"), "merge_mode must be one of"),
    (lambda: Bidirectional(LSTM(U), backward_layer=LSTM(U)), "different go_backwards"),
    (lambda: Bidirectional(LSTM(U), backward_layer=LSTM(U, go_backwards=True, return_sequences=True)),
     "same return_sequences"),
    (lambda: Bidirectional(LSTM(U), backward_layer="lstm"), "backward_layer must be a recurrent layer"),
])
def test_bad_arguments_raise_clear_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_wrong_weight_count_and_initial_state(x):
    layer = Bidirectional(LSTM(U))
    layer(x)
    with pytest.raises(ValueError, match="expects 6 weight arrays"):
        layer.set_weights(layer.get_weights()[:5])
    with pytest.raises(ValueError, match="even number"):
        layer(x, initial_state=[np.zeros((B, U), np.float32)] * 3)
