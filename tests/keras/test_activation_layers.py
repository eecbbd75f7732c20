"""Activation layers (ReLU, LeakyReLU, ELU, PReLU, Softmax) and the Dot merge layer against real
Keras 3 (torch backend): outputs to 1e-5 (PReLU after copying Keras' weights), masks, configs,
symbolic shapes, training and errors."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import torch

from lstmkit.keras import layers
from lstmkit.keras.models import Model, Sequential, load_model

pytestmark = pytest.mark.usefixtures("fresh_names", "one_thread")
TOL = {"atol": 1e-5, "rtol": 1e-5}


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else keras.ops.convert_to_numpy(x)


def _x(shape=(3, 4, 5), seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32") * 2


SIMPLE = [
    ("ReLU", {}), ("ReLU", {"max_value": 1.5}), ("ReLU", {"max_value": 6.0}), ("ReLU", {"negative_slope": 0.2}),
    ("ReLU", {"threshold": 0.5}), ("ReLU", {"max_value": 2.0, "negative_slope": 0.1, "threshold": 0.3}),
    ("LeakyReLU", {}), ("LeakyReLU", {"negative_slope": 0.05}), ("ELU", {}), ("ELU", {"alpha": 0.4}),
    ("Softmax", {}), ("Softmax", {"axis": 1}), ("Softmax", {"axis": [1, 2]}), ("Softmax", {"axis": (2,)}),
]


@pytest.mark.parametrize("name,kwargs", SIMPLE)
def test_activation_layers_match_keras(name, kwargs):
    x = _x()
    ours, theirs = getattr(layers, name)(**kwargs), getattr(keras.layers, name)(**kwargs)
    np.testing.assert_allclose(_np(ours(x)), _np(theirs(x)), **TOL)
    config = ours.get_config()
    assert set(config) == set(theirs.get_config())
    clone = type(ours).from_config(json.loads(json.dumps(config)))
    np.testing.assert_allclose(_np(clone(x)), _np(ours(x)), **TOL)
    assert ours(layers.Input((4, 5))).shape == (None, 4, 5)


@pytest.mark.parametrize("mask_shape,dtype", [((3, 4, 5), bool), ((4, 5), bool), ((3, 1, 5), bool), ((5,), "float32")])
def test_softmax_masks_match_keras(mask_shape, dtype):
    x = _x()
    mask = (np.random.default_rng(1).random(mask_shape) > 0.4).astype(dtype)
    want = keras.layers.Softmax()(x, mask=keras.ops.convert_to_tensor(mask))
    np.testing.assert_allclose(_np(layers.Softmax()(x, mask=mask)), _np(want), **TOL)


def test_softmax_uses_and_passes_on_the_input_mask():
    x = torch.from_numpy(_x((2, 4)))
    x._keras_mask = torch.tensor([[True, True, False, False], [True, True, True, False]])
    out = layers.Softmax()(x)
    np.testing.assert_allclose(_np(out).sum(axis=-1), 1.0, **TOL)
    assert (_np(out)[~_np(x._keras_mask)] == 0).all()
    np.testing.assert_array_equal(_np(out._keras_mask), _np(x._keras_mask))
    with pytest.raises(ValueError, match="broadcastable"):
        layers.Softmax()(torch.zeros(2, 4), mask=torch.ones(2, 3, dtype=torch.bool))


@pytest.mark.parametrize("shape,kwargs", [
    ((3, 4, 5), {}), ((3, 4, 5), {"shared_axes": [1]}), ((3, 4, 5), {"shared_axes": 2}), ((3, 5), {}),
    ((2, 3, 4, 5), {"shared_axes": [1, 2]}),
])
def test_prelu_matches_keras_with_copied_weights(shape, kwargs):
    x = _x(shape)
    theirs = keras.layers.PReLU(alpha_initializer="random_normal", **kwargs)
    theirs.build(shape)
    ours = layers.PReLU(**kwargs)
    ours.build(shape)
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(_np(ours(x)), _np(theirs(x)), **TOL)
    assert set(ours.get_config()) == set(theirs.get_config())


def test_prelu_learns_alpha_and_roundtrips(tmp_path):
    model = Sequential([layers.Input((3,)), layers.PReLU(alpha_regularizer="l2", alpha_constraint="non_neg")])
    model.compile("sgd", "mse")
    x = -np.abs(_x((16, 3)))
    model.fit(x, 0.5 * x, epochs=3, verbose=0)
    alpha = model.layers[0].get_weights()[0]
    assert (alpha > 0).all() and len(model.layers[0].losses) == 1
    model.save(tmp_path / "p.keras")
    np.testing.assert_array_equal(load_model(tmp_path / "p.keras").layers[0].get_weights()[0], alpha)


@pytest.mark.parametrize("name,kwargs,match", [
    ("ReLU", {"max_value": -1.0}, "max_value"), ("ReLU", {"negative_slope": -0.1}, "negative_slope"),
    ("ReLU", {"threshold": None}, "threshold"), ("LeakyReLU", {"negative_slope": -1}, "negative_slope"),
    ("ELU", {"alpha": "x"}, "alpha"),
])
def test_activation_argument_errors(name, kwargs, match):
    with pytest.raises(ValueError, match=match):
        getattr(layers, name)(**kwargs)


def test_leaky_relu_alpha_is_deprecated_but_works():
    with pytest.warns(UserWarning, match="deprecated"):
        layer = layers.LeakyReLU(alpha=0.1)
    assert layer.negative_slope == 0.1


# ---------------------------------------------------------------------- Dot
DOT_CASES = [
    ((4, 5), (4, 5), -1), ((4, 5), (4, 5), 1), ((4, 3, 5), (4, 6, 5), 2), ((4, 3, 5), (4, 5, 6), (2, 1)),
    ((4, 3, 5), (4, 3, 6), (1, 1)), ((4, 3, 5), (4, 5), (2, 1)), ((4, 5), (4, 5, 2), (1, 1)),
    ((4, 2, 3, 5), (4, 5, 6), (3, 1)), ((4, 3, 5), (4, 6, 5), [-1, -1]),
]


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("shape1,shape2,axes", DOT_CASES)
def test_dot_matches_keras(shape1, shape2, axes, normalize):
    a, b = _x(shape1, 2), _x(shape2, 3)
    want = keras.layers.Dot(axes=axes, normalize=normalize)([a, b])
    got = layers.Dot(axes=axes, normalize=normalize)([a, b])
    np.testing.assert_allclose(_np(got), _np(want), **TOL)
    sym = layers.dot([layers.Input(shape1[1:]), layers.Input(shape2[1:])], axes=axes, normalize=normalize)
    assert sym.shape == (None, *_np(want).shape[1:])


def test_dot_cosine_similarity_in_a_model_roundtrip(tmp_path):
    a, b = layers.Input((4,)), layers.Input((4,))
    model = Model([a, b], layers.Dot(axes=1, normalize=True)([layers.Dense(3)(a), layers.Dense(3)(b)]))
    x1, x2 = _x((5, 4), 4), _x((5, 4), 5)
    out = model.predict([x1, x2], verbose=0)
    assert out.shape == (5, 1) and (np.abs(out) <= 1 + 1e-6).all()
    model.save(tmp_path / "d.keras")
    np.testing.assert_allclose(load_model(tmp_path / "d.keras").predict([x1, x2], verbose=0), out, **TOL)
    layer = layers.Dot(axes=(1, 2), normalize=True)
    assert set(layer.get_config()) == set(keras.layers.Dot(axes=(1, 2)).get_config())


def test_dot_no_output_mask_and_errors():
    x = torch.ones(2, 3, 4)
    x._keras_mask = torch.ones(2, 3, dtype=torch.bool)
    assert getattr(layers.Dot(axes=2)([x, x]), "_keras_mask", None) is None
    with pytest.raises(TypeError, match="axes"):
        layers.Dot(axes="x")
    with pytest.raises(ValueError, match="two elements"):
        layers.Dot(axes=(1, 2, 3))
    with pytest.raises(ValueError, match="integers"):
        layers.Dot(axes=(1, 1.5))
    with pytest.raises(ValueError, match="Incompatible input shapes"):
        layers.Dot(axes=1)([np.ones((2, 3), "float32"), np.ones((2, 4), "float32")])
    with pytest.raises(ValueError, match="axis 0"):
        layers.Dot(axes=0)([np.ones((2, 3), "float32"), np.ones((2, 3), "float32")])
    with pytest.raises(ValueError, match="list of 2 inputs"):
        layers.Dot(axes=1)([np.ones((2, 3), "float32")] * 3)
    with pytest.raises(ValueError, match="rank < 2"):
        layers.Dot(axes=1)([np.ones((2,), "float32")] * 2)
