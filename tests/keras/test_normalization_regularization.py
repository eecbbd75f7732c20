"""BatchNormalization, preprocessing Normalization and the noise layers (SpatialDropout1D,
GaussianNoise, GaussianDropout) against real Keras 3 (torch backend): outputs to 1e-5 after
copying weights, moving statistics after training steps, seeded noise equal to Keras' draws,
fit/save/load keeping the statistics, configs, symbolic shapes and errors."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import torch

import lstmkit.keras as lk
from lstmkit.keras import layers
from lstmkit.keras.models import Model, Sequential, load_model
from lstmkit.keras.utils import PyDataset, timeseries_dataset_from_array

pytestmark = pytest.mark.usefixtures("fresh_names", "one_thread")
TOL = {"atol": 1e-5, "rtol": 1e-5}


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else keras.ops.convert_to_numpy(x)


def _pair_bn(shape, rng, **kwargs):
    """Our BN and Keras' BN built for ``shape`` with the same random (valid) weights."""
    ours, theirs = layers.BatchNormalization(**kwargs), keras.layers.BatchNormalization(**kwargs)
    ours.build(shape)
    theirs.build(shape)
    weights = [rng.normal(size=w.shape).astype("float32") for w in theirs.get_weights()]
    for k, w in enumerate(theirs.weights):
        if "variance" in w.path or "stddev" in w.path:
            weights[k] = np.abs(weights[k]) + 0.5
    theirs.set_weights(weights)
    ours.set_weights(weights)
    return ours, theirs


BN_CASES = [
    ((6, 3), {}, False),
    ((4, 5, 3), {"momentum": 0.8}, False),
    ((4, 5, 3), {"momentum": 0.5}, True),
    ((4, 5, 3), {"axis": 1, "epsilon": 1e-5}, False),
    ((2, 3, 4, 5), {"axis": 1, "center": False}, False),
    ((4, 6), {"scale": False, "momentum": 0.0}, False),
    ((5, 4), {"renorm": True, "renorm_momentum": 0.7, "momentum": 0.6}, False),
    ((5, 4, 3), {"renorm": True, "renorm_clipping": {"rmax": 1.5, "rmin": 0.7, "dmax": 0.2}}, True),
]


@pytest.mark.parametrize("shape,kwargs,masked", BN_CASES)
def test_batch_norm_training_steps_match_keras(shape, kwargs, masked):
    rng = np.random.default_rng(0)
    ours, theirs = _pair_bn(shape, rng, **kwargs)
    for _ in range(3):
        x = rng.normal(2.0, 3.0, size=shape).astype("float32")
        mask = rng.random(shape[:-1]) > 0.3 if masked else None
        got = ours(x, training=True, mask=mask)
        want = theirs(x, training=True, mask=None if mask is None else keras.ops.convert_to_tensor(mask))
        np.testing.assert_allclose(_np(got), _np(want), **TOL)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):  # gamma, beta, moving stats (renorm's too)
        np.testing.assert_allclose(a, b, **TOL)
    x = rng.normal(size=shape).astype("float32")
    np.testing.assert_allclose(_np(ours(x)), _np(theirs(x)), **TOL)  # inference: moving statistics
    np.testing.assert_allclose(_np(ours(x, training=False)), _np(theirs(x, training=False)), **TOL)


def test_batch_norm_weights_order_and_trainability():
    bn = layers.BatchNormalization(renorm=True)
    bn.build((None, 3))
    names = [n for n in bn._weight_names]
    assert names == ["gamma", "beta", "moving_mean", "moving_variance", "moving_stddev", "renorm_mean",
                     "renorm_stddev"]
    assert len(bn.trainable_weights) == 2 and len(bn.non_trainable_weights) == 5
    assert [p for p in bn.parameters()] == bn.trainable_weights  # statistics are buffers, never optimised
    bn.trainable = False
    assert bn.trainable_weights == [] and len(bn.non_trainable_weights) == 7
    bn.trainable = True
    assert len(bn.trainable_weights) == 2


