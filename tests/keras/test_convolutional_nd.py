"""Conv3D, Conv1DTranspose, Conv2DTranspose and Conv3DTranspose against real Keras 3 (torch backend):
Keras' weights are copied into ours with set_weights and outputs compared in float32 to 1e-5 over
every padding, stride, dilation, output_padding, groups (Conv3D) and data_format; gradients; weight
layouts; symbolic shapes against Keras' (unknown sizes included); configs; Keras' errors; masks
dropped with Keras' warning; and the keras.io next-frame prediction model's shape
(ConvLSTM2D -> BatchNormalization -> Conv3D) plus a Conv1D/Conv1DTranspose autoencoder that train.
"""

from __future__ import annotations

import itertools

import keras
import numpy as np
import pytest
import torch

import lstmkit.keras as lk
from lstmkit.keras import layers
from lstmkit.keras.engine.input_layer import Input
from lstmkit.keras.models import Model, Sequential, load_model

TOL = {"atol": 1e-5, "rtol": 1e-5}
pytestmark = [pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),
              pytest.mark.usefixtures("one_thread")]
TRANSPOSES = ["Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"]


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else keras.ops.convert_to_numpy(x)


def _data(*shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _pair(name, kwargs, x):
    """Both layers built on ``x`` with Keras' (random, non-zero-bias) weights in ours; both outputs."""
    theirs = getattr(keras.layers, name)(**kwargs)
    theirs.build(x.shape)
    rng = np.random.default_rng(1)
    theirs.set_weights([rng.normal(size=w.shape).astype("float32") for w in theirs.get_weights()])
    ours = getattr(layers, name)(**kwargs)
    ours.build(x.shape)
    ours.set_weights(theirs.get_weights())
    return ours(x), theirs(x)


def _input(df, spatial, channels, batch=2, seed=0):
    shape = (batch, *spatial, channels) if df == "channels_last" else (batch, channels, *spatial)
    return _data(*shape, seed=seed)


def _ids(kw):
    return "-".join(f"{k}={v}" for k, v in kw.items())


# ---------------------------------------------------------------- Conv3D outputs
@pytest.mark.parametrize("kwargs", [
    {"kernel_size": 1}, {"kernel_size": 2}, {"kernel_size": 3, "padding": "same"},
    {"kernel_size": (2, 3, 1), "strides": (2, 1, 3)}, {"kernel_size": 3, "strides": 2, "padding": "same"},
    {"kernel_size": 2, "strides": (1, 2, 3), "padding": "same"}, {"kernel_size": 2, "dilation_rate": 2},
    {"kernel_size": 2, "dilation_rate": (2, 1, 3), "padding": "same", "groups": 2},
    {"kernel_size": (3, 3, 3), "padding": "same", "activation": "sigmoid"},
    {"kernel_size": 2, "groups": 4, "filters": 4, "use_bias": False},
], ids=_ids)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv3d_matches_keras(kwargs, data_format):
    kw = {"filters": 2, "data_format": data_format, **kwargs}
    for spatial in ((4, 5, 6), (5, 4, 5)):  # odd and even sizes give different "same" splits
        got, want = _pair("Conv3D", kw, _input(data_format, spatial, 4, seed=sum(spatial)))
        assert tuple(got.shape) == tuple(want.shape)
        np.testing.assert_allclose(_np(got), _np(want), **TOL)


# ---------------------------------------------------------------- transposed outputs
def _transpose_cases():
    """Every (kernel, stride, padding, output_padding, dilation) Keras allows, small sizes."""
    for k, s, padding, op, d in itertools.product([1, 2, 3, 4], [1, 2, 3], ["valid", "same"], [None, 0, 1, 2],
                                                  [1, 2]):
        if (op is not None and op >= s) or (s > 1 and d > 1):
            continue
        yield {"kernel_size": k, "strides": s, "padding": padding, "output_padding": op, "dilation_rate": d}


@pytest.mark.parametrize("kwargs", list(_transpose_cases()), ids=_ids)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv1d_transpose_matches_keras(kwargs, data_format):
    kw = {"filters": 3, "data_format": data_format, **kwargs}
    for steps in (4, 5):
        got, want = _pair("Conv1DTranspose", kw, _input(data_format, (steps,), 2, seed=steps))
        assert tuple(got.shape) == tuple(want.shape)
        np.testing.assert_allclose(_np(got), _np(want), **TOL)


@pytest.mark.parametrize("name,kwargs", [
    ("Conv2DTranspose", {"kernel_size": 2, "strides": 2}),
    ("Conv2DTranspose", {"kernel_size": 3, "strides": 2, "padding": "same"}),
    ("Conv2DTranspose", {"kernel_size": (3, 2), "strides": (2, 3), "padding": "same", "output_padding": (1, 0)}),
    ("Conv2DTranspose", {"kernel_size": (2, 3), "strides": (3, 1), "output_padding": (2, 0)}),
    ("Conv2DTranspose", {"kernel_size": 3, "dilation_rate": (2, 1), "padding": "same", "activation": "relu"}),
    ("Conv2DTranspose", {"kernel_size": 1, "strides": 4, "padding": "same", "use_bias": False}),  # widened edges
    ("Conv3DTranspose", {"kernel_size": 2, "strides": 2}),
    ("Conv3DTranspose", {"kernel_size": 3, "strides": (2, 1, 3), "padding": "same", "output_padding": (1, 0, 2)}),
    ("Conv3DTranspose", {"kernel_size": (2, 3, 1), "dilation_rate": 2, "padding": "valid"}),
    ("Conv3DTranspose", {"kernel_size": 3, "padding": "same", "activation": "tanh"}),
], ids=lambda v: v if isinstance(v, str) else _ids(v))
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv2d_conv3d_transpose_match_keras(name, kwargs, data_format):
    spatial = (4, 5) if name == "Conv2DTranspose" else (3, 4, 3)
    got, want = _pair(name, {"filters": 3, "data_format": data_format, **kwargs}, _input(data_format, spatial, 2))
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(_np(got), _np(want), **TOL)


@pytest.mark.parametrize("name,kwargs,spatial", [
    ("Conv3D", {"kernel_size": 2, "strides": 2, "padding": "same", "groups": 2}, (3, 4, 5)),
    ("Conv1DTranspose", {"kernel_size": 3, "strides": 2, "padding": "same"}, (5,)),
    ("Conv2DTranspose", {"kernel_size": 3, "strides": 3, "output_padding": 2}, (3, 2)),
    ("Conv3DTranspose", {"kernel_size": 2, "strides": 2, "padding": "same"}, (2, 3, 2)),
], ids=lambda v: v if isinstance(v, str) else None)
def test_gradients_match_keras(name, kwargs, spatial):
    x = _input("channels_last", spatial, 4)
    theirs, ours = getattr(keras.layers, name)(4, **kwargs), getattr(layers, name)(4, **kwargs)
    theirs.build(x.shape)
    ours.build(x.shape)
    ours.set_weights(theirs.get_weights())
    grads = []
    for layer in (ours, theirs):
        xt = torch.from_numpy(x.copy()).requires_grad_(True)
        (layer(xt) ** 2).sum().backward()
        grads.append(xt.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], **TOL)
    np.testing.assert_allclose(ours.kernel.grad.numpy(), _np(theirs.kernel.value.grad), **TOL)


