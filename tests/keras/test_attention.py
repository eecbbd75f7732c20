"""Attention and AdditiveAttention against real Keras 3 (torch backend), float32 to 1e-5:
dot/concat scores, learned scales (set to non-trivial values in both), key given or not, causal
masks, query/value masks (explicit and carried on the inputs as ``_keras_mask``), returned
attention scores, output masks, dropout, configs and errors.
"""

from __future__ import annotations

import itertools

import keras
import numpy as np
import pytest
import torch

from lstmkit.keras import layers
from lstmkit.keras.engine.input_layer import Input

TOL = {"atol": 1e-5, "rtol": 1e-5}
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

B, TQ, TV, D, DV = 2, 4, 5, 3, 6
Q_MASK = [[True, True, True, False], [True, True, True, True]]
V_MASK = [[True, True, False, False, False], [True, True, True, True, False]]


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else keras.ops.convert_to_numpy(x)


def _inputs(with_key: bool, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(B, TQ, D)).astype("float32")
    v = rng.normal(size=(B, TV, DV)).astype("float32")
    k = rng.normal(size=(B, TV, D)).astype("float32")
    return [q, v, k] if with_key else [q, v[..., :D]]  # without a key, value doubles as key


def _masks(kind: str):
    q = torch.tensor(Q_MASK) if kind in ("query", "both") else None
    v = torch.tensor(V_MASK) if kind in ("value", "both") else None
    return None if kind == "none" else [q, v]


def _sync_weights(ours, theirs, seed=1):
    """Give both layers the same non-trivial weights (Keras' scale/concat weights start at 1)."""
    values = [np.asarray(np.random.default_rng(seed).uniform(0.5, 1.5, size=w.shape), dtype="float32")
              for w in theirs.get_weights()]
    theirs.set_weights(values)
    ours.set_weights(values)


def _run_pair(ours, theirs, inputs, **kwargs):
    theirs([keras.ops.convert_to_tensor(x) for x in inputs], **kwargs)
    ours([torch.from_numpy(x) for x in inputs], **kwargs)
    _sync_weights(ours, theirs)
    want = theirs([keras.ops.convert_to_tensor(x) for x in inputs], **kwargs)
    got = ours([torch.from_numpy(x) for x in inputs], **kwargs)
    return got, want


def _assert_same(got, want):
    if isinstance(want, (tuple, list)):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_allclose(_np(g), _np(w), **TOL)
    else:
        np.testing.assert_allclose(_np(got), _np(want), **TOL)


CASES = list(itertools.product(["dot", "concat"], [False, True], [False, True], [False, True]))


@pytest.mark.parametrize("score_mode,use_scale,with_key,causal", CASES,
                         ids=["-".join(map(str, c)) for c in CASES])
@pytest.mark.parametrize("masks", ["none", "query", "value", "both"])
def test_attention_matches_keras(score_mode, use_scale, with_key, causal, masks):
    inputs = _inputs(with_key)
    kw = {"mask": _masks(masks), "use_causal_mask": causal, "return_attention_scores": True}
    ours, theirs = layers.Attention(use_scale, score_mode), keras.layers.Attention(use_scale, score_mode)
    got, want = _run_pair(ours, theirs, inputs, **kw)
    _assert_same(got, want)
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]


@pytest.mark.parametrize("use_scale", [False, True])
@pytest.mark.parametrize("with_key", [False, True])
@pytest.mark.parametrize("masks", ["none", "both"])
@pytest.mark.parametrize("causal", [False, True])
def test_additive_attention_matches_keras(use_scale, with_key, masks, causal):
    inputs = _inputs(with_key, seed=3)
    kw = {"mask": _masks(masks), "use_causal_mask": causal, "return_attention_scores": True}
    ours, theirs = layers.AdditiveAttention(use_scale=use_scale), keras.layers.AdditiveAttention(use_scale=use_scale)
    got, want = _run_pair(ours, theirs, inputs, **kw)
    _assert_same(got, want)
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]


def test_additive_scale_initializer_is_glorot_uniform():
    torch.manual_seed(0)
    layer = layers.AdditiveAttention()
    layer([torch.zeros(1, 2, 400), torch.zeros(1, 3, 400)])
    limit = np.sqrt(6.0 / 800)
    w = layer.get_weights()[0]
    assert w.shape == (400,) and np.abs(w).max() <= limit and np.abs(w).max() > 0.9 * limit


