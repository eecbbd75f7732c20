"""Conv1D and Conv2D against real Keras 3 (torch backend): Keras' weights are copied into ours with
set_weights and outputs compared in float32 to 1e-5, over every padding ("valid", "same", "causal"),
strides, dilation, groups and data_format; symbolic shapes against Keras' ``compute_output_shape``
(unknown lengths included); configs; Keras' errors; masks dropped with Keras' warning; and a
Conv1D -> MaxPooling1D -> LSTM -> Dense model that trains, saves and loads.
"""

from __future__ import annotations

import warnings

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


def _shape(df, steps, channels, batch=2):
    return (batch, steps, channels) if df == "channels_last" else (batch, channels, steps)


# ---------------------------------------------------------------- Conv1D outputs
CASES_1D = [  # (kernel_size, strides, dilation_rate)
    (1, 1, 1), (2, 1, 1), (3, 1, 1), (4, 1, 1), (3, 2, 1), (2, 2, 1), (4, 3, 1), (5, 2, 1), (2, 1, 2), (3, 1, 3)]


@pytest.mark.parametrize("padding", ["valid", "same", "causal"])
@pytest.mark.parametrize("case", CASES_1D, ids=lambda c: "k{}s{}d{}".format(*c))
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv1d_matches_keras(padding, case, data_format):
    kernel_size, strides, dilation = case
    kw = {"filters": 4, "kernel_size": kernel_size, "strides": strides, "dilation_rate": dilation,
          "padding": padding, "data_format": data_format}
    for steps in (9, 10):  # odd and even lengths give different "same" splits
        got, want = _pair("Conv1D", kw, _data(*_shape(data_format, steps, 3), seed=steps))
        assert tuple(got.shape) == tuple(want.shape)
        np.testing.assert_allclose(_np(got), _np(want), **TOL)


@pytest.mark.parametrize("kwargs", [
    {"groups": 2, "filters": 6}, {"groups": 6, "filters": 6}, {"groups": 3, "filters": 3, "padding": "same"},
    {"activation": "relu"}, {"activation": "tanh", "use_bias": False}, {"use_bias": False, "padding": "causal"},
    {"groups": 2, "filters": 4, "padding": "causal", "dilation_rate": 2, "data_format": "channels_first"},
    {"kernel_size": (3,), "strides": (2,), "dilation_rate": (1,)}, {"padding": "SAME"}, {"padding": "Causal"},
], ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()))
def test_conv1d_groups_activation_bias_match_keras(kwargs):
    kw = {"filters": 4, "kernel_size": 3, **kwargs}
    x = _data(*_shape(kw.get("data_format", "channels_last"), 8, 6))
    got, want = _pair("Conv1D", kw, x)
    np.testing.assert_allclose(_np(got), _np(want), **TOL)


def test_conv1d_causal_output_sees_only_the_past():
    conv = layers.Conv1D(2, 3, padding="causal", dilation_rate=2)
    x = torch.from_numpy(_data(1, 12, 3))
    y = conv(x)
    x2 = x.clone()
    x2[:, 7:] += 1.0  # change the future from step 7 on
    torch.testing.assert_close(conv(x2)[:, :7], y[:, :7])
    assert not torch.allclose(conv(x2)[:, 7:], y[:, 7:])


def test_conv1d_weights_layout_and_order_match_keras():
    ours, theirs = layers.Conv1D(6, 3, groups=2), keras.layers.Conv1D(6, 3, groups=2)
    ours.build((None, 10, 4))
    theirs.build((None, 10, 4))
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()] == [(3, 2, 6), (6,)]
    assert ours.count_params() == theirs.count_params() == 42
    cf = layers.Conv1D(5, 2, use_bias=False, data_format="channels_first")
    cf.build((None, 3, 7))
    assert [w.shape for w in cf.get_weights()] == [(2, 3, 5)]


