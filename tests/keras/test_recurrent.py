"""lstmkit.keras LSTM / GRU / SimpleRNN against real Keras 3 (torch backend): same weights (copied
both ways with get_weights/set_weights), same outputs to 1e-5 for every output option, with and
without masks; plus count_params, statefulness, dropout, config, regularizers, constraints and
error messages."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit.keras.engine import registry
from lstmkit.keras.engine.input_layer import Input
from lstmkit.keras.layers import GRU, LSTM, SimpleRNN

keras = pytest.importorskip("keras")
pytestmark = [pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),  # Keras internals
              pytest.mark.usefixtures("one_thread")]


TOL = dict(atol=1e-5, rtol=1e-5)
B, T, F, U = 4, 7, 3, 5

#: (our class, Keras class, extra keyword arguments for both)
KINDS = {
    "lstm": (LSTM, "LSTM", {}),
    "gru": (GRU, "GRU", {}),
    "gru_reset_before": (GRU, "GRU", {"reset_after": False}),
    "simple_rnn": (SimpleRNN, "SimpleRNN", {}),
}


def _mask(kind: str) -> np.ndarray | None:
    mask = np.ones((B, T), dtype=bool)
    if kind == "pre":  # what pad_sequences makes (padding="pre"), plus one full row
        mask[0, :3] = False
        mask[1, :1] = False
        mask[2, :6] = False
    elif kind == "post":
        mask[0, 4:] = False
        mask[2, 1:] = False
    elif kind == "holes":  # masked steps in the middle, and a fully masked row
        mask[0, 2:4] = False
        mask[1, ::2] = False
        mask[3, :] = False
    else:
        return None
    return mask


@pytest.fixture
def x() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((B, T, F)).astype(np.float32)


def _np(t) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        return t.detach().cpu().numpy()
    return keras.ops.convert_to_numpy(t)


def _assert_same(ours, theirs) -> None:
    ours = ours if isinstance(ours, (list, tuple)) else [ours]
    theirs = theirs if isinstance(theirs, (list, tuple)) else [theirs]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(_np(a), _np(b), **TOL)


def _pair(kind: str, seed: int = 0, **kw):
    """A built Keras layer and ours with the same config and Keras' weights."""
    ours_cls, keras_name, extra = KINDS[kind]
    keras.utils.set_random_seed(seed)
    theirs = getattr(keras.layers, keras_name)(U, bias_initializer="random_normal", **extra, **kw)
    theirs.build((None, T, F))
    ours = ours_cls(U, **extra, **kw)
    ours.build((None, T, F))
    ours.set_weights(theirs.get_weights())
    return ours, theirs


# ---------------------------------------------------------------------------- parity
@pytest.mark.parametrize("mask", [None, "pre", "post", "holes"])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("kind", list(KINDS))
def test_outputs_match_keras(kind, return_sequences, go_backwards, mask, x):
    ours, theirs = _pair(kind, return_sequences=return_sequences, go_backwards=go_backwards, return_state=True)
    m = _mask(mask)
    _assert_same(ours(x, mask=m), theirs(x, mask=m))


@pytest.mark.parametrize("kind", list(KINDS))
def test_weights_copied_from_ours_into_keras(kind, x):
    ours_cls, keras_name, extra = KINDS[kind]
    ours = ours_cls(U, return_sequences=True, bias_initializer="random_uniform", **extra)
    expected = ours(x)
    theirs = getattr(keras.layers, keras_name)(U, return_sequences=True, **extra)
    theirs.build((None, T, F))
    theirs.set_weights(ours.get_weights())
    _assert_same(expected, theirs(x))


@pytest.mark.parametrize("kind", ["lstm", "gru", "simple_rnn"])
def test_initial_state_and_zero_output_for_mask_match_keras(kind, x):
    ours, theirs = _pair(kind, return_sequences=True, return_state=True, zero_output_for_mask=True)
    n_states = 2 if kind == "lstm" else 1
    states = [np.random.default_rng(k).standard_normal((B, U)).astype(np.float32) for k in range(n_states)]
    m = _mask("holes")
    _assert_same(ours(x, mask=m, initial_state=states), theirs(x, mask=m, initial_state=states))


