"""MaxPooling1D, AveragePooling1D, the global 1-D poolings and the 1-D reshaping layers (Permute,
ZeroPadding1D, Cropping1D, UpSampling1D) against real Keras 3 (torch backend): outputs compared in
float32 to 1e-5 (the "same" padding of the windowed poolings over odd and even lengths and every
stride, where Keras 3 on torch pads unevenly split windows by edge replication), symbolic shapes
(unknown lengths included), configs, Keras' errors, and masks (dropped with Keras' warning, or
honoured by GlobalAveragePooling1D through a functional model).
"""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest
import torch

from lstmkit.keras import layers
from lstmkit.keras.engine.input_layer import Input
from lstmkit.keras.models import Model

TOL = {"atol": 1e-5, "rtol": 1e-5}
pytestmark = [pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),
              pytest.mark.usefixtures("one_thread")]


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else keras.ops.convert_to_numpy(x)


def _data(*shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _compare(name, kwargs, x, **tol):
    got = getattr(layers, name)(**kwargs)(x)
    want = getattr(keras.layers, name)(**kwargs)(x)
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(_np(got), _np(want), **(tol or TOL))
    return got


def _masked(x: np.ndarray, mask) -> tuple[torch.Tensor, torch.Tensor]:
    """Two copies of ``x``, each carrying the mask as ``_keras_mask`` (as Keras' torch backend)."""
    out = []
    for _ in range(2):
        t = torch.from_numpy(x.copy())
        t._keras_mask = torch.tensor(mask)
        out.append(t)
    return out[0], out[1]


def _config_matches_keras(ours, theirs, keys):
    config = ours.get_config()
    assert type(ours).from_config(config).get_config() == config
    other = theirs.get_config()
    assert set(config) == set(other)
    for key in keys:
        assert config[key] == other[key], key


# ---------------------------------------------------------------- MaxPooling1D / AveragePooling1D
@pytest.mark.parametrize("name", ["MaxPooling1D", "AveragePooling1D"])
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("pool_strides", [(1, 1), (2, None), (2, 1), (3, 1), (3, 2), (4, 1), (2, 3), (4, 3), (5, 2)],
                         ids=lambda p: f"p{p[0]}s{p[1]}")
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_pooling1d_matches_keras(name, padding, pool_strides, data_format):
    pool_size, strides = pool_strides
    kw = {"pool_size": pool_size, "strides": strides, "padding": padding, "data_format": data_format}
    for steps in (9, 10):
        shape = (2, steps, 3) if data_format == "channels_last" else (2, 3, steps)
        _compare(name, kw, _data(*shape, seed=steps))


def test_average_pooling_same_uneven_split_replicates_the_edge_as_keras_torch():
    x = np.arange(1, 6, dtype="float32").reshape(1, 5, 1)  # 1 2 3 4 5
    got = _compare("AveragePooling1D", {"pool_size": 2, "strides": 1, "padding": "same"}, x)
    np.testing.assert_allclose(_np(got)[0, :, 0], [1.5, 2.5, 3.5, 4.5, 5.0])  # last window: (5 + 5) / 2
    got = _compare("AveragePooling1D", {"pool_size": 3, "strides": 1, "padding": "same"}, x)
    np.testing.assert_allclose(_np(got)[0, :, 0], [1.5, 2.0, 3.0, 4.0, 4.5])  # even split: padding not counted
    got = _compare("MaxPooling1D", {"pool_size": 3, "strides": 1, "padding": "same"}, -x)
    np.testing.assert_allclose(_np(got)[0, :, 0], [-1, -1, -2, -3, -4])  # -inf padding never wins


@pytest.mark.parametrize("name", ["MaxPooling1D", "AveragePooling1D"])
@pytest.mark.parametrize("steps", [None, 7, 8])
@pytest.mark.parametrize("kwargs", [{"pool_size": 2}, {"pool_size": 2, "strides": 3}, {"pool_size": 3, "strides": 1},
                                    {"pool_size": 2, "strides": 3, "padding": "same"},
                                    {"pool_size": 4, "data_format": "channels_first"}],
                         ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()))
