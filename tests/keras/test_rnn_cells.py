"""lstmkit.keras's cells and ``RNN`` against real Keras 3 (torch backend) and against lstmkit's own
LSTM / GRU / SimpleRNN: one step of each cell, whole sequences through ``RNN(cell)`` (masks,
go_backwards, initial states, return options, stacks), the fused path taken (a spy on the
kernel entry) and gradients reaching the cell's weights; plus dropout masks, nested inputs,
constants, stateful reset, config round trips, the functional API and clear errors.
Tolerance: 1e-5 (float32), unless stated."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit.keras import Input, Model, layers
from lstmkit.keras.layers.rnn import cell_base

keras = pytest.importorskip("keras")
pytestmark = [pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),
              pytest.mark.usefixtures("one_thread")]

TOL = dict(atol=1e-5, rtol=1e-5)
B, T, F, U = 3, 6, 5, 4
#: name -> (our cell, Keras' cell, our layer, kwargs for all three)
CELLS = {
    "lstm": ("LSTMCell", "LSTM", {}),
    "gru": ("GRUCell", "GRU", {}),
    "gru_reset_before": ("GRUCell", "GRU", {"reset_after": False}),
    "simple_rnn": ("SimpleRNNCell", "SimpleRNN", {}),
}
MASK = np.ones((B, T), dtype=bool)
MASK[1, 4:] = False  # post-padding
MASK[2, :2] = False  # pre-padding


def _np(t):
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else keras.ops.convert_to_numpy(t)


def _flat(x):
    return [a for item in x for a in _flat(item)] if isinstance(x, (list, tuple)) else [x]


def _weights(keras_layer, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(scale=0.5, size=w.shape).astype("float32") for w in keras_layer.get_weights()]


def _x(seed=1, shape=(B, T, F)):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


@pytest.mark.parametrize("name", CELLS)
def test_one_step_matches_keras(name):
    cell_name, _, kw = CELLS[name]
    ours, theirs = getattr(layers, cell_name)(U, **kw), getattr(keras.layers, cell_name)(U, **kw)
    n = 2 if name == "lstm" else 1
    x = _x(shape=(B, F))
    states = [np.random.default_rng(k).normal(size=(B, U)).astype("float32") for k in range(n)]
    theirs(x, states)
    ours(x, states)
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    weights = _weights(theirs)
    theirs.set_weights(weights)
    ours.set_weights(weights)
    k_out, k_states = theirs(x, states)
    o_out, o_states = ours(x, states)
    np.testing.assert_allclose(_np(o_out), _np(k_out), **TOL)
    for a, b in zip(_flat(o_states), _flat(k_states)):
        np.testing.assert_allclose(_np(a), _np(b), **TOL)
    assert ours.state_size == theirs.state_size and ours.output_size == theirs.output_size
    assert [tuple(s.shape) for s in ours.get_initial_state(batch_size=B)] == [(B, U)] * n


def test_gru_bias_shapes_as_keras():
    cell = layers.GRUCell(U)
    cell.build((None, F))
    assert tuple(cell.bias.shape) == (2, 3 * U)
    cell = layers.GRUCell(U, reset_after=False)
    cell.build((None, F))
    assert tuple(cell.bias.shape) == (3 * U,)


def test_lstm_cell_unit_forget_bias():
    cell = layers.LSTMCell(U)
    cell.build((None, F))
    np.testing.assert_array_equal(_np(cell.bias), np.r_[np.zeros(U), np.ones(U), np.zeros(2 * U)])


@pytest.fixture
def kernel_calls(monkeypatch):
    """Count the calls of lstmkit's fused LSTM / GRU kernels and of lstmkit.nn's stack."""
    from lstmkit.kernels import fused, fused_gru
    from lstmkit.nn.rnn import RecurrentStack

    calls = {"lstm": 0, "gru": 0, "stack": 0}

    def spy(key, fn):
        def wrapped(*args, **kwargs):
            calls[key] += 1
            return fn(*args, **kwargs)
        return wrapped

    monkeypatch.setattr(fused, "lstm_layer", spy("lstm", fused.lstm_layer))
    monkeypatch.setattr(fused_gru, "gru_recurrence", spy("gru", fused_gru.gru_recurrence))
    monkeypatch.setattr(RecurrentStack, "forward", spy("stack", RecurrentStack.forward))
    return calls


@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize("mask", [None, MASK], ids=["nomask", "mask"])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_rnn_of_cell_matches_keras_and_layer(name, mask, go_backwards, return_sequences, kernel_calls):
    from lstmkit.kernels import fused

    cell_name, layer_name, kw = CELLS[name]
    opts = dict(return_sequences=return_sequences, return_state=True, go_backwards=go_backwards)
    theirs = keras.layers.RNN(getattr(keras.layers, cell_name)(U, **kw), **opts)
    ours = layers.RNN(getattr(layers, cell_name)(U, **kw), **opts)
    layer = getattr(layers, layer_name)(U, **kw, **opts)
    x = _x()
    for net in (theirs, ours, layer):
        net(x)
    weights = _weights(theirs)
    for net in (theirs, ours, layer):
        net.set_weights(weights)
    expected = [_np(t) for t in _flat(theirs(x, mask=mask))]
    for k in kernel_calls:
        kernel_calls[k] = 0
    got = [_np(t) for t in _flat(ours(x, mask=mask))]
    assert kernel_calls["stack"] == 1  # the whole sequence in one lstmkit.nn call, no step loop
    if name in ("lstm", "gru") and fused.available():
        assert kernel_calls[name] == 1  # ... on lstmkit's fused kernels
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(a, b, **TOL)
    for a, b in zip([_np(t) for t in _flat(layer(x, mask=mask))], expected, strict=True):
        np.testing.assert_allclose(a, b, **TOL)


@pytest.mark.parametrize("name", CELLS)
def test_gradients_reach_the_cell_weights(name):
    """The fused path's gradients equal the step loop's (unroll=True), for every cell weight."""
    cell_name, _, kw = CELLS[name]
    fast = layers.RNN(getattr(layers, cell_name)(U, **kw), return_sequences=True)
    slow = layers.RNN(getattr(layers, cell_name)(U, **kw), return_sequences=True, unroll=True)
    x = torch.tensor(_x())
    fast(x)
    slow(x)
    slow.set_weights(fast.get_weights())
    grads = []
    for net in (fast, slow):
        net(x, mask=MASK).square().sum().backward()
        grads.append([w.grad.clone() for w in net.cell.weights])
    for a, b in zip(*grads, strict=True):
        assert a.abs().sum() > 0
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_stacked_cells_match_keras():
    ours = layers.RNN([layers.LSTMCell(U), layers.GRUCell(3), layers.SimpleRNNCell(2)], return_sequences=True,
                      return_state=True)
    theirs = keras.layers.RNN([keras.layers.LSTMCell(U), keras.layers.GRUCell(3), keras.layers.SimpleRNNCell(2)],
                              return_sequences=True, return_state=True)
    x = _x()
    ours(x)
    theirs(x)
    ours.set_weights(_weights(theirs))
    theirs.set_weights(_weights(theirs))
    for a, b in zip(_flat(ours(x, mask=MASK)), _flat(theirs(x, mask=MASK)), strict=True):
        np.testing.assert_allclose(_np(a), _np(b), **TOL)
    assert ours.cell.state_size == [[U, U], 3, 2] and ours.cell.output_size == 2


@pytest.mark.parametrize("name", CELLS)
def test_dropout_runs_the_step_loop_with_one_mask_per_sequence(name, monkeypatch):
    cell_name, _, kw = CELLS[name]
    cell = getattr(layers, cell_name)(U, dropout=0.5, recurrent_dropout=0.5, seed=3, **kw)
    rnn = layers.RNN(cell, return_sequences=True)
    x = np.ones((B, T, F), dtype="float32")
    rnn(x)
    drawn = []
    original = cell._create_dropout_mask
    monkeypatch.setattr(cell, "_create_dropout_mask", lambda *a: drawn.append(1) or original(*a))
    monkeypatch.setattr(cell_base.FamilyCell, "run_sequence", lambda *a, **k: pytest.fail("fused path in training"))
    out = rnn(x, training=True)
    assert len(drawn) == 2  # one input mask and one recurrent mask for all T steps
    assert not torch.equal(out, rnn(x, training=True))  # new masks for the next sequence
    monkeypatch.undo()
    inference = layers.RNN(getattr(layers, cell_name)(U, **kw), return_sequences=True)
    inference(x)
    inference.set_weights(rnn.get_weights())
    torch.testing.assert_close(rnn(x), inference(x))  # no dropout outside training


def test_dropout_masks_follow_the_seed():
    outs = []
    for _ in range(2):
        rnn = layers.RNN(layers.LSTMCell(U, dropout=0.3, recurrent_dropout=0.3, seed=11, kernel_initializer="ones",
                                          recurrent_initializer="ones"))
        outs.append(_np(rnn(np.ones((B, T, F), dtype="float32"), training=True)))
    np.testing.assert_array_equal(outs[0], outs[1])


class NestedCell(layers.Layer):
    """The Keras guide's NestedCell: two inputs and two states of different ranks."""

    def __init__(self, unit_1, unit_2, unit_3, **kwargs):
        super().__init__(**kwargs)
        self.unit_1, self.unit_2, self.unit_3 = unit_1, unit_2, unit_3
        self.state_size = [unit_1, (unit_2, unit_3)]
        self.output_size = [unit_1, (unit_2, unit_3)]

    def get_initial_state(self, batch_size=None):
        return [torch.zeros(batch_size, self.unit_1), torch.zeros(batch_size, self.unit_2, self.unit_3)]

    def build(self, input_shapes):
        self.add_weight("kernel_1", (input_shapes[0][1], self.unit_1), initializer="ones")
        self.add_weight("kernel_2_3", (*input_shapes[1][1:], self.unit_2, self.unit_3), initializer="ones")

    def call(self, inputs, states):
        (input_1, input_2), (s1, s2) = inputs, states
        output_1 = input_1 @ self.kernel_1
        output_2_3 = torch.einsum("bij,ijkl->bkl", input_2, self.kernel_2_3)
        return (output_1, output_2_3), (s1 + output_1, s2 + output_2_3)