@pytest.mark.parametrize("kind, kw", [
    ("lstm", {"activation": None, "recurrent_activation": "hard_sigmoid"}),
    ("lstm", {"activation": "relu"}),
    ("gru", {"activation": "softsign", "recurrent_activation": "tanh"}),
    ("simple_rnn", {"activation": "sigmoid"}),
    ("simple_rnn", {"activation": "relu"}),
    ("simple_rnn", {"activation": "elu"}),
])
def test_activations_match_keras(kind, kw, x):
    ours, theirs = _pair(kind, return_sequences=True, **kw)
    _assert_same(ours(x), theirs(x))
    m = _mask("holes")
    _assert_same(ours(x, mask=m), theirs(x, mask=m))


@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("kind", list(KINDS))
def test_weights_count_and_shapes_match_keras(kind, use_bias):
    ours, theirs = _pair(kind, use_bias=use_bias)
    assert ours.count_params() == theirs.count_params()
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    if kind == "lstm":
        assert ours.count_params() == 4 * U * (F + U + int(use_bias))


def test_default_init_matches_keras_structure():
    """Keras' initial weights: forget-gate bias 1 (unit_forget_bias), other biases 0, an
    orthogonal recurrent kernel (units, 4*units)."""
    layer = LSTM(U)
    layer.build((None, T, F))
    kernel, recurrent, bias = layer.get_weights()
    np.testing.assert_array_equal(bias, np.r_[np.zeros(U), np.ones(U), np.zeros(2 * U)])
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(U), atol=1e-5)
    limit = np.sqrt(6 / (F + 4 * U))
    assert np.abs(kernel).max() <= limit


# ---------------------------------------------------------------------------- training-related behaviour
@pytest.mark.parametrize("kind", ["lstm", "gru", "gru_reset_before"])
def test_gradients_reach_torch_parameters_only(kind, x):
    ours, _ = _pair(kind)
    ours(x).sum().backward()
    params = dict(ours.named_parameters())
    assert all(p.grad is not None for p in params.values())
    assert sum(p.numel() for p in params.values()) == ours.count_params()
    assert all(w.requires_grad for w in ours.trainable_weights)
    ours.trainable = False
    assert not any(p.requires_grad for p in ours.parameters()) and not ours.trainable_weights


@pytest.mark.parametrize("kind", list(KINDS))
def test_dropout_only_in_training(kind, x):
    ours_cls, _, extra = KINDS[kind]
    torch.manual_seed(0)
    plain = ours_cls(U, **extra)
    expected = plain(x)
    for kw in ({"dropout": 0.5}, {"recurrent_dropout": 0.5}):
        layer = ours_cls(U, **extra, **kw)
        layer(x)
        layer.set_weights(plain.get_weights())
        _assert_same(layer(x), expected)  # inference (the default outside fit): no dropout
        a, b = layer(x, training=True), layer(x, training=True)
        assert not torch.allclose(a, expected) and not torch.allclose(a, b)


def test_dropout_seed_makes_masks_reproducible(x):
    a, b = LSTM(U, dropout=0.5, seed=3), LSTM(U, dropout=0.5, seed=3)
    a(x)
    b(x)
    b.set_weights(a.get_weights())
    _assert_same(a(x, training=True), b(x, training=True))


@pytest.mark.parametrize("kind", ["lstm", "gru", "gru_reset_before", "simple_rnn"])
def test_regularizer_losses_match_keras(kind):
    regs = dict(kernel_regularizer="l2", recurrent_regularizer=keras.regularizers.L2(0.02), bias_regularizer="l1")
    ours_regs = dict(kernel_regularizer="l2", recurrent_regularizer={"class_name": "L2", "config": {"l2": 0.02}},
                     bias_regularizer="l1")
    ours_cls, keras_name, extra = KINDS[kind]
    keras.utils.set_random_seed(0)
    theirs = getattr(keras.layers, keras_name)(U, bias_initializer="random_normal", **extra, **regs)
    theirs.build((None, T, F))
    ours = ours_cls(U, **extra, **ours_regs)
    ours.build((None, T, F))
    ours.set_weights(theirs.get_weights())
    assert len(ours.losses) == len(theirs.losses) == 3
    ours_losses = sorted(float(v.detach()) for v in ours.losses)
    np.testing.assert_allclose(ours_losses, sorted(float(_np(v)) for v in theirs.losses), rtol=1e-5)