def test_batch_norm_frozen_runs_in_inference_mode_like_keras():
    rng = np.random.default_rng(1)
    ours, theirs = _pair_bn((8, 3), rng, momentum=0.5)
    ours.trainable = theirs.trainable = False
    x = rng.normal(size=(8, 3)).astype("float32")
    before = ours.get_weights()
    np.testing.assert_allclose(_np(ours(x, training=True)), _np(theirs(x, training=True)), **TOL)
    np.testing.assert_allclose(_np(ours(x, training=True)), _np(ours(x, training=False)), **TOL)
    for a, b in zip(before, ours.get_weights()):
        np.testing.assert_array_equal(a, b)


def _bn_model():
    model = Sequential([layers.Input((4,)), layers.BatchNormalization(momentum=0.7), layers.Dense(1)])
    model.compile(lk.optimizers.SGD(0.05), "mse")
    return model


def test_fit_updates_moving_statistics_as_keras_and_save_load_keeps_them(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.normal(3.0, 2.0, size=(24, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    model = _bn_model()
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    bn = model.layers[0]
    oracle = keras.layers.BatchNormalization(momentum=0.7)
    for _ in range(2):
        for start in range(0, 24, 8):
            oracle(x[start:start + 8], training=True)
    np.testing.assert_allclose(_np(bn.moving_mean), _np(oracle.moving_mean), **TOL)
    np.testing.assert_allclose(_np(bn.moving_variance), _np(oracle.moving_variance), **TOL)
    assert not np.allclose(bn.get_weights()[0], 1.0)  # gamma was trained too
    path = tmp_path / "bn.keras"
    model.save(path)
    loaded = load_model(path)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), **TOL)
    loaded.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)  # training goes on from the statistics
    assert not np.allclose(loaded.layers[0].get_weights()[2], bn.get_weights()[2])


def test_batch_norm_functional_training_kwarg_and_symbolic_shape():
    inputs = layers.Input((5, 3))
    bn = layers.BatchNormalization()
    out = bn(inputs, training=True)
    assert out.shape == (None, 5, 3)
    np.testing.assert_array_equal(bn.get_weights()[2], 0.0)  # the shape pass did not touch the statistics
    model = Model(inputs, out)
    x = np.random.default_rng(3).normal(size=(4, 5, 3)).astype("float32")
    got = model.predict(x, verbose=0)
    np.testing.assert_allclose(got.mean(axis=(0, 1)), 0.0, atol=1e-5)  # batch statistics even in predict


def test_batch_norm_config_roundtrip_and_errors():
    bn = layers.BatchNormalization(axis=1, momentum=0.9, epsilon=1e-4, center=False, gamma_regularizer="l2",
                                   beta_constraint="non_neg", renorm=True, renorm_clipping={"rmax": 2.0})
    config = json.loads(json.dumps(bn.get_config()))
    assert layers.BatchNormalization.from_config(config).get_config() == bn.get_config()
    want = keras.layers.BatchNormalization().get_config()
    assert set(layers.BatchNormalization().get_config()) == set(want)
    with pytest.raises(ValueError, match="out of bounds"):
        layers.BatchNormalization(axis=3)(np.zeros((2, 3), "float32"))
    with pytest.raises(TypeError, match="axis must be an int"):
        layers.BatchNormalization(axis=[1, 2])
    with pytest.raises(ValueError, match="one dimension less"):
        layers.BatchNormalization()(np.zeros((2, 3, 4), "float32"), mask=np.ones((2,), bool), training=True)
    with pytest.warns(UserWarning, match="synchronized"):
        assert layers.BatchNormalization(synchronized=True).get_config()["synchronized"] is True


# ---------------------------------------------------------------------- preprocessing Normalization
class _Batches(PyDataset):
    def __init__(self, data):
        super().__init__()
        self.data = data

    def __len__(self):
        return 3

    def __getitem__(self, k):
        part = self.data[k * 8:(k + 1) * 8]
        return part, part[:, :1]