def test_nested_inputs_and_outputs():
    x1, x2 = np.ones((2, 4, 3), dtype="float32"), np.ones((2, 4, 2, 2), dtype="float32")
    out, s1, s2 = layers.RNN(NestedCell(5, 2, 3), return_state=True)((x1, x2))
    np.testing.assert_allclose(_np(out[0]), np.full((2, 5), 3.0))
    np.testing.assert_allclose(_np(out[1]), np.full((2, 2, 3), 4.0))
    np.testing.assert_allclose(_np(s1), np.full((2, 5), 12.0))  # summed over the 4 steps
    np.testing.assert_allclose(_np(s2), np.full((2, 2, 3), 16.0))
    seq = layers.RNN(NestedCell(5, 2, 3), return_sequences=True)((x1, x2))
    assert tuple(seq[0].shape) == (2, 4, 5) and tuple(seq[1].shape) == (2, 4, 2, 3)
    in_1, in_2 = Input((None, 3)), Input((None, 2, 2))
    model = Model([in_1, in_2], layers.RNN(NestedCell(5, 2, 3))((in_1, in_2)))
    pred = model.predict([x1, x2], verbose=0)
    assert pred[0].shape == (2, 5) and pred[1].shape == (2, 2, 3)


class ConstantCell(layers.Layer):
    state_size = 2

    def call(self, inputs, states, constants=None):
        out = states[0] + inputs.sum(-1, keepdim=True) + constants[0]
        return out, [out]