def test_pooling1d_symbolic_shapes_match_keras(name, steps, kwargs):
    shape = (steps, 5) if kwargs.get("data_format", "channels_last") == "channels_last" else (5, steps)
    want = getattr(keras.layers, name)(**kwargs)(keras.Input(shape)).shape
    assert tuple(getattr(layers, name)(**kwargs)(Input(shape=shape)).shape) == tuple(want)


@pytest.mark.parametrize("name", ["MaxPooling1D", "AveragePooling1D"])
def test_pooling1d_config_aliases_and_defaults_match_keras(name):
    kw = {"pool_size": 3, "strides": 2, "padding": "same", "data_format": "channels_first"}
    _config_matches_keras(getattr(layers, name)(**kw), getattr(keras.layers, name)(**kw),
                          ["pool_size", "strides", "padding", "data_format"])
    assert layers.MaxPooling1D().get_config()["pool_size"] == keras.layers.MaxPooling1D().get_config()["pool_size"]
    assert layers.MaxPooling1D(3).strides == (3,)  # strides default to pool_size
    assert layers.MaxPool1D is layers.MaxPooling1D and layers.AvgPool1D is layers.AveragePooling1D
    with pytest.raises(TypeError):
        keras.layers.AveragePooling1D()
    with pytest.raises(TypeError):
        layers.AveragePooling1D()  # pool_size is required, as in Keras 3


@pytest.mark.parametrize("name", ["MaxPooling1D", "AveragePooling1D"])
def test_pooling1d_errors(name):
    cls, theirs = getattr(layers, name), getattr(keras.layers, name)
    match = "Computed output size would be zero or negative"
    with pytest.raises(ValueError, match=match):
        theirs(6)(keras.Input((5, 4)))
    with pytest.raises(ValueError, match=match):
        cls(6)(Input(shape=(5, 4)))
    with pytest.raises(ValueError, match=match):  # Keras: a RuntimeError from torch here
        cls(6)(_data(2, 5, 4))
    with pytest.raises(ValueError, match="`pool_size` argument"):
        theirs(0)
    with pytest.raises(ValueError, match="`pool_size` argument"):
        cls(0)
    with pytest.raises(ValueError, match="`strides` argument"):  # Keras accepts 0 here and fails at call
        cls(2, strides=0)
    with pytest.raises(ValueError, match="`padding` argument"):  # Keras fails at the first symbolic call
        cls(2, padding="full")
    with pytest.raises(ValueError, match="`data_format` argument"):
        cls(2, data_format="NWC")
    with pytest.raises(ValueError, match="rank 3"):
        cls(2)(torch.ones(2, 4))
    assert cls(2, padding="SAME", data_format="Channels_First").get_config()["data_format"] == "channels_first"
    assert cls(2)(np.arange(24).reshape(2, 4, 3)).dtype == torch.float32  # integers are cast (Keras refuses them)


@pytest.mark.parametrize("name", ["MaxPooling1D", "AveragePooling1D"])
def test_pooling1d_drops_masks_with_keras_warning(name):
    ours_in, theirs_in = _masked(_data(2, 6, 3), [[True] * 6, [True] * 2 + [False] * 4])
    with pytest.warns(UserWarning, match="does not support masking"):
        want = getattr(keras.layers, name)(2)(theirs_in)
    with pytest.warns(UserWarning, match="does not support masking"):
        got = getattr(layers, name)(2)(ours_in)
    np.testing.assert_allclose(_np(got), _np(want), **TOL)  # padded steps take part, as in Keras
    assert getattr(got, "_keras_mask", None) is None and getattr(want, "_keras_mask", None) is None


# ---------------------------------------------------------------- global pooling
def test_global_pooling_data_format_case_and_mask_warning_match_keras():
    for name in ("GlobalAveragePooling1D", "GlobalMaxPooling1D"):
        assert getattr(layers, name)(data_format="Channels_First").data_format == "channels_first"
        assert getattr(keras.layers, name)(data_format="Channels_First").data_format == "channels_first"
    ours_in, theirs_in = _masked(_data(2, 4, 3), [[True, True, False, False], [True] * 4])
    with pytest.warns(UserWarning, match="does not support masking"):
        layers.GlobalMaxPooling1D()(ours_in)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layers.GlobalAveragePooling1D()(theirs_in)  # it honours masks: no warning