def test_conv1d_regularizers_constraints_and_activity_match_keras():
    kw = {"kernel_regularizer": keras.regularizers.L2(0.1), "bias_regularizer": keras.regularizers.L1(0.2),
          "activity_regularizer": keras.regularizers.L2(0.05)}
    theirs = keras.layers.Conv1D(3, 2, bias_initializer="ones", **kw)
    ours = layers.Conv1D(3, 2, bias_initializer="ones", kernel_regularizer={"class_name": "L2", "config": {"l2": 0.1}},
                         bias_regularizer={"class_name": "L1", "config": {"l1": 0.2}},
                         activity_regularizer={"class_name": "L2", "config": {"l2": 0.05}},
                         kernel_constraint="non_neg")
    x = _data(2, 6, 4)
    theirs(x)
    ours.build(x.shape)
    ours.set_weights(theirs.get_weights())
    ours(x)
    np.testing.assert_allclose(sum(float(v.detach()) for v in ours.losses), sum(float(_np(v)) for v in theirs.losses),
                               rtol=1e-5)
    ours.apply_constraints()
    assert float(ours.kernel.detach().min()) >= 0.0


# ---------------------------------------------------------------- Conv2D outputs
@pytest.mark.parametrize("kwargs", [
    {"kernel_size": 2}, {"kernel_size": 3, "strides": 2, "padding": "same"}, {"kernel_size": (3, 2), "padding": "same"},
    {"kernel_size": 2, "dilation_rate": (2, 1), "padding": "same", "groups": 2, "filters": 4},
    {"kernel_size": (2, 3), "strides": (2, 1), "data_format": "channels_first", "activation": "relu"},
    {"kernel_size": 4, "strides": 3, "padding": "same", "data_format": "channels_first", "use_bias": False},
], ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()))
def test_conv2d_matches_keras(kwargs):
    kw = {"filters": 3, **kwargs}
    shape = (2, 7, 6, 4) if kw.get("data_format", "channels_last") == "channels_last" else (2, 4, 7, 6)
    got, want = _pair("Conv2D", kw, _data(*shape))
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(_np(got), _np(want), **TOL)


# ---------------------------------------------------------------- shapes, config
@pytest.mark.parametrize("steps", [None, 11, 12])
@pytest.mark.parametrize("kwargs", [{"kernel_size": 3}, {"kernel_size": 3, "strides": 2},
                                    {"kernel_size": 2, "strides": 3, "padding": "same"},
                                    {"kernel_size": 5, "padding": "causal"}, {"kernel_size": 4, "dilation_rate": 3},
                                    {"kernel_size": 3, "strides": 2, "data_format": "channels_first"}],
                         ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()))
def test_conv1d_symbolic_shapes_match_keras(steps, kwargs):
    shape = (steps, 4) if kwargs.get("data_format", "channels_last") == "channels_last" else (4, steps)
    want = keras.layers.Conv1D(5, **kwargs)(keras.Input(shape)).shape
    got = layers.Conv1D(5, **kwargs)(Input(shape=shape)).shape
    assert tuple(got) == tuple(want)


def test_conv_in_functional_model_runs_unknown_lengths():
    inp = Input(shape=(None, 3))
    out = layers.Conv1D(4, 5, strides=2, padding="same")(inp)
    model = Model(inp, layers.Conv1D(2, 3)(out))
    assert model.output_shape == (None, None, 2)
    for steps in (9, 30):
        assert tuple(model.predict(_data(2, steps, 3), verbose=0).shape) == (2, ((steps + 1) // 2) - 2, 2)


def test_conv_inside_time_distributed_with_unknown_inner_length():
    inp = Input(shape=(5, None, 3))
    out = layers.TimeDistributed(layers.Conv1D(4, 3, strides=2))(inp)  # traced inside TimeDistributed's pass
    assert out.shape == (None, 5, None, 4)
    y = Model(inp, out).predict(_data(2, 5, 9, 3), verbose=0)
    assert y.shape == (2, 5, 4, 4)
    assert layers.TimeDistributed(layers.Conv1D(4, 3))(Input(shape=(5, 8, 3))).shape == (None, 5, 6, 4)


@pytest.mark.parametrize("kwargs", [{"kernel_size": 4, "padding": "same"}, {"kernel_size": 3, "strides": 2,
                                                                              "padding": "same", "groups": 3},
                                    {"kernel_size": 3, "dilation_rate": 2, "padding": "causal"}],
                         ids=["same-even", "same-strided-groups", "causal-dilated"])
def test_conv1d_gradients_match_keras(kwargs):
    x = _data(2, 9, 3)
    theirs = keras.layers.Conv1D(6, **kwargs)
    ours = layers.Conv1D(6, **kwargs)
    theirs.build(x.shape)
    ours.build(x.shape)
    ours.set_weights(theirs.get_weights())
    grads = []
    for layer in (ours, theirs):
        xt = torch.from_numpy(x.copy()).requires_grad_(True)
        (layer(xt) ** 2).sum().backward()
        grads.append(xt.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], **TOL)
    kernel_grad = ours.kernel.grad.numpy()
    np.testing.assert_allclose(kernel_grad, _np(theirs.kernel.value.grad), **TOL)


@pytest.mark.parametrize("name,kwargs", [
    ("Conv1D", {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "causal", "groups": 2,
                "activation": "relu", "kernel_regularizer": "l2", "bias_constraint": "non_neg"}),
    ("Conv1D", {"filters": 2, "kernel_size": (2,), "data_format": "channels_first", "use_bias": False}),
    ("Conv2D", {"filters": 3, "kernel_size": (2, 3), "dilation_rate": 2, "padding": "same"}),
])
def test_conv_config_round_trip_and_keys_match_keras(name, kwargs):
    ours = getattr(layers, name)(**kwargs)
    config = ours.get_config()
    assert getattr(layers, name).from_config(config).get_config() == config
    theirs = getattr(keras.layers, name)(**kwargs).get_config()
    assert set(config) == set(theirs)
    for key in ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "groups",
                "activation", "use_bias"):
        assert config[key] == theirs[key], key


