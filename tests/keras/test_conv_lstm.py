"""ConvLSTM1D / ConvLSTM2D / ConvLSTM3D: the layers against the float64 reference
(``lstmkit.cells.conv_lstm``, 1e-10) and against real Keras 3 (torch backend) with copied weights
(1e-5), for every geometry (padding valid/same, strides, dilation, even kernels, channels_first),
output option, mask and initial state; dropout with given masks against the reference;
gradients (gradcheck); config round-trip and saving; symbolic shapes; stateful runs;
regularizers and constraints; errors; and a next-frame model on moving squares trained with fit.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lstmkit.keras as lk
from lstmkit.cells.conv_lstm import run_conv_lstm
from lstmkit.keras import layers
from lstmkit.keras.engine import registry
from lstmkit.keras.engine.input_layer import Input
from lstmkit.keras.layers import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D
from lstmkit.keras.models import Sequential, load_model

keras = pytest.importorskip("keras")
pytestmark = [pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),  # Keras internals
              pytest.mark.usefixtures("one_thread", "fresh_names")]

TOL = dict(atol=1e-5, rtol=1e-5)
CLASSES = {1: ConvLSTM1D, 2: ConvLSTM2D, 3: ConvLSTM3D}
SPATIAL = {1: (9,), 2: (7, 6), 3: (5, 6, 5)}
B, T, C, FILTERS = 3, 4, 2, 3


def _np(t) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        return t.detach().cpu().numpy()
    return keras.ops.convert_to_numpy(t)


def _x(rank: int, dtype=np.float32, seed: int = 0, channels_first: bool = False) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((B, T, *SPATIAL[rank], C)).astype(dtype)
    return _first(x) if channels_first else x


def _t(x: np.ndarray) -> torch.Tensor:
    """A float64 array as a tensor: a layer converts NumPy inputs to float32, as Keras."""
    return torch.from_numpy(np.ascontiguousarray(x))


def _first(a: np.ndarray, time: bool = True) -> np.ndarray:
    """channels_last -> channels_first ((batch, time, ...) sequences, or (batch, ...) states)."""
    return np.moveaxis(a, -1, 2 if time else 1)


def _mask(kind: str | None) -> np.ndarray | None:
    if kind is None:
        return None
    mask = np.ones((B, T), dtype=bool)
    if kind == "pre":
        mask[0, :2] = False
        mask[1, :1] = False
    elif kind == "post":
        mask[0, 3:] = False
        mask[2, 1:] = False
    else:  # holes and a fully masked row
        mask[0, 1:3] = False
        mask[1, ::2] = False
        mask[2, :] = False
    return mask


def _random_weights(layer, seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    weights = [0.4 * rng.standard_normal(w.shape) for w in layer.get_weights()]
    layer.set_weights(weights)
    return weights


GEOMETRIES = {
    "valid": {},
    "same": {"padding": "same"},
    "strides": {"strides": 2, "padding": "same"},
    "strides_valid": {"strides": 2},
    "dilation": {"dilation_rate": 2},
    "dilation_same": {"dilation_rate": 2, "padding": "SAME"},
    "even_kernel": {"kernel_size": 2, "padding": "same"},
}


# ----------------------------------------------------------------------------- the float64 reference
@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("geometry", list(GEOMETRIES))
def test_matches_the_float64_reference(rank, geometry):
    kw = {"kernel_size": 3, **GEOMETRIES[geometry]}
    layer = CLASSES[rank](FILTERS, return_sequences=True, return_state=True, dtype="float64", **kw)
    x = _x(rank, np.float64)
    layer(_t(x))
    kernel, recurrent, bias = _random_weights(layer)
    seq, h, c = layer(_t(x))
    ref_seq, (ref_h, ref_c) = run_conv_lstm(x, kernel, recurrent, bias, padding=kw.get("padding", "valid").lower(),
                                            strides=kw.get("strides", 1), dilation_rate=kw.get("dilation_rate", 1))
    for ours, ref in ((seq, ref_seq), (h, ref_h), (c, ref_c)):
        np.testing.assert_allclose(_np(ours), ref, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("options", [
    {"mask": "holes"}, {"mask": "pre", "go_backwards": True}, {"mask": "post", "zero_output_for_mask": True},
    {"initial_state": True}, {"go_backwards": True}, {"use_bias": False},
    {"activation": "relu", "recurrent_activation": "hard_sigmoid"}, {"channels_first": True, "mask": "holes"},
])
def test_reference_sequence_options(options):
    options = dict(options)
    mask = _mask(options.pop("mask", None))
    channels_first = options.pop("channels_first", False)
    with_state = options.pop("initial_state", False)
    layer = ConvLSTM2D(FILTERS, 3, padding="same", return_sequences=True, return_state=True, dtype="float64",
                       data_format="channels_first" if channels_first else None, **options)
    x = _x(2, np.float64)
    layer(_t(_first(x) if channels_first else x))
    weights = _random_weights(layer)
    rng = np.random.default_rng(5)
    states = [rng.standard_normal((B, *SPATIAL[2], FILTERS)) for _ in range(2)] if with_state else None
    given = [_first(s, time=False) for s in states] if states is not None and channels_first else states
    seq, h, c = layer(_t(_first(x) if channels_first else x), mask=mask, initial_state=given)
    ref_seq, (ref_h, ref_c) = run_conv_lstm(x, weights[0], weights[1], weights[2] if len(weights) > 2 else None,
                                            padding="same", initial_state=states, mask=mask,
                                            go_backwards=options.get("go_backwards", False),
                                            zero_output_for_mask=options.get("zero_output_for_mask", False),
                                            activation=options.get("activation", "tanh"),
                                            recurrent_activation=options.get("recurrent_activation", "sigmoid"))
    if channels_first:
        ref_seq, ref_h, ref_c = _first(ref_seq), _first(ref_h, time=False), _first(ref_c, time=False)
    for ours, ref in ((seq, ref_seq), (h, ref_h), (c, ref_c)):
        np.testing.assert_allclose(_np(ours), ref, atol=1e-10, rtol=1e-10)


def test_dropout_masks_are_the_references(monkeypatch):
    """In training, four input masks and four recurrent masks per sequence (one per gate), as the
    reference applies them: the layer's drawn masks are replaced by known ones."""
    layer = ConvLSTM2D(FILTERS, 3, padding="same", strides=2, return_sequences=True, dropout=0.3,
                       recurrent_dropout=0.4, dtype="float64")
    x = _x(2, np.float64)
    layer(_t(x))
    kernel, recurrent, bias = _random_weights(layer)
    rng = np.random.default_rng(7)
    out_spatial = (4, 3)
    in_masks = [rng.integers(0, 2, (B, *SPATIAL[2], C)) / 0.7 for _ in range(4)]
    rec_masks = [rng.integers(0, 2, (B, *out_spatial, FILTERS)) / 0.6 for _ in range(4)]

    def given(shape, rate, like):  # internal layout: channels first, input masks with a time axis of 1
        if rate == 0.3:
            return [torch.from_numpy(np.moveaxis(m, -1, 1))[:, None] for m in in_masks]
        return [torch.from_numpy(np.moveaxis(m, -1, 1)) for m in rec_masks]

    monkeypatch.setattr(layer, "_dropout_masks", given)
    ours = layer(_t(x), training=True)
    ref, _ = run_conv_lstm(x, kernel, recurrent, bias, padding="same", strides=2, input_masks=in_masks,
                           recurrent_masks=rec_masks)
    np.testing.assert_allclose(_np(ours), ref, atol=1e-10, rtol=1e-10)