@pytest.mark.parametrize("keepdims", [False, True])
def test_global_average_pooling_honours_embedding_masks_in_a_functional_model(keepdims):
    ids = np.array([[3, 1, 4, 0, 0], [2, 7, 1, 8, 2], [5, 0, 0, 0, 0]])
    theirs_inp = keras.Input((5,), dtype="int32")
    th = keras.layers.Embedding(10, 4, mask_zero=True)
    theirs = keras.Model(theirs_inp, keras.layers.GlobalAveragePooling1D(keepdims=keepdims)(th(theirs_inp)))
    inp = Input(shape=(5,), dtype="int32")
    emb = layers.Embedding(10, 4, mask_zero=True)
    out = layers.GlobalAveragePooling1D(keepdims=keepdims)(emb(inp))
    assert out.shape == ((None, 1, 4) if keepdims else (None, 4)) and not out.has_mask
    ours = Model(inp, out)
    emb.set_weights(th.get_weights())
    np.testing.assert_allclose(ours.predict(ids, verbose=0), _np(theirs(ids)), **TOL)


# ---------------------------------------------------------------- Permute
@pytest.mark.parametrize("dims,shape", [((2, 1), (2, 3, 4)), ((1, 2), (2, 3, 4)), ((3, 1, 2), (2, 3, 4, 5)),
                                        ((2, 3, 1), (2, 3, 4, 5))])
def test_permute_matches_keras(dims, shape):
    got = _compare("Permute", {"dims": dims}, _data(*shape))
    assert tuple(layers.Permute(dims)(Input(shape=(None, *shape[2:]))).shape) == tuple(
        keras.layers.Permute(dims)(keras.Input((None, *shape[2:]))).shape)
    assert got.dtype == torch.float32


def test_permute_config_and_errors():
    _config_matches_keras(layers.Permute((2, 1)), keras.layers.Permute((2, 1)), ["dims"])
    for bad in ((0, 1, 2), (1, 4, 2), (1, 1)):
        with pytest.raises(ValueError, match="Invalid permutation argument `dims`"):
            keras.layers.Permute(bad)
        with pytest.raises(ValueError, match="Invalid permutation argument `dims`"):
            layers.Permute(bad)
    with pytest.raises(ValueError, match="Invalid permutation argument `dims`"):
        layers.Permute("21")
    with pytest.raises(ValueError, match="rank 3"):
        layers.Permute((2, 1))(torch.ones(2, 3, 4, 5))


# ---------------------------------------------------------------- ZeroPadding1D, Cropping1D, UpSampling1D
@pytest.mark.parametrize("kwargs", [{}, {"padding": 2}, {"padding": (0, 3)}, {"padding": (2, 1)},
                                    {"padding": (1, 2), "data_format": "channels_first"}],
                         ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()) or "default")
def test_zero_padding1d_matches_keras(kwargs):
    _compare("ZeroPadding1D", kwargs, _data(2, 4, 3))
    ints = np.arange(24).reshape(2, 4, 3)
    got = layers.ZeroPadding1D(**kwargs)(ints)
    assert got.dtype == torch.int64  # the dtype is kept, as in Keras
    np.testing.assert_array_equal(_np(got), _np(keras.layers.ZeroPadding1D(**kwargs)(ints)))
    for shape in ((None, 3), (4, 3), (4, None)):
        assert tuple(layers.ZeroPadding1D(**kwargs)(Input(shape=shape)).shape) == tuple(
            keras.layers.ZeroPadding1D(**kwargs)(keras.Input(shape)).shape)


@pytest.mark.parametrize("cropping", [1, (1, 2), (0, 1), (2, 0), (0, 0)])
def test_cropping1d_matches_keras(cropping):
    _compare("Cropping1D", {"cropping": cropping}, _data(2, 6, 3))
    for shape in ((None, 3), (6, 3)):
        assert tuple(layers.Cropping1D(cropping)(Input(shape=shape)).shape) == tuple(
            keras.layers.Cropping1D(cropping)(keras.Input(shape)).shape)


