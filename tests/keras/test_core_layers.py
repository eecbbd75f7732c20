"""lstmkit.keras core layers against real Keras 3 (torch backend): Keras' weights are copied into
ours with get_weights/set_weights and outputs (and masks) compared in float32 to 1e-5.
Also: configs round-trip, legacy ``input_shape=`` builds, symbolic shapes, clear errors.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch

from lstmkit.keras import layers
from lstmkit.keras.engine.input_layer import Input

TOL = {"atol": 1e-5, "rtol": 1e-5}
# Keras' own get_weights() triggers a NumPy 2 deprecation warning inside Keras; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else keras.ops.convert_to_numpy(x)


def _data(*shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _pair(ours, theirs, x, **call_kwargs):
    """Build both on ``x``, copy Keras' weights into ours, return both outputs."""
    want = theirs(x, **call_kwargs)
    ours(x, **call_kwargs)
    ours.set_weights(theirs.get_weights())
    return ours(x, **call_kwargs), want


def _keras_mask(t):
    m = getattr(t, "_keras_mask", None)
    return None if m is None else _np(m)


# ---------------------------------------------------------------- Dense
@pytest.mark.parametrize("shape", [(4, 5), (3, 6, 5), (2, 3, 4, 5)], ids=["2d", "3d", "4d"])
@pytest.mark.parametrize("kwargs", [{}, {"activation": "relu"}, {"activation": "softmax", "use_bias": False},
                                    {"activation": "tanh"}], ids=["linear", "relu", "softmax_nobias", "tanh"])
def test_dense_matches_keras(shape, kwargs):
    got, want = _pair(layers.Dense(7, **kwargs), keras.layers.Dense(7, **kwargs), _data(*shape))
    assert got.shape == (*shape[:-1], 7)
    np.testing.assert_allclose(_np(got), _np(want), **TOL)


def test_dense_weights_layout_and_order_match_keras():
    ours, theirs = layers.Dense(3), keras.layers.Dense(3)
    ours.build((None, 4))
    theirs.build((None, 4))
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()] == [(4, 3), (3,)]
    assert ours.count_params() == theirs.count_params() == 15


def test_dense_regularizers_and_constraints_match_keras():
    kw = {"kernel_regularizer": keras.regularizers.L2(0.1), "bias_regularizer": keras.regularizers.L1(0.2),
          "kernel_constraint": keras.constraints.MaxNorm(0.5)}
    theirs = keras.layers.Dense(3, bias_initializer="ones", **kw)
    ours = layers.Dense(3, bias_initializer="ones", kernel_regularizer={"class_name": "L2", "config": {"l2": 0.1}},
                        bias_regularizer={"class_name": "L1", "config": {"l1": 0.2}},
                        kernel_constraint={"class_name": "MaxNorm", "config": {"max_value": 0.5, "axis": 0}})
    x = _data(2, 4)
    _pair(ours, theirs, x)
    np.testing.assert_allclose(sum(float(v.detach()) for v in ours.losses), sum(float(_np(v)) for v in theirs.losses),
                               rtol=1e-6)
    ours.apply_constraints()
    want = keras.constraints.MaxNorm(0.5)(theirs.kernel)
    np.testing.assert_allclose(_np(ours.kernel), _np(want), **TOL)


def test_dense_passes_masks_and_checks_inputs():
    x = torch.from_numpy(_data(2, 3, 4))
    x._keras_mask = torch.tensor([[True, True, False], [True, False, False]])
    dense = layers.Dense(2)
    torch.testing.assert_close(dense(x)._keras_mask, x._keras_mask)
    with pytest.raises(ValueError, match="4 input features"):
        dense(torch.ones(2, 5))
    with pytest.raises(ValueError, match="rank >= 2"):
        layers.Dense(2)(torch.ones(3))
    for bad in (0, -1, 2.5, "3", True):
        with pytest.raises(ValueError, match="positive integer"):
            layers.Dense(bad)
    with pytest.raises(ValueError, match="unknown activation"):
        layers.Dense(2, activation="rleu")
    with pytest.raises(TypeError, match="unexpected keyword"):
        layers.Dense(2, units_=3)
    y = layers.Dense(2)(np.ones((2, 3), dtype="int64"))  # integer inputs are cast like Keras
    assert y.dtype == torch.float32


