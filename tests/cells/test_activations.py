import warnings

import numpy as np
import pytest
import torch

from lstmkit.cells import ACTIVATIONS, get_activation, hard_sigmoid, sigmoid, softsign

X = np.linspace(-30, 30, 241)


def test_every_spec_activation_has_a_function():
    for name in ACTIVATIONS:
        out = get_activation(name)(X)
        assert out.dtype == np.float64 and out.shape == X.shape


def test_unknown_activation_lists_valid_names():
    with pytest.raises(ValueError, match="hard_sigmoid"):
        get_activation("swish")


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "softsign"])
def test_matches_torch_float64(name):
    expected = {
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": torch.relu,
        "softsign": torch.nn.functional.softsign,
    }[name](torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(get_activation(name)(X), expected, rtol=1e-14, atol=1e-300)


def test_sigmoid_is_stable_for_huge_inputs():
    x = np.array([-1e308, -1000.0, -745.0, 0.0, 745.0, 1000.0, 1e308])
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")  # underflow of exp(-|x|) to 0 is fine (and silent by default)
        out = sigmoid(x)
    assert out[0] == 0.0 and out[-1] == 1.0 and out[3] == 0.5
    assert np.all(np.isfinite(out)) and np.all(np.diff(out) >= 0)


def test_hard_sigmoid_is_keras3():
    np.testing.assert_array_equal(hard_sigmoid([-3.0, -10.0, 0.0, 3.0, 10.0]), [0.0, 0.0, 0.5, 1.0, 1.0])
    np.testing.assert_allclose(hard_sigmoid(1.2), 1.2 / 6 + 0.5)


def test_softsign_and_linear():
    np.testing.assert_allclose(softsign([-3.0, 1.0]), [-0.75, 0.5])
    x = np.arange(3.0)
    y = get_activation("linear")(x)
    np.testing.assert_array_equal(y, x)
    assert y is not x
