"""Text preprocessing: the legacy Tokenizer and TimeseriesGenerator against real Keras 3's copies
of them (keras.src.legacy.preprocessing), and TextVectorization against Keras' documented examples
and hand-computed cases (Keras' own layer needs TensorFlow)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from keras.src.legacy.preprocessing import sequence as keras_sequence
from keras.src.legacy.preprocessing import text as keras_text

import lstmkit.keras as lk
from lstmkit.keras.engine.input_layer import Input
from lstmkit.keras.engine.registry import deserialize, serialize
from lstmkit.keras.layers import TextVectorization
from lstmkit.keras.preprocessing.sequence import TimeseriesGenerator
from lstmkit.keras.preprocessing.text import (
    Tokenizer,
    hashing_trick,
    text_to_word_sequence,
    tokenizer_from_json,
)
from lstmkit.keras.utils import PyDataset

CORPUS = [
    "The cat sat on the mat.",
    "The dog ate my homework!",
    "Did the cat eat the dog's dinner? No, the DOG ate.",
    "A mat, a cat, a hat",
]
UNSEEN = ["the cat wore a hat", "zebras eat grass", ""]

TOKENIZER_CONFIGS = [
    {},
    {"num_words": 5},
    {"oov_token": "<OOV>"},
    {"num_words": 4, "oov_token": "<OOV>"},
    {"char_level": True},
    {"char_level": True, "oov_token": "?", "lower": False},
    {"lower": False, "filters": "!?."},
    {"split": ",", "filters": ""},
]

# ---------------------------------------------------------------------------- Tokenizer


def _config_id(config: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in config.items()) or "default"


@pytest.mark.parametrize("config", TOKENIZER_CONFIGS, ids=_config_id)
def test_tokenizer_matches_keras(config):
    ours, ref = Tokenizer(**config), keras_text.Tokenizer(**config)
    ours.fit_on_texts(CORPUS)
    ref.fit_on_texts(CORPUS)
    assert ours.word_index == ref.word_index
    assert ours.index_word == ref.index_word
    assert list(ours.word_counts.items()) == list(ref.word_counts.items())
    assert dict(ours.word_docs) == dict(ref.word_docs)
    assert dict(ours.index_docs) == dict(ref.index_docs)
    assert ours.document_count == ref.document_count
    texts = CORPUS + UNSEEN
    seqs = ours.texts_to_sequences(texts)
    assert seqs == ref.texts_to_sequences(texts)
    assert list(ours.texts_to_sequences_generator(texts)) == seqs
    probe = seqs + [[0, 1, 2, 99]]
    assert ours.sequences_to_texts(probe) == ref.sequences_to_texts(probe)
    for mode in ("binary", "count", "tfidf", "freq"):
        np.testing.assert_allclose(ours.texts_to_matrix(texts, mode=mode), ref.texts_to_matrix(texts, mode=mode),
                                   rtol=1e-12, err_msg=mode)
    assert json.loads(ours.to_json()) == json.loads(ref.to_json())


def test_tokenizer_oov_and_num_words_semantics():
    tok = Tokenizer(num_words=3, oov_token="<OOV>")
    tok.fit_on_texts(["b a a", "a c b"])
    assert tok.word_index == {"<OOV>": 1, "a": 2, "b": 3, "c": 4}  # OOV first; then by count, ties first-seen
    # num_words=3 keeps ids < 3 (the OOV id and 'a'); unknown and cut words map to the OOV id
    assert tok.texts_to_sequences(["a b c zebra"]) == [[2, 1, 1, 1]]
    assert tok.sequences_to_texts([[2, 3, 7]]) == ["a <OOV> <OOV>"]
    plain = Tokenizer(num_words=3)
    plain.fit_on_texts(["b a a", "a c b"])
    assert plain.texts_to_sequences(["a b c zebra"]) == [[1, 2]]


def test_tokenizer_single_string_is_iterated_by_character_like_keras():
    text = "hello world"
    ours, ref = Tokenizer(char_level=True), keras_text.Tokenizer(char_level=True)
    ours.fit_on_texts(text)
    ref.fit_on_texts(text)
    assert ours.word_index == ref.word_index
    assert ours.texts_to_sequences(text) == ref.texts_to_sequences(text)


def test_tokenizer_lists_of_words_and_fit_on_sequences_match_keras():
    docs = [["Hello", "world"], ["hello", "again", "world", "world"]]
    ours, ref = Tokenizer(), keras_text.Tokenizer()
    for tok in (ours, ref):
        tok.fit_on_texts(docs)
        tok.fit_on_sequences([[1, 2], [2, 3, 3]])
    assert ours.word_index == ref.word_index
    assert ours.document_count == ref.document_count == 4
    seqs = ours.texts_to_sequences(docs)
    np.testing.assert_allclose(ours.sequences_to_matrix(seqs, mode="tfidf"), ref.sequences_to_matrix(seqs, "tfidf"))


def test_tokenizer_json_round_trip_and_keras_interchange():
    tok = Tokenizer(num_words=6, oov_token="<OOV>")
    tok.fit_on_texts(CORPUS)
    texts = CORPUS + UNSEEN
    back = tokenizer_from_json(tok.to_json())
    assert back.word_index == tok.word_index and back.index_word == tok.index_word
    assert back.texts_to_sequences(texts) == tok.texts_to_sequences(texts)
    np.testing.assert_allclose(back.texts_to_matrix(texts, "tfidf"), tok.texts_to_matrix(texts, "tfidf"))
    back.fit_on_texts(["brand new words"])  # a restored tokenizer can keep learning
    assert "brand" in back.word_index
    from_keras = tokenizer_from_json(_fitted_keras_tokenizer().to_json())
    assert from_keras.texts_to_sequences(texts) == _fitted_keras_tokenizer().texts_to_sequences(texts)
    to_keras = keras_text.tokenizer_from_json(tok.to_json())
    assert to_keras.texts_to_sequences(texts) == tok.texts_to_sequences(texts)


def _fitted_keras_tokenizer():
    tok = keras_text.Tokenizer(num_words=6, oov_token="<OOV>")
    tok.fit_on_texts(CORPUS)
    return tok


@pytest.mark.parametrize("text, kwargs", [
    ("Hello, World! It's 5 o'clock.", {}),
    ("Hello, World!\tTabs\nand lines", {"lower": False}),
    ("a--b  c", {"filters": "-"}),
    ("x;y;;z", {"split": ";", "filters": ""}),
])
def test_text_to_word_sequence_matches_keras(text, kwargs):
    assert text_to_word_sequence(text, **kwargs) == keras_text.text_to_word_sequence(text, **kwargs)


def test_hashing_trick_md5_matches_keras():
    text = "The quick brown fox jumps over the lazy dog"
    ours = hashing_trick(text, 20, hash_function="md5")
    assert ours == keras_text.hashing_trick(text, 20, hash_function="md5")
    assert all(1 <= i < 20 for i in ours)


def test_tokenizer_errors():
    with pytest.raises(ValueError, match="Specify a dimension"):
        Tokenizer().sequences_to_matrix([[1]])
    tok = Tokenizer(num_words=5)
    with pytest.raises(ValueError, match="tfidf"):
        tok.sequences_to_matrix([[1]], mode="tfidf")
    tok.fit_on_texts(["a b"])
    with pytest.raises(ValueError, match="Unknown vectorization mode"):
        tok.texts_to_matrix(["a"], mode="onehot")
    with pytest.raises(TypeError, match="Unrecognized keyword"):
        Tokenizer(nums_words=3)
    with pytest.raises(TypeError, match="list of texts"):
        tok.fit_on_texts(5)
    with pytest.raises(TypeError, match="must be a str"):
        tok.texts_to_sequences([3])
    with pytest.raises(ValueError, match="num_words"):
        Tokenizer(num_words=-1)
    with pytest.raises(ValueError, match="not a Tokenizer JSON"):
        tokenizer_from_json('{"config": {}}')


# ---------------------------------------------------------------------------- TimeseriesGenerator


@pytest.mark.parametrize("kwargs", [
    {"length": 3},
    {"length": 4, "sampling_rate": 2, "batch_size": 3},
    {"length": 2, "stride": 3, "batch_size": 2, "reverse": True},
    {"length": 3, "start_index": 2, "end_index": 15, "batch_size": 4},
])
def test_timeseries_generator_matches_keras(kwargs):
    data = np.arange(40, dtype=np.float32).reshape(20, 2)
    targets = np.arange(20) * 10
    ours = TimeseriesGenerator(data, targets, **kwargs)
    ref = keras_sequence.TimeseriesGenerator(data, targets, **kwargs)
    assert len(ours) == len(ref)
    for k in range(len(ref)):
        (x, y), (rx, ry) = ours[k], ref[k]
        np.testing.assert_array_equal(x, rx)
        np.testing.assert_array_equal(y, ry)
    assert len(list(ours)) == len(ref)
    assert json.loads(ours.to_json())["config"]["data"] == json.dumps(data.tolist())


def test_timeseries_generator_errors():
    with pytest.raises(ValueError, match="same length"):
        TimeseriesGenerator(np.arange(5), np.arange(4), length=2)
    with pytest.raises(ValueError, match="is disallowed"):
        TimeseriesGenerator(np.arange(5), np.arange(5), length=5)
    with pytest.raises(ValueError, match="`length` must be a positive"):
        TimeseriesGenerator(np.arange(5), np.arange(5), length=0)
    with pytest.raises(TypeError):
        TimeseriesGenerator(np.arange(5), np.arange(5), length=2, workerz=2)


def test_timeseries_generator_is_a_py_dataset():
    gen = TimeseriesGenerator(np.arange(10), np.arange(10), length=2, batch_size=4, workers=2)
    assert isinstance(gen, PyDataset) and gen.num_batches == len(gen) == 2


# ---------------------------------------------------------------------------- TextVectorization


def _ids(layer, data):
    out = layer(data)
    assert out.dtype == torch.int64
    return out.tolist()


def test_adapt_order_and_keras_docstring_example():
    layer = TextVectorization(max_tokens=5000, output_mode="int", output_sequence_length=4)
    layer.adapt(["foo bar", "bar baz", "baz bada boom"])
    # by count, then ties by the token in descending order (Keras' lexsort)
    assert layer.get_vocabulary() == ["", "[UNK]", "baz", "bar", "foo", "boom", "bada"]
    assert _ids(layer, [["foo qux bar"], ["qux baz"]]) == [[4, 1, 3, 0], [1, 2, 0, 0]]
    assert _ids(layer, np.array(["foo qux bar", "qux baz"])) == [[4, 1, 3, 0], [1, 2, 0, 0]]


@pytest.mark.parametrize("how", ["constructor", "set_vocabulary"])
def test_fixed_vocabulary(how):
    kw = {"max_tokens": 5000, "output_sequence_length": 4}
    if how == "constructor":
        layer = TextVectorization(vocabulary=["baz", "bar", "foo"], **kw)
    else:
        layer = TextVectorization(**kw)
        layer.set_vocabulary(["baz", "bar", "foo"])
    assert _ids(layer, [["foo qux bar"], ["qux baz"]]) == [[4, 1, 3, 0], [1, 2, 0, 0]]
    assert layer.vocabulary_size() == 5
    assert layer.get_vocabulary(include_special_tokens=False) == ["baz", "bar", "foo"]


def test_vocabulary_with_special_tokens_is_taken_as_is():
    layer = TextVectorization(vocabulary=["", "[UNK]", "a", "b"])
    assert layer.get_vocabulary() == ["", "[UNK]", "a", "b"]
    assert _ids(layer, ["b a x"]) == [[3, 2, 1]]


def test_vocabulary_from_file(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("foo\nbar\nbaz\n")
    layer = TextVectorization(vocabulary=str(path))
    assert _ids(layer, ["foo bar baz unknown"]) == [[2, 3, 4, 1]]


def test_output_sequence_length_pads_and_truncates_at_the_end():
    layer = TextVectorization(vocabulary=list("abcdef"))
    assert _ids(layer, ["a b c", "d"]) == [[2, 3, 4], [5, 0, 0]]  # no length: the longest in the batch
    layer = TextVectorization(vocabulary=list("abcdef"), output_sequence_length=2)
    assert _ids(layer, ["a b c", "d"]) == [[2, 3], [5, 0]]
    assert _ids(layer, "e f a") == [6, 7]  # a single string: one row, no batch axis
    assert tuple(layer([]).shape) == (0, 2)


def test_max_tokens_keeps_the_most_frequent():
    layer = TextVectorization(max_tokens=5)
    layer.adapt(["a b c d e f g h i j", "c c d"])
    assert layer.get_vocabulary() == ["", "[UNK]", "c", "d", "j"]
    hot = TextVectorization(max_tokens=3, output_mode="multi_hot")
    hot.adapt(["a b c d e f g h i j", "c c d"])
    assert hot.get_vocabulary() == ["[UNK]", "c", "d"]


@pytest.mark.parametrize("standardize, vocab, text, expected", [
    ("lower_and_strip_punctuation", ["hello", "world", "this", "is", "nice", "test"],
     "Hello, World!. This is just a nice test!", [2, 3, 4, 5, 1, 1, 6, 7]),
    ("lower", ["hello,", "hello", "world", "this", "is", "nice", "test"],
     "Hello, World!. This is just a nice test!", [2, 1, 5, 6, 1, 1, 7, 1]),
    ("strip_punctuation", ["Hello", "World", "Test"], "Hello, World! Test.", [2, 3, 4]),
    (None, ["Hello", "world"], "Hello hello", [2, 1]),
    ("lower", ["École", "déjà"], "ÉCOLE DÉJÀ", [2, 1]),  # ASCII-only lowercasing, as tf.strings.lower
    ("lower_and_strip_punctuation", ["its", "a", "b"], "It's  a\tb\n", [2, 3, 4]),
])
def test_standardize_modes(standardize, vocab, text, expected):
    layer = TextVectorization(standardize=standardize, vocabulary=vocab)
    assert _ids(layer, [text]) == [expected]


def test_callable_standardize_gets_a_numpy_string_array():
    seen = []

    def np_standardize(arr):
        seen.append((type(arr), arr.dtype.kind))
        return np.char.replace(np.char.lower(arr), ",", "")

    layer = TextVectorization(standardize=np_standardize)
    layer.adapt(["Hello, world."])
    assert set(seen) == {(np.ndarray, "U")}
    assert "hello" in layer.get_vocabulary() and "world." in layer.get_vocabulary()


@pytest.mark.parametrize("split, vocab, data, expected", [
    ("character", list("abcde"), ["abcf"], [[2, 3, 4, 1]]),
    (lambda arr: [s.split("|") for s in arr], ["foo", "bar", "foobar"], ["foo|bar"], [[4]]),  # "|" is stripped first
    (lambda arr: [s.split("_") for s in arr], ["foo", "bar"], ["foo bar"], [[1]]),
    (None, ["foo", "bar", "baz"], [["foo"], ["bar"], ["unknown"]], [[2], [3], [1]]),
    (None, ["foo bar"], ["foo bar", "foo"], [[2], [1]]),
])
def test_split_modes(split, vocab, data, expected):
    layer = TextVectorization(split=split, vocabulary=vocab)
    assert _ids(layer, data) == expected


def test_ngrams():
    layer = TextVectorization(ngrams=2)
    layer.adapt(["foo bar baz"])
    assert {"foo", "bar", "baz", "foo bar", "bar baz"} == set(layer.get_vocabulary(include_special_tokens=False))
    tri = TextVectorization(ngrams=(1, 3))
    tri.adapt(["foo bar baz"])
    assert "foo bar baz" in tri.get_vocabulary() and "foo bar" not in tri.get_vocabulary()
    fixed = TextVectorization(ngrams=(1, 2), vocabulary=["a", "b", "a b"])
    assert _ids(fixed, ["a b c"]) == [[2, 3, 1, 4, 1]]  # unigrams a b c, then bigrams "a b" "b c"


def test_multi_hot_count_and_tf_idf_with_vocabulary():
    vocab = ["foo", "bar", "baz"]
    hot = TextVectorization(output_mode="multi_hot", vocabulary=vocab)
    out = hot([["foo bar"], ["baz foo foo"]])
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, torch.tensor([[0.0, 1, 1, 0], [0, 1, 0, 1]]))
    count = TextVectorization(output_mode="count", vocabulary=vocab)
    torch.testing.assert_close(count(["foo bar", "baz foo foo qux"]), torch.tensor([[0.0, 1, 1, 0], [1, 2, 0, 1]]))
    tfidf = TextVectorization(output_mode="tf_idf", vocabulary=vocab, idf_weights=[0.3, 0.5, 0.2])
    torch.testing.assert_close(tfidf(["foo bar", "baz foo foo"]), torch.tensor([[0.0, 0.3, 0.5, 0.0],
                                                                               [0.0, 0.6, 0.0, 0.2]]))
    # the unknown slot's weight is the mean weight, as Keras
    torch.testing.assert_close(tfidf(["qux qux"]), torch.tensor([[2 * np.mean([0.3, 0.5, 0.2]), 0, 0, 0]],
                                                                dtype=torch.float32))
    padded = TextVectorization(output_mode="multi_hot", vocabulary=["foo", "bar"], max_tokens=8,
                               pad_to_max_tokens=True)
    assert tuple(padded(["foo bar"]).shape) == (1, 8)
    assert tuple(hot("foo").shape) == (4,)


def test_tf_idf_adapt_matches_hand_computed_weights():
    layer = TextVectorization(output_mode="tf_idf")
    layer.adapt(["a b", "a", "c a a"])
    assert layer.get_vocabulary() == ["[UNK]", "a", "c", "b"]
    idf = np.log(1 + 3 / (1 + np.array([3.0, 1.0, 1.0])))  # N=3 docs; a in 3, c in 1, b in 1
    expected = np.array([[2 * idf.mean(), 2 * idf[0], 0, idf[2]]], dtype=np.float32)
    torch.testing.assert_close(layer(["a a b z x"]), torch.from_numpy(expected), rtol=1e-6, atol=1e-6)


def test_adapt_from_generators_bytes_and_steps():
    def batches():
        yield ["hello world", "foo bar"]
        yield np.array([b"baz qux", b"hello foo"])
        yield ["never seen"]

    layer = TextVectorization()
    layer.adapt(batches(), steps=2)
    assert layer.get_vocabulary() == ["", "[UNK]", "hello", "foo", "world", "qux", "baz", "bar"]
    assert _ids(layer, [b"Hello NEVER"]) == [[2, 1]]


@pytest.mark.parametrize("config_kwargs", [
    {"output_sequence_length": 5},
    {"ngrams": (1, 2), "max_tokens": 20},
    {"output_mode": "tf_idf", "max_tokens": 12, "pad_to_max_tokens": True},
    {"output_mode": "count", "split": "character", "standardize": None},
])
def test_config_round_trip_restores_the_vocabulary(config_kwargs):
    layer = TextVectorization(**config_kwargs)
    layer.adapt(["The cat sat", "the dog sat down", "a cat, a dog"])
    data = ["the cat sat down", "unknown dog"]
    config = json.loads(json.dumps(layer.get_config()))
    again = TextVectorization.from_config(config)
    assert again.get_vocabulary() == layer.get_vocabulary()
    torch.testing.assert_close(again(data), layer(data))
    restored = deserialize("layer", json.loads(json.dumps(serialize(layer))))
    torch.testing.assert_close(restored(data), layer(data))
    restored.adapt(["new words only"])  # an adapted layer stays adaptable after a round trip
    assert "w" in "".join(restored.get_vocabulary()) and restored.get_vocabulary() != layer.get_vocabulary()


def test_layer_basics():
    layer = lk.layers.TextVectorization(vocabulary=["a"])
    assert layer.weights == [] and layer.count_params() == 0
    fixed = TextVectorization.from_config(layer.get_config())
    with pytest.raises(ValueError, match="Cannot adapt"):
        fixed.adapt(["a b"])


@pytest.mark.parametrize("kwargs, match", [
    ({"output_mode": "one_hot"}, "`output_mode` must be one of"),
    ({"standardize": "upper"}, "`standardize` must be"),
    ({"split": "comma"}, "`split` must be"),
    ({"ngrams": "invalid"}, "`ngrams` must be"),
    ({"ngrams": 0}, "`ngrams` must be"),
    ({"output_mode": "multi_hot", "output_sequence_length": 5}, "must not be set"),
    ({"output_sequence_length": 2.5}, "`output_sequence_length` must be either None"),
    ({"max_tokens": 1}, "`max_tokens` must be an integer greater than 1"),
    ({"pad_to_max_tokens": True}, "must set `max_tokens`"),
    ({"idf_weights": [1.0], "vocabulary": ["a"]}, "`idf_weights` should only be set"),
    ({"output_mode": "tf_idf", "vocabulary": ["a"]}, "`idf_weights` argument must also be provided"),
    ({"vocabulary": ["a", "b", "a"]}, "repeated term"),
    ({"vocabulary": []}, "empty vocabulary"),
    ({"vocabulary": ["a", ""]}, "reserved mask token"),
    ({"vocabulary": ["a", ""], "output_mode": "count"}, "reserved mask token"),
    ({"vocabulary": ["a", "b", "c"], "max_tokens": 4}, "larger than the maximum vocab size"),
    ({"vocabulary": "/nonexistent/vocab.txt"}, "does not exist"),
    ({"ragged": True}, "TensorFlow backend"),
    ({"sparse": True}, "TensorFlow backend"),
])
def test_constructor_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TextVectorization(**kwargs)


def test_call_errors():
    with pytest.raises(RuntimeError, match="no vocabulary yet"):
        TextVectorization()(["a b"])
    layer = TextVectorization(vocabulary=["a"])
    for bad in ([1, 2], np.arange(3.0), torch.tensor([1, 2]), [None, "a"]):
        with pytest.raises(TypeError, match="strings"):
            layer(bad)
    with pytest.raises(ValueError, match="last shape dimension must be 1"):
        layer([["a", "b"]])
    with pytest.raises(TypeError, match="symbolic"):
        layer(Input(shape=(1,)))
    with pytest.raises(TypeError, match="adapt expects"):
        TextVectorization().adapt(torch.zeros(3))
