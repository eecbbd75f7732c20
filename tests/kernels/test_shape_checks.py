"""The fused C++ kernels check every shape they index by (TORCH_CHECK) even when called directly,
bypassing lstmkit.nn's Python checks: a wrong size is a RuntimeError naming it, never a read out
of bounds."""

from __future__ import annotations

import pytest
import torch

from lstmkit.kernels import fused

pytestmark = pytest.mark.skipif(not fused.available(), reason="fused kernels not built")

T, B, H = 3, 2, 4
# The plain LSTM's switches, spelled out (they are also the schema's defaults).
SWITCHES = dict(input_gate=True, forget_gate=True, output_gate=True, coupled=False, gate_activation="sigmoid",
                input_activation="tanh", output_activation="tanh", zoneout_h=0.0, zoneout_c=0.0, ln_eps=1e-5)


def _lstm(gx=None, h0=None, c0=None, w_hh=None, **masks):
    gx = torch.randn(T, B, 4 * H) if gx is None else gx
    h0 = torch.zeros(B, H) if h0 is None else h0
    c0 = torch.zeros(B, H) if c0 is None else c0
    w_hh = torch.randn(4 * H, H) if w_hh is None else w_hh
    return torch.ops.lstmkit.lstm_forward(gx, h0, c0, w_hh, **masks, **SWITCHES)


def test_correct_shapes_run() -> None:
    assert _lstm()[0].shape == (T, B, H)


@pytest.mark.parametrize("kwargs,match", [
    (dict(w_hh=torch.randn(4 * H, 3)), "weight_hh has 48 elements, expected 64"),
    (dict(h0=torch.zeros(1, H)), r"h0 \[1, 4\] and c0 \[2, 4\] must be \(batch=2, size\)"),
    (dict(c0=torch.zeros(1, H)), r"must be \(batch=2, size\)"),
    (dict(gx=torch.randn(T, B * 4 * H)), r"gx must be \(T, batch, gates\*H\)"),
    (dict(rmask=torch.ones(B, 2)), "recurrent-dropout mask has 4 elements, expected 8"),
    (dict(step_mask=torch.ones(1, 1, dtype=torch.uint8)), "step mask has 1 elements, expected 6"),
    (dict(keep_h=torch.ones(T, B, 1, dtype=torch.uint8)), "hidden zoneout mask"),
])
def test_wrong_shapes_are_refused_in_cpp(kwargs, match) -> None:
    with pytest.raises(RuntimeError, match=match):
        _lstm(**kwargs)


def test_gru_wrong_weight_is_refused_in_cpp() -> None:
    gx, h0 = torch.randn(T, B, 3 * H), torch.zeros(B, H)
    gru = torch.ops.lstmkit.gru_forward
    with pytest.raises(RuntimeError, match="weight_hh has 24 elements, expected 48"):
        gru(gx, h0, torch.randn(3 * H, 2), reset_after=True, gate_activation="sigmoid", activation="tanh")
    with pytest.raises(RuntimeError, match="h0 has 1 rows, expected 2"):
        gru(gx, torch.zeros(1, H), torch.randn(3 * H, H), reset_after=True, gate_activation="sigmoid",
            activation="tanh")
