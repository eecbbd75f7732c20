"""lstmkit.keras.utils: to_categorical, normalize and pad_sequences against real Keras 3;
timeseries_dataset_from_array against hand-computed windows (Keras' version needs TensorFlow);
set_random_seed reproducibility; and the errors bad arguments get."""

from __future__ import annotations

import random

import keras
import numpy as np
import pytest
import torch

import lstmkit.keras as lk
from lstmkit.keras.preprocessing import sequence as prep_sequence
from lstmkit.keras.utils import (
    PyDataset,
    Sequence,
    normalize,
    pad_sequences,
    set_random_seed,
    timeseries_dataset_from_array,
    to_categorical,
)

# ---------------------------------------------------------------------------- to_categorical


@pytest.mark.parametrize("labels, num_classes", [
    ([0, 1, 2, 3], None),
    ([0, 1, 2, 3], 6),
    ([[1], [0], [2]], None),
    ([[0, 2], [1, 1]], 3),
    (np.array([2.0, 0.0, 1.0]), None),
    (3, 5),
])
def test_to_categorical_matches_keras(labels, num_classes):
    ours = to_categorical(labels, num_classes)
    ref = keras.utils.to_categorical(labels, num_classes)
    assert isinstance(ours, np.ndarray) and ours.dtype == np.float32
    np.testing.assert_array_equal(ours, ref)


def test_to_categorical_torch_input_gives_a_tensor():
    out = to_categorical(torch.tensor([[2], [0]]), 3)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    torch.testing.assert_close(out, torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]))


def test_to_categorical_dtype_argument():
    assert to_categorical([0, 1], dtype="int64").dtype == np.int64


@pytest.mark.parametrize("labels, num_classes, err, match", [
    ([0, -1], None, ValueError, r"\[0, 0\]"),
    ([0, 3], 3, ValueError, r"lie in \[0, 2\]"),
    ([0.5, 1.0], None, ValueError, "whole numbers"),
    (["a", "b"], None, TypeError, "integers"),
    ([], None, ValueError, "empty"),
    ([0, 1], -2, ValueError, "positive integer"),
])
def test_to_categorical_errors(labels, num_classes, err, match):
    with pytest.raises(err, match=match):
        to_categorical(labels, num_classes)


# ---------------------------------------------------------------------------- normalize


@pytest.mark.parametrize("axis", [-1, 1])
@pytest.mark.parametrize("order", [1, 2])
def test_normalize_matches_keras(axis, order):
    x = np.random.default_rng(0).normal(size=(4, 5))
    x[1] = 0.0  # a zero row stays zero
    np.testing.assert_allclose(normalize(x, axis, order), keras.utils.normalize(x, axis, order), rtol=1e-12)


