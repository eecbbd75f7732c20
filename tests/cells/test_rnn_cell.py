"""The NumPy Elman cell ``simple_rnn_step`` and ``run_rnn``: the equation by hand, torch.nn.RNNCell
and torch.nn.RNN in float64 (1e-12), recurrent mask, zoneout and errors."""

import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from lstmkit.cells import RNNSpec, rnn_spec, run_rnn, simple_rnn_step

from .helpers import torch_layers

T, B, I, H = 6, 4, 3, 5
LENGTHS = np.array([6, 2, 4, 1])


def _params(rng, bias=True):
    p = {"weight_ih": rng.normal(0, 0.5, (H, I)), "weight_hh": rng.normal(0, 0.5, (H, H))}
    if bias:
        p.update(bias_ih=rng.normal(0, 0.5, H), bias_hh=rng.normal(0, 0.5, H))
    return p


@pytest.mark.parametrize("activation", ["tanh", "relu", "softsign"])
def test_hand_computation(activation):
    rng = np.random.default_rng(0)
    p, x, h = _params(rng), rng.normal(size=(B, I)), rng.normal(size=(B, H))
    h_new, values = simple_rnn_step(rnn_spec(activation), p, x, h)
    a = x @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T + p["bias_hh"]
    act = {"tanh": np.tanh, "relu": lambda v: np.maximum(v, 0), "softsign": lambda v: v / (1 + np.abs(v))}
    np.testing.assert_allclose(values["a"], a, rtol=0, atol=1e-12)
    np.testing.assert_allclose(h_new, act[activation](a), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(values["h"], h_new)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("bias", [True, False])
def test_equals_torch_rnncell(nonlinearity, bias):
    torch.manual_seed(1)
    cell = torch.nn.RNNCell(I, H, bias=bias, nonlinearity=nonlinearity, dtype=torch.float64)
    p = {k: v.detach().numpy() for k, v in cell.named_parameters()}
    rng = np.random.default_rng(1)
    x, h = rng.normal(size=(B, I)), rng.normal(size=(B, H))
    with torch.no_grad():
        expected = cell(torch.from_numpy(x), torch.from_numpy(h)).numpy()
    np.testing.assert_allclose(simple_rnn_step(rnn_spec(nonlinearity), p, x, h)[0], expected, rtol=0, atol=1e-12)


def test_recurrent_mask_and_zoneout():
    rng = np.random.default_rng(2)
    p, x, h = _params(rng), rng.normal(size=(B, I)), rng.normal(size=(B, H))
    spec = RNNSpec()
    mask = (rng.random((B, H)) > 0.5) / 0.5
    masked, _ = simple_rnn_step(spec, p, x, h, recurrent_mask=mask)
    np.testing.assert_allclose(masked, simple_rnn_step(spec, p, x, h * mask)[0], rtol=0, atol=1e-12)
    new, _ = simple_rnn_step(spec, p, x, h)
    keep = rng.random((B, H)) < 0.3
    np.testing.assert_array_equal(simple_rnn_step(spec, p, x, h, zoneout_mask=keep)[0], np.where(keep, h, new))
    np.testing.assert_allclose(simple_rnn_step(spec, p, x, h, zoneout=0.2)[0], 0.2 * h + 0.8 * new, atol=1e-12)


@pytest.mark.parametrize("packed", [False, True])
def test_run_rnn_equals_torch_bidirectional_two_layers(packed):
    torch.manual_seed(8)
    rnn = torch.nn.RNN(I, H, num_layers=2, nonlinearity="relu", bidirectional=True, dtype=torch.float64)
    rng = np.random.default_rng(3)
    x, h0 = rng.normal(size=(T, B, I)), rng.normal(size=(4, B, H))
    with torch.no_grad():
        xt = torch.from_numpy(x)
        if packed:
            xt = pack_padded_sequence(xt, torch.from_numpy(LENGTHS), enforce_sorted=False)
        out_t, h_t = rnn(xt, torch.from_numpy(h0))
        if packed:
            out_t, _ = pad_packed_sequence(out_t, total_length=T)
    out, h_n = run_rnn(rnn_spec("relu"), torch_layers(rnn, 2, True), x, h0, bidirectional=True,
                       lengths=LENGTHS if packed else None)
    np.testing.assert_allclose(out, out_t.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.stack(h_n), h_t.numpy(), rtol=0, atol=1e-12)


def test_errors():
    rng = np.random.default_rng(4)
    p, x, h = _params(rng), rng.normal(size=(B, I)), rng.normal(size=(B, H))
    with pytest.raises(ValueError, match="spec must be an RNNSpec"):
        simple_rnn_step("rnn", p, x, h)
    with pytest.raises(ValueError, match="named activation"):
        simple_rnn_step(RNNSpec(activation=torch.tanh), p, x, h)
    with pytest.raises(ValueError, match="unexpected params keys"):
        simple_rnn_step(RNNSpec(), {**p, "weight_hr": p["weight_hh"]}, x, h)
    with pytest.raises(ValueError, match=r"weight_hh must have shape \(5, 5\)"):
        simple_rnn_step(RNNSpec(), {**p, "weight_hh": p["weight_ih"]}, x, h)
    with pytest.raises(ValueError, match="activation must be one of"):
        rnn_spec("softmax")
    with pytest.raises(ValueError, match="either zoneout"):
        simple_rnn_step(RNNSpec(), p, x, h, zoneout=0.1, zoneout_mask=np.zeros((B, H), bool))