# ---------------------------------------------------------------- Dropout
def test_dropout_inference_is_identity_and_training_scales():
    x = torch.ones(200, 50)
    drop = layers.Dropout(0.3)
    assert drop(x) is x and drop(x, training=False) is x
    torch.manual_seed(0)
    y = drop(x, training=True)
    kept = y != 0
    assert 0.65 < kept.float().mean().item() < 0.75
    torch.testing.assert_close(y[kept], torch.full_like(y[kept], 1 / 0.7))
    assert not drop.training  # training= applies to that call only


def test_dropout_seed_noise_shape_and_edges():
    x = torch.ones(4, 6, 5)
    a = layers.Dropout(0.5, seed=3)(x, training=True)
    b = layers.Dropout(0.5, seed=3)(x, training=True)
    torch.testing.assert_close(a, b)
    y = layers.Dropout(0.5, noise_shape=(None, 1, 5), seed=1)(x, training=True)
    assert torch.equal(y, y[:, :1, :].expand_as(y))  # same features dropped at every step
    assert torch.equal(layers.Dropout(1.0)(x, training=True), torch.zeros_like(x))
    assert layers.Dropout(0.0)(x, training=True) is x
    x._keras_mask = torch.ones(4, 6, dtype=torch.bool)
    assert layers.Dropout(0.2)(x)._keras_mask is x._keras_mask
    for bad in (-0.1, 1.5, "0.2"):
        with pytest.raises(ValueError, match="rate"):
            layers.Dropout(bad)
    with pytest.raises(ValueError, match="noise_shape"):
        layers.Dropout(0.5, noise_shape=(None, 0))
    with pytest.raises(ValueError, match="noise_shape"):
        layers.Dropout(0.5, noise_shape=(None, 1))(x, training=True)


# ---------------------------------------------------------------- shape layers, Activation, Masking
@pytest.mark.parametrize(
    "make,shape",
    [
        (lambda m: m.Flatten(), (2, 3, 4)),
        (lambda m: m.Flatten(), (2, 3, 4, 5)),
        (lambda m: m.Flatten(data_format="channels_first"), (2, 3, 4, 5)),
        (lambda m: m.Reshape((4, -1)), (2, 3, 4)),
        (lambda m: m.Reshape((2, 2, 3)), (2, 12)),
        (lambda m: m.RepeatVector(3), (2, 5)),
        (lambda m: m.Activation("tanh"), (2, 3, 4)),
        (lambda m: m.Activation("softmax"), (2, 7)),
        (lambda m: m.LayerNormalization(), (3, 8)),
        (lambda m: m.LayerNormalization(), (2, 3, 8)),
        (lambda m: m.LayerNormalization(axis=[1, 2]), (2, 3, 8)),
        (lambda m: m.LayerNormalization(epsilon=0.1, center=False), (2, 3, 8)),
        (lambda m: m.LayerNormalization(scale=False), (2, 3, 8)),
    ],
    ids=["flatten3", "flatten4", "flatten_cf", "reshape-1", "reshape", "repeat", "act_tanh", "act_softmax", "ln2",
         "ln3", "ln_axes12", "ln_eps_nocenter", "ln_noscale"],
)
def test_simple_layers_match_keras(make, shape):
    ours, theirs = make(layers), make(keras.layers)
    x = _data(*shape)
    theirs(x)
    ours(x)
    if theirs.weights:  # random gamma/beta so the affine part is tested too
        values = [np.random.default_rng(k).normal(size=w.shape).astype("float32") for k, w in
                  enumerate(theirs.get_weights())]
        theirs.set_weights(values)
        ours.set_weights(values)
    np.testing.assert_allclose(_np(ours(x)), _np(theirs(x)), **TOL)


def test_layer_normalization_non_trailing_axis_against_numpy():
    x = _data(2, 5, 3)
    ln = layers.LayerNormalization(axis=1, epsilon=1e-3)
    ln(x)
    gamma, beta = _data(5, seed=1), _data(5, seed=2)
    ln.set_weights([gamma, beta])
    mean, var = x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)
    want = (x - mean) / np.sqrt(var + 1e-3) * gamma[None, :, None] + beta[None, :, None]
    np.testing.assert_allclose(_np(ln(x)), want, **TOL)
    with pytest.raises(ValueError, match="out of bounds"):
        layers.LayerNormalization(axis=3)(x)
    with pytest.raises(TypeError, match="axis"):
        layers.LayerNormalization(axis="last")


