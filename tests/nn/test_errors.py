"""Bad configuration and bad input: each raises ValueError/TypeError naming the argument, what
it got and what was expected — never a shape error from deep inside torch."""

from __future__ import annotations

import pytest
import torch

import lstmkit.nn as lnn


@pytest.mark.parametrize("cls", [lnn.LSTM, lnn.GRU])
@pytest.mark.parametrize("kw,match", [
    (dict(dropout=1.0), r"dropout must be a float in \[0, 1\), got 1.0"),
    (dict(dropout=-0.1), r"dropout must be a float in \[0, 1\), got -0.1"),
    (dict(dropout="0.2"), r"dropout must be a float in \[0, 1\), got '0.2'"),
    (dict(recurrent_dropout=1.5), r"recurrent_dropout must be a float in \[0, 1\), got 1.5"),
    (dict(zoneout=1.0), r"zoneout must be a float in \[0, 1\), got 1.0"),
    (dict(variant="lstmm"), r"variant must be one of .*got 'lstmm'"),
    (dict(backend="cuda"), r"backend must be one of \['auto', 'fused', 'torch', 'reference'\], got 'cuda'"),
    (dict(num_layers=0), r"num_layers must be a positive int, got 0"),
    (dict(hidden_size=[8, 0]), r"hidden_size must be a positive int, got 0"),
    (dict(hidden_size=[8, 4], num_layers=3), r"num_layers=3 does not match hidden_size=\[8, 4\]"),
    (dict(activation="swish"), r"activation must be one of .*got 'swish'"),
    (dict(recurrent_activation="gelu"), r"recurrent_activation must be one of .*got 'gelu'"),
    (dict(masked_output="nan"), r"masked_output must be 'zero' or 'carry', got 'nan'"),
])
def test_bad_config(cls, kw, match):
    kw = {"input_size": 3, "hidden_size": 4, **kw}
    with pytest.raises(ValueError, match=match):
        cls(**kw)


@pytest.mark.parametrize("kw,match", [
    (dict(proj_size=4), r"proj_size must be smaller than hidden_size, got 4 >= 4"),
    (dict(proj_size=-1), r"proj_size must be a non-negative int, got -1"),
    (dict(variant="nfg", forget_bias=1.0), r"forget_bias needs a forget gate, but variant 'nfg' has none"),
    (dict(variant="cifg", forget_bias=1.0), r"forget_bias needs a forget gate, but variant 'cifg' has none"),
    (dict(bias=False, forget_bias=1.0), r"forget_bias needs an LSTM with bias=True"),
    (dict(zoneout=(0.1, 0.2, 0.3)), r"zoneout must be a float or a \(cell, hidden\) pair"),
    (dict(variant="np", peepholes=False, layer_norm=True, backend="torch"),
     r"backend='torch' \(torch's fused kernels\) cannot run layer_norm"),
    (dict(variant="cifg", backend="torch"), r"cannot run variant='cifg'"),
])
def test_bad_lstm_config(kw, match):
    with pytest.raises(ValueError, match=match):
        m = lnn.LSTM(3, 4, **kw)
        m(torch.randn(2, 1, 3))  # backend errors surface at the first call


def test_mut_needs_square_input():
    with pytest.raises(ValueError, match=r"variant 'mut1' adds the input .* layer 0 has 3 inputs and hidden_size 4"):
        lnn.GRU(3, 4, variant="mut1")
    with pytest.raises(ValueError, match=r"input_size must equal hidden_size, got input_size=3 and hidden_size=4"):
        lnn.GRUCell(3, 4, variant="mut2")
    lnn.GRU(4, 4, num_layers=2, variant="mut1")  # fine: every layer is square
    with pytest.raises(ValueError, match="reset_after applies to variant 'gru' / 'gru_cho', not 'mut3'"):
        lnn.GRU(4, 4, variant="mut3", reset_after=False)


@pytest.fixture
def lstm():
    return lnn.LSTM(3, 4, num_layers=2)


