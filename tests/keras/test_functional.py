"""Functional models: graph building and errors, multiple inputs/outputs (lists and dicts), shared
layers, nested models, masks, and parity with real Keras 3 (layer order, weights, predictions)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch

from lstmkit.keras import layers
from lstmkit.keras.models import Model, Sequential

# Keras 3 itself converts its variables with np.array(copy=False) under NumPy 2: not ours to fix.
pytestmark = [pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),  # Keras internals
              pytest.mark.usefixtures("fresh_names")]


def _two_in_two_out(lib):
    L = lib.layers
    a = L.Input((4,), name="a")
    b = L.Input((3,), name="b")
    h = L.Concatenate()([a, b])
    h = L.Dense(8, activation="relu", name="hidden")(h)
    o1 = L.Dense(1, name="out1")(h)
    o2 = L.Dense(3, activation="softmax", name="out2")(h)
    return lib.Model([a, b], [o1, o2])


def _data(n=6):
    rng = np.random.default_rng(0)
    return [rng.standard_normal((n, 4)).astype("float32"), rng.standard_normal((n, 3)).astype("float32")]


@pytest.mark.usefixtures("fresh_names")  # it reads automatic layer names
def test_multi_io_structure_and_parity_with_keras():
    import lstmkit.keras as lk

    ours, theirs = _two_in_two_out(lk), _two_in_two_out(keras)
    assert [la.name for la in ours.layers] == [la.name for la in theirs.layers]
    assert ours.output_names == ["out1", "out2"] and ours.input_shape == [(None, 4), (None, 3)]
    assert [w.shape for w in ours.get_weights()] == [tuple(w.shape) for w in theirs.get_weights()]
    ours.set_weights(theirs.get_weights())
    x = _data()
    got, want = ours.predict(x, verbose=0), theirs.predict(x, verbose=0)
    assert isinstance(got, list) and len(got) == 2
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    by_name = ours.predict({"a": x[0], "b": x[1]}, verbose=0)
    np.testing.assert_allclose(by_name[1], got[1], rtol=1e-6)
    assert ours.count_params() == theirs.count_params()


def test_layer_order_matches_keras_for_branches():
    def build(lib):
        L = lib.layers
        x = L.Input((5,), name="x")
        left = L.Dense(4, name="left2")(L.Dense(4, name="left1")(x))
        right = L.Dense(4, name="right")(x)
        return lib.Model(x, L.Add(name="add")([left, right]))

    import lstmkit.keras as lk

    assert [la.name for la in build(lk).layers] == [la.name for la in build(keras).layers]


def test_single_output_list_is_unpacked_and_dict_outputs():
    x = layers.Input((3,))
    model = Model(x, [layers.Dense(2)(x)])
    assert model(np.ones((4, 3), "float32")).shape == (4, 2)
    d = Model(x, {"p": layers.Dense(1, name="p")(x), "q": layers.Dense(2, name="q")(x)})
    out = d.predict(np.ones((4, 3), "float32"), verbose=0)
    assert set(out) == {"p", "q"} and out["q"].shape == (4, 2)


def test_shared_layer_called_twice():
    shared = layers.Dense(3, name="shared")
    a, b = layers.Input((4,)), layers.Input((4,))
    model = Model([a, b], layers.Add()([shared(a), shared(b)]))
    assert sum(1 for la in model.layers if la is shared) == 1
    assert model.count_params() == 15
    xa, xb = np.ones((2, 4), "float32"), np.full((2, 4), 2.0, "float32")
    with torch.no_grad():
        want = shared(torch.from_numpy(xa)) + shared(torch.from_numpy(xb))
    np.testing.assert_allclose(model.predict([xa, xb], verbose=0), want.numpy(), rtol=1e-6)


def test_nested_models():
    inner = Sequential([layers.Input((4,)), layers.Dense(3, name="inner_dense")], name="inner")
    x = layers.Input((4,))
    y = layers.Dense(1, name="head")(inner(x))
    outer = Model(x, y)
    assert outer.count_params() == 15 + 4
    assert outer.get_layer("inner") is inner
    data = np.ones((2, 4), "float32")
    with torch.no_grad():
        want = outer.get_layer("head")(inner(torch.from_numpy(data)))
    np.testing.assert_allclose(outer.predict(data, verbose=0), want.numpy(), rtol=1e-6)
    lines = []
    outer.summary(print_fn=lines.append, expand_nested=True)
    assert any("inner_dense" in line for line in lines)


def test_disconnected_graph_is_rejected():
    a, b = layers.Input((2,), name="a"), layers.Input((2,), name="b")
    out = layers.Dense(1)(layers.Concatenate()([a, b]))
    with pytest.raises(ValueError, match="Graph disconnected.*'b'"):
        Model(a, out)
    with pytest.raises(TypeError, match="symbolic tensors"):
        Model(a, np.ones(2))
    with pytest.raises(ValueError, match="both inputs= and outputs="):
        Model(inputs=a)


def test_duplicate_layer_names_are_rejected():
    x = layers.Input((2,))
    y = layers.Dense(1, name="same")(layers.Dense(2, name="same")(x))
    with pytest.raises(ValueError, match="unique name"):
        Model(x, y)


def test_wrong_number_or_shape_of_inputs():
    model = _two_in_two_out(__import__("lstmkit.keras", fromlist=["layers"]))
    with pytest.raises(ValueError, match="expects 2 input"):
        model.predict(np.ones((2, 4), "float32"), verbose=0)
    with pytest.raises(ValueError, match="lacks"):
        model.predict({"a": np.ones((2, 4), "float32")}, verbose=0)
    with pytest.raises(ValueError, match=r"expects shape \(None, 3\)"):
        model.predict([np.ones((2, 4), "float32"), np.ones((2, 5), "float32")], verbose=0)


def test_masks_flow_in_functional_graph():
    tokens = layers.Input((6,), dtype="int64")
    emb = layers.Embedding(20, 4, mask_zero=True)
    lstm = layers.LSTM(3)
    model = Model(tokens, lstm(emb(tokens)))
    padded = np.array([[4, 2, 9, 0, 0, 0]])
    short = layers.Input((3,), dtype="int64")
    trimmed = Model(short, lstm(emb(short)))
    np.testing.assert_allclose(model.predict(padded, verbose=0), trimmed.predict(padded[:, :3], verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_config_roundtrip_rebuilds_same_graph():
    import lstmkit.keras as lk
    from lstmkit.keras.engine.registry import deserialize, serialize

    model = _two_in_two_out(lk)
    clone = deserialize("layer", serialize(model))
    assert [la.name for la in clone.layers] == [la.name for la in model.layers]
    clone.set_weights(model.get_weights())
    x = _data()
    for g, w in zip(clone.predict(x, verbose=0), model.predict(x, verbose=0)):
        np.testing.assert_allclose(g, w, rtol=1e-6)


def test_subclassed_model():
    class TwoLayer(Model):
        def __init__(self):
            super().__init__()
            self.hidden = layers.Dense(4, activation="tanh")
            self.out = layers.Dense(1)

        def call(self, inputs):
            return self.out(self.hidden(inputs))

    model = TwoLayer()
    assert model.name.startswith("two_layer")
    y = model(np.ones((3, 2), "float32"))
    assert y.shape == (3, 1) and len(model.weights) == 4 and model.count_params() == 12 + 5
    other = TwoLayer()
    other.build((None, 2))
    assert other.built and other.count_params() == 17


def test_layer_call_with_tensor_kwargs_encoder_decoder():
    from lstmkit.keras.engine.registry import deserialize, serialize

    enc_in, dec_in = layers.Input((None, 3)), layers.Input((None, 4))
    _, h, c = layers.LSTM(8, return_state=True)(enc_in)
    out = layers.Dense(4)(layers.LSTM(8, return_sequences=True)(dec_in, initial_state=[h, c]))
    model = Model([enc_in, dec_in], out)
    x = [np.random.default_rng(0).random((2, 5, 3), dtype=np.float32),
         np.random.default_rng(1).random((2, 6, 4), dtype=np.float32)]
    clone = deserialize("layer", serialize(model))
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    lines = []
    model.summary(print_fn=lines.append)
    assert "lstm[0][1]" in "".join(lines)