def test_shape_layer_errors():
    with pytest.raises(ValueError, match="cannot reshape"):
        layers.Reshape((5, -1))(torch.ones(2, 12))
    with pytest.raises(ValueError, match="cannot reshape"):
        layers.Reshape((5,))(torch.ones(2, 12))
    with pytest.raises(ValueError, match="at most one -1"):
        layers.Reshape((-1, -1))
    with pytest.raises(ValueError, match="positive"):
        layers.Reshape((0, 2))
    with pytest.raises(ValueError, match="rank 2"):
        layers.RepeatVector(2)(torch.ones(2, 3, 4))
    with pytest.raises(ValueError, match="positive"):
        layers.RepeatVector(0)
    with pytest.raises(ValueError, match="data_format"):
        layers.Flatten(data_format="nhwc")


def test_masking_matches_keras():
    x = _data(3, 4, 2)
    x[0, 1] = 0.0
    x[2, 2:] = 0.0
    x[1, 0, 0] = 0.0  # one zero feature is not padding
    ours, theirs = layers.Masking(), keras.layers.Masking()
    got, want = ours(x), theirs(x)
    np.testing.assert_allclose(_np(got), _np(want), **TOL)
    np.testing.assert_array_equal(_keras_mask(got), _keras_mask(want))
    y = layers.Masking(mask_value=-1.0)(np.full((1, 2, 3), -1.0, dtype="float32"))
    np.testing.assert_array_equal(_keras_mask(y), [[False, False]])


# ---------------------------------------------------------------- Embedding
@pytest.mark.parametrize("mask_zero", [False, True])
def test_embedding_matches_keras(mask_zero):
    ids = np.array([[1, 5, 0, 0], [3, 9, 9, 0]])
    got, want = _pair(layers.Embedding(10, 6, mask_zero=mask_zero), keras.layers.Embedding(10, 6, mask_zero=mask_zero),
                      ids)
    np.testing.assert_allclose(_np(got), _np(want), **TOL)
    if mask_zero:
        np.testing.assert_array_equal(_keras_mask(got), _keras_mask(want))
    else:
        assert _keras_mask(got) is None


def test_embedding_float_ids_weights_and_errors():
    table = _data(5, 3)
    emb = layers.Embedding(5, 3, weights=[table])
    np.testing.assert_allclose(_np(emb(np.array([[1.0, 4.0]]))), table[[1, 4]][None], **TOL)
    frozen = layers.Embedding(5, 3, weights=table, trainable=False)
    assert not frozen.embeddings.requires_grad
    with pytest.raises(ValueError, match=r"id 5 is out of range for input_dim=5"):
        emb(np.array([[1, 5]]))
    with pytest.raises(ValueError, match=r"id -1 is out of range for input_dim=5"):
        emb(np.array([[-1, 2]]))
    with pytest.raises(ValueError, match="non-finite"):
        emb(np.array([[np.nan]]))
    with pytest.raises(ValueError, match="input_dim"):
        layers.Embedding(0, 3)
    with pytest.raises(ValueError, match="output_dim"):
        layers.Embedding(3, 2.5)


def test_embedding_input_length():
    emb = layers.Embedding(20, 4, input_length=6)
    assert emb.get_config()["batch_input_shape"] == [None, 6]
    assert emb(np.ones((2, 6), dtype="int64")).shape == (2, 6, 4)
    with pytest.raises(ValueError, match="input_length=6.*length 7"):
        emb(np.ones((2, 7), dtype="int64"))
    with pytest.raises(ValueError, match="input_length=6.*length 5"):
        layers.Embedding(20, 4, input_length=6)(Input(shape=(5,), dtype="int64"))
    assert layers.Embedding(20, 4, input_length=6)(Input(shape=(None,), dtype="int64")).shape == (None, None, 4)
    again = layers.Embedding.from_config(emb.get_config())
    assert again.input_length == 6 and again.get_config() == emb.get_config()


# ---------------------------------------------------------------- TimeDistributed
def test_time_distributed_dense_matches_keras():
    x = _data(2, 5, 3)
    ours, theirs = layers.TimeDistributed(layers.Dense(4, activation="relu")), \
        keras.layers.TimeDistributed(keras.layers.Dense(4, activation="relu"))
    got, want = _pair(ours, theirs, x)
    assert got.shape == (2, 5, 4)
    np.testing.assert_allclose(_np(got), _np(want), **TOL)
    assert [w.shape for w in ours.weights] == [(3, 4), (4,)] and ours.weights[0] is ours.layer.kernel
    xt = torch.from_numpy(x)
    xt._keras_mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    torch.testing.assert_close(ours(xt)._keras_mask, xt._keras_mask)
    with pytest.raises(ValueError, match="rank >= 3"):
        layers.TimeDistributed(layers.Dense(2))(torch.ones(2, 3))
    with pytest.raises(ValueError, match="Layer instance"):
        layers.TimeDistributed(torch.nn.Linear(2, 2))