@pytest.mark.parametrize("axis,shape", [(-1, (24, 3)), (None, (24, 3)), ((1, 2), (24, 2, 3)), (1, (24, 2, 3))])
def test_normalization_adapt_matches_keras(axis, shape):
    data = np.random.default_rng(4).normal(2.0, 3.0, size=shape).astype("float32")
    ours, theirs = layers.Normalization(axis=axis), keras.layers.Normalization(axis=axis)
    ours.adapt(data)
    theirs.adapt(data)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, **TOL)
        assert a.dtype == b.dtype
    np.testing.assert_allclose(_np(ours(data)), _np(theirs(data)), **TOL)
    batched = layers.Normalization(axis=axis)
    batched.adapt([data[:5], torch.from_numpy(data[5:17]), data[17:]])  # batches combined exactly
    np.testing.assert_allclose(batched.get_weights()[0], theirs.get_weights()[0], **TOL)
    np.testing.assert_allclose(batched.get_weights()[1], theirs.get_weights()[1], **TOL)


def test_normalization_adapt_from_lstmkit_datasets():
    data = np.random.default_rng(5).normal(size=(24, 3)).astype("float32")
    want = keras.layers.Normalization()
    want.adapt(data)
    from_pydataset = layers.Normalization()
    from_pydataset.adapt(_Batches(data))  # (x, y) batches: x is used
    np.testing.assert_allclose(from_pydataset.get_weights()[1], want.get_weights()[1], **TOL)
    windows = timeseries_dataset_from_array(data, None, sequence_length=1, batch_size=5)
    from_windows = layers.Normalization()
    from_windows.adapt(windows)  # (batch, 1, 3) windows: every row once
    np.testing.assert_allclose(from_windows.get_weights()[0].ravel(), want.get_weights()[0], **TOL)


@pytest.mark.parametrize("invert", [False, True])
@pytest.mark.parametrize("mean,variance", [(2.0, 4.0), ([1.0, 2.0, 3.0], [1.0, 4.0, 0.0])])
def test_normalization_fixed_statistics_and_invert(mean, variance, invert):
    x = np.random.default_rng(6).normal(size=(4, 3)).astype("float32")
    ours = layers.Normalization(mean=mean, variance=variance, invert=invert)
    theirs = keras.layers.Normalization(mean=mean, variance=variance, invert=invert)
    np.testing.assert_allclose(_np(ours(x)), _np(theirs(x)), **TOL)
    assert ours.weights == [] and ours.get_config()["mean"] == theirs.get_config()["mean"]
    clone = layers.Normalization.from_config(json.loads(json.dumps(ours.get_config())))
    np.testing.assert_allclose(_np(clone(x)), _np(ours(x)), **TOL)


def test_normalization_in_a_saved_model(tmp_path):
    data = np.random.default_rng(7).normal(5.0, 2.0, size=(16, 3)).astype("float32")
    norm = layers.Normalization()
    norm.adapt(data)
    model = Sequential([layers.Input((3,)), norm, layers.Dense(2)])
    model.save(tmp_path / "n.keras")
    loaded = load_model(tmp_path / "n.keras")
    np.testing.assert_allclose(loaded.predict(data, verbose=0), model.predict(data, verbose=0), **TOL)
    np.testing.assert_allclose(_np(loaded.layers[0](data)).mean(axis=0), 0.0, atol=1e-5)


