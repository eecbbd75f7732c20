"""Keras' SimpleRNN runs on an ``lstmkit.nn.RNN`` it owns (as LSTM/GRU own theirs): torch's
``rnn_tanh`` kernel where it can, gradients reach the module's parameters only, the Keras-layout
weights are views of them, and ``backend=`` reaches the module."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lstmkit.nn as lnn
from lstmkit.keras.layers import SimpleRNN
from lstmkit.kernels import native

B, T, F, U = 4, 7, 3, 5


@pytest.fixture
def x() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((B, T, F)).astype(np.float32)


def test_simple_rnn_owns_an_nn_rnn_and_runs_torchs_kernel(x, monkeypatch):
    layer = SimpleRNN(U, return_sequences=True, bias_initializer="random_normal")
    layer.build((None, T, F))
    assert isinstance(layer.rnn, lnn.RNN) and layer.rnn.mode == "RNN_TANH"
    calls = []
    real = native.rnn
    monkeypatch.setattr(native, "rnn", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    out = layer(x)
    assert calls == ["rnn_tanh"]
    kernel, recurrent, bias = layer.get_weights()
    xt = torch.from_numpy(x)
    h, expected = torch.zeros(B, U), []
    for t in range(T):
        h = torch.tanh(xt[:, t] @ torch.from_numpy(kernel) + h @ torch.from_numpy(recurrent) + torch.from_numpy(bias))
        expected.append(h)
    torch.testing.assert_close(out, torch.stack(expected, 1), atol=1e-5, rtol=1e-5)


def test_gradients_reach_the_module_parameters_only(x):
    layer = SimpleRNN(U)
    layer(x).sum().backward()
    params = dict(layer.named_parameters())
    assert sorted(params) == ["rnn.bias_ih_l0", "rnn.weight_hh_l0", "rnn.weight_ih_l0"]  # bias_hh: a zero buffer
    assert all(p.grad is not None for p in params.values())
    assert sum(p.numel() for p in params.values()) == layer.count_params() == U * (F + U + 1)


def test_backend_reaches_the_module_and_the_config(x):
    ref = SimpleRNN(U, return_sequences=True, backend="reference")
    fast = SimpleRNN(U, return_sequences=True)
    ref(x)
    fast(x)
    ref.set_weights(fast.get_weights())
    assert ref.rnn.backend == "reference" and ref.get_config()["backend"] == "reference"
    assert "backend" not in fast.get_config()
    torch.testing.assert_close(ref(x), fast(x), atol=1e-6, rtol=1e-5)
