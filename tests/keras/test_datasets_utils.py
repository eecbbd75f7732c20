"""keras.utils / keras.datasets: get_file (Keras' cache folder under a monkeypatched KERAS_HOME,
never a download), imdb and mnist against real Keras 3's loaders on the same data,
allow_pickle=False, text_dataset_from_directory's file order and split against Keras'
index_directory, tf.data-style dataset methods, and plot_model's dependency error.
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

import lstmkit.keras as lk
from lstmkit.keras.datasets import imdb, mnist
from lstmkit.keras.utils import BatchArray, get_file, text_dataset_from_directory, timeseries_dataset_from_array


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    home = tmp_path / "kh"
    (home / "datasets").mkdir(parents=True)
    monkeypatch.setenv("KERAS_HOME", str(home))
    return home


# ------------------------------------------------------------------ get_file
def test_get_file_finds_the_cached_file(keras_home):
    (keras_home / "datasets" / "f.csv").write_text("a,b\n")
    assert get_file("f.csv", origin="https://example.invalid/f.csv") == str(keras_home / "datasets" / "f.csv")
    assert get_file(origin="https://example.invalid/x/f.csv") == str(keras_home / "datasets" / "f.csv")


def test_get_file_missing_is_one_line_naming_the_path(keras_home):
    with pytest.raises(FileNotFoundError) as info:
        get_file("nope.npz", origin="https://example.invalid/nope.npz")
    message = str(info.value)
    assert "\n" not in message and str(keras_home / "datasets" / "nope.npz") in message and "never downloads" in message


def test_get_file_default_home_cache_dir_and_subdir(tmp_path, monkeypatch):
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=str(tmp_path / ".keras" / "datasets" / "a.txt")):
        get_file("a.txt", origin="u")
    (tmp_path / "c" / "models").mkdir(parents=True)
    (tmp_path / "c" / "models" / "w.bin").write_bytes(b"x")
    found = get_file("w.bin", cache_dir=tmp_path / "c", cache_subdir="models")
    assert found == str(tmp_path / "c" / "models" / "w.bin")


def test_get_file_hash_and_extract(keras_home):
    import hashlib
    import tarfile

    data = keras_home / "datasets" / "d.txt"
    data.write_text("hello")
    good = hashlib.sha256(b"hello").hexdigest()
    assert get_file("d.txt", file_hash=good).endswith("d.txt")
    assert get_file("d.txt", md5_hash=hashlib.md5(b"hello").hexdigest()).endswith("d.txt")
    with pytest.raises(ValueError, match="hash"):
        get_file("d.txt", file_hash="0" * 64)
    with tarfile.open(keras_home / "datasets" / "arc.tar.gz", "w:gz") as tar:
        tar.add(data, arcname="inner/d.txt")
    out = get_file("arc.tar.gz", extract=True)
    assert out.endswith("arc.tar.gz_extracted") and open(os.path.join(out, "inner", "d.txt")).read() == "hello"
    with pytest.raises(ValueError, match="never downloads"):
        get_file("d.txt", force_download=True)


# ------------------------------------------------------------------ datasets against real Keras
def _reviews(rng, n):
    return [[int(w) for w in rng.integers(0, 40, size=rng.integers(1, 12))] for _ in range(n)]  # Python ints, as Keras


@pytest.fixture
def imdb_files(keras_home, tmp_path):
    """Keras' pickled layout (read only by real Keras here) and our flat layout of the same data."""
    rng = np.random.default_rng(0)
    train, test = (_reviews(rng, 9), rng.integers(0, 2, 9)), (_reviews(rng, 7), rng.integers(0, 2, 7))
    pickled = tmp_path / "keras_imdb.npz"
    obj = {}
    for split, (x, y) in (("train", train), ("test", test)):
        arr = np.empty(len(x), dtype=object)
        arr[:] = x
        obj[f"x_{split}"], obj[f"y_{split}"] = arr, y
    np.savez(pickled, **obj)
    imdb.save_unpickled(keras_home / "datasets" / "imdb.npz", train, test)
    return pickled


@pytest.mark.parametrize("kwargs", [{}, {"num_words": 20, "skip_top": 3}, {"maxlen": 8, "seed": 5},
                                    {"start_char": None, "index_from": 0}, {"oov_char": None, "num_words": 25}])
def test_imdb_matches_keras(imdb_files, monkeypatch, kwargs):
    keras_imdb = pytest.importorskip("keras.src.datasets.imdb")
    monkeypatch.setattr(keras_imdb, "get_file", lambda *a, **k: str(imdb_files))
    (kx, ky), (kxt, kyt) = keras_imdb.load_data(**kwargs)
    (x, y), (xt, yt) = imdb.load_data(**kwargs)
    assert [list(map(int, s)) for s in x] == [list(map(int, s)) for s in kx]
    assert [list(map(int, s)) for s in xt] == [list(map(int, s)) for s in kxt]
    np.testing.assert_array_equal(y, ky)
    np.testing.assert_array_equal(yt, kyt)


def test_imdb_refuses_keras_pickled_file(keras_home, imdb_files):
    os.replace(imdb_files, keras_home / "datasets" / "imdb.npz")
    with pytest.raises(ValueError, match="pickled") as info:
        imdb.load_data()
    assert "save_unpickled" in str(info.value) and "\n" not in str(info.value)


