"""Keras 3's own text_dataset_from_directory tests (keras/src/utils/text_dataset_utils_test.py),
ported to lstmkit.keras.utils with their expected values. Keras runs each for format="tf" and
"grain"; both give our dataset here, so each runs once per format too, with the grain
expectations (texts are Python ``str``), plus ``.numpy()`` on batches as tf tensors have.

Nothing is skipped.
"""

from __future__ import annotations

import os
import random
import string

import numpy as np
import pytest

from lstmkit.keras.utils import text_dataset_from_directory

pytestmark = pytest.mark.parametrize("format", ["tf", "grain"])


def _prepare_directory(root, num_classes=2, nested_dirs=False, count=16, length=20):
    paths = []
    for class_index in range(num_classes):
        class_directory = f"class_{class_index}"
        class_paths = [class_directory]
        if nested_dirs:
            class_paths += [os.path.join(class_directory, "subfolder_1"), os.path.join(class_directory, "subfolder_2"),
                            os.path.join(class_directory, "subfolder_1", "sub-subfolder")]
        for path in class_paths:
            os.mkdir(os.path.join(root, path))
        paths += class_paths
    for i in range(count):
        with open(os.path.join(root, paths[i % len(paths)], f"text_{i}.txt"), "w") as f:
            f.write("".join(random.choice(string.ascii_letters) for _ in range(length)))
    return str(root)


def test_standalone(tmp_path, format):
    directory = _prepare_directory(tmp_path, count=7, num_classes=2)
    for i in range(3):
        (tmp_path / f"text_{i}.txt").write_text("x" * 20)
    dataset = text_dataset_from_directory(directory, batch_size=5, label_mode=None, max_length=10, format=format)
    batch = next(iter(dataset))
    assert len(batch) == 5 and isinstance(batch[0], str)
    counts = [len(b) for b in dataset]
    assert len(counts) == 2 and sum(counts) == 10


def test_binary(tmp_path, format):
    directory = _prepare_directory(tmp_path, num_classes=2)
    batch = next(iter(text_dataset_from_directory(directory, batch_size=8, label_mode="int", max_length=10,
                                                  format=format)))
    assert len(batch) == 2 and len(batch[0]) == 8 and isinstance(batch[0][0], str) and len(batch[0][0]) == 10
    assert len(batch[0].numpy()[0]) == 10
    assert list(batch[1].shape) == [8] and batch[1].dtype == np.int32
    batch = next(iter(text_dataset_from_directory(directory, batch_size=8, label_mode="binary", format=format)))
    assert len(batch[0]) == 8 and list(batch[1].shape) == [8, 1] and batch[1].dtype == np.float32
    batch = next(iter(text_dataset_from_directory(directory, batch_size=8, label_mode="categorical", format=format)))
    assert len(batch[0]) == 8 and list(batch[1].shape) == [8, 2] and batch[1].dtype == np.float32


def test_sample_count(tmp_path, format):
    directory = _prepare_directory(tmp_path, num_classes=4, count=15)
    dataset = text_dataset_from_directory(directory, batch_size=8, label_mode=None, format=format)
    assert sum(len(b) for b in dataset) == 15


def test_multiclass(tmp_path, format):
    directory = _prepare_directory(tmp_path, num_classes=4, count=15)
    assert len(next(iter(text_dataset_from_directory(directory, batch_size=8, label_mode=None, format=format)))) == 8
    dataset = text_dataset_from_directory(directory, batch_size=8, label_mode=None, format=format)
    iterator = iter(dataset)
    assert sum(len(next(iterator)) for _ in dataset) == 15
    batch = next(iter(text_dataset_from_directory(directory, batch_size=8, label_mode="int", format=format)))
    assert len(batch[0]) == 8 and list(batch[1].shape) == [8] and batch[1].dtype == np.int32
    batch = next(iter(text_dataset_from_directory(directory, batch_size=8, label_mode="categorical", format=format)))
    assert list(batch[1].shape) == [8, 4] and batch[1].dtype == np.float32


def test_validation_split(tmp_path, format):
    directory = _prepare_directory(tmp_path, num_classes=2, count=10)
    kwargs = {"batch_size": 10, "validation_split": 0.2, "seed": 1337, "format": format}
    assert len(next(iter(text_dataset_from_directory(directory, subset="training", **kwargs)))[0]) == 8
    assert len(next(iter(text_dataset_from_directory(directory, subset="validation", **kwargs)))[0]) == 2
    train, val = text_dataset_from_directory(directory, subset="both", **kwargs)
    assert len(next(iter(train))[0]) == 8 and len(next(iter(val))[0]) == 2


def test_manual_labels(tmp_path, format):
    directory = _prepare_directory(tmp_path, num_classes=2, count=2)
    batch = next(iter(text_dataset_from_directory(directory, batch_size=8, labels=[0, 1], shuffle=False,
                                                  format=format)))
    np.testing.assert_array_equal(batch[1], [0, 1])


def test_follow_links(tmp_path, format):
    directory = _prepare_directory(tmp_path, num_classes=2, count=25, nested_dirs=True)
    dataset = text_dataset_from_directory(directory, batch_size=8, label_mode=None, follow_links=True, format=format)
    assert sum(len(b) for b in dataset) == 25


def test_no_files(tmp_path, format):
    directory = _prepare_directory(tmp_path, num_classes=2, count=0)
    with pytest.raises(ValueError, match="No text files found"):
        text_dataset_from_directory(directory, format=format)


@pytest.mark.parametrize("kwargs, match", [
    ({"labels": "other"}, "`labels` argument should be"),
    ({"label_mode": "other"}, "`label_mode` argument must be"),
    ({"labels": [0, 0, 1, 1, 1], "class_names": ["class_0", "class_1", "class_2"]},
     'only pass `class_names` if `labels="inferred"`'),
    ({"labels": [0, 0, 1, 1]}, "Expected the lengths of `labels` to match the number of files"),
    ({"class_names": ["class_0", "wrong_class"]}, "`class_names` passed did not match"),
    ({"label_mode": "binary"}, "there must be exactly 2"),
    ({"validation_split": 2}, "`validation_split` must be between 0 and 1"),
    ({"validation_split": 0.2, "subset": "other"}, '`subset` must be either "training", "validation" or "both"'),
    ({"validation_split": 0.0, "subset": "training"}, "`validation_split` must be set"),
    ({"validation_split": 0.2, "subset": "training"}, "must provide a `seed`"),
])
def test_errors(tmp_path, format, kwargs, match):
    directory = _prepare_directory(tmp_path, num_classes=3, count=5)
    with pytest.raises(ValueError, match=match):
        text_dataset_from_directory(directory, format=format, **kwargs)


def test_not_batched(tmp_path, format):
    directory = _prepare_directory(tmp_path)
    sample = next(iter(text_dataset_from_directory(directory, batch_size=None, label_mode=None, follow_links=True,
                                                   format=format)))
    assert isinstance(sample, str)