def test_cropping1d_unknown_length_with_large_crop_runs():
    inp = Input(shape=(None, 3))
    out = layers.Cropping1D((3, 4))(inp)  # more than the engine's dummy lengths: still symbolic None
    assert out.shape == (None, None, 3)
    y = Model(inp, out).predict(_data(2, 10, 3), verbose=0)
    assert y.shape == (2, 3, 3)


@pytest.mark.parametrize("size", [1, 2, 3])
def test_up_sampling1d_matches_keras(size):
    _compare("UpSampling1D", {"size": size}, _data(2, 4, 3))
    for shape in ((None, 3), (4, 3)):
        assert tuple(layers.UpSampling1D(size)(Input(shape=shape)).shape) == tuple(
            keras.layers.UpSampling1D(size)(keras.Input(shape)).shape)
    assert layers.UpSampling1D(size)(np.arange(6).reshape(1, 2, 3)).dtype == torch.int64


def test_reshaping_1d_configs_match_keras():
    _config_matches_keras(layers.ZeroPadding1D((1, 2), data_format="channels_first"),
                          keras.layers.ZeroPadding1D((1, 2), data_format="channels_first"), ["padding", "data_format"])
    _config_matches_keras(layers.Cropping1D(2), keras.layers.Cropping1D(2), ["cropping"])
    _config_matches_keras(layers.UpSampling1D(3), keras.layers.UpSampling1D(3), ["size"])


def test_reshaping_1d_errors_match_keras():
    for bad in ((1,), (1, 2, 3), "1", -1, (1, -2)):
        with pytest.raises(ValueError, match="`padding` argument"):
            keras.layers.ZeroPadding1D(bad)
        with pytest.raises(ValueError, match="`padding` argument"):
            layers.ZeroPadding1D(bad)
        with pytest.raises(ValueError, match="`cropping` argument"):
            keras.layers.Cropping1D(bad)
        with pytest.raises(ValueError, match="`cropping` argument"):
            layers.Cropping1D(bad)
    with pytest.raises(ValueError, match="`padding` argument"):
        layers.ZeroPadding1D((1.5, 1))  # Keras keeps 1.5 and fails in the pad
    match = "`cropping` parameter of `Cropping1D` layer must be smaller than"
    for crop, inp in ((keras.layers.Cropping1D((2, 3)), keras.Input((5, 7))),
                      (layers.Cropping1D((2, 3)), Input(shape=(5, 7))),
                      (keras.layers.Cropping1D((3, 3)), _data(3, 5, 7)), (layers.Cropping1D((3, 3)), _data(3, 5, 7))):
        with pytest.raises(ValueError, match=match):
            crop(inp)
    for size in (0, -2):
        for cls in (keras.layers.UpSampling1D, layers.UpSampling1D):
            with pytest.raises(ValueError, match="should be a positive integer"):
                cls(size)
    for size in (2.5, "2", True):
        for cls in (keras.layers.UpSampling1D, layers.UpSampling1D):
            with pytest.raises(TypeError, match="Expected an integer value for `size`"):
                cls(size)
    with pytest.raises(TypeError, match="unexpected keyword"):
        layers.Cropping1D(1, data_format="channels_first")  # Keras' Cropping1D has no data_format either
    with pytest.raises(ValueError, match="rank 3"):
        layers.UpSampling1D()(torch.ones(2, 3))


@pytest.mark.parametrize("name,kwargs", [("Permute", {"dims": (2, 1)}), ("ZeroPadding1D", {}),
                                         ("Cropping1D", {}), ("UpSampling1D", {})])
def test_reshaping_1d_drop_masks_with_keras_warning(name, kwargs):
    ours_in, theirs_in = _masked(_data(2, 5, 3), [[True] * 5, [True] * 2 + [False] * 3])
    with pytest.warns(UserWarning, match="does not support masking"):
        want = getattr(keras.layers, name)(**kwargs)(theirs_in)
    with pytest.warns(UserWarning, match="does not support masking"):
        got = getattr(layers, name)(**kwargs)(ours_in)
    np.testing.assert_allclose(_np(got), _np(want), **TOL)
    assert getattr(got, "_keras_mask", None) is None and getattr(want, "_keras_mask", None) is None