# ---------------------------------------------------------------- configs, legacy input_shape, symbolic calls
FACTORIES = {
    "Dense": lambda **kw: layers.Dense(3, activation="tanh", kernel_regularizer="l2", bias_constraint="non_neg", **kw),
    "Dropout": lambda **kw: layers.Dropout(0.25, noise_shape=(None, 1, 4), seed=2, **kw),
    "Activation": lambda **kw: layers.Activation("relu", **kw),
    "Flatten": lambda **kw: layers.Flatten(**kw),
    "Reshape": lambda **kw: layers.Reshape((2, -1), **kw),
    "Masking": lambda **kw: layers.Masking(mask_value=-1.0, **kw),
    "LayerNormalization": lambda **kw: layers.LayerNormalization(epsilon=1e-5, gamma_regularizer="l1", **kw),
    "TimeDistributed": lambda **kw: layers.TimeDistributed(layers.Dense(2), **kw),
}
SAMPLE_SHAPE = (5, 4)


@pytest.mark.parametrize("name", [*FACTORIES, "RepeatVector", "Embedding"])
def test_config_round_trip_and_legacy_input_shape(name):
    if name == "RepeatVector":
        layer, x = layers.RepeatVector(3, input_shape=(4,)), _data(2, 4)
    elif name == "Embedding":
        layer = layers.Embedding(9, 3, embeddings_initializer="glorot_uniform", mask_zero=True, input_shape=(5,))
        x = np.array([[1, 2, 0, 0, 0], [3, 4, 5, 6, 7]])
    else:
        layer, x = FACTORIES[name](input_shape=SAMPLE_SHAPE), _data(2, *SAMPLE_SHAPE)
    config = layer.get_config()
    assert config["batch_input_shape"][0] is None and len(config["batch_input_shape"]) == x.ndim
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    out = layer(x)
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(_np(clone(x)), _np(out), **TOL)


@pytest.mark.parametrize(
    "make,shape,want",
    [
        (lambda: layers.Dense(3), (4,), (None, 3)),
        (lambda: layers.Dense(3), (None, 4), (None, None, 3)),
        (lambda: layers.Flatten(), (6, 4), (None, 24)),
        (lambda: layers.Reshape((-1, 2)), (6, 4), (None, 12, 2)),
        (lambda: layers.RepeatVector(5), (4,), (None, 5, 4)),
        (lambda: layers.LayerNormalization(), (None, 4), (None, None, 4)),
        (lambda: layers.TimeDistributed(layers.Dense(2)), (None, 4), (None, None, 2)),
        (lambda: layers.Dropout(0.5), (7, 4), (None, 7, 4)),
    ],
    ids=["dense", "dense_seq", "flatten", "reshape", "repeat", "ln", "td", "dropout"],
)
def test_symbolic_shapes(make, shape, want):
    assert make()(Input(shape=shape)).shape == want


def test_symbolic_masks_propagate():
    ids = Input(shape=(None,), dtype="int64")
    emb = layers.Embedding(10, 4, mask_zero=True)(ids)
    assert emb.has_mask
    assert layers.Dense(3)(emb).has_mask
    assert not layers.Flatten()(layers.Embedding(10, 4, mask_zero=True)(Input(shape=(6,), dtype="int64"))).has_mask


def test_sequential_with_legacy_input_shape():
    models = pytest.importorskip("lstmkit.keras.models")
    if not hasattr(models, "Sequential"):
        pytest.skip("lstmkit.keras.models.Sequential is not available yet")
    model = models.Sequential([
        layers.Embedding(20, 8, input_length=6, mask_zero=True),
        layers.TimeDistributed(layers.Dense(4)),
        layers.LayerNormalization(),
        layers.Dropout(0.1),
        layers.Flatten(),
        layers.Dense(2, activation="softmax"),
    ])
    out = model.predict(np.array([[1, 2, 3, 0, 0, 0], [4, 5, 6, 7, 8, 9]]), verbose=0)
    assert np.asarray(out).shape == (2, 2)