def test_mnist_matches_keras(keras_home, monkeypatch):
    keras_mnist = pytest.importorskip("keras.src.datasets.mnist")
    rng = np.random.default_rng(1)
    arrays = {"x_train": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8), "y_train": rng.integers(0, 10, 5),
              "x_test": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8), "y_test": rng.integers(0, 10, 3)}
    path = keras_home / "datasets" / "mnist.npz"
    np.savez(path, **arrays)
    monkeypatch.setattr(keras_mnist, "get_file", lambda *a, **k: str(path))
    for ours, theirs in zip(mnist.load_data(), keras_mnist.load_data()):
        for a, b in zip(ours, theirs):
            np.testing.assert_array_equal(a, b)
    assert lk.datasets.mnist is mnist


def test_mnist_missing_file_message(keras_home):
    with pytest.raises(FileNotFoundError, match=str(keras_home / "datasets" / "mnist.npz")):
        mnist.load_data()


# ------------------------------------------------------------------ text_dataset_from_directory
def _text_tree(root, counts=(3, 4, 2)):
    for k, n in enumerate(counts):
        (root / f"c{k}").mkdir()
        for i in range(n):
            (root / f"c{k}" / f"t{i}.txt").write_text(f"class {k} text {i}")
        (root / f"c{k}" / "skip.md").write_text("not a txt")
    return root


@pytest.mark.parametrize("subset", [None, "training", "validation"])
def test_text_dataset_order_and_split_match_keras_index_directory(tmp_path, subset, capsys):
    dataset_utils = pytest.importorskip("keras.src.utils.dataset_utils")
    root = _text_tree(tmp_path)
    paths, labels, names = dataset_utils.index_directory(str(root), "inferred", formats=(".txt",), shuffle=True,
                                                         seed=7, verbose=False)
    split = 0.3 if subset else None
    paths, labels = dataset_utils.get_training_or_validation_split(paths, labels, split, subset)
    ds = text_dataset_from_directory(root, batch_size=4, seed=7, validation_split=split, subset=subset)
    assert ds.file_paths == list(paths) and ds.class_names == names == ["c0", "c1", "c2"]  # Keras' file order
    texts = np.concatenate([t.numpy() for t, _ in ds])
    got = np.concatenate([y.numpy() for _, y in ds])
    assert sorted(texts.tolist()) == sorted(open(p).read() for p in ds.file_paths)
    assert sorted(got.tolist()) == sorted(int(os.path.basename(os.path.dirname(p))[1]) for p in ds.file_paths)
    assert "Found 9 files belonging to 3 classes." in capsys.readouterr().out


def test_text_dataset_feeds_text_vectorization_and_fit(tmp_path):
    root = _text_tree(tmp_path, counts=(4, 4))
    ds = text_dataset_from_directory(root, batch_size=3, label_mode="binary", seed=1, verbose=False)
    vectorize = lk.layers.TextVectorization(output_sequence_length=4)
    vectorize.adapt(ds.map(lambda x, y: x))
    train = ds.map(lambda x, y: (vectorize(x).numpy(), y)).cache().prefetch(lk.utils.AUTOTUNE)
    model = lk.Sequential([lk.layers.Input((4,), dtype="int64"), lk.layers.Embedding(20, 4),
                           lk.layers.GlobalAveragePooling1D(), lk.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    history = model.fit(train, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2


# ------------------------------------------------------------------ dataset methods
def test_timeseries_dataset_behaves_like_keras_examples():
    ds = timeseries_dataset_from_array(np.arange(20.0), np.arange(20), sequence_length=4, batch_size=5)
    batches = list(ds.take(1))
    assert len(batches) == 1
    inputs, targets = batches[0]
    assert isinstance(inputs, BatchArray) and type(inputs.numpy()) is np.ndarray
    np.testing.assert_array_equal(inputs.numpy()[0], [0, 1, 2, 3])
    assert len(list(ds.skip(2))) == len(ds) - 2 and len(list(ds.take(-1))) == len(ds)
    doubled = next(iter(ds.map(lambda x, y: (x * 2, y))))
    np.testing.assert_array_equal(doubled[0].numpy()[1], [2, 4, 6, 8])
    plain = next(ds.as_numpy_iterator())
    assert type(plain[0]) is np.ndarray
    assert list(ds.take(2)) and len(list(ds.take(2))) == 2  # re-iterable


def test_cardinality_counts_batches_as_tf_data():
    ds = timeseries_dataset_from_array(np.arange(20.0), None, sequence_length=4, batch_size=5)  # 17 windows
    assert int(ds.cardinality()) == len(ds) == 4 and ds.cardinality().numpy() == 4
    assert f"{ds.cardinality()}" == "4"
    assert int(ds.take(2).cardinality()) == 2 and int(ds.take(9).cardinality()) == 4
    assert int(ds.skip(3).cardinality()) == 1 and int(ds.skip(9).cardinality()) == 0
    assert int(ds.map(lambda x: x).take(-1).cardinality()) == 4
    assert int(ds.cache().prefetch(2).cardinality()) == 4
    assert [int(ds.skip(k).cardinality()) for k in range(5)] == [len(list(ds.skip(k))) for k in range(5)]


def test_plot_model_needs_pydot_or_draws(tmp_path):
    model = lk.Sequential([lk.layers.Input((3,)), lk.layers.Dense(2)])
    if importlib.util.find_spec("pydot") is None:
        with pytest.raises(ImportError, match="pydot") as info:
            lk.utils.plot_model(model, to_file=tmp_path / "m.png")
        assert "graphviz" in str(info.value)
    else:  # pragma: no cover - only where pydot and Graphviz are installed
        try:
            out = lk.utils.plot_model(model, to_file=tmp_path / "m.dot", show_shapes=True)
        except ImportError as e:
            assert "graphviz" in str(e)
        else:
            assert os.path.getsize(out) > 0
