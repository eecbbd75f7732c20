import numpy as np
import pytest
import torch

from lstmkit.cells import (
    LSTM_VARIANTS,
    forget_gate,
    input_gate,
    lstm_cell,
    lstm_step,
    output_gate,
    slide_weights_from_torch,
)

from .helpers import cell_params


def torch_cell(I, H, seed, bias=True):
    torch.manual_seed(seed)
    return torch.nn.LSTMCell(I, H, bias=bias, dtype=torch.float64)


def state(B, I, H, seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(B, I)), rng.normal(size=(B, H)), rng.normal(size=(B, H))


@pytest.mark.parametrize("B,I,H,bias", [(1, 3, 3, True), (4, 5, 7, True), (2, 6, 4, False)])
def test_slides_equal_torch_lstmcell(B, I, H, bias):
    cell = torch_cell(I, H, seed=B + I + H, bias=bias)
    x, h, c = state(B, I, H, seed=1)
    with torch.no_grad():
        h_t, c_t = cell(torch.from_numpy(x), (torch.from_numpy(h), torch.from_numpy(c)))
    p = cell_params(cell)
    w = slide_weights_from_torch(p["weight_ih"], p["weight_hh"], p.get("bias_ih"), p.get("bias_hh"))
    h_s, c_s = lstm_cell(x, h, c, w)
    np.testing.assert_allclose(h_s, h_t.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(c_s, c_t.numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_slides_equal_lstm_step(seed):
    B, I, H = 3, 4, 5
    cell = torch_cell(I, H, seed=seed)
    p = cell_params(cell)
    x, h, c = state(B, I, H, seed=seed + 10)
    w = slide_weights_from_torch(p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"])
    h_s, c_s = lstm_cell(x, h, c, w)
    h_g, c_g, gates = lstm_step(LSTM_VARIANTS["lstm"], p, x, h, c)
    np.testing.assert_allclose(h_s, h_g, rtol=0, atol=1e-13)
    np.testing.assert_allclose(c_s, c_g, rtol=0, atol=1e-13)

    # each slide's gate is the general step's gate
    np.testing.assert_allclose(forget_gate(x, h, w["W_f"], w["U_f"], w["b_f"]), gates["f"], atol=1e-13)
    i, c_candidate = input_gate(x, h, w["W_i"], w["U_i"], w["b_i"], w["W_c"], w["U_c"], w["b_c"])
    np.testing.assert_allclose(i, gates["i"], atol=1e-13)
    np.testing.assert_allclose(c_candidate, gates["g"], atol=1e-13)
    np.testing.assert_allclose(output_gate(x, h, c_g, w["W_o"], w["U_o"], w["b_o"]), h_g, atol=1e-13)


def test_conversion_layout():
    H, I = 2, 3
    w_ih = np.arange(4 * H * I, dtype=float).reshape(4 * H, I)
    w_hh = np.arange(4 * H * H, dtype=float).reshape(4 * H, H)
    w = slide_weights_from_torch(w_ih, w_hh, bias_ih=np.ones(4 * H))
    np.testing.assert_array_equal(w["W_i"], w_ih[0:2].T)
    np.testing.assert_array_equal(w["W_c"], w_ih[4:6].T)  # torch's "g" rows are the slides' c
    np.testing.assert_array_equal(w["U_o"], w_hh[6:8].T)
    np.testing.assert_array_equal(w["b_f"], np.ones(H))
    assert w["W_f"].shape == (I, H) and w["U_f"].shape == (H, H) and w["b_f"].shape == (H,)
    no_bias = slide_weights_from_torch(w_ih, w_hh)
    np.testing.assert_array_equal(no_bias["b_o"], np.zeros(H))


def test_slide_errors():
    w = slide_weights_from_torch(np.zeros((8, 3)), np.zeros((8, 2)))
    del w["U_f"]
    with pytest.raises(ValueError, match="U_f"):
        lstm_cell(np.zeros((1, 3)), np.zeros((1, 2)), np.zeros((1, 2)), w)
    with pytest.raises(ValueError, match="weight_ih"):
        slide_weights_from_torch(np.zeros((7, 3)), np.zeros((8, 2)))
    with pytest.raises(ValueError, match="weight_hh"):
        slide_weights_from_torch(np.zeros((8, 3)), np.zeros((8, 3)))
    with pytest.raises(ValueError, match="bias_hh"):
        slide_weights_from_torch(np.zeros((8, 3)), np.zeros((8, 2)), bias_hh=np.zeros(4))