def test_conv_aliases_and_registry():
    from lstmkit.keras.engine import registry

    assert layers.Convolution1D is layers.Conv1D and layers.Convolution2D is layers.Conv2D
    assert registry.lookup("layer", "Conv1D") is layers.Conv1D
    assert registry.lookup("layer", "Convolution2D") is layers.Conv2D


# ---------------------------------------------------------------- errors
KERAS_ERRORS = [
    ({"filters": 0, "kernel_size": 1}, "strictly positive value. Received filters=0"),
    ({"filters": 2, "kernel_size": 0}, r"`kernel_size` argument must be a tuple of 1 integers"),
    ({"filters": 2, "kernel_size": (3, 3)}, r"`kernel_size` argument must be a tuple of 1 integers"),
    ({"filters": 2, "kernel_size": 2, "strides": 0}, r"`strides` argument .* do not satisfy `value > 0`"),
    ({"filters": 2, "kernel_size": 2, "strides": 2, "dilation_rate": 2}, r"`strides > 1` not supported"),
    ({"filters": 2, "kernel_size": 2, "groups": 0}, "groups must be a positive integer"),
    ({"filters": 5, "kernel_size": 2, "groups": 2}, "filters must be evenly divisible by the number of groups"),
    ({"filters": 2, "kernel_size": 2, "padding": "full"}, "`padding` argument"),
    ({"filters": 2, "kernel_size": 2, "data_format": "NWC"}, "`data_format` argument"),
]


@pytest.mark.parametrize("kwargs,match", KERAS_ERRORS, ids=lambda v: str(v)[:40])
def test_conv1d_bad_arguments_raise_like_keras(kwargs, match):
    with pytest.raises(ValueError, match=match):
        keras.layers.Conv1D(**kwargs)
    with pytest.raises(ValueError, match=match):
        layers.Conv1D(**kwargs)


@pytest.mark.parametrize("kwargs,match", [
    ({"filters": 2.5, "kernel_size": 1}, "Received filters=2.5"),  # Keras keeps 2.5 and fails later
    ({"filters": 2, "kernel_size": "3"}, "`kernel_size` argument"),  # Keras: a TypeError from a comparison
    ({"filters": 2, "kernel_size": 2, "padding": [1, 1]}, "`padding` argument"),  # Keras fails at call
])
def test_conv1d_bad_arguments_keras_misses_are_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        layers.Conv1D(**kwargs)


def test_conv2d_refuses_causal_padding_like_keras():
    with pytest.raises(ValueError, match="padding"):
        keras.layers.Conv2D(2, 3, padding="causal")
    with pytest.raises(ValueError, match="padding"):
        layers.Conv2D(2, 3, padding="causal")