@pytest.mark.parametrize("kind", ["lstm", "gru", "gru_reset_before"])
def test_constraints_act_on_keras_layout(kind, x):
    ours_cls, _, extra = KINDS[kind]
    layer = ours_cls(U, kernel_constraint="non_neg", bias_constraint="non_neg", bias_initializer="random_normal",
                     **extra)
    layer(x)
    recurrent_before = layer.get_weights()[1]
    layer.apply_constraints()
    kernel, recurrent, bias = layer.get_weights()
    assert kernel.min() >= 0 and bias.min() >= 0
    np.testing.assert_array_equal(recurrent, recurrent_before)


# ---------------------------------------------------------------------------- stateful
@pytest.mark.parametrize("kind", list(KINDS))
def test_stateful_carries_states_between_calls(kind, x):
    ours_cls, _, extra = KINDS[kind]
    whole = ours_cls(U, return_sequences=True, **extra)
    expected = whole(x)
    layer = ours_cls(U, return_sequences=True, stateful=True, **extra)
    layer(x[:, :3])
    layer.set_weights(whole.get_weights())
    layer.reset_states()
    parts = torch.cat([layer(x[:, :3]), layer(x[:, 3:])], dim=1)
    _assert_same(parts, expected)
    assert all(not s.requires_grad for s in layer.states)
    layer.reset_states()
    assert all(float(s.abs().sum()) == 0 for s in layer.states)
    _assert_same(layer(x[:, :3]), expected[:, :3])


def test_stateful_needs_a_fixed_batch_size(x):
    layer = LSTM(U, stateful=True)
    with pytest.raises(ValueError, match="fixed batch size"):
        layer(Input(shape=(T, F)))
    layer(x)
    with pytest.raises(ValueError, match="Expected batch size: 4, received batch size: 2"):
        layer(x[:2])


def test_stateful_states_do_not_change_during_symbolic_tracing(x):
    layer = LSTM(U, stateful=True)
    layer(x)
    before = [s.clone() for s in layer.states]
    out = layer(Input(shape=(T, F), batch_size=B))
    assert out.shape[1:] == (U,)
    for a, b in zip(before, layer.states):
        torch.testing.assert_close(a, b)


def test_reset_states_with_values_and_errors(x):
    layer = GRU(U, stateful=True)
    layer(x)
    layer.reset_states([np.ones((B, U), np.float32)])
    torch.testing.assert_close(layer.states[0], torch.ones(B, U))
    with pytest.raises(ValueError, match="expects 1 arrays of shape"):
        layer.reset_states([np.ones((B, U + 1), np.float32)])
    plain = GRU(U)
    plain.reset_states()  # not stateful: nothing to reset, as Keras
    assert plain.states is None


# ---------------------------------------------------------------------------- symbolic use
def test_symbolic_shapes_masks_and_initial_state():
    inp = Input(shape=(T, F))
    seq, h, c = LSTM(U, return_sequences=True, return_state=True)(inp)
    assert seq.shape == (None, T, U) and h.shape == (None, U) and c.shape == (None, U)
    out = GRU(U)(seq, initial_state=[h])
    assert out.shape == (None, U)


def test_output_mask_follows_return_sequences(x):
    m = _mask("pre")
    seq = LSTM(U, return_sequences=True)(x, mask=m)
    assert torch.equal(seq._keras_mask, torch.from_numpy(m))
    last = LSTM(U)(x, mask=m)
    assert getattr(last, "_keras_mask", None) is None
    out, h, c = LSTM(U, return_sequences=True, return_state=True)(x, mask=m)
    assert out._keras_mask is not None and h._keras_mask is None and c._keras_mask is None


# ---------------------------------------------------------------------------- extras
@pytest.mark.parametrize("kw, n_extra", [({"peepholes": True}, 1), ({"layer_norm": True}, 6),
                                         ({"variant": "cifg"}, 1), ({"zoneout": 0.1}, 0)])