def test_constants_reach_the_cell():
    out = layers.RNN(ConstantCell())(np.ones((2, 3, 4)), constants=[np.full((2, 2), 10.0)])
    np.testing.assert_allclose(_np(out), np.full((2, 2), 42.0))
    with pytest.raises(ValueError, match="constants"):
        layers.RNN(layers.SimpleRNNCell(2), unroll=True)(np.ones((2, 3, 4)), constants=[np.ones((2, 2))])


def test_stateful_reset_states_with_values():
    rnn = layers.RNN(layers.GRUCell(U), stateful=True, return_state=True)
    x = _x()
    _, h1 = rnn(x)
    _, h2 = rnn(x)
    assert not torch.allclose(h1, h2)  # the second batch continues from the first
    rnn.reset_states()
    _, h3 = rnn(x)
    torch.testing.assert_close(h1, h3)
    rnn.reset_states(states=[_np(h1)])
    _, h4 = rnn(x)
    torch.testing.assert_close(h2, h4)
    with pytest.raises(ValueError, match="reset_states"):
        rnn.reset_states(states=[np.zeros((B + 1, U))])
    with pytest.raises(ValueError, match="batch size"):
        rnn(_x(shape=(B + 1, T, F)))


@pytest.mark.parametrize("cells", [lambda: layers.LSTMCell(U, dropout=0.25, seed=2),
                                   lambda: [layers.GRUCell(U, reset_after=False), layers.SimpleRNNCell(2)]])