def test_dropout_only_in_training_and_seeded():
    x = _x(2)
    a = ConvLSTM2D(FILTERS, 3, dropout=0.5, recurrent_dropout=0.5, seed=3)
    b = ConvLSTM2D(FILTERS, 3, dropout=0.5, recurrent_dropout=0.5, seed=3)
    a(x)
    b(x)
    b.set_weights(a.get_weights())
    np.testing.assert_array_equal(_np(a(x)), _np(a(x, training=False)))  # inference: no dropout
    train_a, train_b = _np(a(x, training=True)), _np(b(x, training=True))
    np.testing.assert_array_equal(train_a, train_b)  # same seed, same masks
    assert not np.allclose(train_a, _np(a(x)))


def test_gradients_match_finite_differences():
    layer = ConvLSTM2D(2, 2, padding="same", strides=(1, 2), return_sequences=True, dtype="float64")
    x = torch.randn(1, 3, 4, 4, 2, dtype=torch.float64, requires_grad=True)
    layer(x)
    params = [layer.kernel, layer.recurrent_kernel, layer.bias]
    assert torch.autograd.gradcheck(lambda inp, *_: layer(inp), (x, *params), eps=1e-6, atol=1e-6)


# ----------------------------------------------------------------------------- parity with Keras 3
def _keras_pair(rank: int, **kw):
    name = f"ConvLSTM{rank}D"
    theirs = getattr(keras.layers, name)(**kw)
    ours = getattr(layers, name)(**kw)
    return ours, theirs


