"""``LSTM.step`` / ``GRU.step``: one time step at a time equals the whole-sequence forward and
torch.nn called step by step (float32, atol 1e-5), on the streaming kernel and on the fallback."""

from __future__ import annotations

import pytest
import torch

import lstmkit.nn as lnn
from lstmkit.kernels import fused, stream
from lstmkit.nn._stream import STREAM_MAX_BATCH

needs_fused = pytest.mark.skipif(not fused.available(), reason="fused kernels not built")
TOL = {"rtol": 1e-5, "atol": 1e-5}
PAIRS = {"LSTM": (lnn.LSTM, torch.nn.LSTM), "GRU": (lnn.GRU, torch.nn.GRU)}


def _pair(kind: str, *args, **kwargs):
    ours_cls, ref_cls = PAIRS[kind]
    torch.manual_seed(0)
    ref = ref_cls(*args, **kwargs)
    ours = ours_cls(*args, **kwargs)
    ours.load_state_dict(ref.state_dict())
    return ours, ref


def _initial(kind: str, layers: int, batch: int, hidden: int):
    h = torch.randn(layers, batch, hidden)
    return (h, torch.randn(layers, batch, hidden)) if kind == "LSTM" else h


def _step_through(layer, x: torch.Tensor, state=None):
    """``layer.step`` over the first axis of ``x``: the stacked outputs and the final state."""
    outs = []
    for x_t in x:
        out, state = layer.step(x_t, state)
        outs.append(out)
    return torch.stack(outs), state


@pytest.fixture
def spy(monkeypatch):
    """Counts calls of the streaming kernel (whole sequences or single steps)."""
    calls = []
    for name in ("run", "step"):
        real = getattr(stream, name)
        monkeypatch.setattr(stream, name, lambda *a, _real=real, **k: calls.append(1) or _real(*a, **k))
    return calls


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
@pytest.mark.parametrize("input_size,hidden,layers,batch", [(64, 256, 2, 1), (7, 20, 1, 3), (1, 64, 3, 5),
                                                             (5, 33, 2, 16), (4, 16, 1, 17)])
@pytest.mark.parametrize("batch_first", [False, True])
def test_steps_equal_forward_and_torch(kind, input_size, hidden, layers, batch, batch_first, spy):
    ours, ref = _pair(kind, input_size, hidden, num_layers=layers, batch_first=batch_first)
    x = torch.randn(12, batch, input_size)  # time-major here; each step is (batch, input_size)
    state0 = _initial(kind, layers, batch, hidden)
    with torch.no_grad():
        want, want_state = ref(x.transpose(0, 1) if batch_first else x, state0)
        if batch_first:
            want = want.transpose(0, 1)
        got, state = _step_through(ours, x, state0)
    torch.testing.assert_close(got, want, **TOL)
    for got, exp in zip(state if kind == "LSTM" else (state,), want_state if kind == "LSTM" else (want_state,)):
        torch.testing.assert_close(got, exp, **TOL)
    fast = fused.available() and batch <= STREAM_MAX_BATCH
    assert len(spy) == (x.shape[0] if fast else 0)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_unbatched_and_no_state(kind):
    ours, ref = _pair(kind, 3, 24, num_layers=2)
    x = torch.randn(6, 3)
    with torch.inference_mode():
        want, _ = ref(x)
        got, state = _step_through(ours, x)
    assert got.shape == (6, 24)
    torch.testing.assert_close(got, want, **TOL)
    h = state[0] if kind == "LSTM" else state
    assert h.shape == (2, 24)