def test_config_round_trip(cells):
    rnn = layers.RNN(cells(), return_sequences=True, go_backwards=True)
    x = _x()
    rnn(x)
    clone = layers.RNN.from_config(rnn.get_config())
    assert clone.get_config() == rnn.get_config()
    clone(x)
    clone.set_weights(rnn.get_weights())
    torch.testing.assert_close(clone(x), rnn(x))


def test_cell_config_keys_match_keras():
    for name, (cell_name, _, kw) in CELLS.items():
        ours = set(getattr(layers, cell_name)(U, **kw).get_config())
        theirs = set(getattr(keras.layers, cell_name)(U, **kw).get_config())
        assert theirs - {"dtype"} <= ours, name


def test_functional_model_trains_the_cell():
    inp = Input((T, F))
    model = Model(inp, layers.Dense(1)(layers.RNN(layers.LSTMCell(U))(inp)))
    model.compile(optimizer="adam", loss="mse")
    before = [w.copy() for w in model.get_weights()]
    model.fit(_x(shape=(8, T, F)), np.ones((8, 1), dtype="float32"), epochs=1, verbose=0)
    assert all(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))


def test_errors():
    with pytest.raises(ValueError, match="state_size"):
        layers.RNN(layers.Dense(2))
    with pytest.raises(ValueError, match="units"):
        layers.LSTMCell(0)
    with pytest.raises(ValueError, match="dropout"):
        layers.GRUCell(2, dropout=1.5)
    with pytest.raises(ValueError, match="timesteps"):
        layers.RNN(layers.LSTMCell(2))(np.ones((2, 3)))
    with pytest.raises(ValueError, match="initial state"):
        layers.RNN(layers.LSTMCell(2))(np.ones((2, 3, 4)), initial_state=[np.zeros((2, 2))])
    with pytest.raises(ValueError, match="time dimension is undefined"):
        layers.RNN(layers.LSTMCell(2), unroll=True)(Input((None, 4)))
    for layer in (layers.LSTM(2, unroll=True), layers.GRU(2, unroll=True), layers.SimpleRNN(2, unroll=True)):
        with pytest.raises(ValueError, match="time dimension is undefined"):
            layer(Input((None, 4)))
        assert layer(Input((5, 4))).shape == (None, 2)


@pytest.mark.parametrize("layer_name", ["LSTM", "GRU", "SimpleRNN"])
def test_unroll_runs_the_loop_with_the_same_results(layer_name, monkeypatch):
    import lstmkit.nn._paths as paths

    fast = getattr(layers, layer_name)(U, return_sequences=True)
    slow = getattr(layers, layer_name)(U, return_sequences=True, unroll=True)
    x = _x()
    fast(x)
    slow(x)
    slow.set_weights(fast.get_weights())
    expected = fast(x, mask=MASK)
    steps = []
    original = paths.run_sequence
    monkeypatch.setattr(paths, "run_sequence", lambda *a, **k: steps.append(1) or original(*a, **k))
    torch.testing.assert_close(slow(x, mask=MASK), expected, atol=1e-5, rtol=1e-5)
    assert len(steps) == 1  # the plain-torch step loop ran
    assert slow.get_config()["unroll"] is True


def test_model_with_rnn_of_cells_saves_and_loads(tmp_path):
    from lstmkit.keras.models import load_model

    inp = Input((T, F))
    model = Model(inp, layers.RNN([layers.LSTMCell(U), layers.GRUCell(2, reset_after=False)])(inp))
    x = _x()
    model.save(tmp_path / "cells.keras")
    loaded = load_model(tmp_path / "cells.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), **TOL)
