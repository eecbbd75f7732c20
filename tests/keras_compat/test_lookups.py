"""Keras 3's own tests of StringLookup, IntegerLookup and CategoryEncoding
(keras/src/layers/preprocessing/{string,integer}_lookup_test.py, category_encoding_test.py), ported
to lstmkit.keras with their expected values.

Skipped or adapted, and why:
- tf.data / grain / tf.SparseTensor / tf.RaggedTensor tests (test_tf_data_compatibility,
  test_adapt_with_grain_dataset, test_sparse_inputs, test_sparse_output*, test_tensor_as_vocab,
  the "sparse" cases of CategoryEncoding): TensorFlow- and grain-only.
- test_invert_lookup_basic: TensorFlow-only (returns a tf string tensor); the torch-backend
  behaviour (a list of str) is test_torch_backend_compatibility, ported.
- test_oov_method_farmhash_output_is_correct, test_salt_siphash: their expected buckets come from
  TensorFlow's FarmHash/SipHash; our OOV hash is BLAKE2b (documented in index_lookup), so only the
  bucket range and "a salt changes buckets" are checked.
- test_one_hot_symbolic_output_shape_nested_input: string inputs cannot be symbolic here (there
  is no string tensor in torch); its eager half is ported.
- test_vocabulary_file's save/reload: our config carries the vocabulary itself, so the file is
  not needed after construction (checked), and get_config()["vocabulary"] holds it.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit.keras import layers
from lstmkit.keras.models import Sequential

pytestmark = pytest.mark.usefixtures("fresh_names")


def _np(x):
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _roundtrip(layer):
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


# ------------------------------------------------------------------ StringLookup
def test_string_config():
    layer = layers.StringLookup(output_mode="int", vocabulary=["a", "b", "c"], oov_token="[OOV]",
                                mask_token="[MASK]")
    _roundtrip(layer)
    assert layer.get_config()["vocabulary"][-3:] == ["a", "b", "c"]


def test_string_vocabulary_file(tmp_path):
    vocab_path = tmp_path / "vocab.txt"
    vocab_path.write_text("a\nb\nc\n")
    layer = layers.StringLookup(output_mode="int", vocabulary=str(vocab_path), oov_token="[OOV]", mask_token="[MASK]",
                                name="index")
    assert [str(v) for v in layer.get_vocabulary()] == ["[MASK]", "[OOV]", "a", "b", "c"]
    vocab_path.unlink()
    reloaded = layers.StringLookup.from_config(layer.get_config())
    assert reloaded.get_vocabulary() == ["[MASK]", "[OOV]", "a", "b", "c"]
    Sequential([layer])  # can stand in a model


def test_string_adapt_flow():
    layer = layers.StringLookup(output_mode="int")
    layer.adapt(["a", "a", "a", "b", "b", "c"])
    output = layer(["b", "c", "d"])
    assert isinstance(output, torch.Tensor)
    np.testing.assert_array_equal(_np(output), [2, 3, 0])
    assert "a" in layer.get_vocabulary()


def test_string_adapt_with_generator():
    def vocab_gen():
        yield ["cat", "dog"]
        yield ["bird", "cat"]

    layer = layers.StringLookup()
    layer.adapt(vocab_gen())
    assert {"cat", "dog", "bird"} <= set(layer.get_vocabulary())


def test_string_adapt_with_infinite_generator_and_steps():
    def vocab_gen():
        while True:
            yield ["cat", "dog", "bird"]

    layer = layers.StringLookup()
    layer.adapt(vocab_gen(), steps=3)
    assert "cat" in layer.get_vocabulary()


@pytest.mark.parametrize("how", ["init", "set"])
def test_string_fixed_and_set_vocabulary(how):
    if how == "init":
        layer = layers.StringLookup(output_mode="int", vocabulary=["a", "b", "c"])
    else:
        layer = layers.StringLookup(output_mode="int")
        layer.set_vocabulary(["a", "b", "c"])
    output = layer(["b", "c", "d"])
    assert isinstance(output, torch.Tensor)
    np.testing.assert_array_equal(_np(output), [2, 3, 0])


def test_string_torch_backend_compatibility():
    forward_lookup = layers.StringLookup(vocabulary=["a", "b", "c"], oov_token="[OOV]")
    output_numeric = forward_lookup(["a", "b", "[OOV]", "d"])
    assert isinstance(output_numeric, torch.Tensor)
    np.testing.assert_array_equal(_np(output_numeric), [1, 2, 0, 0])
    inverse_lookup = layers.StringLookup(vocabulary=["a", "b", "c"], oov_token="[OOV]", invert=True)
    output_string = inverse_lookup(torch.tensor([1, 2, 0], dtype=torch.int64))
    assert output_string == ["a", "b", "[OOV]"]


def test_string_output_mode_count_shape():
    layer = layers.StringLookup(vocabulary=["a", "b"], output_mode="count")
    assert layer(["a", "a", "a", "b", "b"]).shape[-1] == len(layer.get_vocabulary())


def test_string_output_mode_multi_hot_binary():
    layer = layers.StringLookup(vocabulary=["a", "b"], output_mode="multi_hot")
    np.testing.assert_array_equal(_np(layer(["a", "b"])), [0, 1, 1])


def test_string_mask_token_basic():
    layer = layers.StringLookup(vocabulary=["a"], mask_token="[MASK]")
    assert int(layer(["[MASK]", "a"])[0]) == 0


def test_string_get_vocabulary_include_special_tokens_false():
    layer = layers.StringLookup(vocabulary=["a", "b", "c"])
    assert layer.get_vocabulary(include_special_tokens=False) == ["a", "b", "c"]


def test_string_one_hot_nested_input_eager():
    layer = layers.StringLookup(max_tokens=20, num_oov_indices=4, oov_token="[UNK]",
                                vocabulary=["a", "b", "c", "d", "e", "f", "g", "h", "i"], output_mode="one_hot",
                                pad_to_max_tokens=True, sparse=False)
    eager_output = layer(np.array([[["a", "b"], ["c", "d"]], [["a", "b"], ["c", "d"]]]))
    assert tuple(eager_output.shape) == (2, 2, 2, 20)


def test_string_salt_changes_oov_buckets():
    vocab = ["a", "b", "c"]
    oov_values = ["x", "y", "z", "w", "v", "u"]
    plain = _np(layers.StringLookup(vocabulary=vocab, num_oov_indices=4)(oov_values))
    salted = _np(layers.StringLookup(vocabulary=vocab, num_oov_indices=4, salt=[137, 42])(oov_values))
    assert not np.array_equal(plain, salted)
    assert set(plain) | set(salted) <= {0, 1, 2, 3}


# ------------------------------------------------------------------ IntegerLookup
def test_integer_config():
    _roundtrip(layers.IntegerLookup(output_mode="int", vocabulary=[1, 2, 3], oov_token=1, mask_token=0))


def test_integer_adapt_flow():
    adapt_data = [1, 1, 1, 2, 2, 3]
    single, batch = [1, 2, 4], [[1, 2, 4], [2, 3, 5]]
    layer = layers.IntegerLookup(output_mode="int")
    layer.adapt(adapt_data)
    np.testing.assert_array_equal(_np(layer(single)), [1, 2, 0])
    np.testing.assert_array_equal(_np(layer(batch)), [[1, 2, 0], [2, 3, 0]])
    layer = layers.IntegerLookup(output_mode="one_hot")
    layer.adapt(adapt_data)
    np.testing.assert_array_equal(_np(layer(single)), [[0, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 0]])
    layer = layers.IntegerLookup(output_mode="multi_hot")
    layer.adapt(adapt_data)
    np.testing.assert_array_equal(_np(layer(single)), [1, 1, 1, 0])
    layer = layers.IntegerLookup(output_mode="tf_idf")
    layer.adapt(adapt_data)
    np.testing.assert_allclose(_np(layer(single)), [1.133732, 0.916291, 1.098612, 0.0], rtol=1e-5, atol=1e-6)
    layer = layers.IntegerLookup(output_mode="count")
    layer.adapt(adapt_data)
    np.testing.assert_array_equal(_np(layer([1, 2, 3, 4, 1, 2, 1])), [1, 3, 2, 1])


@pytest.mark.parametrize("how", ["init", "set"])
def test_integer_fixed_and_set_vocabulary(how):
    if how == "init":
        layer = layers.IntegerLookup(output_mode="int", vocabulary=[1, 2, 3, 4])
    else:
        layer = layers.IntegerLookup(output_mode="int")
        layer.set_vocabulary([1, 2, 3, 4])
    np.testing.assert_array_equal(_np(layer([2, 3, 4, 5])), [2, 3, 4, 0])


def test_integer_one_hot_output_with_higher_rank_input():
    input_data = np.array([[1, 2], [3, 0]])
    layer = layers.IntegerLookup(vocabulary=[1, 2, 3], output_mode="one_hot")
    expected = np.array([[[0, 1, 0, 0], [0, 0, 1, 0]], [[0, 0, 0, 1], [1, 0, 0, 0]]])
    out = layer(input_data)
    assert tuple(out.shape) == (2, 2, 4)
    np.testing.assert_array_equal(_np(out), expected)
    out3 = layer(np.expand_dims(input_data, axis=0))
    assert tuple(out3.shape) == (1, 2, 2, 4)
    np.testing.assert_array_equal(_np(out3), expected[None])


@pytest.mark.parametrize("mode, extra", [("multi_hot", {}), ("count", {}), ("tf_idf", {"idf_weights": [1.0] * 3})])
def test_integer_encoded_output_shape(mode, extra):
    layer = layers.IntegerLookup(vocabulary=[1, 2, 3], output_mode=mode, **extra)
    assert tuple(layer(np.array([[1, 2], [3, 0]])).shape) == (2, 4)


def test_integer_max_tokens_mask_invert_pad():
    layer = layers.IntegerLookup(output_mode="int", max_tokens=4)
    layer.adapt([1, 2, 3, 4, 5, 6, 1, 1, 2, 2])
    assert len(layer.get_vocabulary()) == 4
    layer = layers.IntegerLookup(output_mode="int", vocabulary=[1, 2, 3], mask_token=0)
    np.testing.assert_array_equal(_np(layer([0, 1, 2, 3])), [0, 2, 3, 4])
    layer = layers.IntegerLookup(vocabulary=[10, 20, 30], invert=True)
    np.testing.assert_array_equal(_np(layer([1, 2, 3, 0])), [10, 20, 30, -1])
    layer = layers.IntegerLookup(vocabulary=[1, 2], output_mode="multi_hot", max_tokens=5, pad_to_max_tokens=True)
    assert layer([1, 2]).shape[-1] == 5


def test_integer_num_oov_indices():
    layer = layers.IntegerLookup(vocabulary=[1, 2, 3], num_oov_indices=2, output_mode="int")
    output = _np(layer([1, 2, 3, 999, 1000]))
    np.testing.assert_array_equal(output[:3], [2, 3, 4])
    assert all(o in [0, 1] for o in output[3:])
    layer = layers.IntegerLookup(vocabulary=[1, 2, 3], num_oov_indices=0, output_mode="int")
    np.testing.assert_array_equal(_np(layer([1, 2, 3])), [0, 1, 2])


def test_integer_get_vocabulary():
    layer = layers.IntegerLookup(output_mode="int")
    layer.adapt([5, 5, 5, 10, 10, 15])
    vocab = layer.get_vocabulary()
    assert vocab[0] == -1 and vocab[1] == 5


@pytest.mark.parametrize("kwargs", [{"max_tokens": 1}, {"num_oov_indices": -1}, {"vocabulary_dtype": "int32"},
                                    {"vocabulary": [1, 2, 3], "num_oov_indices": 2, "oov_method": "invalid_method"}])
def test_integer_invalid_arguments(kwargs):
    with pytest.raises(ValueError):
        layers.IntegerLookup(**kwargs)


def test_integer_adapt_with_steps():
    layer = layers.IntegerLookup(output_mode="int")
    layer.adapt(iter([[1, 2], [3, 1], [1]]), steps=2)
    assert 1 in layer.get_vocabulary()


def test_integer_vocabulary_from_file(tmp_path):
    vocab_file = tmp_path / "vocab.txt"
    vocab_file.write_text("10\n20\n30\n")
    layer = layers.IntegerLookup(vocabulary=str(vocab_file), output_mode="int")
    np.testing.assert_array_equal(_np(layer([10, 20, 30, 999])), [1, 2, 3, 0])


def test_integer_oov_method_farmhash_range_and_single_oov():
    layer = layers.IntegerLookup(vocabulary=[12, 36, 1138, 42], num_oov_indices=2, oov_method="farmhash")
    output = _np(layer(np.array([12, 36, 1138, 42, 100, 200])))
    np.testing.assert_array_equal(output[:4], [2, 3, 4, 5])
    assert all(o in [0, 1] for o in output[4:])
    a = layers.IntegerLookup(vocabulary=[1, 2, 3], num_oov_indices=1, oov_method="floormod")
    b = layers.IntegerLookup(vocabulary=[1, 2, 3], num_oov_indices=1, oov_method="farmhash")
    np.testing.assert_array_equal(_np(a([99, 100, 101])), _np(b([99, 100, 101])))


def test_integer_salt_changes_buckets():
    vocab, oov = [10, 20, 30], np.array([100, 300, 700, 1100, 1700, 2000])
    plain = layers.IntegerLookup(vocabulary=vocab, num_oov_indices=4, oov_method="farmhash")
    salted = layers.IntegerLookup(vocabulary=vocab, num_oov_indices=4, oov_method="farmhash", salt=[137, 42])
    assert not np.array_equal(_np(plain(oov)), _np(salted(oov)))


# ------------------------------------------------------------------ CategoryEncoding
def _symbolic(layer, shape, dtype="int32", **kwargs):
    out = layer(layers.Input(batch_shape=shape, dtype=dtype), **kwargs)
    assert out.dtype == torch.float32
    return out


@pytest.mark.parametrize("mode, data, expected", [
    ("count", [1, 2, 3, 1], [0, 2, 1, 1, 0, 0]),
    ("count", [[1, 2, 3, 1], [0, 3, 1, 0]], [[0, 2, 1, 1, 0, 0], [2, 1, 0, 1, 0, 0]]),
    ("multi_hot", [3, 2, 0, 1], [1, 1, 1, 1, 0, 0]),
    ("multi_hot", [[3, 2, 0, 1], [3, 2, 0, 1]], [[1, 1, 1, 1, 0, 0]] * 2),
    ("one_hot", [3, 2, 0, 1], [[0, 0, 0, 1, 0, 0], [0, 0, 1, 0, 0, 0], [1, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0]]),
    ("one_hot", [[3, 2, 0, 1]] * 2,
     [[[0, 0, 0, 1, 0, 0], [0, 0, 1, 0, 0, 0], [1, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0]]] * 2),
])
def test_category_encoding_outputs(mode, data, expected):
    data, expected = np.array(data), np.array(expected)
    layer = layers.CategoryEncoding(num_tokens=6, output_mode=mode)
    out = layer(data)
    assert tuple(out.shape) == expected.shape and out.dtype == torch.float32
    np.testing.assert_array_equal(_np(out), expected)
    assert _symbolic(layer, data.shape).shape == expected.shape
    assert tuple(out.shape) == layer.compute_output_shape(data.shape)


def test_category_encoding_count_weighted_output():
    data = np.array([[0, 1], [0, 0], [1, 2], [3, 1]])
    weights = np.array([[0.1, 0.2], [0.1, 0.1], [0.2, 0.3], [0.4, 0.2]])
    expected = np.array([[0.1, 0.2, 0, 0, 0, 0], [0.2, 0, 0, 0, 0, 0], [0, 0.2, 0.3, 0, 0, 0], [0, 0.2, 0, 0.4, 0, 0]])
    layer = layers.CategoryEncoding(num_tokens=6, output_mode="count")
    np.testing.assert_allclose(_np(layer(data, count_weights=weights)), expected, rtol=1e-6, atol=1e-7)
    out = _symbolic(layer, data.shape, count_weights=layers.Input(batch_shape=data.shape, dtype="float32"))
    assert out.shape == (4, 6)


@pytest.mark.parametrize("mode, data", [("multi_hot", np.array(4)), ("one_hot", np.array([[3], [2], [0], [1]])),
                                        ("one_hot", np.array((4,)))])
def test_category_encoding_compute_output_shape(mode, data):
    layer = layers.CategoryEncoding(num_tokens=6, output_mode=mode)
    assert tuple(layer(data).shape) == layer.compute_output_shape(data.shape)


def test_category_encoding_dtype_int32():
    layer = layers.CategoryEncoding(num_tokens=4, output_mode="one_hot", dtype="int32")
    out = layer(np.array([3, 2, 0, 1]))
    np.testing.assert_array_equal(_np(out), np.eye(4, dtype=int)[[3, 2, 0, 1]])


def test_category_encoding_errors():
    with pytest.raises(ValueError, match=r"num_tokens must be set to use this layer"):
        layers.CategoryEncoding(output_mode="multi_hot")
    for bad in (0, -1):
        with pytest.raises(ValueError, match=r"`num_tokens` must be >= 1"):
            layers.CategoryEncoding(num_tokens=bad, output_mode="multi_hot")
    with pytest.raises(ValueError, match=r"`count_weights` is not used when `output_mode`"):
        layers.CategoryEncoding(num_tokens=4, output_mode="multi_hot")(np.array([0, 1, 2, 3]),
                                                                       count_weights=np.array([0.1, 0.2, 0.3, 0.4]))
    with pytest.raises(ValueError, match=r"Unknown arg for output_mode: invalid_mode"):
        layers.CategoryEncoding(num_tokens=4, output_mode="invalid_mode")


def test_category_encoding_private_encode():
    layer = layers.CategoryEncoding(num_tokens=4, output_mode="one_hot")
    np.testing.assert_array_equal(_np(layer._encode(np.array([1, 2, 3, 1]))), np.eye(4)[[1, 2, 3, 1]])
    np.testing.assert_array_equal(_np(layer._encode(np.array([[3, 2, 0, 1]] * 2))), [np.eye(4)[[3, 2, 0, 1]]] * 2)
    count = layers.CategoryEncoding(num_tokens=4, output_mode="count")
    np.testing.assert_array_equal(_np(count(np.array([1, 2, 3, 1]))), [0, 2, 1, 1])
    np.testing.assert_array_equal(_np(count(np.array([[1, 2, 3, 1], [0, 3, 1, 0]]))), [[0, 2, 1, 1], [2, 1, 0, 1]])
