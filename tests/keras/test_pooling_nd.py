"""MaxPooling2D/3D, AveragePooling2D/3D and GlobalAverage/MaxPooling2D/3D against real Keras 3 (torch
backend): outputs compared in float32 to 1e-5 over every padding, stride and data_format ("same"
over odd and even sizes, where an uneven split on any axis makes Keras 3 on torch replicate the
edges of every axis), symbolic shapes (unknown sizes included), configs, aliases, Keras' errors,
and masks dropped with Keras' warning; plus a Conv2D -> GlobalAveragePooling2D -> Dense model (the
model of Keras' own callback tests) that trains.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch

import lstmkit.keras as lk
from lstmkit.keras import layers
from lstmkit.keras.engine.input_layer import Input
from lstmkit.keras.models import Sequential

TOL = {"atol": 1e-5, "rtol": 1e-5}
pytestmark = [pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),
              pytest.mark.usefixtures("one_thread")]
WINDOWED = ["MaxPooling2D", "AveragePooling2D", "MaxPooling3D", "AveragePooling3D"]
GLOBAL = ["GlobalAveragePooling2D", "GlobalMaxPooling2D", "GlobalAveragePooling3D", "GlobalMaxPooling3D"]


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else keras.ops.convert_to_numpy(x)


def _data(*shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _rank(name: str) -> int:
    return int(name[-2])


def _input(df, spatial, channels=3, seed=0):
    shape = (2, *spatial, channels) if df == "channels_last" else (2, channels, *spatial)
    return _data(*shape, seed=seed)


def _compare(name, kwargs, x):
    got = getattr(layers, name)(**kwargs)(x)
    want = getattr(keras.layers, name)(**kwargs)(x)
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(_np(got), _np(want), **TOL)
    return got


def _ids(v):
    return v if isinstance(v, str) else "-".join(f"{k}={w}" for k, w in v.items())


# ---------------------------------------------------------------- windowed pooling outputs
POOL_2D = [{"pool_size": 2}, {"pool_size": 2, "strides": 1}, {"pool_size": 3, "strides": 1}, {"pool_size": 3},
           {"pool_size": (2, 3), "strides": (1, 2)}, {"pool_size": (3, 2), "strides": (2, 3)},
           {"pool_size": 4, "strides": 3}, {"pool_size": (1, 4), "strides": (2, 1)}]
POOL_3D = [{"pool_size": 2}, {"pool_size": 3, "strides": 1}, {"pool_size": (2, 3, 1), "strides": (1, 2, 3)},
           {"pool_size": (3, 2, 2), "strides": 2}]


@pytest.mark.parametrize("kwargs", POOL_2D, ids=_ids)
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("name", ["MaxPooling2D", "AveragePooling2D"])
def test_pooling2d_matches_keras(name, kwargs, padding, data_format):
    for spatial in ((6, 7), (7, 6), (5, 5)):
        _compare(name, {**kwargs, "padding": padding, "data_format": data_format},
                 _input(data_format, spatial, seed=sum(spatial)))


@pytest.mark.parametrize("kwargs", POOL_3D, ids=_ids)
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("name", ["MaxPooling3D", "AveragePooling3D"])
def test_pooling3d_matches_keras(name, kwargs, padding, data_format):
    for spatial in ((4, 5, 6), (5, 4, 4)):
        _compare(name, {**kwargs, "padding": padding, "data_format": data_format},
                 _input(data_format, spatial, seed=sum(spatial)))


def test_average_pooling2d_uneven_axis_replicates_every_axis_as_keras_torch():
    x = np.arange(1, 26, dtype="float32").reshape(1, 5, 5, 1)
    # rows: pool 3 / stride 1 splits evenly (1, 1); cols: pool 2 / stride 1 does not (0, 1) -> both replicated
    got = _compare("AveragePooling2D", {"pool_size": (3, 2), "strides": 1, "padding": "same"}, x)
    assert abs(float(_np(got)[0, 0, 0, 0]) - (1 + 2 + 1 + 2 + 6 + 7) / 6) < 1e-5  # the top row counted twice
    got = _compare("AveragePooling2D", {"pool_size": 3, "strides": 1, "padding": "same"}, x)
    assert abs(float(_np(got)[0, 0, 0, 0]) - (1 + 2 + 6 + 7) / 4) < 1e-5  # all even: padding not counted
    _compare("MaxPooling2D", {"pool_size": (3, 2), "strides": 1, "padding": "same"}, -x)


def test_pooling_of_conv_lstm_sequences_matches_keras():
    x = _data(2, 4, 6, 6, 3)  # (batch, time, rows, cols, channels), a ConvLSTM2D(return_sequences=True) output
    _compare("MaxPooling3D", {"pool_size": (1, 2, 2)}, x)
    _compare("AveragePooling3D", {"pool_size": (1, 2, 2), "padding": "same"}, x)


# ---------------------------------------------------------------- global pooling outputs
@pytest.mark.parametrize("name", GLOBAL)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_global_pooling_matches_keras(name, keepdims, data_format):
    spatial = (3, 4) if _rank(name) == 2 else (2, 3, 4)
    _compare(name, {"keepdims": keepdims, "data_format": data_format}, _input(data_format, spatial, 5))


@pytest.mark.parametrize("name", ["GlobalAveragePooling2D", "GlobalMaxPooling3D"])
def test_global_pooling_integer_inputs_match_keras(name):
    x = np.arange(2 * 3 * 4 * 5 * (2 if "3D" in name else 1)).reshape((2, 3, 4, 5, 2)[:_rank(name) + 2])
    got = _compare(name, {}, torch.from_numpy(x.astype("int32")))
    assert got.dtype == (torch.float32 if "Average" in name else torch.int32)


# ---------------------------------------------------------------- shapes, configs, aliases
@pytest.mark.parametrize("name,kwargs", [
    ("MaxPooling2D", {}), ("MaxPooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}),
    ("AveragePooling2D", {"pool_size": (2, 3), "data_format": "channels_first"}),
    ("MaxPooling3D", {"pool_size": (1, 2, 2)}), ("AveragePooling3D", {"pool_size": 2, "strides": 3, "padding": "same"}),
    ("GlobalAveragePooling2D", {}), ("GlobalMaxPooling2D", {"keepdims": True, "data_format": "channels_first"}),
    ("GlobalAveragePooling3D", {"keepdims": True}), ("GlobalMaxPooling3D", {}),
], ids=_ids)
@pytest.mark.parametrize("size", [None, 7])
def test_symbolic_shapes_match_keras(name, kwargs, size):
    spatial = (size,) + (6,) * (_rank(name) - 1)
    shape = (*spatial, 4) if kwargs.get("data_format", "channels_last") == "channels_last" else (4, *spatial)
    want = getattr(keras.layers, name)(**kwargs)(keras.Input(shape)).shape
    assert tuple(getattr(layers, name)(**kwargs)(Input(shape=shape)).shape) == tuple(want)
    assert tuple(getattr(layers, name)(**kwargs).compute_output_shape((2, *shape))) == tuple(
        getattr(keras.layers, name)(**kwargs).compute_output_shape((2, *shape)))


@pytest.mark.parametrize("name", WINDOWED)
def test_windowed_config_defaults_and_aliases_match_keras(name):
    kw = {"pool_size": 3, "strides": 2, "padding": "same", "data_format": "channels_first"}
    ours, theirs = getattr(layers, name)(**kw), getattr(keras.layers, name)(**kw)
    config = ours.get_config()
    assert type(ours).from_config(config).get_config() == config
    assert set(config) == set(theirs.get_config())
    for key in ("pool_size", "strides", "padding", "data_format"):
        assert config[key] == theirs.get_config()[key], key
    assert ours.built and not ours.weights
    alias = name.replace("Pooling", "Pool").replace("Average", "Avg")
    assert getattr(layers, alias) is getattr(layers, name)
    if name.startswith("Max"):
        assert getattr(layers, name)().get_config()["pool_size"] == getattr(keras.layers, name)().get_config()[
            "pool_size"]
        assert getattr(layers, name)(3).strides == (3,) * _rank(name)
    else:
        with pytest.raises(TypeError):
            getattr(keras.layers, name)()
        with pytest.raises(TypeError):
            getattr(layers, name)()  # pool_size is required, as in Keras 3


@pytest.mark.parametrize("name", GLOBAL)
def test_global_config_and_aliases_match_keras(name):
    ours, theirs = getattr(layers, name)(data_format="Channels_First", keepdims=True), getattr(keras.layers, name)(
        data_format="Channels_First", keepdims=True)
    config = ours.get_config()
    assert type(ours).from_config(config).get_config() == config
    assert set(config) == set(theirs.get_config())
    assert config["data_format"] == theirs.get_config()["data_format"] == "channels_first"
    assert config["keepdims"] is True
    assert getattr(layers, name.replace("Pooling", "Pool").replace("Average", "Avg")) is getattr(layers, name)
    assert ours.built and not ours.supports_masking


def test_registry():
    from lstmkit.keras.engine import registry

    for name in WINDOWED + GLOBAL:
        assert registry.lookup("layer", name) is getattr(layers, name)
        assert registry.lookup("layer", name.replace("Pooling", "Pool").replace("Average", "Avg")) is getattr(layers,
                                                                                                           name)


# ---------------------------------------------------------------- errors, masks
@pytest.mark.parametrize("name", WINDOWED)
def test_windowed_errors(name):
    cls, theirs, rank = getattr(layers, name), getattr(keras.layers, name), _rank(name)
    match = "Computed output size would be zero or negative"
    with pytest.raises(ValueError, match=match):
        theirs(6)(keras.Input((5,) * rank + (2,)))
    with pytest.raises(ValueError, match=match):
        cls(6)(Input(shape=(5,) * rank + (2,)))
    with pytest.raises(ValueError, match=match):  # Keras: a RuntimeError from torch here
        cls(6)(_data(1, *(5,) * rank, 2))
    with pytest.raises(ValueError, match=f"`pool_size` argument must be a tuple of {rank} integers"):
        theirs((2,) * (rank + 1))
    with pytest.raises(ValueError, match=f"`pool_size` argument must be a tuple of {rank} integers"):
        cls((2,) * (rank + 1))
    with pytest.raises(ValueError, match="`strides` argument"):  # Keras accepts 0 here and fails at call
        cls(2, strides=0)
    with pytest.raises(ValueError, match="`padding` argument"):
        cls(2, padding="full")
    with pytest.raises(ValueError, match="`data_format` argument"):
        cls(2, data_format="NHWC")
    with pytest.raises(ValueError, match=f"rank {rank + 2}"):
        cls(2)(torch.ones(2, 4, 3))
    assert cls(2)(np.ones((1,) + (4,) * rank + (2,), dtype="int64")).dtype == torch.float32


@pytest.mark.parametrize("name", GLOBAL)
def test_global_errors(name):
    rank = _rank(name)
    with pytest.raises(ValueError, match=f"rank {rank + 2}"):
        getattr(layers, name)()(torch.ones(2, 3, 4))
    with pytest.raises(ValueError, match=f"rank {rank + 2}"):
        getattr(layers, name)().compute_output_shape((2, 3, 4))
    with pytest.raises(ValueError, match="`data_format` argument"):
        getattr(layers, name)(data_format="NHWC")


@pytest.mark.parametrize("name", ["MaxPooling3D", "GlobalAveragePooling3D"])
def test_drops_masks_with_keras_warning(name):
    x = _data(2, 4, 4, 4, 2)
    ours_in, theirs_in = torch.from_numpy(x.copy()), torch.from_numpy(x.copy())
    for t in (ours_in, theirs_in):
        t._keras_mask = torch.tensor([[True] * 4, [True, True, False, False]])
    with pytest.warns(UserWarning, match="does not support masking"):
        want = getattr(keras.layers, name)()(theirs_in)
    with pytest.warns(UserWarning, match="does not support masking"):
        got = getattr(layers, name)()(ours_in)
    np.testing.assert_allclose(_np(got), _np(want), **TOL)  # masked steps take part, as in Keras
    assert getattr(got, "_keras_mask", None) is None


# ---------------------------------------------------------------- a model that trains
def test_conv2d_global_average_pooling_model_trains():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 6, 6, 2)).astype("float32")
    y = (x[..., 0].mean(axis=(1, 2)) > 0).astype("int64")
    torch.manual_seed(0)
    model = Sequential([Input(shape=(6, 6, 2)), layers.Conv2D(4, 3, padding="same", activation="relu"),
                        layers.MaxPooling2D(), layers.Conv2D(4, 2, activation="relu"),
                        layers.GlobalAveragePooling2D(), layers.Dense(2, activation="softmax")])
    assert model.output_shape == (None, 2)
    model.compile(lk.optimizers.Adam(0.02), "sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=10, batch_size=8, verbose=0).history["loss"]
    assert history[-1] < 0.8 * history[0], history
