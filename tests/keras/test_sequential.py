"""Sequential models: building (Input, legacy input_shape, build(), deferred), add/pop, masks,
summary, and parity with real Keras 3 (parameter counts, weight order, predictions)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from lstmkit.keras import layers
from lstmkit.keras.models import Sequential

# Keras 3 itself converts its variables with np.array(copy=False) under NumPy 2: not ours to fix.
pytestmark = [pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),  # Keras internals
              pytest.mark.usefixtures("fresh_names")]


def _slide_models(lib):
    """The slide deck's Sequential models, built with either library (``lib`` = keras or lstmkit.keras)."""
    L = lib.layers
    return {
        "lstm64": [L.Input((50, 1)), L.LSTM(64), L.Dense(1)],
        "stacked": [L.Input((50, 1)), L.LSTM(64, return_sequences=True), L.LSTM(32), L.Dense(1)],
        "bidirectional": [L.Input((50, 1)), L.Bidirectional(L.LSTM(64, return_sequences=True)),
                          L.Bidirectional(L.LSTM(32)), L.Dense(1)],
        "embedding": [L.Input((200,)), L.Embedding(10000, 100), L.LSTM(128), L.Dense(1, activation="sigmoid")],
        "gru": [L.Input((50, 1)), L.GRU(16, return_sequences=True), L.GRU(8), L.Dense(1)],
    }


@pytest.mark.parametrize("name", ["lstm64", "stacked", "bidirectional", "embedding"])
def test_slide_models_param_counts_match_keras(name):
    import lstmkit.keras as lk

    ours = Sequential(_slide_models(lk)[name])
    theirs = keras.Sequential(_slide_models(keras)[name])
    assert ours.count_params() == theirs.count_params()
    assert [la.count_params() for la in ours.layers] == [la.count_params() for la in theirs.layers]
    lines = []
    ours.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert f"Total params: {theirs.count_params():,}" in text
    assert "Layer (type)" in text and "Output Shape" in text and "Param #" in text


def test_lstm64_summary_numbers():
    model = Sequential([layers.LSTM(64, input_shape=(50, 1)), layers.Dense(1)])
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "16,896" in text and "Total params: 16,961 (66.25 KB)" in text
    assert "Trainable params: 16,961" in text and "Non-trainable params: 0 (0.00 B)" in text
    assert "(None, 64)" in text and "lstm (LSTM)" in text


@pytest.mark.parametrize("name", ["lstm64", "stacked", "bidirectional", "gru"])
def test_predictions_match_keras_with_copied_weights(name):
    import lstmkit.keras as lk

    ours = Sequential(_slide_models(lk)[name])
    theirs = keras.Sequential(_slide_models(keras)[name])
    ours.set_weights(theirs.get_weights())
    x = np.random.default_rng(1).standard_normal((5, 50, 1)).astype("float32")
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-4, atol=1e-5)


def test_list_add_pop_and_layers():
    model = Sequential(name="stack")
    model.add(layers.Input((4,)))
    model.add(layers.Dense(8, name="hidden"))
    assert model.built and model.output_shape == (None, 8)
    model.add(layers.Dense(2, name="head"))
    assert [la.name for la in model.layers] == ["hidden", "head"]
    assert model.output_shape == (None, 2)
    popped = model.pop()
    assert popped.name == "head" and model.output_shape == (None, 8)
    assert model.get_layer("hidden") is model.layers[0] and model.get_layer(index=0) is model.layers[0]
    assert model(np.ones((3, 4), "float32")).shape == (3, 8)


def test_legacy_input_shape_builds_at_once():
    model = Sequential([layers.Dense(3, input_shape=(5,)), layers.Dense(1)])
    assert model.built and model.input_shape == (None, 5) and model.count_params() == 18 + 4
    model = Sequential([layers.Dense(3, input_dim=5)])
    assert model.built and model.input_shape == (None, 5)


def test_deferred_build_and_explicit_build():
    model = Sequential([layers.Dense(3), layers.Dense(1)])
    assert not model.built
    printed = []
    model.summary(print_fn=printed.append)  # Keras prints "?" shapes and "0 (unbuilt)" instead of raising
    assert "0 (unbuilt)" in printed[0]
    out = model(np.ones((2, 7), "float32"))
    assert out.shape == (2, 1) and model.built and model.count_params() == 7 * 3 + 3 + 4
    other = Sequential([layers.Dense(3)])
    other.build((None, 6))
    assert other.built and other.count_params() == 21


def test_input_rank_and_shape_checks():
    model = Sequential([layers.Input((50, 1)), layers.LSTM(4)])
    x = np.zeros((2, 50), "float32")  # Keras adds the trailing 1
    assert model.predict(x, verbose=0).shape == (2, 4)
    with pytest.raises(ValueError, match=r"expects shape \(None, 50, 1\).*got shape \(2, 40, 1\)"):
        model(np.zeros((2, 40, 1), "float32"))


def test_masks_flow_embedding_to_lstm():
    model = Sequential([layers.Input((6,)), layers.Embedding(20, 4, mask_zero=True), layers.LSTM(3)])
    x = np.array([[3, 5, 7, 0, 0, 0]])
    short = np.array([[3, 5, 7]])
    trimmed = Sequential([layers.Input((3,)), model.layers[0], model.layers[1]], name="trimmed")
    np.testing.assert_allclose(model.predict(x, verbose=0), trimmed.predict(short, verbose=0), rtol=1e-5, atol=1e-6)


def test_add_errors():
    model = Sequential([layers.Dense(2, name="d")])
    with pytest.raises(ValueError, match="unique names"):
        model.add(layers.Dense(2, name="d"))
    with pytest.raises(TypeError, match="takes a lstmkit.keras layer"):
        model.add("dense")
    with pytest.raises(ValueError, match="first element"):
        model.add(layers.Input((3,)))
    with pytest.raises(TypeError, match="no layers"):
        Sequential().pop()
    with pytest.raises(ValueError, match="exactly one"):
        model.get_layer()
    with pytest.raises(ValueError, match="no layer named"):
        model.get_layer("nope")


def test_weights_roundtrip_and_order():
    model = Sequential([layers.Input((3,)), layers.Dense(2), layers.Dense(1)])
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(3, 2), (2,), (2, 1), (1,)]
    new = [np.full_like(w, k) for k, w in enumerate(weights)]
    model.set_weights(new)
    for got, want in zip(model.get_weights(), new):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError):
        model.set_weights(new[:2])
