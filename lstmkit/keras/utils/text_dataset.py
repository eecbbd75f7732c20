"""``text_dataset_from_directory``: a folder of class sub-folders of ``.txt`` files as a dataset of
``(texts, labels)`` batches, with Keras 3's file order, labels, validation split and messages.

Keras' order, kept exactly (``keras/src/utils/dataset_utils.index_directory``): classes are the
sorted sub-folder names (or ``class_names``), files are walked in sorted order, then file paths
and labels are shuffled with ``np.random.RandomState(seed)``; the validation subset is the last
``int(validation_split * n)`` files. tf.data's per-epoch buffer shuffle cannot be reproduced
without TensorFlow: with ``shuffle=True`` the training batches are reshuffled every pass from
``RandomState(seed)`` instead (deterministic for a seed, not tf's order).

Texts are Python ``str`` (decoded as UTF-8; TensorFlow would give ``bytes``), in ``BatchArray``
object arrays; ``max_length`` truncates to that many characters.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from lstmkit.keras.utils.dataset_ops import DatasetOps, as_batch

__all__ = ["TextDataset", "text_dataset_from_directory"]

_LABEL_MODES = ("int", "categorical", "binary", None)


class TextDataset(DatasetOps):
    """Batches of ``(texts, labels)`` (or texts alone without labels), read lazily from files.

    Attributes: ``class_names``, ``file_paths``; ``len()`` is the number of batches.
    """

    def __init__(self, file_paths: list[str], labels: np.ndarray | None, label_mode: str | None, num_classes: int,
                 batch_size: int | None, max_length: int | None, shuffle: bool, seed: int | None,
                 class_names: list[str] | None):
        self.file_paths, self._labels = file_paths, labels
        self.label_mode, self.num_classes = label_mode, num_classes
        self.batch_size, self.max_length = batch_size, max_length
        self.class_names = class_names
        self._rng = np.random.RandomState(seed) if shuffle else None
        self._order = np.arange(len(file_paths))

    def __len__(self) -> int:
        n = len(self.file_paths)
        return n if self.batch_size is None else -(-n // self.batch_size)

    def _read(self, path: str) -> str:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        return text if self.max_length is None else text[:self.max_length]

    def _encode_labels(self, labels: np.ndarray) -> np.ndarray:
        if self.label_mode == "int":
            return labels.astype(np.int32)
        if self.label_mode == "binary":
            return labels.astype(np.float32).reshape(-1, 1)
        return np.eye(self.num_classes, dtype=np.float32)[labels]

    def _item(self, idx: np.ndarray) -> Any:
        texts = np.empty(len(idx), dtype=object)
        texts[:] = [self._read(self.file_paths[i]) for i in idx]
        if self.label_mode is None:
            return as_batch(texts)
        return as_batch((texts, self._encode_labels(self._labels[idx])))

    def __iter__(self) -> Iterator[Any]:
        if self._rng is not None:
            self._rng.shuffle(self._order)
        step = self.batch_size or 1
        for start in range(0, len(self._order), step):
            batch = self._item(self._order[start:start + step])
            if self.batch_size is None:  # single samples: drop the batch axis
                batch = tuple(b[0] for b in batch) if isinstance(batch, tuple) else batch[0]
            yield batch

    def __repr__(self) -> str:
        return (f"<TextDataset files={len(self.file_paths)}, batch_size={self.batch_size}, "
                f"class_names={self.class_names}>")


def _index_directory(directory: str, labels: Any, class_names: Sequence[str] | None, follow_links: bool
                     ) -> tuple[list[str], np.ndarray | None, list[str] | None]:
    if labels == "inferred":
        subdirs = [d for d in sorted(os.listdir(directory))
                   if os.path.isdir(os.path.join(directory, d)) and not d.startswith(".")]
        if class_names is not None:
            if not set(class_names).issubset(set(subdirs)):
                raise ValueError("The `class_names` passed did not match the names of the subdirectories of the "
                                 f"target directory. Expected: {subdirs} (or a subset of it), but received: "
                                 f"class_names={class_names}")
            subdirs = list(class_names)
    else:
        subdirs = [""]
        if class_names is not None:
            raise ValueError("When `labels=None` (no labels), argument `class_names` cannot be specified."
                             if labels is None else "When argument `labels` is specified, argument `class_names` "
                             "cannot be specified (the `class_names` will be the sorted list of labels).")
    paths, found = [], []
    for k, sub in enumerate(subdirs):
        root_dir = os.path.join(directory, sub)
        for root, _, files in sorted(os.walk(root_dir, followlinks=follow_links), key=lambda w: w[0]):
            for fname in sorted(files):
                if fname.lower().endswith(".txt"):
                    paths.append(os.path.join(root, fname))
                    found.append(k)
    if labels == "inferred":
        return paths, np.asarray(found, dtype=np.int32), list(subdirs)
    if labels is None:
        return paths, None, None
    if len(labels) != len(paths):
        raise ValueError(f"Expected the lengths of `labels` to match the number of files in the target directory. "
                         f"len(labels) is {len(labels)} while we found {len(paths)} files in directory {directory}.")
    return paths, np.asarray(labels, dtype=np.int32), [str(v) for v in sorted(set(labels))]


def _split(paths: list[str], labels: np.ndarray | None, fraction: float | None, subset: str | None):
    if not fraction:
        return paths, labels
    n_val = int(fraction * len(paths))
    if subset == "training":
        print(f"Using {len(paths) - n_val} files for training.")
        return paths[:-n_val], None if labels is None else labels[:-n_val]
    print(f"Using {n_val} files for validation.")
    return paths[-n_val:], None if labels is None else labels[-n_val:]


def text_dataset_from_directory(directory: str | os.PathLike, labels: Any = "inferred", label_mode: str | None = "int",
                                class_names: Sequence[str] | None = None, batch_size: int | None = 32,
                                max_length: int | None = None, shuffle: bool = True, seed: int | None = None,
                                validation_split: float | None = None, subset: str | None = None,
                                follow_links: bool = False, format: str = "tf", verbose: bool = True) -> Any:
    """Keras' ``text_dataset_from_directory`` (see the module docstring for the order).

    Args:
        directory: the folder; with ``labels="inferred"`` one sub-folder per class.
        labels: "inferred", None (texts only) or a list of int labels in sorted file order.
        label_mode: "int" (int32 ``(batch,)``), "categorical" (float32 one-hot), "binary"
            (float32 ``(batch, 1)``, exactly 2 classes) or None.
        class_names: explicit class order (sub-folder names).
        batch_size: texts per batch; None yields single samples.
        max_length: truncate each text to this many characters.
        shuffle: shuffle the files (else alphanumeric order).
        seed: shuffle seed (required with ``validation_split`` and ``shuffle``).
        validation_split: fraction kept for validation.
        subset: "training", "validation" or "both" (then a ``(train, val)`` pair).
        follow_links: follow symlinked sub-folders.
        format: Keras' "tf" or "grain": accepted, both give our dataset.
        verbose: print the number of files found.
    """
    directory = os.fspath(directory)
    if labels not in ("inferred", None) and not isinstance(labels, (list, tuple)):
        raise ValueError("`labels` argument should be a list/tuple of integer labels, of the same size as the number "
                         "of text files in the target directory. If you wish to infer the labels from the "
                         "subdirectory names in the target directory, pass `labels=\"inferred\"`. If you wish to get "
                         f"a dataset that only contains text samples (no labels), pass `labels=None`. Received: "
                         f"labels={labels}")
    if labels not in ("inferred", None) and class_names:
        raise ValueError(f"You can only pass `class_names` if `labels=\"inferred\"`. Received: labels={labels}, and "
                         f"class_names={class_names}")
    if label_mode not in _LABEL_MODES:
        raise ValueError(f'`label_mode` argument must be one of "int", "categorical", "binary", or None. '
                         f"Received: label_mode={label_mode}")
    if format not in ("tf", "grain"):
        raise ValueError(f'`format` should be either "tf" or "grain". Received: format={format}')
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be between 0 and 1, received: {validation_split}")
    if (validation_split or subset) and not (validation_split and subset):
        raise ValueError("If `subset` is set, `validation_split` must be set, and inversely.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError(f'`subset` must be either "training", "validation" or "both", received: {subset}')
    if validation_split and shuffle and seed is None:
        raise ValueError("If using `validation_split` and shuffling the data, you must provide a `seed` argument, to "
                         "make sure that there is no overlap between the training and validation subset.")
    if not os.path.isdir(directory):
        raise ValueError(f"text_dataset_from_directory: {directory!r} is not a directory")
    if seed is None:
        seed = int(np.random.randint(1e6))
    paths, label_arr, names = _index_directory(directory, labels, class_names, follow_links)
    if verbose:
        print(f"Found {len(paths)} files." if label_arr is None else
              f"Found {len(paths)} files belonging to {len(names)} classes.")
    if shuffle:
        np.random.RandomState(seed).shuffle(paths)
        if label_arr is not None:
            np.random.RandomState(seed).shuffle(label_arr)
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(f'When passing `label_mode="binary"`, there must be exactly 2 class_names. '
                         f"Received: class_names={names}")

    def make(which: str | None, do_shuffle: bool) -> TextDataset:
        p, lab = _split(paths, label_arr, validation_split, which)
        if not p:
            kind = {"training": "training ", "validation": "validation "}.get(which or "", "")
            raise ValueError(f"No {kind}text files found in directory {directory}. Allowed format: .txt")
        return TextDataset(p, lab, label_mode, len(names) if names else 0, batch_size, max_length, do_shuffle, seed,
                           names)

    if subset == "both":
        return make("training", shuffle), make("validation", False)
    return make(subset, shuffle)