@pytest.mark.parametrize("name,kwargs,shape,want", [
    ("Conv3D", {"filters": 6, "kernel_size": (3, 2, 1), "groups": 2}, (None, 5, 5, 5, 4), [(3, 2, 1, 2, 6), (6,)]),
    ("Conv1DTranspose", {"filters": 5, "kernel_size": 3}, (None, 7, 2), [(3, 5, 2), (5,)]),
    ("Conv2DTranspose", {"filters": 5, "kernel_size": (2, 3), "data_format": "channels_first"}, (None, 2, 4, 4),
     [(2, 3, 5, 2), (5,)]),
    ("Conv3DTranspose", {"filters": 4, "kernel_size": 2, "use_bias": False}, (None, 3, 3, 3, 6), [(2, 2, 2, 4, 6)]),
])
def test_weight_layouts_and_counts_match_keras(name, kwargs, shape, want):
    ours, theirs = getattr(layers, name)(**kwargs), getattr(keras.layers, name)(**kwargs)
    ours.build(shape)
    theirs.build(shape)
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()] == want
    assert ours.count_params() == theirs.count_params()
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]


def test_transpose_regularizers_and_constraints_match_keras():
    theirs = keras.layers.Conv2DTranspose(3, 2, bias_initializer="ones", kernel_regularizer=keras.regularizers.L2(0.1),
                                          activity_regularizer=keras.regularizers.L1(0.05))
    ours = layers.Conv2DTranspose(3, 2, bias_initializer="ones", kernel_regularizer={"class_name": "L2",
                                                                                    "config": {"l2": 0.1}},
                                  activity_regularizer={"class_name": "L1", "config": {"l1": 0.05}},
                                  kernel_constraint="non_neg")
    x = _data(2, 3, 3, 4)
    theirs(x)
    ours.build(x.shape)
    ours.set_weights(theirs.get_weights())
    ours(x)
    np.testing.assert_allclose(sum(float(v.detach()) for v in ours.losses), sum(float(_np(v)) for v in theirs.losses),
                               rtol=1e-5)
    ours.apply_constraints()
    assert float(ours.kernel.detach().min()) >= 0.0


