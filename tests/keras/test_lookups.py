"""StringLookup, IntegerLookup and CategoryEncoding.

Keras 3's lookups need TensorFlow (not installed), so they are checked against the examples of
Keras' own docstrings (keras/src/layers/preprocessing/{string,integer}_lookup.py, expected values
copied); CategoryEncoding runs on Keras' torch backend and is compared with it live. Plus input
types, invert round trips, tf-idf from adapt, configs, a functional model with IntegerLookup that
trains and saves, and errors.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch

import lstmkit.keras as lk
from lstmkit.keras import layers

pytestmark = [pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),
              pytest.mark.usefixtures("fresh_names")]

VOCAB = ["a", "b", "c", "d"]
DATA = [["a", "c", "d"], ["d", "z", "b"]]
DATA4 = [["a", "c", "d", "d"], ["d", "z", "b", "z"]]


def _np(x):
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


# ------------------------------------------------------------------ Keras' docstring examples
def test_string_lookup_docstring_examples():
    np.testing.assert_array_equal(_np(layers.StringLookup(vocabulary=VOCAB)(DATA)), [[1, 3, 4], [4, 0, 2]])
    adapted = layers.StringLookup()
    adapted.adapt(DATA)
    assert adapted.get_vocabulary() == ["[UNK]", "d", "z", "c", "b", "a"]
    np.testing.assert_array_equal(_np(adapted(DATA)), [[5, 3, 1], [1, 2, 4]])
    one_hot = layers.StringLookup(vocabulary=VOCAB, output_mode="one_hot")(["a", "b", "c", "d", "z"])
    np.testing.assert_array_equal(_np(one_hot), np.eye(5, dtype=int)[[1, 2, 3, 4, 0]])
    assert one_hot.dtype == torch.int64  # as Keras computes it (int64, its docstring says so)
    multi = layers.StringLookup(vocabulary=VOCAB, output_mode="multi_hot")(DATA4)
    np.testing.assert_array_equal(_np(multi), [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]])
    count = layers.StringLookup(vocabulary=VOCAB, output_mode="count")(DATA4)
    np.testing.assert_array_equal(_np(count), [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]])


@pytest.mark.parametrize("vocab, idf, first", [
    (VOCAB, [0.25, 0.75, 0.6, 0.4], 1.0),  # the OOV weight is the mean, 0.5
    (["[UNK]", *VOCAB], [0.9, 0.25, 0.75, 0.6, 0.4], 1.8),  # given with the special token
])
def test_string_lookup_tf_idf_docstring_examples(vocab, idf, first):
    layer = layers.StringLookup(output_mode="tf_idf")
    layer.set_vocabulary(vocab, idf_weights=idf)
    out = layer(DATA4)
    assert out.dtype == torch.float32
    np.testing.assert_allclose(_np(out), [[0, 0.25, 0, 0.6, 0.8], [first, 0, 0.75, 0, 0.4]], rtol=1e-6, atol=1e-7)


def test_string_lookup_invert_docstring_examples():
    forward = layers.StringLookup(vocabulary=VOCAB)
    inverse = layers.StringLookup(vocabulary=VOCAB, invert=True)
    expected = [["a", "c", "d"], ["d", "[UNK]", "b"]]
    assert inverse([[1, 3, 4], [4, 0, 2]]) == expected
    assert inverse(forward(DATA)) == expected
    assert inverse(np.int64(2)) == "b"


def test_string_lookup_multiple_oov_indices_shift_the_vocabulary():
    out = _np(layers.StringLookup(vocabulary=VOCAB, num_oov_indices=2)([["a", "c", "d"], ["m", "z", "b"]]))
    np.testing.assert_array_equal(out[0], [2, 4, 5])
    assert out[1, 2] == 3 and set(out[1, :2]) <= {0, 1}  # OOV strings hashed into slots 0-1


def test_integer_lookup_docstring_examples():
    vocab = [12, 36, 1138, 42]
    data = np.array([[12, 1138, 42], [42, 1000, 36]])
    np.testing.assert_array_equal(_np(layers.IntegerLookup(vocabulary=vocab)(data)), [[1, 3, 4], [4, 0, 2]])
    adapted = layers.IntegerLookup()
    adapted.adapt(data)
    assert adapted.get_vocabulary() == [-1, 42, 1138, 1000, 36, 12]
    np.testing.assert_array_equal(_np(adapted(data)), [[5, 2, 1], [1, 3, 4]])
    two_oov = layers.IntegerLookup(vocabulary=vocab, num_oov_indices=2)(np.array([[12, 1138, 42], [37, 1000, 36]]))
    np.testing.assert_array_equal(_np(two_oov), [[2, 4, 5], [1, 0, 3]])  # floormod: 37 % 2, 1000 % 2
    data4 = np.array([[12, 1138, 42, 42], [42, 7, 36, 7]])
    multi = layers.IntegerLookup(vocabulary=vocab, output_mode="multi_hot")(data4)
    np.testing.assert_array_equal(_np(multi), [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]])
    count = layers.IntegerLookup(vocabulary=vocab, output_mode="count")(data4)
    np.testing.assert_array_equal(_np(count), [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]])
    inverse = layers.IntegerLookup(vocabulary=vocab, invert=True)
    np.testing.assert_array_equal(_np(inverse(torch.tensor([[1, 3, 4], [4, 0, 2]]))), [[12, 1138, 42], [42, -1, 36]])


# ------------------------------------------------------------------ behaviour
def test_string_inputs_accept_bytes_numpy_and_scalars():
    layer = layers.StringLookup(vocabulary=["héllo", "b"])
    np.testing.assert_array_equal(_np(layer([b"h\xc3\xa9llo", "b", "x"])), [1, 2, 0])
    np.testing.assert_array_equal(_np(layer(np.array(["b", "héllo"]))), [2, 1])
    assert layer("b").shape == () and int(layer("b")) == 2


def test_mask_token_in_every_mode():
    vocab = ["a", "b"]
    np.testing.assert_array_equal(_np(layers.StringLookup(vocabulary=vocab, mask_token="")(["", "a", "q"])), [0, 2, 1])
    counts = layers.StringLookup(vocabulary=vocab, mask_token="", output_mode="count")([["", "a", "a", ""]])
    np.testing.assert_array_equal(_np(counts), [[0, 2, 0]])  # the mask token encodes as nothing
    inverse = layers.StringLookup(vocabulary=vocab, mask_token="", invert=True)
    assert inverse([0, 1, 2, 3, 9]) == ["", "[UNK]", "a", "b", "[UNK]"]


def test_adapt_tf_idf_documents_and_max_tokens():
    layer = layers.StringLookup(output_mode="tf_idf", max_tokens=3)
    layer.adapt([["a", "a", "b"], ["a", "c", "c"]])  # 2 documents
    assert layer.get_vocabulary() == ["[UNK]", "a", "c"]
    idf = np.log(1 + 2 / (1 + np.array([2.0, 1.0])))
    out = _np(layer([["a", "c", "c", "b"]]))
    np.testing.assert_allclose(out, [[idf.mean(), idf[0], 2 * idf[1]]], rtol=1e-6)


def test_num_oov_indices_zero_rejects_unknown_values():
    with pytest.raises(ValueError, match="num_oov_indices=0"):
        layers.StringLookup(vocabulary=["a"], num_oov_indices=0)(["a", "zz"])
    with pytest.raises(ValueError, match="num_oov_indices=0"):
        layers.IntegerLookup(vocabulary=[3], num_oov_indices=0)([3, 4])


@pytest.mark.parametrize("make, call, error, match", [
    (lambda: layers.StringLookup(vocabulary=["a"]), lambda la: la(np.array([1, 2])), TypeError, "strings"),
    (lambda: layers.StringLookup(vocabulary=["a"]), lambda la: la(layers.Input((2,))), TypeError, "eagerly"),
    (lambda: layers.StringLookup(vocabulary=["a"]), lambda la: la.adapt(["b"]), ValueError, "static vocabulary"),
    (lambda: layers.StringLookup(output_mode="one_hot"), lambda la: la(["a"]), RuntimeError, "vocabulary"),
    (lambda: layers.StringLookup(), lambda la: la.set_vocabulary(["a", "a"]), ValueError, "repeated"),
    (lambda: layers.StringLookup(max_tokens=3), lambda la: la.set_vocabulary(list("abc")), ValueError, "maximum"),
    (lambda: layers.StringLookup(mask_token="m"), lambda la: la.set_vocabulary(["a", "m"]), ValueError, "mask token"),
    (lambda: layers.StringLookup(), lambda la: la.set_vocabulary("/nonexistent/v.txt"), ValueError, "does not exist"),
])
def test_errors(make, call, error, match):
    with pytest.raises(error, match=match):
        call(make())


@pytest.mark.parametrize("kwargs, match", [
    ({"invert": True, "output_mode": "count"}, "invert"),
    ({"output_mode": "bogus"}, "output_mode"),
    ({"sparse": True}, "TensorFlow"),
    ({"idf_weights": [1.0]}, "idf_weights"),
    ({"output_mode": "tf_idf", "vocabulary": ["a"]}, "idf_weights"),
    ({"pad_to_max_tokens": True}, "max_tokens"),
    ({"salt": "x"}, "salt"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        layers.StringLookup(**kwargs)


@pytest.mark.parametrize("cls, kwargs, data", [
    (layers.StringLookup, {"output_mode": "tf_idf", "mask_token": "[M]"}, [["x", "y", "y"], ["z", "x", "[M]"]]),
    (layers.StringLookup, {"num_oov_indices": 3, "invert": False}, [["x", "y", "y"], ["z", "x", "q"]]),
    (layers.IntegerLookup, {"output_mode": "multi_hot", "max_tokens": 4}, [[1, 2, 2], [3, 1, 9]]),
])
def test_config_round_trip_keeps_the_adapted_vocabulary(cls, kwargs, data):
    layer = cls(**kwargs)
    layer.adapt(data)
    clone = cls.from_config(layer.get_config())
    assert clone.get_vocabulary() == layer.get_vocabulary()
    np.testing.assert_allclose(_np(clone(data)), _np(layer(data)))


def test_integer_lookup_in_a_functional_model_trains_and_saves(tmp_path):
    lookup = layers.IntegerLookup(output_mode="multi_hot")
    lookup.adapt(np.array([[3, 7, 7], [11, 3, 5]]))
    codes = layers.Input((3,), dtype="int64")
    out = layers.Dense(1, activation="sigmoid")(lookup(codes))  # Dense casts the int64 multi-hot to float
    model = lk.Model(codes, out)
    x = np.array([[3, 7, 7], [11, 3, 5], [5, 5, 99], [7, 11, 3]])
    y = np.array([[1.0], [0.0], [0.0], [1.0]], "float32")
    model.compile(optimizer="adam", loss="binary_crossentropy")
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=20, verbose=0)
    assert model.evaluate(x, y, verbose=0) < before
    model.save(tmp_path / "m.keras")
    loaded = lk.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


# ------------------------------------------------------------------ CategoryEncoding against Keras
@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
@pytest.mark.parametrize("data", [[2], [[1, 0, 3, 3]], [[3], [1]], [[[0, 1], [2, 2]], [[3, 0], [1, 1]]], 2])
def test_category_encoding_matches_keras(mode, data):
    data = np.array(data)
    want = keras.ops.convert_to_numpy(keras.layers.CategoryEncoding(num_tokens=5, output_mode=mode)(data))
    got = layers.CategoryEncoding(num_tokens=5, output_mode=mode)(data)
    assert got.dtype == torch.float32
    np.testing.assert_array_equal(_np(got), want)


def test_category_encoding_count_weights_match_keras():
    data = np.array([[0, 1, 1], [4, 4, 2]])
    weights = np.random.default_rng(0).random(data.shape).astype("float32")
    want = keras.layers.CategoryEncoding(num_tokens=5, output_mode="count")(data, count_weights=weights)
    got = layers.CategoryEncoding(num_tokens=5, output_mode="count")(data, count_weights=weights)
    np.testing.assert_allclose(_np(got), keras.ops.convert_to_numpy(want), rtol=1e-6)


def test_category_encoding_config_and_range_error():
    layer = layers.CategoryEncoding(num_tokens=3, output_mode="binary")
    assert layer.output_mode == "multi_hot"
    assert layers.CategoryEncoding.from_config(layer.get_config()).get_config() == layer.get_config()
    with pytest.raises(ValueError, match="num_tokens=3"):
        layer(np.array([0, 3]))