def test_conv1d_kernel_larger_than_input_raises_like_keras():
    match = "Computed output size would be zero or negative"
    x = _data(2, 5, 4)
    for conv in (keras.layers.Conv1D(3, 6), layers.Conv1D(3, 6)):
        with pytest.raises(ValueError, match=match):
            conv(x)
    for conv, inp in ((keras.layers.Conv1D(3, 3, dilation_rate=3), keras.Input((6, 4))),
                      (layers.Conv1D(3, 3, dilation_rate=3), Input(shape=(6, 4)))):
        with pytest.raises(ValueError, match=match):
            conv(inp)
    for conv in (keras.layers.Conv1D(3, 6), layers.Conv1D(3, 6)):
        with pytest.raises(ValueError, match=match):
            conv.build((None, 5, 4))
    assert layers.Conv1D(3, 6, padding="same")(x).shape == (2, 5, 3)  # "same" and "causal" always fit
    assert layers.Conv1D(3, 6, padding="causal")(x).shape == (2, 5, 3)


def test_conv1d_groups_must_divide_input_channels():
    match = "input channels must be evenly divisible by the number of groups"
    for conv in (keras.layers.Conv1D(4, 2, groups=4), layers.Conv1D(4, 2, groups=4)):
        with pytest.raises(ValueError, match=match):
            conv(_data(2, 5, 6))


def test_conv1d_checks_inputs():
    conv = layers.Conv1D(2, 3)
    conv(torch.ones(2, 5, 4))
    with pytest.raises(ValueError, match="built for 4 input channels"):
        conv(torch.ones(2, 5, 3))
    with pytest.raises(ValueError, match="rank 3"):
        layers.Conv1D(2, 3)(torch.ones(2, 5, 4, 1))
    with pytest.raises(ValueError, match="known number of input channels"):
        layers.Conv1D(2, 3)(Input(shape=(5, None)))
    with pytest.raises(TypeError, match="unexpected keyword"):
        layers.Conv1D(2, 3, lora_rank=2)
    y = layers.Conv1D(2, 2)(np.arange(24).reshape(2, 3, 4))  # integer inputs are cast to float
    assert y.dtype == torch.float32


# ---------------------------------------------------------------- masks
def test_conv1d_drops_masks_with_keras_warning():
    x = torch.from_numpy(_data(2, 6, 3))
    x._keras_mask = torch.tensor([[True] * 6, [True] * 3 + [False] * 3])
    kx = x.clone()
    kx._keras_mask = x._keras_mask.clone()
    with pytest.warns(UserWarning, match="does not support masking"):
        want = keras.layers.Conv1D(2, 3)(kx)
    with pytest.warns(UserWarning, match="does not support masking"):
        got = layers.Conv1D(2, 3)(x)
    assert getattr(got, "_keras_mask", None) is None and getattr(want, "_keras_mask", None) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layers.Conv1D(2, 3)(torch.ones(2, 6, 3))  # no mask, no warning
    inp = Input(shape=(6,))
    seq = layers.Embedding(10, 3, mask_zero=True)(inp)
    with pytest.warns(UserWarning, match="does not support masking"):
        out = layers.Conv1D(2, 3)(seq)
    assert not out.has_mask


# ---------------------------------------------------------------- a model that trains
def test_conv_pool_lstm_model_trains_saves_and_loads(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 16, 3)).astype("float32")
    y = (x[:, :, 0].mean(axis=1, keepdims=True) + 0.5 * x[:, -4:, 1].mean(axis=1, keepdims=True)).astype("float32")
    torch.manual_seed(0)
    model = Sequential([Input(shape=(16, 3)), layers.Conv1D(8, 3, padding="causal", activation="relu"),
                        layers.MaxPooling1D(2), layers.LSTM(8), layers.Dense(1)])
    assert model.output_shape == (None, 1)
    assert [tuple(w.shape) for w in model.layers[0].weights] == [(3, 3, 8), (8,)]
    model.compile(lk.optimizers.Adam(0.01), "mse")
    history = model.fit(x, y, epochs=8, batch_size=16, verbose=0).history["loss"]
    assert history[-1] < 0.6 * history[0], history
    path = tmp_path / "conv.keras"
    model.save(path)
    loaded = load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), **TOL)
