"""The reference ConvLSTM's pieces: its convolution against torch's (float64) for every
geometry, Keras' "same" padding rule, the step's gates as ``lstm_gates`` combines them, and
clear errors. (The whole cell is checked against Keras 3's own expected values in
tests/keras_compat/test_conv_lstm.py and against the layers in tests/keras/test_conv_lstm.py.)"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lstmkit.cells import activations
from lstmkit.cells.conv_lstm import conv, conv_lstm_step, same_padding

TORCH_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


@pytest.mark.parametrize("rank, spatial", [(1, (9,)), (2, (7, 6)), (3, (5, 5, 6))])
@pytest.mark.parametrize("kernel, strides, padding, dilation", [
    (3, 1, "valid", 1), (3, 1, "same", 1), (2, 1, "same", 1), (3, 2, "same", 1), (2, 2, "valid", 1),
    (3, 1, "valid", 2), (2, 1, "same", 2),
])
def test_conv_matches_torch(rank, spatial, kernel, strides, padding, dilation):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, *spatial, 3))
    w = rng.standard_normal((*(kernel,) * rank, 3, 4))
    ours = conv(x, w, strides, padding, dilation)
    xt = torch.from_numpy(np.moveaxis(x, -1, 1))
    if padding == "same":  # pad as Keras: (before, after), the extra zero at the end
        pads = [same_padding(n, kernel, strides, dilation) for n in spatial]
        xt = F.pad(xt, [p for pair in reversed(pads) for p in pair])
    wt = torch.from_numpy(np.moveaxis(np.moveaxis(w, -1, 0), -1, 1))  # (out, in, *k)
    ref = TORCH_CONV[rank](xt, wt, stride=strides, dilation=dilation).numpy()
    np.testing.assert_allclose(ours, np.moveaxis(ref, 1, -1), atol=1e-12)


@pytest.mark.parametrize("size, kernel, stride, dilation, expected", [
    (5, 3, 1, 1, (1, 1)), (5, 2, 1, 1, (0, 1)), (6, 3, 2, 1, (0, 1)), (7, 3, 2, 1, (1, 1)), (5, 3, 1, 2, (2, 2)),
])
def test_same_padding_is_keras(size, kernel, stride, dilation, expected):
    assert same_padding(size, kernel, stride, dilation) == expected


def test_step_is_the_lstm_on_convolutions():
    rng = np.random.default_rng(1)
    x, h, c = rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 5, 2)), rng.standard_normal((2, 5, 2))
    k, r, b = rng.standard_normal((3, 3, 8)), rng.standard_normal((3, 2, 8)), rng.standard_normal(8)
    h_new, c_new, gates = conv_lstm_step(x, h, c, k, r, b, padding="same")
    z = conv(x, k, padding="same") + b + conv(h, r, padding="same")
    i, f, g, o = (z[..., j * 2:(j + 1) * 2] for j in range(4))
    sig = activations.sigmoid
    np.testing.assert_allclose(c_new, sig(f) * c + sig(i) * np.tanh(g), atol=1e-14)
    np.testing.assert_allclose(h_new, sig(o) * np.tanh(c_new), atol=1e-14)
    np.testing.assert_allclose(gates["g"], np.tanh(g), atol=1e-14)


def test_errors():
    x, k = np.zeros((1, 5, 3)), np.zeros((3, 3, 8))
    with pytest.raises(ValueError, match="padding"):
        conv(x, k, padding="causal")
    with pytest.raises(ValueError, match="same rank"):
        conv(np.zeros((1, 5, 5, 3)), k)
    with pytest.raises(ValueError, match="smaller than the dilated kernel"):
        conv(np.zeros((1, 2, 3)), k)
    with pytest.raises(ValueError, match="strides"):
        conv(x, k, strides=0)
    with pytest.raises(ValueError, match="recurrent_kernel"):
        conv_lstm_step(x, np.zeros((1, 3, 2)), np.zeros((1, 3, 2)), k, np.zeros((3, 3, 8)))
    with pytest.raises(ValueError, match="output shape"):
        conv_lstm_step(x, np.zeros((1, 5, 2)), np.zeros((1, 5, 2)), k, np.zeros((3, 2, 8)))
