"""Whole sequences on the streaming kernel (``backend="auto"``, inference at batch <= 4): equal
to torch.nn (float32, atol 1e-5) and chosen only where it applies."""

from __future__ import annotations

import pytest
import torch

import lstmkit.nn as lnn
from lstmkit import kernels
from lstmkit.kernels import fused, stream

pytestmark = pytest.mark.skipif(not fused.available(), reason="fused kernels not built")
TOL = {"rtol": 1e-5, "atol": 1e-5}


@pytest.fixture
def spy(monkeypatch):
    calls = []
    real = stream.run
    monkeypatch.setattr(stream, "run", lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
@pytest.mark.parametrize("batch", [1, 2, kernels.STREAM_SEQUENCE_MAX_BATCH])
@pytest.mark.parametrize("hidden,layers", [(256, 2), (40, 1), (64, 3)])
def test_inference_equals_torch(kind, batch, hidden, layers, spy):
    torch.manual_seed(0)
    ref = getattr(torch.nn, kind)(8, hidden, num_layers=layers, batch_first=True)
    ours = getattr(lnn, kind)(8, hidden, num_layers=layers, batch_first=True)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(batch, 30, 8)
    with torch.no_grad():
        want, want_state = ref(x)
        got, got_state = ours(x)
    torch.testing.assert_close(got, want, **TOL)
    for g, w in zip(got_state if kind == "LSTM" else (got_state,), want_state if kind == "LSTM" else (want_state,)):
        torch.testing.assert_close(g, w, **TOL)
    assert len(spy) == 1


@pytest.mark.parametrize("case", ["grad", "big_batch", "bidirectional", "lengths", "peepholes", "float64", "torch"])
def test_other_calls_keep_their_paths(case, spy):
    kwargs = {"bidirectional": True} if case == "bidirectional" else {}
    kwargs |= {"peepholes": True} if case == "peepholes" else {}
    kwargs |= {"backend": "torch"} if case == "torch" else {}
    layer = lnn.LSTM(3, 32, **kwargs)
    x = torch.randn(5, 32 if case == "big_batch" else 2, 3)
    if case == "float64":
        layer, x = layer.double(), x.double()
    extra = {"lengths": torch.tensor([5, 3])} if case == "lengths" else {}
    if case == "grad":
        layer(x, **extra)[0].sum().backward()
    else:
        with torch.no_grad():
            layer(x, **extra)
    assert spy == []
