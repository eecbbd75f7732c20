"""Graph capture of ``lstmkit.nn`` stacks on the default backend="auto" (issue 17, export for serving):
torch.export.export with dynamic batch and sequence length, torch.jit.trace, torch.jit.script
(the torch.nn equivalent, a clear TypeError otherwise) and torch.compile(fullgraph=True), forward
and backward, each against eager mode. The fused paths run as the custom ops of
``lstmkit.kernels.traced``; eager calls never use them."""

from __future__ import annotations

import warnings

import pytest
import torch

from lstmkit.kernels import fused
from lstmkit.nn import GRU, LSTM, RNN

pytestmark = pytest.mark.skipif(not fused.available(), reason="the fused CPU kernels are not built")

TOL = {"rtol": 1e-5, "atol": 1e-5}

CASES = {
    "lstm": lambda: LSTM(3, 5),
    "lstm_2l_bi_bf": lambda: LSTM(3, 5, num_layers=2, bidirectional=True, batch_first=True),
    "lstm_proj": lambda: LSTM(3, 6, num_layers=2, proj_size=2),
    "gru_2l_bi": lambda: GRU(3, 5, num_layers=2, bidirectional=True),
    "rnn": lambda: RNN(3, 5, nonlinearity="relu", batch_first=True),
    "lstm_cifg": lambda: LSTM(4, 4, variant="cifg"),
    "lstm_peepholes": lambda: LSTM(3, 5, peepholes=True, bidirectional=True),
}


def _make(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return CASES[name]().eval()


def _x(m, batch: int, steps: int) -> torch.Tensor:
    shape = (batch, steps, m.input_size) if m.batch_first else (steps, batch, m.input_size)
    return torch.randn(*shape)


def _flat(result) -> list[torch.Tensor]:
    if isinstance(result, torch.Tensor):
        return [result]
    return [t for part in result for t in _flat(part)]


def _close(got, want) -> None:
    got, want = _flat(got), _flat(want)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, **TOL)


@pytest.mark.parametrize("name", list(CASES))
def test_export_dynamic_batch_and_time(name):
    m = _make(name)
    batch, time = torch.export.Dim("batch", max=64), torch.export.Dim("time", max=256)
    dims = {0: batch, 1: time} if m.batch_first else {0: time, 1: batch}
    ep = torch.export.export(m, (_x(m, 2, 4),), dynamic_shapes=({**dims},))
    targets = {str(n.target) for n in ep.graph.nodes if n.op == "call_function"}
    if name != "rnn":  # the fused path: one opaque op per layer-direction, no per-step graph
        assert any("lstmkit.fused" in t for t in targets), targets
    x = _x(m, 5, 7)  # another batch size and length than the example
    with torch.no_grad():
        _close(ep.module()(x), m(x))


@pytest.mark.parametrize("name", ["lstm_2l_bi_bf", "gru_2l_bi", "rnn", "lstm_cifg"])
def test_jit_trace(name):
    m = _make(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings for the shape checks of forward
        traced = torch.jit.trace(m, (_x(m, 2, 4),))
    x = _x(m, 3, 6)
    with torch.no_grad():
        _close(traced(x), m(x))


@pytest.mark.parametrize("name", ["lstm", "lstm_2l_bi_bf", "lstm_proj", "gru_2l_bi", "rnn"])
def test_jit_script_runs_the_torch_nn_equivalent(name):
    m = _make(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.script is deprecated in torch 2.13
        scripted = torch.jit.script(m)
    x = _x(m, 3, 6)
    with torch.no_grad():
        _close(scripted(x), m(x))
    assert scripted.rnn.weight_hh_l0.data_ptr() == m.weight_hh_l0.data_ptr()  # the same parameters


@pytest.mark.parametrize("make", [lambda: LSTM(3, 3, variant="cifg"), lambda: LSTM(3, 5, layer_norm=True),
                                  lambda: GRU(3, [5, 4], num_layers=2)])
def test_jit_script_names_the_alternative(make):
    with pytest.raises(TypeError, match=r"torch\.export\.export"):
        torch.jit.script(make())


# inductor (the default backend) compiles C++ for a while: one case; the others check the same
# graphs and autograd formulas through AOTAutograd without code generation.
@pytest.mark.parametrize("name, backend", [("lstm_2l_bi_bf", "inductor"), ("gru_2l_bi", "aot_eager"),
                                           ("rnn", "aot_eager"), ("lstm_peepholes", "aot_eager")])
def test_compile_fullgraph_forward_and_backward(name, backend):
    m = _make(name).train()
    explain = torch._dynamo.explain(m)(_x(m, 2, 4))
    assert explain.graph_break_count == 0 and explain.graph_count == 1
    compiled = torch.compile(m, fullgraph=True, backend=backend)
    x = _x(m, 3, 6).requires_grad_()
    out, _ = compiled(x)
    ref, _ = m(x)
    _close(out, ref)
    got = torch.autograd.grad(out.square().sum(), [x, *m.parameters()])
    want = torch.autograd.grad(ref.square().sum(), [x, *m.parameters()])
    _close(got, want)


def test_eager_calls_do_not_use_the_capture_ops(monkeypatch):
    from lstmkit.kernels import traced

    def refuse(*args, **kwargs):
        raise AssertionError("eager call went through lstmkit.kernels.traced")

    monkeypatch.setattr(traced, "lstm_layer", refuse)
    monkeypatch.setattr(traced, "gru_recurrence", refuse)
    for name in ("lstm", "gru_2l_bi"):
        m = _make(name)
        m(_x(m, 2, 3))[0].sum().backward()