def test_lstm_extras_add_weights_after_keras_ones(kw, n_extra, x):
    layer = LSTM(U, **kw)
    out = layer(x)
    assert out.shape == (B, U) and torch.isfinite(out).all()
    weights = layer.get_weights()
    assert len(weights) == 3 + n_extra
    assert sum(w.size for w in weights) == layer.count_params()
    clone = LSTM.from_config(layer.get_config())
    clone(x)
    clone.set_weights(weights)
    _assert_same(clone(x), out)


@pytest.mark.parametrize("kw", [{"variant": "mut1"}, {"variant": "mut3"}, {"layer_norm": True}])
def test_gru_extras_run_and_round_trip(kw):
    x = np.random.default_rng(0).standard_normal((B, T, U)).astype(np.float32)  # MUT1 needs features == units
    layer = GRU(U, **kw)
    out = layer(x)
    clone = GRU.from_config(layer.get_config())
    clone(x)
    clone.set_weights(layer.get_weights())
    _assert_same(clone(x), out)


def test_lstm_backends_agree(x):
    fast, ref = _pair("lstm", return_sequences=True)[0], LSTM(U, return_sequences=True, backend="reference")
    ref(x)
    ref.set_weights(fast.get_weights())
    m = _mask("pre")
    _assert_same(fast(x, mask=m), ref(x, mask=m))


# ---------------------------------------------------------------------------- config
@pytest.mark.parametrize("kind", list(KINDS))
def test_config_round_trip(kind, x):
    ours_cls, keras_name, extra = KINDS[kind]
    layer = ours_cls(U, return_sequences=True, go_backwards=True, dropout=0.1, kernel_regularizer="l2",
                     kernel_initializer="he_normal", bias_constraint="non_neg", activation="relu", name="rnn",
                     **extra)
    config = layer.get_config()
    clone = registry.deserialize("layer", registry.serialize(layer))
    assert type(clone) is ours_cls and clone.get_config() == config
    keras_config = getattr(keras.layers, keras_name)(U, **extra).get_config()
    assert set(keras_config) - {"dtype"} <= set(config)
    layer(x)
    clone(x)
    clone.set_weights(layer.get_weights())
    _assert_same(clone(x), layer(x))


# ---------------------------------------------------------------------------- errors
@pytest.mark.parametrize("make, call, match", [
    (lambda: LSTM(U), lambda layer: layer(np.zeros((B, F), np.float32)), r"\(batch, timesteps, features\).*\(4, 3\)"),
    (lambda: LSTM(U), lambda layer: (layer(np.zeros((B, T, F), np.float32)),
                                     layer(np.zeros((B, T, F + 1), np.float32))), r"built for 3 input features"),
    (lambda: GRU(U), lambda layer: layer(np.zeros((B, T, F), np.float32), mask=np.ones((B, T + 1), bool)),
     r"mask must have shape"),
    (lambda: LSTM(U), lambda layer: layer(np.zeros((B, T, F), np.float32), initial_state=[np.zeros((B, U))]),
     r"takes 2 initial state"),
    (lambda: GRU(U), lambda layer: layer(np.zeros((B, T, F), np.float32), initial_state=[np.zeros((B, U + 1))]),
     r"initial state h must have shape"),
    (lambda: SimpleRNN(U), lambda layer: layer(np.zeros((B, 0, F), np.float32)), r"at least one timestep"),
])
def test_bad_inputs_raise_clear_errors(make, call, match):
    with pytest.raises(ValueError, match=match):
        call(make())


@pytest.mark.parametrize("make, match", [
    (lambda: LSTM(0), "units must be a positive int"),
    (lambda: GRU(U, dropout=1.5), r"dropout must be a float in \[0, 1\)"),
    (lambda: LSTM(U, activation="softmax"), "activation must be one of"),
    (lambda: LSTM(U, use_cudnn="yes"), "use_cudnn"),
    (lambda: GRU(U, variant="gru_cho"), "reset_after=False"),
    (lambda: LSTM(U, variant="nope"), "variant must be one of"),
])
def test_bad_arguments_raise_clear_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_unknown_keyword_is_a_type_error():
    with pytest.raises(TypeError, match="unexpected keyword"):
        LSTM(U, bogus=1)
