"""Keras 3's own MultiHeadAttention tests (keras/src/layers/attention/multi_head_attention_test.py)
ported to lstmkit.keras, with their expected values.

Skipped, and why:
- test_basics_with_flash_attention, test_flash_attention_with_errors, test_correctness[flash]:
  there is no flash-attention kernel in lstmkit (flash_attention=True is refused).
- test_lora, test_dtype_policy_map, test_quantize_int8: LoRA, dtype policy maps and int8
  quantisation are not part of lstmkit.keras.
- test_causal_only_skipped_for_subclass: it checks which mask a subclass's ``_compute_attention``
  with Keras' previous signature receives; our ``call`` always passes ``use_causal_mask=``.
run_layer_test (Keras' generic harness) is replaced by the checks it makes that apply here: output
shape, weight counts, masking support, config round trip.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit.keras import layers
from lstmkit.keras.constraints import NonNeg
from lstmkit.keras.initializers import TruncatedNormal

pytestmark = pytest.mark.usefixtures("fresh_names", "one_thread")


def _np(x):
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _layer_test(init_kwargs, query_shape, value_shape, expected_output_shape, trainable_weights):
    layer = layers.MultiHeadAttention(**init_kwargs)
    assert layer.supports_masking
    q = np.random.default_rng(0).random(query_shape).astype("float32")
    v = np.random.default_rng(1).random(value_shape).astype("float32")
    out = layer(q, v)
    assert tuple(out.shape) == expected_output_shape
    assert len(layer.trainable_weights) == trainable_weights and not layer.non_trainable_weights
    assert not layer.losses
    clone = layers.MultiHeadAttention.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    symbolic = layers.MultiHeadAttention(**init_kwargs)(layers.Input(query_shape[1:]), layers.Input(value_shape[1:]))
    assert symbolic.shape == (None, *expected_output_shape[1:])


@pytest.mark.parametrize("kwargs, trainable", [
    ({"num_heads": 2, "key_dim": 2}, 8),
    ({"num_heads": 2, "key_dim": 2, "value_dim": 4, "use_bias": False, "dropout": 0.5}, 4),
    ({"num_heads": 2, "key_dim": 2, "use_gate": True}, 10),
    ({"num_heads": 2, "key_dim": 2, "value_dim": 4, "use_bias": False, "dropout": 0.5, "use_gate": True}, 5),
])
def test_basics(kwargs, trainable):
    _layer_test(kwargs, (2, 8, 16), (2, 4, 16), (2, 8, 16), trainable)


@pytest.mark.parametrize("q_dims, v_dims, mask_dims, attention_axes", [
    ((3, 4), (3, 2), (4, 2), (2,)),
    ((3, 4), (3, 2), (3, 4, 2), (2,)),
    ((3, 4), (3, 2), (3, 2, 4, 2), (2,)),
    ((3, 4), (3, 2), (3, 4, 3, 2), (1, 2)),
    ((5, 3, 4), (5, 3, 2), (3, 4, 3, 2), (2, 3)),
    ((5, 3, 4), (5, 3, 2), (5, 3, 4, 3, 2), (2, 3)),
])
@pytest.mark.parametrize("use_gate", [False, True])
def test_high_dim_attention(q_dims, v_dims, mask_dims, attention_axes, use_gate):
    query_shape = (3, *q_dims, 8)
    value_shape = (3, *v_dims, 8)
    _layer_test({"num_heads": 2, "key_dim": 2, "attention_axes": attention_axes, "use_gate": use_gate},
                query_shape, value_shape, query_shape, 10 if use_gate else 8)


@pytest.mark.parametrize("use_gate", [False, True])
def test_attention_axes_negative_indexing(use_gate):
    x = np.random.default_rng(0).normal(size=(2, 3, 8, 4)).astype("float32")
    mha_pos = layers.MultiHeadAttention(num_heads=2, key_dim=4, attention_axes=2, use_gate=use_gate)
    mha_neg = layers.MultiHeadAttention(num_heads=2, key_dim=4, attention_axes=-2, use_gate=use_gate)
    mha_pos(x, x)
    mha_neg(x, x)
    mha_neg.set_weights(mha_pos.get_weights())
    z_pos, a_pos = mha_pos(x, x, return_attention_scores=True)
    z_neg, a_neg = mha_neg(x, x, return_attention_scores=True)
    assert z_pos.shape == z_neg.shape and a_pos.shape == a_neg.shape
    np.testing.assert_allclose(_np(z_pos), _np(z_neg), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_np(a_pos), _np(a_neg), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("query_dims, value_dims, key_dims, output_shape", [
    ((4, 8), (2, 8), None, None),
    ((4, 8), (2, 8), (2, 3), None),
    ((4, 8), (2, 8), None, (3, 4)),
    ((4, 8), (2, 8), (2, 3), (1, 5)),
    ((4, 2, 3, 8), (1, 1, 5, 8), (1, 1, 5, 2), None),
    ((4, 2, 3, 8), (1, 1, 5, 8), (1, 1, 5, 2), (3, 2)),
    ((4, 2, 3, 8), (4, 2, 3, 7), (4, 2, 3, 8), None),
])
def test_compute_output_shape(query_dims, value_dims, key_dims, output_shape):
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=2, value_dim=2, output_shape=output_shape)
    query_shape, value_shape = (7, *query_dims), (7, *value_dims)
    key_shape = (7, *key_dims) if key_dims else None
    output = layer(query=np.ones(query_shape, "float32"), value=np.ones(value_shape, "float32"),
                   key=np.ones(key_shape, "float32") if key_shape else None)
    assert tuple(output.shape) == layer.compute_output_shape(query_shape, value_shape, key_shape)
    assert tuple(output.shape) == layer.compute_output_shape(list(query_shape), list(value_shape),
                                                             list(key_shape) if key_shape else None)


@pytest.mark.parametrize("query_shape, value_shape, key_shape", [
    ((2, 4, 8), (2, 2, 7), (2,)),
    ((2, 4, 8), (2, 2, 8), (2, 1, 7)),
    ((2, 4, 2, 3, 8), (2, 1, 1, 5, 8), (2, 1, 15, 5, 2)),
])
def test_shape_mismatch_error(query_shape, value_shape, key_shape):
    layer = layers.MultiHeadAttention(num_heads=4, key_dim=2, value_dim=2)
    with pytest.raises(ValueError, match="must be equal"):
        layer.compute_output_shape(query_shape, value_shape, key_shape)
    with pytest.raises(ValueError, match="must be equal"):
        layer(np.ones(query_shape, "float32"), np.ones(value_shape, "float32"), np.ones(key_shape, "float32"))


def test_invalid_scalar_args_rejected():
    for bad in (0, -2, 1.5):
        with pytest.raises(ValueError, match="argument `num_heads`"):
            layers.MultiHeadAttention(num_heads=bad, key_dim=4)
        with pytest.raises(ValueError, match="argument `key_dim`"):
            layers.MultiHeadAttention(num_heads=4, key_dim=bad)
        with pytest.raises(ValueError, match="argument `value_dim`"):
            layers.MultiHeadAttention(num_heads=4, key_dim=4, value_dim=bad)
    layers.MultiHeadAttention(num_heads=4, key_dim=4, value_dim=None)


def test_initializer():
    layer = layers.MultiHeadAttention(num_heads=12, key_dim=64, use_gate=True,
                                      kernel_initializer=TruncatedNormal(stddev=0.02))
    layer.build((2, 4, 8), (2, 4, 8))
    q = _np(layer._query_dense.kernel)
    for other in (layer._key_dense, layer._value_dense, layer._gate_dense):
        assert not np.allclose(q, _np(other.kernel))
    assert not np.allclose(q.ravel()[:64], _np(layer._output_dense.kernel).ravel()[:64])


def _embedded(tokens, vocab):
    return layers.Embedding(vocab, 8, mask_zero=True)(np.array(tokens))


def test_query_mask_propagation():
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=2)
    assert layer.supports_masking
    masked_query = _embedded([[1, 2, 3, 0, 0], [3, 3, 1, 1, 2], [1, 0, 0, 0, 0]], 4)
    value = np.random.default_rng(0).normal(size=(3, 3, 8)).astype("float32")
    output = layer(query=masked_query, value=value)
    np.testing.assert_array_equal(_np(output._keras_mask), _np(masked_query._keras_mask))


@pytest.mark.parametrize("use_causal_mask", [True, False])
def test_masking(use_causal_mask):
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=2)
    masked_query = _embedded([[1, 2, 3, 0, 0], [3, 3, 1, 1, 2], [1, 0, 0, 0, 0]], 4)
    masked_value = _embedded([[5, 4, 0], [3, 0, 0], [2, 1, 1]], 6)
    output = layer(query=masked_query, value=masked_value, use_causal_mask=use_causal_mask)
    mask = np.array([[[1, 1, 0]] * 3 + [[0, 0, 0]] * 2] + [[[1, 0, 0]] * 5] + [[[1, 1, 1]] + [[0, 0, 0]] * 4])
    if use_causal_mask:
        mask = mask & np.array([[[1, 0, 0], [1, 1, 0]] + [[1, 1, 1]] * 3])
    masked_query._keras_mask = None
    masked_value._keras_mask = None
    output_with_manual_mask = layer(query=masked_query, value=masked_value, attention_mask=mask)
    np.testing.assert_allclose(_np(output), _np(output_with_manual_mask), rtol=1e-6, atol=1e-6)


def test_masking_with_different_shapes():
    x = torch.rand(2, 5, 8)
    mask = torch.ones(5, 5).tril()
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=4)
    output_1 = layer(query=x, value=x, attention_mask=mask)
    mask = mask[None].tile(2, 1, 1)
    output_2 = layer(query=x, value=x, attention_mask=mask)
    mask = mask[:, None].tile(1, 2, 1, 1)
    output_3 = layer(query=x, value=x, attention_mask=mask)
    np.testing.assert_allclose(_np(output_1), _np(output_2), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(_np(output_1), _np(output_3), rtol=1e-6, atol=1e-6)


def test_no_warning_with_keras_mask(recwarn):
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=2)
    layer(query=_embedded([[1, 2, 3, 0, 0], [3, 3, 1, 1, 2]], 4), value=_embedded([[5, 4, 0], [3, 0, 0]], 6))
    assert len(recwarn) == 0


@pytest.mark.parametrize("causal", [True, False])
def test_sliding_window(causal):
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=4, sliding_window=3)
    x = np.random.RandomState(0).randn(1, 6, 8).astype("float32")
    _, scores = layer(x, x, use_causal_mask=causal, return_attention_scores=True)
    scores = _np(scores)[0, 0]
    for i in range(6):
        for j in range(6):
            inside = (j <= i and i - j < 3) if causal else abs(i - j) < 3
            assert scores[i, j] > 0.0 if inside else scores[i, j] == 0.0


def test_causal_only_fast_path():
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=4)
    x = np.random.RandomState(0).randn(2, 5, 8).astype("float32")
    layer(x, x, use_causal_mask=True)
    fast = layer(x, x, use_causal_mask=True)
    slow = layer(x, x, attention_mask=np.tril(np.ones((1, 5, 5), dtype="bool")))
    np.testing.assert_allclose(_np(fast), _np(slow), atol=1e-5)


def test_causal_only_with_other_mask_falls_back():
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=4)
    x = np.random.RandomState(0).randn(2, 5, 8).astype("float32")
    layer.build(query_shape=x.shape, value_shape=x.shape)
    extra_mask = np.ones((2, 5, 5), dtype="bool")
    extra_mask[:, 2, 3] = False
    merged = extra_mask & np.tril(np.ones((5, 5), dtype="bool"))
    out1 = layer(x, x, attention_mask=extra_mask, use_causal_mask=True)
    out2 = layer(x, x, attention_mask=merged, use_causal_mask=False)
    assert tuple(out1.shape) == (2, 5, 8)
    np.testing.assert_allclose(_np(out1), _np(out2), atol=1e-5)


@pytest.mark.parametrize("dropout, return_attention_scores", [(0.0, True), (0.1, False), (0.1, True)])
def test_causal_only_masks_when_fused_path_disabled(dropout, return_attention_scores):
    t = 6
    future = np.triu(np.ones((t, t)), k=1).astype(bool)
    x = np.random.RandomState(0).randn(1, t, 8).astype("float32")
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=4, dropout=dropout)
    if return_attention_scores:
        _, scores = layer(x, x, use_causal_mask=True, return_attention_scores=True, training=False)
        assert _np(scores)[..., future].sum() < 1e-6
    else:
        out_causal = layer(x, x, use_causal_mask=True, training=False)
        out_explicit = layer(x, x, attention_mask=(~future)[None], training=False)
        np.testing.assert_allclose(_np(out_causal), _np(out_explicit), atol=1e-5)


def test_causal_only_masks_non_4d_inputs():
    t = 5
    future = np.triu(np.ones((t, t)), k=1).astype(bool)
    x = np.random.RandomState(0).randn(1, t, 3, 8).astype("float32")
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=4, attention_axes=1)
    _, scores = layer(x, x, use_causal_mask=True, return_attention_scores=True)
    assert _np(scores)[..., future].sum() < 1e-6


@pytest.mark.parametrize("return_attention_scores", [False, True])
def test_compute_attention_combines_causal_and_explicit_mask(return_attention_scores):
    t = 5
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=4)
    layer.build(query_shape=(1, t, 8), value_shape=(1, t, 8))
    rng = np.random.RandomState(0)
    query, key, value = (rng.randn(1, t, 2, 4).astype("float32") for _ in range(3))
    extra = np.ones((1, t, t), dtype="bool")
    extra[:, 3, 1] = False
    merged = extra & np.tril(np.ones((t, t), dtype="bool"))[None]
    out_both, _ = layer._compute_attention(query, key, value, attention_mask=extra, use_causal_mask=True,
                                           return_attention_scores=return_attention_scores)
    out_merged, _ = layer._compute_attention(query, key, value, attention_mask=merged, use_causal_mask=False,
                                             return_attention_scores=return_attention_scores)
    np.testing.assert_allclose(_np(out_both), _np(out_merged), atol=1e-5)


def test_sliding_window_validation_and_serialization():
    for bad in (0, -3):
        with pytest.raises(ValueError, match="sliding_window"):
            layers.MultiHeadAttention(num_heads=2, key_dim=4, sliding_window=bad)
    config = layers.MultiHeadAttention(num_heads=2, key_dim=4, sliding_window=5).get_config()
    assert config["sliding_window"] == 5
    assert layers.MultiHeadAttention.from_config(config).sliding_window == 5


def test_correctness():
    num_heads = key_dim = 8
    query = np.identity(key_dim)[np.newaxis].astype("float32")
    key = np.identity(key_dim)[np.newaxis].astype("float32")
    value = (np.reshape(np.arange(key_dim * key_dim), (1, key_dim, key_dim)) / 100.0).astype("float32")
    layer = layers.MultiHeadAttention(num_heads=num_heads, key_dim=key_dim)
    layer.build(query.shape, key.shape, value.shape)
    kernel = np.repeat(np.identity(key_dim)[:, np.newaxis, :], num_heads, axis=1)
    bias = np.zeros((num_heads, key_dim))
    layer.set_weights([kernel, bias] * 3 + [kernel, np.zeros((key_dim,))])
    expected_output = np.tile(np.array([2.406, 2.440, 2.473, 2.504, 2.535, 2.568, 2.602, 2.633])[None, :, None],
                              (1, 1, key_dim))
    expected_score = np.array([[0.1187] * i + [0.1691] + [0.1187] * (7 - i) for i in range(8)])
    expected_score = np.tile(expected_score[None, None], (1, key_dim, 1, 1))
    output, scores = layer(query=query, value=value, key=key, return_attention_scores=True)
    np.testing.assert_allclose(_np(output), expected_output, atol=1e-2)
    np.testing.assert_allclose(_np(scores), expected_score, atol=1e-2)
    np.testing.assert_allclose(_np(layer(query=query, value=value, key=key)), expected_output, atol=1e-2)


@pytest.mark.parametrize("option", ["kernel_constraint", "bias_constraint"])
def test_mha_constraints(option):
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=2, use_gate=True, **{option: "non_neg"})
    layer.build((1, 2, 2), (1, 2, 2), (1, 2, 2))
    for sub in (layer._query_dense, layer._value_dense, layer._key_dense, layer._gate_dense):
        assert isinstance(sub._constraints[option.split("_")[0]], NonNeg)


@pytest.mark.parametrize("shape", [(1, 2, 3), (2, 3, 5)])
def test_symbolic_return_attention_scores(shape):
    mha = layers.MultiHeadAttention(num_heads=4, key_dim=2)
    x = layers.Input(batch_shape=shape)
    y = layers.Input(batch_shape=shape)
    symbolic_out = mha(x, y, return_attention_scores=True)
    assert len(symbolic_out) == 2
    out = mha(np.random.random(shape).astype("float32"), np.random.random(shape).astype("float32"),
              return_attention_scores=True)
    assert len(out) == 2
    assert symbolic_out[0].shape == tuple(out[0].shape)
    assert symbolic_out[1].shape == tuple(out[1].shape)


@pytest.mark.parametrize("output_shape, expected", [(8, (2, 4, 8)), ((8, 8), (2, 4, 8, 8))])
def test_multi_head_attention_output_shape(output_shape, expected):
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=16, output_shape=output_shape)
    output = mha(query=torch.rand(2, 4, 16), value=torch.rand(2, 4, 16))
    assert tuple(output.shape) == expected


def test_multi_head_attention_output_shape_error():
    with pytest.raises(ValueError, match=r"Invalid `output_shape`"):
        layers.MultiHeadAttention(num_heads=2, key_dim=16, output_shape=8.0)