@pytest.mark.parametrize("x,exc,match", [
    (torch.randn(5), ValueError, r"input must be 3-D \(seq, batch, feature\) or 2-D .* got 1-D with shape \(5,\)"),
    (torch.randn(1, 5, 2, 3), ValueError, r"got 4-D with shape \(1, 5, 2, 3\)"),
    (torch.randn(5, 2, 7), ValueError, r"input has 7 features \(last dim\), expected input_size=3"),
    (torch.zeros(5, 2, 3, dtype=torch.long), TypeError,
     r"input must be a floating-point tensor, got dtype torch.int64"),
    ([[0.0, 1.0, 2.0]], TypeError, r"input must be a torch.Tensor or PackedSequence, got list"),
    (torch.randn(0, 2, 3), ValueError, r"input has no time steps"),
])
def test_bad_input(lstm, x, exc, match):
    with pytest.raises(exc, match=match):
        lstm(x)


def test_bad_states(lstm):
    x = torch.randn(5, 2, 3)
    h0, c0 = torch.zeros(2, 2, 4), torch.zeros(2, 2, 4)
    with pytest.raises(ValueError, match=r"h_0 must have shape \(num_layers\*num_directions, batch, size\) = "
                                         r"\(2, 2, 4\), got \(1, 2, 4\)"):
        lstm(x, (torch.zeros(1, 2, 4), c0))
    with pytest.raises(ValueError, match=r"c_0 must have shape .* = \(2, 2, 4\), got \(2, 3, 4\)"):
        lstm(x, (h0, torch.zeros(2, 3, 4)))
    with pytest.raises(TypeError, match=r"hx for an LSTM must be a tuple \(h_0, c_0\)"):
        lstm(x, h0)
    with pytest.raises(ValueError, match=r"h_0 must match the input's dtype/device"):
        lstm(x, (h0.double(), c0))
    gru = lnn.GRU(3, 4)
    with pytest.raises(ValueError, match=r"h_0 must have shape .* = \(1, 2, 4\), got \(2, 2, 4\)"):
        gru(x, h0)
    per_layer = lnn.LSTM(3, [4, 2])
    with pytest.raises(TypeError, match=r"h_0 must be a list of 2 tensors"):
        per_layer(x, (h0, c0))


def test_bad_lengths_and_mask(lstm):
    x = torch.randn(5, 2, 3)
    with pytest.raises(ValueError, match=r"lengths must be in \[1, 5\] \(the sequence length\), got min 2, max 6"):
        lstm(x, lengths=[6, 2])
    with pytest.raises(ValueError, match=r"lengths must be in \[1, 5\] .* got min 0"):
        lstm(x, lengths=[0, 2])
    with pytest.raises(ValueError, match=r"lengths must have shape \(batch,\) = \(2,\), got \(3,\)"):
        lstm(x, lengths=[1, 2, 3])
    with pytest.raises(TypeError, match=r"lengths must hold integers, got dtype torch.float32"):
        lstm(x, lengths=torch.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"mask must have shape \(seq, batch\) = \(5, 2\), got \(2, 5\)"):
        lstm(x, mask=torch.ones(2, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match="pass either lengths= or mask=, not both"):
        lstm(x, lengths=[1, 2], mask=torch.ones(5, 2, dtype=torch.bool))
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, [5, 3])
    with pytest.raises(ValueError, match="a PackedSequence carries its own lengths"):
        lstm(packed, lengths=[5, 3])


def test_bad_cell_input():
    cell = lnn.LSTMCell(3, 4)
    with pytest.raises(ValueError, match=r"input must have shape \(batch, 3\) or \(3,\), got \(2, 5\)"):
        cell(torch.randn(2, 5))
    with pytest.raises(ValueError, match=r"hx\[1\] must have shape \(batch, size\) = \(2, 4\), got \(2, 5\)"):
        cell(torch.randn(2, 3), (torch.zeros(2, 4), torch.zeros(2, 5)))
    with pytest.raises(TypeError, match=r"hx must be a tuple of 3 tensors for LSTMCell, got 2"):
        lnn.LSTMCell(3, 4, variant="fgr")(torch.randn(2, 3), (torch.zeros(2, 4), torch.zeros(2, 4)))
