"""Lambda: runs its function (arguments, mask=, training=), records Keras' config, and is never
rebuilt from code stored in a file: functions come back only through custom_objects."""

from __future__ import annotations

import json
import zipfile

import keras
import numpy as np
import pytest
import torch

from lstmkit.keras import activations, layers
from lstmkit.keras.engine.registry import custom_object_scope
from lstmkit.keras.models import Model, Sequential, load_model, model_from_json

pytestmark = pytest.mark.usefixtures("fresh_names", "one_thread")


def _x(shape=(2, 3)):
    return np.random.default_rng(0).normal(size=shape).astype("float32")


def stacker(x):
    return torch.cat([x, x], dim=1)


def scaled(x, factor=1.0, mask=None, training=None):
    return x * factor * (2.0 if training else 1.0)


def test_lambda_runs_function_with_arguments_mask_and_training():
    x = _x()
    layer = layers.Lambda(scaled, arguments={"factor": 3.0})
    np.testing.assert_allclose(layer(x).numpy(), 3 * x, rtol=1e-6)
    np.testing.assert_allclose(layer(x, training=True).numpy(), 6 * x, rtol=1e-6)
    seen = {}
    layers.Lambda(lambda t, mask=None: seen.setdefault("mask", mask) is None and t)(x, mask=np.ones((2,), bool))
    assert seen["mask"] is not None


def test_lambda_matches_keras_output_shapes_and_masks():
    x = _x((2, 3, 4))
    fixed = np.ones((2, 3), bool)
    ours = layers.Lambda(torch.square, mask=fixed)
    theirs = keras.layers.Lambda(keras.ops.square, mask=keras.ops.ones((2, 3)))
    out = ours(x)
    np.testing.assert_allclose(out.numpy(), keras.ops.convert_to_numpy(theirs(x)), atol=1e-6)
    np.testing.assert_array_equal(out._keras_mask.numpy(), fixed)
    assert getattr(layers.Lambda(torch.square)(x), "_keras_mask", None) is None  # no mask argument: no mask
    passing = layers.Lambda(torch.square, mask=lambda inputs, mask: mask)
    t = torch.from_numpy(x)
    t._keras_mask = torch.tensor([[True, False, True]] * 2)
    np.testing.assert_array_equal(passing(t)._keras_mask.numpy(), t._keras_mask.numpy())


@pytest.mark.parametrize("output_shape,want", [(None, (None, 6)), ((6,), (None, 6)), ([None], (None, None)),
                                               (lambda s: (s[0], s[1] * 2), (None, 6))])
def test_lambda_symbolic_shapes(output_shape, want):
    out = layers.Lambda(stacker, output_shape=output_shape)(layers.Input((3,)))
    assert out.shape == want
    with pytest.raises(ValueError, match="rank"):
        layers.Lambda(stacker, output_shape=(6, 1))(layers.Input((3,)))


def test_lambda_config_records_what_keras_records():
    ours = layers.Lambda(stacker, output_shape=(6,)).get_config()
    theirs = keras.layers.Lambda(stacker, output_shape=(6,)).get_config()
    assert ours["function"] == theirs["function"]
    assert ours["output_shape"] == theirs["output_shape"] and ours["arguments"] == theirs["arguments"]
    lam = layers.Lambda(lambda t, a=2: t * a, arguments={"a": 3}).get_config()
    assert lam["function"]["class_name"] == "__lambda__"
    assert set(lam["function"]["config"]) == {"code", "defaults", "closure"}
    mask = layers.Lambda(torch.square, mask=np.ones((2, 3), "float32")).get_config()["mask"]
    assert mask == keras.layers.Lambda(keras.ops.square, mask=keras.ops.ones((2, 3))).get_config()["mask"]
    json.dumps(layers.Lambda(lambda t: t * torch.ones(1)).get_config())  # closures of any kind stay JSON


def test_from_config_never_loads_bytecode():
    config = layers.Lambda(lambda t: t**2).get_config()
    for kwargs in ({}, {"safe_mode": False}):
        with pytest.raises(ValueError, match="never loads code from a file.*custom_objects"):
            layers.Lambda.from_config(config, **kwargs)
    rebuilt = layers.Lambda.from_config(config, custom_objects={"lambda": lambda t: t**2})  # by layer name
    np.testing.assert_allclose(rebuilt(2 * np.ones((2, 3))).numpy(), 4.0)


def test_named_function_comes_back_from_custom_objects_only():
    config = layers.Lambda(stacker).get_config()
    with pytest.raises(ValueError, match="custom_objects=\\{'stacker': stacker\\}"):
        layers.Lambda.from_config(config)
    with custom_object_scope({"stacker": stacker}):
        assert layers.Lambda.from_config(config).function is stacker
    builtin = layers.Lambda.from_config(layers.Lambda(activations.relu).get_config())  # lstmkit's own, by name
    np.testing.assert_array_equal(builtin(np.array([[-1.0, 2.0]], "float32")).numpy(), [[0.0, 2.0]])


def test_saved_model_with_lambda_loads_only_with_the_function(tmp_path):
    model = Sequential([layers.Input((3,)), layers.Dense(2), layers.Lambda(lambda t: t * 10.0)])
    x = _x((4, 3))
    path = tmp_path / "lam.keras"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        assert "__lambda__" in zf.read("config.json").decode()
    with pytest.raises(ValueError, match="Lambda layer 'lambda'.*never loads code"):
        load_model(path)
    loaded = load_model(path, custom_objects={"lambda": lambda t: t * 10.0})
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    rebuilt = Sequential([layers.Input((3,)), layers.Dense(2), layers.Lambda(lambda t: t * 10.0)])
    rebuilt.load_weights(path)  # the other way back: rebuild in code, load the weights
    np.testing.assert_allclose(rebuilt.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_functional_model_json_with_named_lambda():
    inputs = layers.Input((3,))
    model = Model(inputs, layers.Lambda(stacker, name="twice")(inputs))
    with pytest.raises(ValueError, match="stacker"):
        model_from_json(model.to_json())
    again = model_from_json(model.to_json(), custom_objects={"stacker": stacker})
    np.testing.assert_allclose(again.predict(_x(), verbose=0), np.concatenate([_x(), _x()], axis=1), rtol=1e-6)


def test_lambda_argument_errors():
    with pytest.raises(TypeError, match="callable"):
        layers.Lambda(3)
    with pytest.raises(TypeError, match="arguments"):
        layers.Lambda(stacker, arguments=[1])
    with pytest.raises(TypeError, match="output_shape"):
        layers.Lambda(stacker, output_shape=6)
