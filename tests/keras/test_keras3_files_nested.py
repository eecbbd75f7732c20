"""Keras 3 files with nested models and shared layers, both ways (``.keras`` and ``.weights.h5``,
1e-5; see ``_keras3_roundtrip``): a Sequential or functional model used as a layer inside a
functional model or a Sequential (Keras stores its weights under ``layers/<sequential|functional>/
layers/...`` and its config inline), and one layer called on several inputs (Keras stores the
layer once, with one ``inbound_nodes`` entry per call, and later calls refer to its outputs by
node index)."""

from __future__ import annotations

import json
import zipfile

import pytest

from tests.keras._keras3_roundtrip import keras_to_lstmkit, lstmkit_to_keras

pytestmark = pytest.mark.usefixtures("one_thread")
T, F = 5, 3


def _encoder_seq(m, name="encoder"):
    return m.Sequential([m.Input((T, F)), m.layers.LSTM(4, return_sequences=True), m.layers.LSTM(3)], name=name)


def _encoder_functional(m, name="encoder"):
    x = m.Input((T, F))
    h = m.layers.GRU(3, return_sequences=True)(x)
    return m.Model(x, m.layers.Dense(2)(m.layers.Concatenate()([h, x])), name=name)


def seq_in_functional(m):
    x = m.Input((T, F))
    return m.Model(x, m.layers.Dense(2)(_encoder_seq(m)(x)))


def functional_in_functional(m):
    x = m.Input((T, F))
    return m.Model(x, m.layers.LSTM(2)(_encoder_functional(m)(x)))


def functional_in_seq(m):
    return m.Sequential([m.Input((T, F)), _encoder_functional(m), m.layers.Flatten(), m.layers.Dense(1)])


def seq_in_seq(m):
    inner = m.Sequential([m.Input((T, F)), m.layers.Dense(4), m.layers.GRU(2)], name="inner")
    return m.Sequential([m.Input((T, F)), inner, m.layers.Dense(1)])


def two_levels(m):
    """A Sequential inside a functional model inside a functional model, beside a second Sequential
    (two nested models of one class: ``sequential`` and ``sequential_1`` in the HDF5 file)."""
    x = m.Input((T, F))
    middle = m.Model(x, m.layers.Dense(2)(_encoder_seq(m, "deep")(x)), name="middle")
    y = m.Input((T, F))
    return m.Model(y, m.layers.Add()([middle(y), m.layers.Dense(2)(_encoder_seq(m, "other")(y))]))


def siamese(m):
    """One LSTM encoder called on two inputs, then the distance of the two codes."""
    a, b = m.Input((T, F)), m.Input((T, F))
    encode = m.layers.LSTM(3)
    ea, eb = encode(a), encode(b)
    return m.Model([a, b], m.layers.Dense(1)(m.layers.Subtract()([ea, eb])))


def shared_three_calls(m):
    """A Dense called three times, its second call's output reused by a later layer."""
    a = m.Input((T, F))
    dense = m.layers.Dense(3)
    first = dense(a)
    second = dense(first)
    third = dense(m.layers.Add()([second, first]))
    return m.Model(a, [third, m.layers.GRU(2)(second)])


def shared_out_of_order(m):
    """A layer called on ``b`` before ``a`` and once outside the model (a call the model must not
    count), the outputs listed in the other order: node indices follow each side's own numbering."""
    a, b = m.Input((T, F)), m.Input((T, F))
    dense = m.layers.Dense(2)
    dense(m.Input((T, F)))  # not part of the model
    from_b = dense(b)
    from_a = dense(a)
    return m.Model([a, b], [from_a, m.layers.Multiply()([from_b, from_a]), from_b])


def shared_nested_model(m):
    """A whole Sequential encoder shared by two inputs (siamese on a nested model)."""
    a, b = m.Input((T, F)), m.Input((T, F))
    encoder = _encoder_seq(m)
    return m.Model([a, b], m.layers.Dot(axes=1, normalize=True)([encoder(a), encoder(b)]))


def shared_bidirectional(m):
    a, b = m.Input((T, F)), m.Input((T, F))
    bi = m.layers.Bidirectional(m.layers.GRU(2, return_sequences=True))
    return m.Model([a, b], m.layers.Concatenate()([bi(a), bi(b)]))


CASES = {f.__name__: f for f in (seq_in_functional, functional_in_functional, functional_in_seq, seq_in_seq,
                                 two_levels, siamese, shared_three_calls, shared_out_of_order, shared_nested_model,
                                 shared_bidirectional)}


@pytest.mark.parametrize("case", sorted(CASES))
def test_keras_files_load_in_lstmkit(tmp_path, case) -> None:
    keras_to_lstmkit(CASES[case], tmp_path)


@pytest.mark.parametrize("case", sorted(CASES))
def test_lstmkit_files_load_in_keras(tmp_path, case) -> None:
    lstmkit_to_keras(CASES[case], tmp_path)


def test_shared_layer_is_stored_once_with_one_node_per_call(tmp_path) -> None:
    """lstmkit writes Keras' form: one layer entry, two inbound nodes, outputs by node index."""
    import lstmkit.keras as lk

    model = siamese(lk)
    model.save(tmp_path / "s.keras")
    with zipfile.ZipFile(tmp_path / "s.keras") as zf:
        config = json.loads(zf.read("config.json"))["config"]
    lstms = [e for e in config["layers"] if e["class_name"] == "LSTM"]
    assert len(lstms) == 1 and len(lstms[0]["inbound_nodes"]) == 2
    sub = next(e for e in config["layers"] if e["class_name"] == "Subtract")
    refs = [t["config"]["keras_history"] for t in sub["inbound_nodes"][0]["args"][0]]
    assert refs == [[lstms[0]["name"], 0, 0], [lstms[0]["name"], 1, 0]]