# ---------------------------------------------------------------- shapes, config
@pytest.mark.parametrize("name,kwargs", [
    ("Conv3D", {"kernel_size": 3}), ("Conv3D", {"kernel_size": 2, "strides": 2, "padding": "same"}),
    ("Conv3D", {"kernel_size": 3, "dilation_rate": 2, "data_format": "channels_first"}),
    ("Conv1DTranspose", {"kernel_size": 3, "strides": 2}),
    ("Conv1DTranspose", {"kernel_size": 4, "strides": 3, "padding": "same", "output_padding": 1}),
    ("Conv2DTranspose", {"kernel_size": 3, "strides": 2, "padding": "same"}),
    ("Conv2DTranspose", {"kernel_size": 2, "strides": 3, "output_padding": 2, "data_format": "channels_first"}),
    ("Conv3DTranspose", {"kernel_size": 2, "dilation_rate": 2}),
], ids=lambda v: v if isinstance(v, str) else _ids(v))
@pytest.mark.parametrize("size", [None, 7])
def test_symbolic_shapes_match_keras(name, kwargs, size):
    rank = 3 if "3D" in name else int(name[4])
    spatial = (size,) + (6,) * (rank - 1)
    shape = (*spatial, 4) if kwargs.get("data_format", "channels_last") == "channels_last" else (4, *spatial)
    want = getattr(keras.layers, name)(5, **kwargs)(keras.Input(shape)).shape
    got = getattr(layers, name)(5, **kwargs)(Input(shape=shape)).shape
    assert tuple(got) == tuple(want)
    ours = getattr(layers, name)(5, **kwargs)
    assert tuple(ours.compute_output_shape((2, *shape))) == tuple(
        getattr(keras.layers, name)(5, **kwargs).compute_output_shape((2, *shape)))


