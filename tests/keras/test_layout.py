"""lstmkit.keras.layout: torch <-> Keras recurrent weight layouts. Round trips (NumPy and torch),
and real Keras 3 layers' weights converted into lstmkit.nn / torch.nn layers give Keras'
outputs (and back)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lstmkit.nn as lnn
from lstmkit.keras import layout

keras = pytest.importorskip("keras")
pytestmark = [pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),  # Keras internals
              pytest.mark.usefixtures("one_thread")]


TOL = dict(atol=1e-5, rtol=1e-5)
UNITS, FEATURES, BATCH, STEPS = 5, 3, 4, 6


def _rand(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def _torch_weights(rng, gates_ih: int, gates_hh: int | None = None) -> list[np.ndarray]:
    gates_hh = gates_ih if gates_hh is None else gates_hh
    return [_rand(rng, gates_ih * UNITS, FEATURES), _rand(rng, gates_hh * UNITS, UNITS),
            _rand(rng, gates_ih * UNITS), _rand(rng, gates_hh * UNITS)]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def x(rng) -> np.ndarray:
    return _rand(rng, BATCH, STEPS, FEATURES)


def _to_np(t) -> np.ndarray:
    return keras.ops.convert_to_numpy(t) if not isinstance(t, np.ndarray) else t


# ---------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("as_torch", [False, True])
def test_lstm_round_trip(rng, as_torch):
    w = _torch_weights(rng, 4)
    w[3] = np.zeros_like(w[3])  # Keras has one bias: torch's bias_hh comes back as zeros
    arrays = [torch.from_numpy(a) for a in w] if as_torch else w
    keras_w = layout.lstm_to_keras(*arrays)
    assert [tuple(a.shape) for a in keras_w] == [(FEATURES, 4 * UNITS), (UNITS, 4 * UNITS), (4 * UNITS,)]
    back = layout.lstm_from_keras(*keras_w)
    assert all(isinstance(b, torch.Tensor) == as_torch for b in back)
    for a, b in zip(w, back):
        np.testing.assert_array_equal(a, np.asarray(b))


def test_lstm_folds_the_two_biases(rng):
    w = _torch_weights(rng, 4)
    kernel, recurrent, bias = layout.lstm_to_keras(*w)
    np.testing.assert_allclose(bias, w[2] + w[3], **TOL)
    np.testing.assert_array_equal(kernel, w[0].T)
    np.testing.assert_array_equal(recurrent, w[1].T)


def test_lstm_without_bias(rng):
    w = _torch_weights(rng, 4)[:2]
    keras_w = layout.lstm_to_keras(*w)
    assert len(keras_w) == 2
    assert len(layout.lstm_from_keras(*keras_w)) == 2


@pytest.mark.parametrize("as_torch", [False, True])
@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_round_trip(rng, reset_after, as_torch):
    w = _torch_weights(rng, 3)
    if not reset_after:
        w[3] = np.zeros_like(w[3])
    arrays = [torch.from_numpy(a) for a in w] if as_torch else w
    keras_w = layout.gru_to_keras(*arrays, reset_after=reset_after)
    bias_shape = (2, 3 * UNITS) if reset_after else (3 * UNITS,)
    assert [tuple(a.shape) for a in keras_w] == [(FEATURES, 3 * UNITS), (UNITS, 3 * UNITS), bias_shape]
    back = layout.gru_from_keras(*keras_w, reset_after=reset_after)
    for a, b in zip(w, back):
        np.testing.assert_array_equal(a, np.asarray(b))


def test_gru_swaps_update_and_reset_blocks(rng):
    w = _torch_weights(rng, 3)
    kernel = layout.gru_to_keras(*w)[0]
    r, z, n = np.split(w[0], 3)
    np.testing.assert_array_equal(kernel, np.concatenate([z, r, n]).T)


@pytest.mark.parametrize("ih_gates, hh_gates", [(("r", "z"), ("r", "n")), (("z", "n"), ("r", "z", "n"))])
def test_gru_gate_subsets_round_trip(rng, ih_gates, hh_gates):
    w = _torch_weights(rng, len(ih_gates), len(hh_gates))
    kw = dict(ih_gates=ih_gates, hh_gates=hh_gates)
    back = layout.gru_from_keras(*layout.gru_to_keras(*w, **kw), **kw)
    for a, b in zip(w, back):
        np.testing.assert_array_equal(a, b)


def test_from_keras_returns_fresh_memory(rng):
    kernel, recurrent, bias = _rand(rng, FEATURES, 4 * UNITS), _rand(rng, UNITS, 4 * UNITS), _rand(rng, 4 * UNITS)
    t = torch.from_numpy(kernel)
    w_ih = layout.lstm_from_keras(t, torch.from_numpy(recurrent), torch.from_numpy(bias))[0]
    assert w_ih.is_contiguous() and w_ih.data_ptr() != t.data_ptr()


def test_reorder_gate_blocks_identity_and_errors(rng):
    w = _rand(rng, 6, 2)
    assert layout.reorder_gate_blocks(w, ("r", "z", "n"), ("r", "z", "n")) is w
    with pytest.raises(ValueError, match="same gates"):
        layout.reorder_gate_blocks(w, ("r", "z", "n"), ("r", "z", "h"))
    with pytest.raises(ValueError, match="gate blocks"):
        layout.reorder_gate_blocks(_rand(rng, 7, 2), ("r", "z", "n"), ("z", "r", "n"))


@pytest.mark.parametrize("call, match", [
    (lambda rng: layout.lstm_to_keras(_rand(rng, 20, 3), _rand(rng, 16, 5)), "weight_hh has shape"),
    (lambda rng: layout.lstm_from_keras(_rand(rng, 3, 20), _rand(rng, 5, 20), _rand(rng, 21)), "bias has shape"),
    (lambda rng: layout.gru_from_keras(_rand(rng, 3, 15), _rand(rng, 5, 15), _rand(rng, 15)), "bias has shape"),
    (lambda rng: layout.gru_to_keras(*_torch_weights(rng, 3)[:3], None), "pass bias_hh"),
    (lambda rng: layout.gru_from_keras(_rand(rng, 3, 15), _rand(rng, 5, 12)), "gate blocks"),
])
def test_shape_errors_are_clear(rng, call, match):
    with pytest.raises(ValueError, match=match):
        call(rng)


def test_type_error_for_non_arrays():
    with pytest.raises(TypeError, match="NumPy array or a torch tensor"):
        layout.lstm_to_keras([[1.0]], [[1.0]])


# ---------------------------------------------------------------------------- against real Keras
def _keras_layer(kind: str, **kw):
    keras.utils.set_random_seed(1)
    cls = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "simple": keras.layers.SimpleRNN}[kind]
    layer = cls(UNITS, return_sequences=True, return_state=True, bias_initializer="random_normal", **kw)
    return layer


def test_keras_lstm_into_lstmkit_nn(x):
    k = _keras_layer("lstm")
    expected = [_to_np(t) for t in k(x)]
    ours = lnn.LSTM(FEATURES, UNITS, batch_first=True)
    with torch.no_grad():
        for p, v in zip((ours.weight_ih_l0, ours.weight_hh_l0, ours.bias_ih_l0, ours.bias_hh_l0),
                        layout.lstm_from_keras(*k.get_weights())):
            p.copy_(torch.as_tensor(v))
        out, (h, c) = ours(torch.from_numpy(x))
    for got, want in zip((out, h[0], c[0]), expected):
        np.testing.assert_allclose(got.numpy(), want, **TOL)


@pytest.mark.parametrize("reset_after", [True, False])
def test_keras_gru_into_lstmkit_nn(x, reset_after):
    k = _keras_layer("gru", reset_after=reset_after)
    expected = [_to_np(t) for t in k(x)]
    ours = lnn.GRU(FEATURES, UNITS, batch_first=True, reset_after=reset_after)
    with torch.no_grad():
        for p, v in zip((ours.weight_ih_l0, ours.weight_hh_l0, ours.bias_ih_l0, ours.bias_hh_l0),
                        layout.gru_from_keras(*k.get_weights(), reset_after=reset_after)):
            p.copy_(torch.as_tensor(v))
        out, h = ours(torch.from_numpy(x))
    for got, want in zip((out, h[0]), expected):
        np.testing.assert_allclose(got.numpy(), want, **TOL)


def test_keras_simple_rnn_into_torch_rnn(x):
    k = _keras_layer("simple")
    expected = [_to_np(t) for t in k(x)]
    ours = torch.nn.RNN(FEATURES, UNITS, batch_first=True)
    with torch.no_grad():
        for p, v in zip(ours.parameters(), layout.simple_rnn_from_keras(*k.get_weights())):
            p.copy_(torch.as_tensor(v))
        out, h = ours(torch.from_numpy(x))
    for got, want in zip((out, h[0]), expected):
        np.testing.assert_allclose(got.numpy(), want, **TOL)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_torch_nn_into_keras(x, kind):
    """The other direction, with torch's two non-zero biases folded (LSTM) or kept (GRU)."""
    torch.manual_seed(2)
    ours = (torch.nn.LSTM if kind == "lstm" else torch.nn.GRU)(FEATURES, UNITS, batch_first=True)
    params = [p.detach().numpy() for p in ours.parameters()]
    convert = layout.lstm_to_keras if kind == "lstm" else layout.gru_to_keras
    k = _keras_layer(kind)
    k.build((None, STEPS, FEATURES))
    k.set_weights(convert(*params))
    with torch.no_grad():
        out = ours(torch.from_numpy(x))[0].numpy()
    np.testing.assert_allclose(_to_np(k(x)[0]), out, **TOL)
