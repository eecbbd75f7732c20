"""``RNN(cell)`` with dict (and nested dict) inputs, outputs and states, and functional models
with dict ``Input`` structures.

Keras 3's own ``RNN`` takes only a tensor (or a flat list) of sequences: given a dict it fails in
``build`` (``sequences_shape[0]``, KeyError), so the oracle here is Keras 3's cell itself, run
step by step in a Python loop with the same weights, which is what ``RNN`` means. Functional
models with dict inputs are compared with Keras 3's directly. Tolerance 1e-5 (float32).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit import keras as lk

keras = pytest.importorskip("keras")
pytestmark = [pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),
              pytest.mark.usefixtures("one_thread", "fresh_names")]

TOL = dict(atol=1e-5, rtol=1e-5)
B, T, U = 3, 4, 5
RNG = np.random.default_rng(0)
X = {"a": RNG.normal(size=(B, T, 2)).astype("float32"),
     "nested": {"b": RNG.normal(size=(B, T, 3)).astype("float32"),
                "c": RNG.normal(size=(B, T, 2, 2)).astype("float32")}}


def _np(t):
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else keras.ops.convert_to_numpy(t)


def make_cell(lib):
    """A cell reading a nested dict step input, returning a dict output and a dict state."""

    class DictCell(lib.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = {"h": units, "total": units}
            self.output_size = units

        def build(self, shape):
            self.ka = self.add_weight(shape=(shape["a"][-1], self.units), initializer="glorot_uniform", name="ka")
            self.kb = self.add_weight(shape=(shape["nested"]["b"][-1], self.units), initializer="glorot_uniform",
                                      name="kb")
            self.kc = self.add_weight(shape=(*shape["nested"]["c"][1:], self.units), initializer="glorot_uniform",
                                      name="kc")

        def call(self, inputs, states):
            ops = lib.ops
            drive = (ops.matmul(inputs["a"], self.ka) + ops.matmul(inputs["nested"]["b"], self.kb)
                     + ops.einsum("bij,iju->bu", inputs["nested"]["c"], self.kc))
            h = ops.tanh(drive + states["h"])
            total = states["total"] + h
            return {"h": h, "scaled": 0.5 * h}, {"h": h, "total": total}

    return DictCell(U)


def keras_loop(cell, x, mask=None, go_backwards=False):
    """What RNN(cell) means, on Keras 3's cell: (outputs per step, final state)."""
    steps = range(T - 1, -1, -1) if go_backwards else range(T)
    state = {"h": np.zeros((B, U), "float32"), "total": np.zeros((B, U), "float32")}
    prev = {"h": np.zeros((B, U), "float32"), "scaled": np.zeros((B, U), "float32")}
    outs = []
    for t in steps:
        step_x = {"a": x["a"][:, t], "nested": {k: v[:, t] for k, v in x["nested"].items()}}
        out, new = cell(step_x, state)
        out = {k: _np(v) for k, v in out.items()}
        new = {k: _np(v) for k, v in new.items()}
        if mask is not None:
            keep = mask[:, t][:, None]
            new = {k: np.where(keep, new[k], state[k]) for k in new}
            out = {k: np.where(keep, out[k], prev[k]) for k in out}
        outs.append(out)
        prev, state = out, new
    return outs, state


@pytest.fixture
def pair():
    ours, theirs = make_cell(lk), make_cell(keras)
    step = {"a": X["a"][:, 0], "nested": {k: v[:, 0] for k, v in X["nested"].items()}}
    zeros = {"h": np.zeros((B, U), "float32"), "total": np.zeros((B, U), "float32")}
    theirs(step, zeros)
    rnn = lk.layers.RNN(ours, return_sequences=True, return_state=True)
    rnn(X)
    weights = [RNG.normal(scale=0.5, size=w.shape).astype("float32") for w in theirs.get_weights()]
    theirs.set_weights(weights)
    ours.set_weights(weights)
    return ours, theirs


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_dict_inputs_outputs_states_match_the_keras_cell_loop(pair, go_backwards, masked):
    ours, theirs = pair
    mask = np.ones((B, T), bool)
    mask[1, 2:] = False
    mask = mask if masked else None
    rnn = lk.layers.RNN(ours, return_sequences=True, return_state=True, go_backwards=go_backwards)
    seq, state = rnn(X, mask=mask)
    outs, final = keras_loop(theirs, X, mask, go_backwards)
    assert set(seq) == {"h", "scaled"} and set(state) == {"h", "total"}
    for k in seq:
        np.testing.assert_allclose(_np(seq[k]), np.stack([o[k] for o in outs], axis=1), **TOL)
    for k in state:
        np.testing.assert_allclose(_np(state[k]), final[k], **TOL)
    last = lk.layers.RNN(ours, go_backwards=go_backwards)(X, mask=mask)
    np.testing.assert_allclose(_np(last["scaled"]), outs[-1]["scaled"], **TOL)