def test_transpose_in_functional_model_runs_unknown_lengths():
    inp = Input(shape=(None, 3))
    out = layers.Conv1DTranspose(2, 3, strides=2, padding="same")(layers.Conv1D(4, 3, strides=2, padding="same")(inp))
    model = Model(inp, out)
    assert model.output_shape == (None, None, 2)
    for steps in (6, 9):
        assert model.predict(_data(2, steps, 3), verbose=0).shape == (2, 2 * ((steps + 1) // 2), 2)


@pytest.mark.parametrize("name,kwargs", [
    ("Conv3D", {"filters": 4, "kernel_size": (2, 3, 1), "strides": 2, "padding": "same", "groups": 2,
                "activation": "relu", "kernel_regularizer": "l2"}),
    ("Conv1DTranspose", {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 1, "padding": "same"}),
    ("Conv2DTranspose", {"filters": 3, "kernel_size": (2, 3), "dilation_rate": 2, "data_format": "channels_first",
                         "use_bias": False, "bias_constraint": "non_neg"}),
    ("Conv3DTranspose", {"filters": 3, "kernel_size": 2, "activation": "sigmoid"}),
], ids=lambda v: v if isinstance(v, str) else None)
def test_config_round_trip_and_keys_match_keras(name, kwargs):
    ours = getattr(layers, name)(**kwargs)
    config = ours.get_config()
    assert getattr(layers, name).from_config(config).get_config() == config
    theirs = getattr(keras.layers, name)(**kwargs).get_config()
    assert set(config) == set(theirs)
    keys = ["filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation", "use_bias"]
    for key in keys + (["groups"] if name == "Conv3D" else ["output_padding"]):
        assert config[key] == theirs[key], key


def test_aliases_and_registry():
    from lstmkit.keras.engine import registry

    assert layers.Convolution3D is layers.Conv3D
    for n in (1, 2, 3):
        cls = getattr(layers, f"Conv{n}DTranspose")
        assert getattr(layers, f"Convolution{n}DTranspose") is cls
        assert registry.lookup("layer", f"Conv{n}DTranspose") is cls
        assert registry.lookup("layer", f"Convolution{n}DTranspose") is cls
    assert registry.lookup("layer", "Convolution3D") is layers.Conv3D


# ---------------------------------------------------------------- errors
TRANSPOSE_ERRORS = [
    ("Conv1DTranspose", {"filters": 0, "kernel_size": 1}, "strictly positive value. Received filters=0"),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": (1, 0)},
     r"`kernel_size` argument must be a tuple of 2 integers. Received kernel_size=\(1, 0\)"),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 2, "strides": (1, 0)}, r"`strides` argument .* `value > 0`"),
    ("Conv1DTranspose", {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 2},
     "`output_padding` must be strictly less than `strides`"),
    ("Conv3DTranspose", {"filters": 2, "kernel_size": 3, "output_padding": 1},
     "`output_padding` must be strictly less than `strides`"),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 2, "output_padding": -1}, "`output_padding` argument"),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 2, "strides": 2, "dilation_rate": (2, 1)},
     r"`strides > 1` not supported in conjunction with `dilation_rate > 1`"),
    ("Conv1DTranspose", {"filters": 2, "kernel_size": 2, "padding": "causal"}, "`padding` argument"),
    ("Conv3DTranspose", {"filters": 2, "kernel_size": 2, "data_format": "NDHWC"}, "`data_format` argument"),
    ("Conv3D", {"filters": 2, "kernel_size": (2, 2)}, r"`kernel_size` argument must be a tuple of 3 integers"),
    ("Conv3D", {"filters": 3, "kernel_size": 2, "groups": 2}, "filters must be evenly divisible"),
    ("Conv3D", {"filters": 2, "kernel_size": 2, "padding": "causal"}, "`padding` argument"),
]


@pytest.mark.parametrize("name,kwargs,match", TRANSPOSE_ERRORS, ids=lambda v: str(v)[:40])
def test_bad_arguments_raise_like_keras(name, kwargs, match):
    with pytest.raises(ValueError, match=match):
        getattr(keras.layers, name)(**kwargs)
    with pytest.raises(ValueError, match=match):
        getattr(layers, name)(**kwargs)


def test_transpose_bad_arguments_keras_misses_are_clear_errors():
    with pytest.raises(ValueError, match="Received filters=2.5"):  # Keras keeps 2.5 and fails later
        layers.Conv1DTranspose(2.5, 2)
    with pytest.raises(TypeError, match="unexpected keyword"):
        layers.Conv2DTranspose(2, 2, groups=2)  # Keras' transposed convolutions have no groups


