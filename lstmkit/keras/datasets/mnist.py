"""``mnist.load_data()``: Keras' cached ``mnist.npz`` (uint8 images ``(60000, 28, 28)`` /
``(10000, 28, 28)`` and labels), read with ``allow_pickle=False``."""

from __future__ import annotations

import numpy as np

from lstmkit.keras.datasets.npz import load_arrays
from lstmkit.keras.utils.file_utils import get_file

__all__ = ["load_data"]

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"


def load_data(path: str = "mnist.npz") -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``(x_train, y_train), (x_test, y_test)`` from ``~/.keras/datasets/<path>`` (or $KERAS_HOME)."""
    a = load_arrays(get_file(fname=path, origin=ORIGIN), ["x_train", "y_train", "x_test", "y_test"])
    return (a["x_train"], a["y_train"]), (a["x_test"], a["y_test"])