def _compare(ours_out, theirs_out):
    ours_out = ours_out if isinstance(ours_out, (list, tuple)) else [ours_out]
    theirs_out = theirs_out if isinstance(theirs_out, (list, tuple)) else [theirs_out]
    assert len(ours_out) == len(theirs_out)
    for a, b in zip(ours_out, theirs_out):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(_np(a), _np(b), **TOL)


ALL_OUTPUTS = {"return_sequences": True, "return_state": True}


@pytest.mark.parametrize("rank, geometry, outputs", [
    (rank, geometry, outputs) for rank in (1, 2, 3) for geometry in GEOMETRIES
    for outputs in ({}, ALL_OUTPUTS) if rank < 3 or not outputs])  # ConvLSTM3D: the last output only
def test_keras_parity_geometry(rank, geometry, outputs):
    kw = {"filters": FILTERS, "kernel_size": 3, **GEOMETRIES[geometry], **outputs}
    ours, theirs = _keras_pair(rank, **kw)
    x = _x(rank)
    theirs_out = theirs(x)
    ours(x)
    ours.set_weights(theirs.get_weights())
    _compare(ours(x), theirs_out)


@pytest.mark.parametrize("rank", [1, 2])
@pytest.mark.parametrize("options", [
    {"mask": "pre"}, {"mask": "post", "return_sequences": True}, {"mask": "holes", "return_state": True},
    {"mask": "holes", "return_sequences": True, "go_backwards": True}, {"go_backwards": True},
    {"mask": "post", "return_sequences": True, "zero_output_for_mask": True},
    {"data_format": "channels_first", "return_sequences": True, "mask": "holes"},
    {"data_format": "channels_first", "strides": 2, "padding": "same", "return_state": True},
    {"initial_state": True, "return_state": True}, {"use_bias": False, "unit_forget_bias": False},
    {"activation": "relu", "recurrent_activation": "hard_sigmoid"}, {"activation": None},
])
def test_keras_parity_options(rank, options):
    options = dict(options)
    mask = _mask(options.pop("mask", None))
    with_state = options.pop("initial_state", False)
    kw = {"filters": FILTERS, "kernel_size": 3, "padding": "same", **options}
    ours, theirs = _keras_pair(rank, **kw)
    x = _x(rank, channels_first=options.get("data_format") == "channels_first")
    theirs(x)
    ours(x)
    ours.set_weights(theirs.get_weights())
    call = {}
    if mask is not None:
        call["mask"] = mask
    if with_state:
        rng = np.random.default_rng(4)
        call["initial_state"] = [rng.standard_normal((B, *SPATIAL[rank], FILTERS)).astype(np.float32)
                                 for _ in range(2)]
    _compare(ours(x, **call), theirs(x, **call))


@pytest.mark.parametrize("rank", [1, 2])
def test_weights_shapes_names_and_initial_bias_as_keras(rank):
    ours, theirs = _keras_pair(rank, filters=4, kernel_size=(2,) * rank)
    x = _x(rank)
    ours(x)
    theirs(x)
    assert [w.shape for w in ours.get_weights()] == [tuple(w.shape) for w in theirs.get_weights()]
    np.testing.assert_array_equal(ours.get_weights()[2], _np(theirs.weights[2]))  # 0|1|0|0: unit_forget_bias
    assert ours.count_params() == theirs.count_params()
    assert len(ours.trainable_weights) == 3 and not ours.non_trainable_weights


def test_constant_bias_initializer_with_unit_forget_bias_as_keras():
    ours = ConvLSTM1D(2, 3, bias_initializer=lk.initializers.Constant(0.03))
    ours(_x(1))
    np.testing.assert_allclose(ours.get_weights()[2], [0.03, 0.03, 1, 1, 0.03, 0.03, 0.03, 0.03])