@needs_fused
def test_packed_weights_follow_in_place_updates(spy):
    ours, ref = _pair("LSTM", 4, 32)
    x = torch.randn(2, 4)
    with torch.no_grad():
        ours.step(x)
        ours.weight_hh_l0.mul_(0.5)  # an optimizer step does this in place
        ref.weight_hh_l0.mul_(0.5)
        state = (torch.randn(1, 2, 32), torch.randn(1, 2, 32))
        got, _ = ours.step(x, state)
        want, _ = ref(x.unsqueeze(0), state)
    torch.testing.assert_close(got, want[0], **TOL)
    ours.load_state_dict({k: v * 2 for k, v in ref.state_dict().items()})  # new storage
    with torch.no_grad():
        got, _ = ours.step(x, state)
        want, _ = ours(x.unsqueeze(0), state)
    torch.testing.assert_close(got, want[0], **TOL)
    assert len(spy) == 4  # three steps, and forward at batch 2 without gradients streams too


@pytest.mark.parametrize("kwargs", [{"peepholes": True}, {"variant": "cifg"}, {"layer_norm": True},
                                    {"proj_size": 8}, {"zoneout": 0.1}, {"dropout": 0.2, "num_layers": 2}])
def test_variants_and_extras_take_the_layer_path(kwargs, spy):
    torch.manual_seed(1)
    layer = lnn.LSTM(3, 16, **kwargs).eval()
    x = torch.randn(5, 2, 3)
    with torch.no_grad():
        want, _ = layer(x)
        got, _ = _step_through(layer, x)
    torch.testing.assert_close(got, want, **TOL)
    assert len(spy) == (0 if "dropout" not in kwargs else 6)  # eval: a plain stack (5 steps + the forward)


def test_training_step_has_gradients(spy):
    layer = lnn.LSTM(3, 8, num_layers=2)
    x = torch.randn(4, 2, 3, requires_grad=True)
    state, total = None, 0.0
    for t in range(4):
        out, state = layer.step(x[t], state)
        total = total + out.sum()
    total.backward()
    assert x.grad is not None and layer.weight_hh_l1.grad is not None
    assert spy == []  # gradients go through forward, never the streaming kernel
    want, _ = layer(x.detach())
    torch.testing.assert_close(total.detach(), want.sum().detach(), **TOL)


@pytest.mark.parametrize("kwargs,match", [({"bidirectional": True}, "bidirectional"),
                                          ({"go_backwards": True}, "go_backwards")])
def test_refuses_layers_that_need_the_whole_sequence(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lnn.LSTM(3, 8, **kwargs).step(torch.randn(2, 3))


def test_bad_inputs_name_what_was_expected():
    layer = lnn.GRU(3, 8)
    with pytest.raises(ValueError, match=r"\(batch, input_size\)"):
        layer.step(torch.randn(4, 2, 3))
    with pytest.raises(ValueError, match="expected input_size=3"):
        layer.step(torch.randn(2, 5))
    with pytest.raises(ValueError, match="h_0"):
        layer.step(torch.randn(2, 3), torch.randn(1, 3, 8))
    with pytest.raises(TypeError, match="torch.Tensor"):
        layer.step([1.0, 2.0, 3.0])


@needs_fused
def test_peak_is_measured():
    fp32, bf16 = stream.peak_gflops(seconds=0.05, threads=1)
    assert fp32 > 1.0 and bf16 >= 0.0


@needs_fused
def test_remembered_routing_follows_what_changed(spy):
    """step() remembers the routing answer between tokens; a change of grad mode, backend,
    batch or training mode is asked afresh (and still equals forward)."""
    layer = lnn.GRU(5, 16, num_layers=2)
    x = torch.randn(3, 5)
    with torch.no_grad():
        _step_through(layer, x.unsqueeze(1))
        assert len(spy) == 3  # streamed
        layer.backend = "reference"
        out, _ = layer.step(x[:1])
        assert len(spy) == 3  # the loop now
        layer.backend = "auto"
        layer.step(torch.randn(STREAM_MAX_BATCH + 1, 5))  # too big a batch: forward
        assert len(spy) == 3
        layer.step(x[:1])
        assert len(spy) == 4
    out, _ = layer.step(x[:1])  # grad mode on: forward, with a graph
    assert out.requires_grad and len(spy) == 4
    torch.testing.assert_close(out, layer(x[:1].unsqueeze(0))[0][0], **TOL)