def test_normalization_errors():
    with pytest.raises(ValueError, match="both `mean` and `variance`"):
        layers.Normalization(mean=1.0)
    with pytest.raises(ValueError, match="same shape"):
        layers.Normalization(mean=[1.0, 2.0], variance=[1.0])
    with pytest.raises(ValueError, match="rank of `mean`"):
        layers.Normalization(mean=np.ones((2, 2)), variance=np.ones((2, 2)))
    norm = layers.Normalization()
    norm.adapt(np.ones((4, 3)))
    with pytest.raises(ValueError, match="incompatible shape"):
        norm.adapt(np.ones((4, 5)))
    with pytest.raises(ValueError, match="empty iterable"):
        layers.Normalization().adapt([])
    with pytest.raises(TypeError, match="Unsupported data type"):
        layers.Normalization().adapt(3.0)
    with pytest.raises(ValueError, match="range"):
        layers.Normalization(axis=2).adapt(np.ones((4, 3)))


# ---------------------------------------------------------------------- noise layers
NOISE = [("GaussianNoise", {"stddev": 0.3}), ("GaussianDropout", {"rate": 0.3}), ("SpatialDropout1D", {"rate": 0.4})]


@pytest.mark.parametrize("name,kwargs", NOISE)
def test_seeded_noise_equals_keras_draws(name, kwargs):
    x = np.random.default_rng(8).normal(size=(4, 5, 6)).astype("float32")
    ours, theirs = getattr(layers, name)(seed=11, **kwargs), getattr(keras.layers, name)(seed=11, **kwargs)
    for _ in range(3):  # call after call: Keras seeds each call's generator with seed + k
        np.testing.assert_allclose(_np(ours(x, training=True)), _np(theirs(x, training=True)), **TOL)
    np.testing.assert_array_equal(_np(ours(x)), x)  # inference: identity
    again = getattr(layers, name)(seed=11, **kwargs)
    first = getattr(layers, name)(seed=11, **kwargs)(x, training=True)
    np.testing.assert_array_equal(_np(again(x, training=True)), _np(first))
    assert not np.allclose(_np(again(x, training=True)), _np(first))  # the next call draws anew


def test_spatial_dropout_drops_whole_channels():
    x = np.ones((50, 7, 8), "float32")
    out = _np(layers.SpatialDropout1D(0.5, seed=0)(x, training=True))
    np.testing.assert_array_equal(out, np.broadcast_to(out[:, :1], out.shape))  # one draw per (sample, channel)
    assert set(np.unique(out)) == {0.0, 2.0}
    assert 0.35 < (out[:, 0] == 0).mean() < 0.65


@pytest.mark.parametrize("name,kwargs", NOISE)
def test_noise_layers_config_shape_masks_and_errors(name, kwargs):
    cls = getattr(layers, name)
    layer = cls(seed=3, **kwargs)
    config = layer.get_config()
    assert set(config) == set(getattr(keras.layers, name)(seed=3, **kwargs).get_config())
    assert cls.from_config(json.loads(json.dumps(config))).get_config() == config
    inputs = layers.Input((5, 6))
    assert cls(**kwargs)(inputs, training=True).shape == (None, 5, 6)
    x = torch.ones(2, 5, 6)
    x._keras_mask = torch.ones(2, 5, dtype=torch.bool)
    assert cls(**kwargs)(x, training=True)._keras_mask is not None  # masks pass through
    key = next(iter(kwargs))
    with pytest.raises(ValueError, match=key):
        cls(**{key: 1.5})
    with pytest.raises(ValueError, match="seed"):
        cls(seed="x", **kwargs)


def test_spatial_dropout_needs_3d_and_model_fit_uses_it():
    with pytest.raises(ValueError, match="rank 3"):
        layers.SpatialDropout1D(0.5)(np.ones((2, 3), "float32"), training=True)
    model = Sequential([layers.Input((5, 2)), layers.SpatialDropout1D(0.5, seed=1), layers.GaussianNoise(0.1, seed=1),
                        layers.GaussianDropout(0.2, seed=1), layers.Flatten(), layers.Dense(1)])
    model.compile("sgd", "mse")
    x = np.ones((8, 5, 2), "float32")
    model.fit(x, np.ones((8, 1), "float32"), epochs=1, verbose=0)
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))  # identity in predict