def test_gradients_match_keras():
    ours, theirs = _keras_pair(2, filters=2, kernel_size=3, padding="same", return_sequences=True)
    x = _x(2)
    theirs(x)
    ours(x)
    ours.set_weights(theirs.get_weights())
    ours(x).square().sum().backward()
    tw = [w.value for w in theirs.trainable_weights]
    loss = theirs(torch.from_numpy(x)).square().sum()
    grads = torch.autograd.grad(loss, tw)
    for a, g in zip([ours.kernel, ours.recurrent_kernel, ours.bias], grads):
        np.testing.assert_allclose(_np(a.grad), _np(g), atol=1e-4, rtol=1e-4)


# ----------------------------------------------------------------------------- config, saving, shapes
def test_config_round_trip_and_keras_keys():
    layer = ConvLSTM2D(4, (3, 2), strides=(2, 1), padding="same", data_format="channels_first",
                       recurrent_activation="hard_sigmoid", unit_forget_bias=False, dropout=0.25, seed=2,
                       kernel_regularizer="l2", return_state=True, name="video")
    config = layer.get_config()
    again = registry.deserialize("layer", registry.serialize(layer))
    assert type(again) is ConvLSTM2D and again.get_config() == config
    assert config["kernel_size"] == (3, 2) and config["strides"] == (2, 1) and config["dilation_rate"] == (1, 1)
    theirs = keras.layers.ConvLSTM2D(4, (3, 2)).get_config()
    assert set(theirs) == set(config)


def test_sequential_saves_and_loads(tmp_path):
    model = Sequential([layers.Input((T, *SPATIAL[2], 1)), ConvLSTM2D(2, 3, padding="same", return_sequences=True),
                        layers.Dense(1)])
    x = _x(2)[..., :1]
    path = tmp_path / "video.keras"
    model.save(path)
    loaded = load_model(path)
    np.testing.assert_allclose(_np(loaded(x)), _np(model(x)), atol=1e-6)


@pytest.mark.parametrize("kw", [
    {}, {"return_sequences": True}, {"return_state": True}, {"strides": 2, "padding": "same"},
    {"data_format": "channels_first", "return_sequences": True, "return_state": True},
])
def test_symbolic_shapes_as_keras(kw):
    shape = (None, 6, 7, 2) if kw.get("data_format") != "channels_first" else (None, 2, 6, 7)
    ours = ConvLSTM2D(3, 3, **kw)(Input(shape))
    theirs = keras.layers.ConvLSTM2D(3, 3, **kw)(keras.Input(shape))
    ours, theirs = (o if isinstance(o, (list, tuple)) else [o] for o in (ours, theirs))
    assert [tuple(o.shape) for o in ours] == [tuple(t.shape) for t in theirs]


def test_output_mask_follows_return_sequences():
    x = _x(1)
    mask = _mask("post")
    assert ConvLSTM1D(2, 3, return_sequences=True)(x, mask=mask)._keras_mask.tolist() == mask.tolist()
    assert getattr(ConvLSTM1D(2, 3)(x, mask=mask), "_keras_mask", None) is None


# ----------------------------------------------------------------------------- states, regularizers
def test_stateful_continues_and_resets():
    x = _x(2)
    whole = ConvLSTM2D(FILTERS, 3, padding="same")
    parts = ConvLSTM2D(FILTERS, 3, padding="same", stateful=True)
    whole(x)
    parts(x[:, :2])
    parts.set_weights(whole.get_weights())
    parts.reset_states()
    parts(x[:, :2])
    np.testing.assert_allclose(_np(parts(x[:, 2:])), _np(whole(x)), atol=1e-6)
    assert parts.states[0].shape == (B, *SPATIAL[2], FILTERS)
    parts.reset_states()
    assert all(float(s.abs().sum()) == 0 for s in parts.states)
    with pytest.raises(ValueError, match="batch size"):
        parts(x[:2])
    with pytest.raises(ValueError, match="expects 2 arrays"):
        parts.reset_states([np.zeros((B, 2, FILTERS))] * 2)


