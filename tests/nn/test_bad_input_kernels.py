"""Input the fused C++ kernels would otherwise trust: replaced parameters of the wrong shape, a
dtype that is not the layer's, non-tensor lengths/masks, and the empty batch (which torch.nn
answers with empty outputs). Each is refused in Python, naming the argument, on every backend."""

from __future__ import annotations

import pytest
import torch

import lstmkit.nn as lnn

BACKENDS = ["fused", "torch", "reference"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("cls,name,shape", [
    (lnn.LSTM, "weight_hh_l0", (16, 3)), (lnn.LSTM, "weight_ih_l0", (16, 2)), (lnn.LSTM, "bias_ih_l0", (15,)),
    (lnn.LSTM, "bias_hh_l0", (16, 1)), (lnn.GRU, "weight_hh_l0", (12, 2)), (lnn.GRU, "bias_hh_l0", (11,)),
])
def test_replaced_parameter_of_the_wrong_shape_is_refused(cls, name, shape, backend) -> None:
    layer = cls(3, 4, batch_first=True, backend=backend)
    setattr(layer, name, torch.nn.Parameter(torch.randn(*shape)))
    with pytest.raises(ValueError, match=rf"parameter {name} has shape {tuple(shape)}".replace("(", r"\(")
                       .replace(")", r"\)")):
        layer(torch.randn(2, 5, 3))


@pytest.mark.parametrize("backend", BACKENDS)
def test_input_of_another_dtype_names_both(backend) -> None:
    layer = lnn.LSTM(3, 4, batch_first=True, backend=backend)
    with pytest.raises(TypeError, match=r"input dtype torch.float64 does not match .* torch.float32"):
        layer(torch.randn(2, 5, 3, dtype=torch.float64))
    double = lnn.LSTM(3, 4, batch_first=True, backend=backend).double()
    assert double(torch.randn(2, 5, 3, dtype=torch.float64))[0].dtype == torch.float64


@pytest.mark.parametrize("kw,exc,match", [
    (dict(mask="yes"), TypeError, r"mask must be a bool tensor of shape \(2, 5\), got str 'yes'"),
    (dict(mask=torch.ones(2, 5)), TypeError, r"mask must be bool .* got dtype torch.float32"),
    (dict(lengths="5,2"), TypeError, r"lengths must be a \(batch,\) = \(2,\) tensor or list of ints, got str"),
    (dict(lengths=[5, None]), TypeError, r"lengths must be"),
])
def test_non_tensor_lengths_and_masks_name_the_argument(kw, exc, match) -> None:
    with pytest.raises(exc, match=match):
        lnn.LSTM(3, 4, batch_first=True)(torch.randn(2, 5, 3), **kw)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_empty_batch_gives_empty_outputs_like_torch(mode, batch_first, bidirectional, backend) -> None:
    ours = getattr(lnn, mode)(3, 4, num_layers=2, bidirectional=bidirectional, batch_first=batch_first,
                              backend=backend)
    ref = getattr(torch.nn, mode)(3, 4, num_layers=2, bidirectional=bidirectional, batch_first=batch_first)
    x = torch.randn(0, 5, 3) if batch_first else torch.randn(5, 0, 3)
    out, state = ours(x)
    ref_out, ref_state = ref(x)
    assert out.shape == ref_out.shape
    for a, b in zip(state if mode == "LSTM" else (state,), ref_state if mode == "LSTM" else (ref_state,)):
        assert a.shape == b.shape
