"""MultiHeadAttention against real Keras 3 (torch backend), float32 to 1e-5 with Keras' weights
copied in: weight order and shapes, cross- and self-attention, key given or not, value_dim,
output_shape, no bias, gate, attention_axes, sliding window, explicit/causal/carried masks (both of
Keras' computation paths), returned scores, a functional model with Embedding(mask_zero=True)
that predicts like Keras and trains, dropout, configs and errors.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch

import lstmkit.keras as lk
from lstmkit.keras import layers
from lstmkit.keras.models import Model

TOL = {"atol": 1e-5, "rtol": 1e-5}
pytestmark = [pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),
              pytest.mark.usefixtures("fresh_names", "one_thread")]


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else keras.ops.convert_to_numpy(x)


def _data(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype("float32") for s in shapes]


def _pair(seed=1, **kwargs):
    theirs = keras.layers.MultiHeadAttention(**kwargs)
    ours = layers.MultiHeadAttention(**kwargs)
    return ours, theirs


def _sync(ours, theirs, seed=1):
    rng = np.random.default_rng(seed)
    values = [rng.uniform(-0.5, 0.5, size=w.shape).astype("float32") for w in theirs.get_weights()]
    theirs.set_weights(values)
    ours.set_weights(values)


def _compare(got, want):
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_allclose(_np(g), _np(w), **TOL)
    else:
        np.testing.assert_allclose(_np(got), _np(want), **TOL)


CONFIGS = [
    {"num_heads": 2, "key_dim": 3},
    {"num_heads": 3, "key_dim": 2, "value_dim": 4},
    {"num_heads": 2, "key_dim": 2, "use_bias": False},
    {"num_heads": 2, "key_dim": 3, "output_shape": 5},
    {"num_heads": 2, "key_dim": 3, "output_shape": (2, 3)},
    {"num_heads": 2, "key_dim": 2, "use_gate": True},
    {"num_heads": 1, "key_dim": 4, "sliding_window": 2},
]


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("with_key", [False, True])
@pytest.mark.parametrize("call", [{}, {"use_causal_mask": True}, {"return_attention_scores": True},
                                  {"return_attention_scores": True, "use_causal_mask": True}])
def test_parity_with_keras(config, with_key, call):
    q, v, k = _data((2, 4, 6), (2, 5, 7), (2, 5, 3))
    args = (q, v, k) if with_key else (q, v)
    ours, theirs = _pair(**config)
    theirs(*args)
    ours(*args)
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    _sync(ours, theirs)
    _compare(ours(*args, **call), theirs(*args, **call))


def test_weights_are_in_keras_order_and_named_sublayers():
    ours = layers.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=4)
    ours(*_data((1, 4, 6), (1, 5, 6)))
    assert [w.shape for w in ours.weights] == [(6, 2, 3), (2, 3), (6, 2, 3), (2, 3), (6, 2, 4), (2, 4), (2, 4, 6),
                                               (6,)]
    assert [s.name for s in (ours.query_dense, ours.key_dense, ours.value_dense, ours.output_dense)] == [
        "query", "key", "value", "attention_output"]
    assert ours.count_params() == 6 * 6 + 6 + 6 * 6 + 6 + 6 * 8 + 8 + 8 * 6 + 6


def test_build_takes_two_shapes_as_keras():
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=2)
    layer.build((None, 8, 16), (None, 4, 16))
    assert layer.built and len(layer.weights) == 8
    assert layer(*_data((2, 8, 16), (2, 4, 16))).shape == (2, 8, 16)


MASKS = ["attention", "query", "value", "key", "all"]


@pytest.mark.parametrize("kind", MASKS)
@pytest.mark.parametrize("call", [{}, {"return_attention_scores": True}, {"use_causal_mask": True}])
def test_masks_match_keras_on_both_paths(kind, call):
    q, v, k = _data((2, 4, 6), (2, 5, 6), (2, 5, 6))
    qm = np.array([[1, 1, 1, 0], [1, 1, 1, 1]], bool)
    vm = np.array([[1, 1, 0, 0, 0], [1, 1, 1, 1, 0]], bool)
    km = np.array([[1, 0, 1, 1, 1], [1, 1, 1, 1, 1]], bool)
    am = np.random.default_rng(3).random((2, 4, 5)) > 0.3
    ours, theirs = _pair(num_heads=2, key_dim=3)
    theirs(q, v, k)
    ours(q, v, k)
    _sync(ours, theirs)

    def run(lib_tensor, layer):
        tq, tv, tk = lib_tensor(q), lib_tensor(v), lib_tensor(k)
        kwargs = dict(call)
        if kind in ("query", "all"):
            tq._keras_mask = lib_tensor(qm)
        if kind in ("value", "all"):
            tv._keras_mask = lib_tensor(vm)
        if kind in ("key", "all"):
            kwargs["key_mask"] = lib_tensor(km)
        if kind in ("attention", "all"):
            kwargs["attention_mask"] = lib_tensor(am)
        return layer(tq, tv, tk, **kwargs)

    want = run(keras.ops.convert_to_tensor, theirs)
    got = run(torch.from_numpy, ours)
    _compare(got, want)
    out = got[0] if isinstance(got, tuple) else got
    if kind in ("query", "all"):
        np.testing.assert_array_equal(_np(out._keras_mask), qm)  # the output carries the query mask
    if isinstance(got, tuple):
        assert getattr(got[1], "_keras_mask", None) is None


@pytest.mark.parametrize("axes", [(2,), (1, 2)])
def test_attention_axes_match_keras(axes):
    q, v = _data((2, 3, 4, 5), (2, 3, 4, 5))
    ours, theirs = _pair(num_heads=2, key_dim=2, attention_axes=axes)
    theirs(q, v)
    ours(q, v)
    _sync(ours, theirs)
    for call in ({}, {"return_attention_scores": True}):
        _compare(ours(q, v, **call), theirs(q, v, **call))


def _masked_model(lib, causal=False):
    L = lib.layers
    tokens = L.Input((6,), dtype="int32" if lib is keras else "int64", name="tokens")
    x = L.Embedding(20, 8, mask_zero=True, name="emb")(tokens)
    att = L.MultiHeadAttention(num_heads=2, key_dim=4, name="mha")(x, x, use_causal_mask=causal)
    x = L.Add(name="res")([x, att])
    x = L.LayerNormalization(name="norm")(x)
    x = L.GlobalAveragePooling1D(name="pool")(x)
    return lib.Model(tokens, L.Dense(1, activation="sigmoid", name="out")(x))


@pytest.mark.parametrize("causal", [False, True])
def test_self_attention_model_with_embedding_masks_matches_keras_and_trains(causal):
    tokens = np.array([[3, 5, 7, 0, 0, 0], [1, 2, 3, 4, 5, 6], [9, 0, 0, 0, 0, 0], [4, 4, 8, 2, 0, 0]])
    theirs, ours = _masked_model(keras, causal), _masked_model(lk, causal)
    assert [la.name for la in ours.layers] == [la.name for la in theirs.layers]
    rng = np.random.default_rng(0)
    weights = [rng.uniform(-0.5, 0.5, size=w.shape).astype("float32") for w in theirs.get_weights()]
    theirs.set_weights(weights)
    ours.set_weights(weights)
    want = theirs.predict(tokens, verbose=0)
    np.testing.assert_allclose(ours.predict(tokens, verbose=0), want, **TOL)
    y = np.array([[1.0], [0.0], [1.0], [0.0]], "float32")
    ours.compile(optimizer="adam", loss="binary_crossentropy")
    before = ours.evaluate(tokens, y, verbose=0)
    ours.fit(tokens, y, epochs=30, batch_size=4, verbose=0)
    assert ours.evaluate(tokens, y, verbose=0) < before


def test_functional_cross_attention_with_scores_and_saving(tmp_path):
    q_in, v_in = layers.Input((4, 6), name="q"), layers.Input((5, 6), name="v")
    out, scores = layers.MultiHeadAttention(num_heads=3, key_dim=2, name="mha")(q_in, v_in,
                                                                                 return_attention_scores=True)
    assert out.shape == (None, 4, 6) and scores.shape == (None, 3, 4, 5)
    model = Model([q_in, v_in], [out, scores])
    q, v = _data((2, 4, 6), (2, 5, 6))
    got = model.predict([q, v], verbose=0)
    path = tmp_path / "mha.keras"
    model.save(path)
    loaded = lk.models.load_model(path)
    for a, b in zip(loaded.predict([q, v], verbose=0), got):
        np.testing.assert_allclose(a, b, **TOL)


def test_dropout_only_in_training_and_seeded():
    q, v = _data((2, 4, 6), (2, 5, 6))
    a = layers.MultiHeadAttention(num_heads=2, key_dim=3, dropout=0.5, seed=3)
    b = layers.MultiHeadAttention(num_heads=2, key_dim=3, dropout=0.5, seed=3)
    a(q, v)
    b(q, v)
    b.set_weights(a.get_weights())
    np.testing.assert_allclose(_np(a(q, v)), _np(a(q, v)), **TOL)  # inference: no dropout
    train_a, train_b = a(q, v, training=True), b(q, v, training=True)
    np.testing.assert_allclose(_np(train_a), _np(train_b), **TOL)  # same seed, same masks
    assert not np.allclose(_np(train_a), _np(a(q, v)))


def test_config_round_trip_matches_keras_keys():
    config = layers.MultiHeadAttention(num_heads=2, key_dim=3, output_shape=4, attention_axes=1,
                                       kernel_regularizer="l2", seed=5).get_config()
    theirs = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3).get_config()
    assert set(theirs) - {"dtype"} <= set(config)
    clone = layers.MultiHeadAttention.from_config(config)
    assert clone.get_config() == config and clone.value_dim == 3


def test_regularizers_and_constraints_reach_the_projections():
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=3, kernel_regularizer="l2", bias_regularizer="l1",
                                      kernel_constraint="non_neg")
    layer(*_data((2, 4, 6), (2, 5, 6)))
    assert len(layer.losses) == 8
    layer.apply_constraints()
    assert all((w >= 0).all() for w in layer.get_weights()[::2])


@pytest.mark.parametrize("kwargs, match", [
    ({"num_heads": 0, "key_dim": 2}, "num_heads"),
    ({"num_heads": 2, "key_dim": 1.5}, "key_dim"),
    ({"num_heads": 2, "key_dim": 2, "value_dim": -1}, "value_dim"),
    ({"num_heads": 2, "key_dim": 2, "attention_axes": "x"}, "attention_axes"),
    ({"num_heads": 2, "key_dim": 2, "sliding_window": 0}, "sliding_window"),
    ({"num_heads": 2, "key_dim": 2, "dropout": 2.0}, "dropout"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        layers.MultiHeadAttention(**kwargs)


def test_bad_calls():
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=2)
    q, v, k = _data((2, 4, 6), (2, 5, 6), (2, 3, 6))
    with pytest.raises(TypeError, match="value"):
        layer(q)
    with pytest.raises(ValueError, match="except the last one"):
        layer(q, v, k)
    with pytest.raises(TypeError, match="float"):
        layers.MultiHeadAttention(num_heads=2, key_dim=2)(np.ones((2, 3, 4), int), np.ones((2, 3, 4), int))