@pytest.mark.parametrize("name", ["Conv3D", "Conv3DTranspose"])
def test_checks_inputs(name):
    conv = getattr(layers, name)(2, 2)
    conv(torch.ones(1, 3, 3, 3, 4))
    with pytest.raises(ValueError, match="input channels"):
        conv(torch.ones(1, 3, 3, 3, 5))
    with pytest.raises(ValueError, match="rank 5"):
        getattr(layers, name)(2, 2)(torch.ones(1, 3, 3, 4))
    with pytest.raises(ValueError, match="known number of input channels"):
        getattr(layers, name)(2, 2)(Input(shape=(3, 3, 3, None)))
    assert getattr(layers, name)(2, 2)(np.ones((1, 3, 3, 3, 2), dtype="int64")).dtype == torch.float32


def test_conv3d_kernel_larger_than_input_raises_like_keras():
    match = "Computed output size would be zero or negative"
    for conv, inp in ((keras.layers.Conv3D(1, 2, dilation_rate=10), keras.Input((10, 10, 10, 3))),
                      (layers.Conv3D(1, 2, dilation_rate=10), Input(shape=(10, 10, 10, 3)))):
        with pytest.raises(ValueError, match=match):
            conv(inp)
    with pytest.raises(ValueError, match=match):
        layers.Conv3D(1, 4)(_data(1, 3, 5, 5, 2))


@pytest.mark.parametrize("name", ["Conv3D", "Conv1DTranspose"])
def test_drops_masks_with_keras_warning(name):
    shape = (2, 4, 3, 3, 2) if name == "Conv3D" else (2, 4, 2)
    x = torch.from_numpy(_data(*shape))
    x._keras_mask = torch.tensor([[True] * 4, [True, True, False, False]])
    with pytest.warns(UserWarning, match="does not support masking"):
        out = getattr(layers, name)(2, 2)(x)
    assert getattr(out, "_keras_mask", None) is None


# ---------------------------------------------------------------- models that train
def test_conv_lstm2d_batchnorm_conv3d_next_frame_model_fits():
    """The keras.io "Next-frame video prediction with Convolutional LSTMs" model's shape."""
    rng = np.random.default_rng(0)
    x = rng.random((2, 5, 8, 8, 1)).astype("float32")
    y = (rng.random((2, 5, 8, 8, 1)) > 0.5).astype("float32")
    torch.manual_seed(0)
    model = Sequential([Input(shape=(None, 8, 8, 1)),
                        layers.ConvLSTM2D(4, (3, 3), padding="same", return_sequences=True, activation="relu"),
                        layers.BatchNormalization(),
                        layers.Conv3D(1, (3, 3, 3), activation="sigmoid", padding="same")])
    assert model.output_shape == (None, None, 8, 8, 1)
    model.compile(lk.optimizers.Adam(0.01), "binary_crossentropy")
    history = model.fit(x, y, epochs=2, batch_size=1, verbose=0).history["loss"]
    assert len(history) == 2 and all(np.isfinite(history)) and history[1] < history[0], history
    pred = model.predict(x, verbose=0)
    assert pred.shape == (2, 5, 8, 8, 1) and pred.min() >= 0.0 and pred.max() <= 1.0


def test_conv1d_transpose_autoencoder_trains_saves_and_loads(tmp_path):
    rng = np.random.default_rng(0)
    t = np.linspace(0, 4 * np.pi, 16, dtype="float32")
    x = (np.sin(t[None, :, None] + rng.uniform(0, 6, size=(32, 1, 1))) * 0.8).astype("float32")
    torch.manual_seed(0)
    model = Sequential([Input(shape=(16, 1)), layers.Conv1D(8, 5, strides=2, padding="same", activation="relu"),
                        layers.Conv1DTranspose(8, 5, strides=2, padding="same", activation="relu"),
                        layers.Conv1DTranspose(1, 5, padding="same")])
    assert model.output_shape == (None, 16, 1)
    model.compile(lk.optimizers.Adam(0.01), "mse")
    history = model.fit(x, x, epochs=10, batch_size=8, verbose=0).history["loss"]
    assert history[-1] < 0.5 * history[0], history
    path = tmp_path / "ae.keras"
    model.save(path)
    np.testing.assert_allclose(load_model(path).predict(x, verbose=0), model.predict(x, verbose=0), **TOL)
