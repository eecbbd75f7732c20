"""Shared pieces of the tuning tests: tiny data, a tiny model-building function, one torch thread."""

import numpy as np
import pytest
import torch

from lstmkit.keras.layers import LSTM, Dense
from lstmkit.keras.models import Sequential


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models run fastest on one thread (and a busy 2-core machine thrashes with two)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def data():
    """A small regression set: 5 steps of noise in, their sum out; the last 16 samples validate."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 5, 1)).astype(np.float32)
    y = x.sum(axis=1).astype(np.float32)
    return {"x": x[:32], "y": y[:32], "validation_data": (x[32:], y[32:])}


def build_model(hp):
    """An LSTM whose width and optimizer are tuned."""
    model = Sequential([LSTM(hp.Int("units", 2, 6, step=2), input_shape=(5, 1)), Dense(1)])
    model.compile(optimizer=hp.Choice("optimizer", ["adam", "sgd"]), loss="mse")
    return model


@pytest.fixture
def build():
    return build_model
