"""Shared set-up of the public-Keras-program tests: each test runs in its own temporary directory
(the programs write checkpoints and plots to relative paths, as they do on keras.io), with
fresh automatic layer names, seeded torch/NumPy/random, and matplotlib on the file-only backend."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def program_env(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    from lstmkit import keras

    keras.backend.clear_session()
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    monkeypatch.chdir(tmp_path)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield tmp_path
    torch.set_num_threads(threads)
    import matplotlib.pyplot as plt

    plt.close("all")