@pytest.mark.parametrize("cls", ["Attention", "AdditiveAttention"])
def test_masks_carried_on_inputs_are_used_and_query_mask_is_output_mask(cls):
    q, v = (torch.from_numpy(x) for x in _inputs(False, seed=5))
    q._keras_mask, v._keras_mask = torch.tensor(Q_MASK), torch.tensor(V_MASK)
    kq, kv = q.clone(), v.clone()
    kq._keras_mask, kv._keras_mask = q._keras_mask.clone(), v._keras_mask.clone()
    ours, theirs = getattr(layers, cls)(), getattr(keras.layers, cls)()
    want = theirs([kq, kv])
    ours([q, v])
    ours.set_weights(theirs.get_weights())
    got = ours([q, v])
    np.testing.assert_allclose(_np(got), _np(want), **TOL)
    np.testing.assert_array_equal(_np(got._keras_mask), _np(want._keras_mask))
    explicit = ours([q.clone(), v.clone()], mask=[q._keras_mask, v._keras_mask])
    torch.testing.assert_close(explicit, got)
    out, scores = ours([q, v], return_attention_scores=True)
    torch.testing.assert_close(out._keras_mask, q._keras_mask)
    assert getattr(scores, "_keras_mask", None) is None
    torch.testing.assert_close(scores.sum(-1), torch.ones(B, TQ))
    assert torch.all(scores[~v._keras_mask.unsqueeze(1).expand_as(scores)] < 1e-6)


def test_mask_flow_from_embedding_like_keras():
    ids = np.array([[3, 1, 4, 0, 0], [2, 7, 1, 8, 0]])
    emb, kemb = layers.Embedding(10, 4, mask_zero=True), keras.layers.Embedding(10, 4, mask_zero=True)
    kemb(ids)
    emb(ids)
    emb.set_weights(kemb.get_weights())
    ours, theirs = layers.Attention(use_scale=True), keras.layers.Attention(use_scale=True)
    x, kx = emb(ids), kemb(ids)
    want = theirs([kx, kx])
    got = ours([x, x])
    np.testing.assert_allclose(_np(got), _np(want), **TOL)
    np.testing.assert_array_equal(_np(got._keras_mask), ids != 0)


def test_dropout_only_while_training_and_seeded():
    inputs = [torch.from_numpy(x) for x in _inputs(True, seed=2)]
    layer = layers.Attention(dropout=0.5, seed=4)
    plain = layers.Attention()
    out_eval, w_eval = layer(inputs, return_attention_scores=True)
    torch.testing.assert_close(out_eval, plain(inputs))
    _, w_train = layer(inputs, return_attention_scores=True, training=True)
    kept = w_train != 0
    torch.testing.assert_close(w_train[kept], w_eval[kept] * 2)
    assert (~kept).any()
    _, again = layers.Attention(dropout=0.5, seed=4)(inputs, return_attention_scores=True, training=True)
    torch.testing.assert_close(again, w_train)


def test_symbolic_call_shapes():
    q, v = Input(shape=(None, D)), Input(shape=(7, DV))
    k = Input(shape=(7, D))
    out, scores = layers.Attention()([q, v, k], return_attention_scores=True)
    assert out.shape == (None, None, DV) and scores.shape == (None, None, 7)
    assert layers.AdditiveAttention()([q, Input(shape=(7, D))]).shape == (None, None, D)


def test_errors():
    q, v = torch.ones(2, 3, 4), torch.ones(2, 5, 4)
    with pytest.raises(ValueError, match="score_mode"):
        layers.Attention(score_mode="general")
    with pytest.raises(ValueError, match="dropout"):
        layers.Attention(dropout=1.5)
    with pytest.raises(ValueError, match="list of inputs"):
        layers.Attention()(q)
    with pytest.raises(ValueError, match="2 or 3 inputs"):
        layers.Attention()([q])
    with pytest.raises(ValueError, match="same last dimension"):
        layers.Attention()([q, torch.ones(2, 5, 6), torch.ones(2, 5, 3)])
    with pytest.raises(ValueError, match="same number of steps"):
        layers.Attention()([q, v, torch.ones(2, 6, 4)])
    with pytest.raises(ValueError, match="value mask has shape"):
        layers.Attention()([q, v], mask=[None, torch.ones(2, 4, dtype=torch.bool)])
    with pytest.raises(ValueError, match="mask must be a list"):
        layers.Attention()([q, v], mask=torch.ones(2, 3, dtype=torch.bool))
    with pytest.raises(TypeError, match="float"):
        layers.Attention()([torch.ones(2, 3, 4, dtype=torch.int64), v])


@pytest.mark.parametrize("cls", ["Attention", "AdditiveAttention"])
def test_config_round_trip_and_keras_keys(cls):
    kwargs = {"use_scale": True, "dropout": 0.1, "seed": 3}
    if cls == "Attention":
        kwargs["score_mode"] = "concat"
    layer = getattr(layers, cls)(**kwargs)
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config
    theirs = getattr(keras.layers, cls)(**kwargs).get_config()
    assert set(theirs) - {"dtype"} <= set(config) and set(config) <= set(theirs) | {"batch_input_shape"}
    for key in kwargs:
        assert config[key] == theirs[key]