def test_normalize_torch_input_matches_keras_backend_path():
    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(0))
    ours = normalize(x)
    assert isinstance(ours, torch.Tensor)
    torch.testing.assert_close(ours, torch.as_tensor(keras.utils.normalize(x)), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------- pad_sequences


def _random_sequences(rng: np.random.Generator, step_shape: tuple[int, ...] = ()) -> list[list]:
    n = int(rng.integers(1, 6))
    out = []
    for _ in range(n):
        length = int(rng.integers(0, 7))
        out.append(rng.integers(1, 50, size=(length, *step_shape)).tolist())
    if all(len(s) == 0 for s in out):
        out[0] = rng.integers(1, 50, size=(2, *step_shape)).tolist()
    return out


@pytest.mark.parametrize("case", range(40))
def test_pad_sequences_matches_keras_on_random_cases(case):
    rng = np.random.default_rng(case)
    seqs = _random_sequences(rng, step_shape=() if case % 5 else (2,))
    kwargs = {
        "maxlen": [None, 1, 3, 8][case % 4],
        "padding": ["pre", "post"][case % 2],
        "truncating": ["pre", "post"][(case // 2) % 2],
        "value": [0.0, -1, 7.5][case % 3],
        "dtype": ["int32", "float32", "int64"][(case // 3) % 3],
    }
    ours = pad_sequences(seqs, **kwargs)
    ref = keras.utils.pad_sequences(seqs, **kwargs)
    assert ours.dtype == ref.dtype
    np.testing.assert_array_equal(ours, ref)


def test_pad_sequences_keras_docstring_examples():
    seqs = [[1], [2, 3], [4, 5, 6]]
    np.testing.assert_array_equal(pad_sequences(seqs), [[0, 0, 1], [0, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(pad_sequences(seqs, value=-1), [[-1, -1, 1], [-1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(pad_sequences(seqs, padding="post"), [[1, 0, 0], [2, 3, 0], [4, 5, 6]])
    np.testing.assert_array_equal(pad_sequences(seqs, maxlen=2), [[0, 1], [2, 3], [5, 6]])
    assert pad_sequences(seqs).dtype == np.int32


def test_pad_sequences_strings_with_object_dtype_match_keras():
    seqs = [["a", "b"], ["c"]]
    ours = pad_sequences(seqs, dtype=object, value="<pad>", padding="post")
    ref = keras.utils.pad_sequences(seqs, dtype=object, value="<pad>", padding="post")
    assert ours.tolist() == ref.tolist()


def test_pad_sequences_accepts_arrays_generators_and_maxlen_zero():
    np.testing.assert_array_equal(pad_sequences(np.array([[1, 2], [3, 4]]), maxlen=3), [[0, 1, 2], [0, 3, 4]])
    np.testing.assert_array_equal(pad_sequences(iter([[1], [2, 3]])), [[0, 1], [2, 3]])
    assert pad_sequences([[1, 2]], maxlen=0).shape == (1, 0)
    assert pad_sequences([]).shape == (0, 0)


def test_pad_sequences_is_reexported_where_keras_has_it():
    assert lk.utils.pad_sequences is pad_sequences
    assert prep_sequence.pad_sequences is pad_sequences
    assert lk.preprocessing.sequence.pad_sequences is pad_sequences


@pytest.mark.parametrize("args, kwargs, match", [
    (([[1, 2]],), {"padding": "middle"}, 'Padding type "middle"'),
    (([[1, 2]],), {"truncating": "both"}, 'Truncating type "both"'),
    ((5,), {}, "must be iterable"),
    (([1, 2, 3],), {}, "Found non-iterable: 1"),
    (([[1, 2], [[1, 2]]],), {}, "different from expected shape"),
    (([[1, 2]],), {"value": "x"}, "not compatible"),
    (([[1, 2]],), {"maxlen": -1}, "non-negative"),
    (("abc",), {}, "must be iterable"),
])
def test_pad_sequences_errors(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        pad_sequences(*args, **kwargs)


# ---------------------------------------------------------------------------- timeseries_dataset_from_array


def test_timeseries_keras_example_1_windows():
    data = np.arange(99)
    ds = timeseries_dataset_from_array(data, None, sequence_length=10, sampling_rate=2, sequence_stride=3,
                                       batch_size=128)
    (x,) = list(ds)
    assert len(ds) == 1 and x.shape == (27, 10)
    np.testing.assert_array_equal(x[0], np.arange(0, 20, 2))
    np.testing.assert_array_equal(x[1], np.arange(3, 23, 2))
    np.testing.assert_array_equal(x[2], np.arange(6, 26, 2))
    np.testing.assert_array_equal(x[-1], np.arange(78, 98, 2))


def test_timeseries_keras_example_2_targets_are_the_next_step():
    data = np.arange(50, dtype=np.float32) * 0.5
    ds = timeseries_dataset_from_array(data[:-10], data[10:], sequence_length=10, batch_size=16)
    batches = list(ds)
    assert len(ds) == len(batches) == 2  # 31 windows in batches of 16
    x, y = batches[0]
    np.testing.assert_array_equal(x[0], data[:10])
    assert y[0] == data[10]
    x_all = np.concatenate([b[0] for b in batches])
    y_all = np.concatenate([b[1] for b in batches])
    assert x_all.shape == (31, 10) and y_all.shape == (31,)
    for k in range(31):
        np.testing.assert_array_equal(x_all[k], data[k:k + 10])
        assert y_all[k] == data[k + 10]


def test_timeseries_keras_example_3_non_overlapping_windows_without_targets():
    X = np.arange(100)
    Y = X * 2
    inputs = timeseries_dataset_from_array(X, None, sequence_length=20, sequence_stride=20)
    targets = timeseries_dataset_from_array(Y, None, sequence_length=20, sequence_stride=20)
    for x, y in zip(inputs, targets):
        np.testing.assert_array_equal(x[0], X[:20])
        np.testing.assert_array_equal(y[1], Y[20:40])
        assert x.shape == (5, 20)


def test_timeseries_start_end_index_and_multifeature_data():
    data = np.stack([np.arange(20), -np.arange(20)], axis=1)  # (20, 2)
    targets = np.arange(20) * 10
    ds = timeseries_dataset_from_array(data, targets, sequence_length=4, start_index=3, end_index=15, batch_size=4)
    xs, ys = zip(*ds)
    assert [len(x) for x in xs] == [4, 4, 1]  # 9 windows: starts 3..11
    x, y = np.concatenate(xs), np.concatenate(ys)
    assert x.shape == (9, 4, 2)
    for k in range(9):
        np.testing.assert_array_equal(x[k], data[3 + k:7 + k])
        assert y[k] == targets[3 + k]


def test_timeseries_batch_size_none_yields_single_windows():
    ds = timeseries_dataset_from_array(np.arange(10), np.arange(10), sequence_length=3, batch_size=None)
    items = list(ds)
    assert len(ds) == len(items) == 8
    x, y = items[5]
    np.testing.assert_array_equal(x, [5, 6, 7])
    assert y == 5
    np.testing.assert_array_equal(ds[-1][0], [7, 8, 9])


def test_timeseries_is_reiterable_and_indexable():
    ds = timeseries_dataset_from_array(np.arange(30), None, sequence_length=5, batch_size=7)
    first, second = list(ds), list(ds)
    assert len(first) == len(ds) == 4
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ds[1], first[1])
    with pytest.raises(IndexError):
        ds[4]


def test_timeseries_shuffle_is_deterministic_with_a_seed():
    data = np.arange(40)

    def make():
        return timeseries_dataset_from_array(data, data, sequence_length=3, batch_size=8, shuffle=True, seed=7)

    a, b = make(), make()
    epochs_a = [np.concatenate([x for x, _ in a]) for _ in range(2)]
    epochs_b = [np.concatenate([x for x, _ in b]) for _ in range(2)]
    for ea, eb in zip(epochs_a, epochs_b):
        np.testing.assert_array_equal(ea, eb)
    starts = np.arange(38, dtype=np.int32)
    np.random.RandomState(7).shuffle(starts)  # Keras' first-stage shuffle of the window starts
    np.testing.assert_array_equal(epochs_a[0][:, 0], starts)
    assert not np.array_equal(epochs_a[0], epochs_a[1])  # each pass reshuffles
    np.testing.assert_array_equal(np.sort(epochs_a[1][:, 0]), np.arange(38))
    for x, y in a:  # targets stay with their windows
        np.testing.assert_array_equal(x[:, 0], y)


def test_timeseries_shuffle_without_seed_follows_numpy_global_seed():
    def run():
        set_random_seed(3)
        ds = timeseries_dataset_from_array(np.arange(20), None, sequence_length=2, shuffle=True)
        return next(iter(ds))

    np.testing.assert_array_equal(run(), run())


def test_timeseries_accepts_torch_and_lists():
    ds = timeseries_dataset_from_array(torch.arange(6.0), [0, 1, 2, 3, 4, 5], sequence_length=2, batch_size=2)
    x, y = ds[0]
    assert isinstance(x, np.ndarray) and x.dtype == np.float32
    np.testing.assert_array_equal(x, [[0.0, 1.0], [1.0, 2.0]])
    np.testing.assert_array_equal(y, [0, 1])


@pytest.mark.parametrize("kwargs, match", [
    ({"start_index": -1}, "`start_index` must be 0 or greater"),
    ({"start_index": 10}, "`start_index` must be lower than the length"),
    ({"start_index": 5, "end_index": 5}, "`end_index` must be higher than `start_index`"),
    ({"end_index": 10}, "`end_index` must be lower than the length"),
    ({"end_index": -2}, "`end_index` must be higher than 0"),
    ({"sampling_rate": 0}, "`sampling_rate` must be higher than 0"),
    ({"sampling_rate": 10}, "`sampling_rate` must be lower than the length"),
    ({"sequence_stride": 0}, "`sequence_stride` must be higher than 0"),
    ({"sequence_stride": 10}, "`sequence_stride` must be lower than the length"),
    ({"sequence_length": 0}, "`sequence_length` must be higher than 0"),
    ({"batch_size": 0}, "`batch_size` must be higher than 0"),
    ({"sequence_length": 2.5}, "`sequence_length` must be an integer"),
])
def test_timeseries_errors(kwargs, match):
    args = {"sequence_length": 3, **kwargs}
    with pytest.raises(ValueError, match=match):
        timeseries_dataset_from_array(np.arange(10), None, **args)


def test_timeseries_is_exposed_in_preprocessing():
    assert lk.preprocessing.timeseries_dataset_from_array is timeseries_dataset_from_array


# ---------------------------------------------------------------------------- set_random_seed


def test_set_random_seed_makes_python_numpy_and_torch_reproducible():
    def draw():
        return random.random(), np.random.rand(3), torch.rand(3)

    set_random_seed(1234)
    a = draw()
    set_random_seed(1234)
    b = draw()
    assert a[0] == b[0]
    np.testing.assert_array_equal(a[1], b[1])
    torch.testing.assert_close(a[2], b[2], rtol=0, atol=0)
    set_random_seed(1235)
    assert draw()[0] != a[0]


@pytest.mark.parametrize("seed", [1.5, "1", None, -1, 2**32])
def test_set_random_seed_errors(seed):
    with pytest.raises(ValueError, match="seed"):
        set_random_seed(seed)


# ---------------------------------------------------------------------------- PyDataset


class _Squares(PyDataset):
    def __init__(self, n: int, **kwargs):
        super().__init__(**kwargs)
        self.n = n
        self.epochs_ended = 0

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int):
        return np.full((2, 1), index, dtype=np.float32), np.full((2,), index**2)

    def on_epoch_end(self) -> None:
        self.epochs_ended += 1


def test_py_dataset_subclass_iterates_its_batches():
    ds = _Squares(3, workers=4, use_multiprocessing=True)
    assert ds.num_batches == 3 and ds.workers == 4 and Sequence is PyDataset
    assert [int(y[0]) for _, y in ds] == [0, 1, 4]
    ds.on_epoch_begin()
    ds.on_epoch_end()
    assert ds.epochs_ended == 1


def test_py_dataset_endless_and_unimplemented():
    class Endless(PyDataset):
        num_batches = None

        def __getitem__(self, index):
            return index

    it = iter(Endless())
    assert [next(it) for _ in range(5)] == [0, 1, 2, 3, 4]
    with pytest.raises(NotImplementedError, match="__getitem__"):
        PyDataset()[0]
    with pytest.raises(NotImplementedError, match="num_batches"):
        list(PyDataset())
    with pytest.raises(TypeError):
        _Squares(2, workerz=2)