def test_dict_initial_state_and_stateful(pair):
    ours, _ = pair
    start = {"h": np.full((B, U), 0.1, "float32"), "total": np.ones((B, U), "float32")}
    rnn = lk.layers.RNN(ours, return_state=True)
    _, from_start = rnn(X, initial_state=start)
    _, from_zero = rnn(X)
    assert not np.allclose(_np(from_start["total"]), _np(from_zero["total"]))
    stateful = lk.layers.RNN(ours, stateful=True, return_state=True)
    stateful(X)
    _, second = stateful(X)
    expected = lk.layers.RNN(ours, return_state=True)(X, initial_state=stateful.states[0])[1]  # the kept state
    assert isinstance(stateful.states[0], dict)
    stateful.reset_states()
    _, again = stateful(X)
    np.testing.assert_allclose(_np(again["total"]), _np(from_zero["total"]), **TOL)
    assert set(expected) == set(second) == {"h", "total"}


def test_symbolic_shapes_and_functional_model_with_dict_inputs(pair, tmp_path):
    ours, theirs = pair
    ia, ib, ic = lk.Input((T, 2), name="a"), lk.Input((T, 3), name="b"), lk.Input((T, 2, 2), name="c")
    out, state = lk.layers.RNN(ours, return_state=True)({"a": ia, "nested": {"b": ib, "c": ic}})
    assert out["h"].shape == (None, U) and state["total"].shape == (None, U)
    model = lk.Model(inputs={"a": ia, "b": ib, "c": ic}, outputs={"h": out["h"], "total": state["total"]})
    feed = {"a": X["a"], **X["nested"]}
    pred = model.predict(feed, verbose=0)
    outs, final = keras_loop(theirs, X)
    np.testing.assert_allclose(pred["h"], outs[-1]["h"], **TOL)
    np.testing.assert_allclose(pred["total"], final["total"], **TOL)


@pytest.mark.parametrize("as_dict_outputs", [False, True])
def test_functional_dict_inputs_match_keras(as_dict_outputs):
    def build(lib):
        ia, ib = lib.Input((3,), name="a"), lib.Input((4,), name="b")
        joined = lib.layers.Concatenate()([lib.layers.Dense(2, name="da")(ia), ib])
        out = lib.layers.Dense(1, name="head")(joined)
        aux = lib.layers.Dense(2, name="aux")(ib)
        return lib.Model(inputs={"a": ia, "b": ib}, outputs={"out": out, "aux": aux} if as_dict_outputs else out)

    ours, theirs = build(lk), build(keras)
    ours.set_weights(theirs.get_weights())
    x = {"a": RNG.normal(size=(6, 3)).astype("float32"), "b": RNG.normal(size=(6, 4)).astype("float32")}
    got, want = ours.predict(x, verbose=0), theirs.predict(x, verbose=0)
    if as_dict_outputs:
        assert set(got) == set(want) == {"out", "aux"}
        for k in got:
            np.testing.assert_allclose(got[k], want[k], **TOL)
    else:
        np.testing.assert_allclose(got, want, **TOL)
    y = ({"out": np.ones((6, 1), "float32"), "aux": np.zeros((6, 2), "float32")} if as_dict_outputs
         else np.ones((6, 1), "float32"))
    ours.compile(optimizer="sgd", loss="mse")
    theirs.compile(optimizer="sgd", loss="mse")
    np.testing.assert_allclose(ours.evaluate(x, y, verbose=0), theirs.evaluate(x, y, verbose=0), rtol=1e-5)


def test_nested_guide_cell_state_shapes_without_get_initial_state():
    """``state_size = [n, (m, k)]``: the second state is one (batch, m, k) tensor (the guide's
    ``tf.TensorShape([unit_2, unit_3])``), zero-initialised by RNN."""

    class Shaped(lk.layers.Layer):
        def __init__(self):
            super().__init__()
            self.state_size = [2, (3, 4)]
            self.output_size = 2

        def call(self, inputs, states):
            s1, s2 = states
            return s1 + inputs.sum(-1, keepdims=True), (s1 + 1, s2 + 1)

    out, s1, s2 = lk.layers.RNN(Shaped(), return_state=True)(np.ones((2, 3, 5), "float32"))
    assert tuple(s2.shape) == (2, 3, 4) and float(s2.min()) == 3.0 and tuple(s1.shape) == (2, 2)


def test_bad_state_size_is_a_clear_error():
    class Bad(lk.layers.Layer):
        state_size = "four"

        def call(self, inputs, states):
            return inputs, states

    with pytest.raises(ValueError, match="state_size"):
        lk.layers.RNN(Bad())