def test_regularizers_and_constraints():
    layer = ConvLSTM1D(2, 3, kernel_regularizer=lk.regularizers.L2(0.1), bias_regularizer="l1",
                       recurrent_constraint=lk.constraints.NonNeg())
    layer(_x(1))
    assert len(layer.losses) == 2
    kernel = layer.kernel.detach()
    np.testing.assert_allclose(float(layer.losses[0].detach()), 0.1 * float((kernel ** 2).sum()), rtol=1e-6)
    layer.apply_constraints()
    assert float(layer.recurrent_kernel.detach().min()) >= 0


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("kw, match", [
    ({"filters": 0, "kernel_size": 3}, "filters"),
    ({"filters": 2, "kernel_size": (3, 3, 3)}, "kernel_size"),
    ({"filters": 2, "kernel_size": 0}, "kernel_size"),
    ({"filters": 2, "kernel_size": 3, "strides": 2, "dilation_rate": 2}, "not compatible with `dilation_rate > 1`"),
    ({"filters": 2, "kernel_size": 3, "padding": "causal"}, "padding"),
    ({"filters": 2, "kernel_size": 3, "data_format": "channels_middle"}, "data_format"),
    ({"filters": 2, "kernel_size": 3, "dropout": 1.5}, "dropout"),
])
def test_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        ConvLSTM2D(**kw)


def test_bad_inputs():
    layer = ConvLSTM2D(2, 3)
    with pytest.raises(ValueError, match="rank 5"):
        layer(np.zeros((2, 3, 5, 5), np.float32))
    with pytest.raises(ValueError, match="static input shapes"):
        ConvLSTM2D(2, 3)(Input((4, None, 5, 1)))
    with pytest.raises(ValueError, match="zero or negative"):
        ConvLSTM2D(2, 5)(np.zeros((1, 2, 3, 3, 1), np.float32))
    layer(np.zeros((2, 3, 5, 5, 1), np.float32))
    with pytest.raises(ValueError, match="was built for inputs of shape"):
        layer(np.zeros((2, 3, 6, 5, 1), np.float32))
    with pytest.raises(ValueError, match="initial state h must have shape"):
        layer(np.zeros((2, 3, 5, 5, 1), np.float32), initial_state=[np.zeros((2, 5, 5, 2))] * 2)
    with pytest.raises(ValueError, match="2 initial state"):
        layer(np.zeros((2, 3, 5, 5, 1), np.float32), initial_state=[np.zeros((2, 3, 3, 2))])
    with pytest.raises(ValueError, match="mask must have shape"):
        layer(np.zeros((2, 3, 5, 5, 1), np.float32), mask=np.ones((2, 4), bool))


# ----------------------------------------------------------------------------- training
def _moving_squares(n: int, rng: np.random.Generator, frames: int = 8, size: int = 12, side: int = 3):
    """Videos of one 3x3 square moving one pixel per frame in one of 8 random directions."""
    videos = np.zeros((n, frames, size, size, 1), np.float32)
    moves = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]
    travel = frames - 1

    def start(d: int) -> int:  # the whole path stays inside the frame
        low, high = (0, size - side - travel) if d > 0 else (travel, size - side) if d < 0 else (0, size - side)
        return int(rng.integers(low, high + 1))

    for k in range(n):
        dy, dx = moves[rng.integers(len(moves))]
        y0, x0 = start(dy), start(dx)
        for t in range(frames):
            videos[k, t, y0 + dy * t:y0 + dy * t + side, x0 + dx * t:x0 + dx * t + side, 0] = 1.0
    return videos[:, :-1], videos[:, 1:]


def test_next_frame_prediction_beats_copying_the_last_frame():
    rng = np.random.default_rng(0)
    x, y = _moving_squares(128, rng)
    x_test, y_test = _moving_squares(64, rng)
    model = Sequential([layers.Input((7, 12, 12, 1)), ConvLSTM2D(8, 3, padding="same", return_sequences=True),
                        layers.Dense(1, activation="sigmoid")])  # Dense on the channel axis: a 1x1 convolution
    model.compile(optimizer=lk.optimizers.Adam(0.03), loss="binary_crossentropy")
    history = model.fit(x, y, epochs=20, batch_size=16, verbose=0)
    predicted = model.predict(x_test, verbose=0)
    model_mse = float(np.mean((predicted - y_test) ** 2))
    copy_mse = float(np.mean((x_test - y_test) ** 2))  # the last frame as the prediction (~0.054)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert model_mse < 0.5 * copy_mse, (model_mse, copy_mse)
