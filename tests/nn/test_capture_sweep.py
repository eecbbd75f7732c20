"""Every ``lstmkit.nn`` stack configuration under every capture tool (issue 17, export for serving):
torch.export.export (dynamic batch and time), torch.jit.trace, torch.jit.script and
torch.compile(fullgraph=True), eval and train mode, forward and backward, against eager mode;
``lengths=`` / ``mask=`` under capture; zoneout and dropout in captured training (the random
masks are drawn inside the graph: the same bits as eager under one seed, fresh ones per run).

torch.compile runs the ``aot_eager`` backend (the same graphs and autograd formulas as inductor,
without code generation; tests/nn/test_export.py compiles one case with inductor), on few cases.
"""

from __future__ import annotations

import warnings

import pytest
import torch

from lstmkit.kernels import fused
from lstmkit.nn import GRU, LSTM, RNN

pytestmark = pytest.mark.skipif(not fused.available(), reason="the fused CPU kernels are not built")

TOL = {"rtol": 1e-5, "atol": 1e-5}
TIGHT = {"rtol": 1e-6, "atol": 1e-6}

CASES = {
    "lstm": lambda: LSTM(3, 4),
    "lstm_peepholes": lambda: LSTM(3, 4, peepholes=True),
    "lstm_cifg": lambda: LSTM(4, 4, variant="cifg", batch_first=True),
    "lstm_layer_norm": lambda: LSTM(3, 4, layer_norm=True),
    "lstm_proj_2l": lambda: LSTM(3, 5, num_layers=2, proj_size=2),
    "lstm_bi_2l_dropout": lambda: LSTM(3, 4, num_layers=2, bidirectional=True, dropout=0.3, batch_first=True),
    "lstm_zoneout": lambda: LSTM(3, 4, zoneout=(0.2, 0.3)),
    "lstm_recurrent_dropout": lambda: LSTM(3, 4, recurrent_dropout=0.3, go_backwards=True),
    "gru": lambda: GRU(3, 4),
    "gru_bi_layer_norm": lambda: GRU(3, 4, bidirectional=True, layer_norm=True),
    "gru_zoneout_recdrop": lambda: GRU(3, 4, zoneout=0.3, recurrent_dropout=0.2),
    "rnn_tanh": lambda: RNN(3, 4),
    "rnn_relu_bi_2l_dropout": lambda: RNN(3, 4, num_layers=2, nonlinearity="relu", bidirectional=True, dropout=0.3),
    "rnn_zoneout_recdrop": lambda: RNN(3, 4, zoneout=0.3, recurrent_dropout=0.2, batch_first=True),
    "rnn_sigmoid_bi": lambda: RNN(3, 4, nonlinearity="sigmoid", bidirectional=True),
}
#: torch.nn can compute these (torch.jit.script scripts that torch.nn module)
SCRIPTABLE = {"lstm", "lstm_proj_2l", "lstm_bi_2l_dropout", "gru", "rnn_tanh", "rnn_relu_bi_2l_dropout"}


def _make(name: str, train: bool = False) -> torch.nn.Module:
    torch.manual_seed(0)
    return CASES[name]().train(train)


def _x(m, batch: int, steps: int, grad: bool = False) -> torch.Tensor:
    x = torch.randn(*((batch, steps) if m.batch_first else (steps, batch)), m.input_size)
    return x.requires_grad_(grad)


def _dims(m) -> dict[int, torch.export.Dim]:
    batch, time = torch.export.Dim("batch", max=64), torch.export.Dim("time", max=256)
    return {0: batch, 1: time} if m.batch_first else {0: time, 1: batch}


def _flat(result) -> list[torch.Tensor]:
    return [result] if isinstance(result, torch.Tensor) else [t for part in result for t in _flat(part)]


def _loss(result) -> torch.Tensor:
    return sum((t * (k + 1)).square().sum() for k, t in enumerate(_flat(result)))


def _close(got, want, tol=TOL) -> None:
    got, want = _flat(got), _flat(want)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, **tol)


def _same_seed(fn, *args, seed: int = 7):
    torch.manual_seed(seed)
    return fn(*args)


def _check(captured, m, x, train: bool, params=None) -> None:
    """``captured(x)`` equals ``m(x)`` under the same seed, forward and the gradients of x and
    the parameters (``params``: the captured module's, by name; default: ``m``'s own)."""
    got, want = _same_seed(captured, x), _same_seed(m, x)
    _close(got, want)
    mine = dict(m.named_parameters())
    theirs = mine if params is None else params
    names = sorted(mine)
    g_got = torch.autograd.grad(_loss(got), [x, *(theirs[n] for n in names)])
    g_want = torch.autograd.grad(_loss(want), [x, *(mine[n] for n in names)])
    _close(g_got, g_want)


@pytest.mark.parametrize("train", [False, True], ids=["eval", "train"])
@pytest.mark.parametrize("name", list(CASES))
def test_export_dynamic_batch_and_time(name, train):
    m = _make(name, train)
    ep = torch.export.export(m, (_x(m, 2, 4),), dynamic_shapes=(_dims(m),))
    steps = {n for n in ep.graph.nodes if n.op == "call_function" and "lstmkit" in str(n.target)}
    assert steps, "the recurrence should be one lstmkit op per layer(-direction), not unrolled"
    module = ep.module()  # in the mode it was exported in
    _check(module, m, _x(m, 3, 7, grad=True), train, dict(module.named_parameters()))


@pytest.mark.parametrize("train", [False, True], ids=["eval", "train"])
@pytest.mark.parametrize("name", list(CASES))
def test_jit_trace(name, train):
    m = _make(name, train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings of the shape checks
        traced = torch.jit.trace(m, (_x(m, 2, 4),), check_trace=False)
    _check(traced, m, _x(m, 3, 6, grad=True), train)


@pytest.mark.parametrize("name", list(CASES))
def test_jit_script_or_a_clear_error(name):
    m = _make(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.script is deprecated in torch 2.13
        if name not in SCRIPTABLE:
            with pytest.raises(TypeError, match=r"torch\.export\.export"):
                torch.jit.script(m)
            return
        scripted = torch.jit.script(m)
    for train in (False, True):
        m.train(train)
        scripted.train(train)
        _check(scripted, m, _x(m, 3, 6, grad=True), train)


def _graph_breaks(m, *args) -> int:
    torch._dynamo.reset()
    explain = torch._dynamo.explain(m)(*args)
    assert explain.graph_count == 1
    return explain.graph_break_count


COMPILED = ["lstm_layer_norm", "gru_zoneout_recdrop", "lstm_bi_2l_dropout", "rnn_sigmoid_bi"]


@pytest.mark.parametrize("name", COMPILED)
def test_compile_fullgraph_no_graph_break(name):
    m = _make(name, train=True)
    assert _graph_breaks(m, _x(m, 2, 4)) == 0
    compiled = torch.compile(m, fullgraph=True, backend="aot_eager", dynamic=True)
    for train in (True, False):
        m.train(train)
        for batch, steps in ((3, 6), (2, 9)):  # another length: one graph, no recompilation per length
            _check(compiled, m, _x(m, batch, steps, grad=True), train)


# ----------------------------------------------------------------------------- lengths= and mask=


class _WithArg(torch.nn.Module):
    """``m(x, lengths=arg)`` or ``m(x, mask=arg)`` as a module of positional tensors."""

    def __init__(self, m: torch.nn.Module, kind: str):
        super().__init__()
        self.m, self.kind = m, kind

    def forward(self, x, arg):
        return self.m(x, **{self.kind: arg})


LENGTH_CASES = ["lstm", "lstm_bi_2l_dropout", "gru_bi_layer_norm", "rnn_tanh", "rnn_relu_bi_2l_dropout"]


def _arg(m, kind: str, batch: int, steps: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, steps + 1, (batch,), generator=g)
    lengths[0] = steps
    if kind == "lengths":
        return lengths
    mask = torch.rand(steps, batch, generator=g) > 0.3  # anywhere in the sequence, not only spans
    mask[:, 0] = True
    return mask.T.contiguous() if m.batch_first else mask


def _arg_dims(m, kind: str, dims: dict) -> dict:
    batch, time = (dims[0], dims[1]) if m.batch_first else (dims[1], dims[0])
    if kind == "lengths":
        return {0: batch}
    return {0: batch, 1: time} if m.batch_first else {0: time, 1: batch}


@pytest.mark.parametrize("kind", ["lengths", "mask"])
@pytest.mark.parametrize("name", LENGTH_CASES)
def test_lengths_and_mask_export_and_trace(name, kind):
    w = _WithArg(_make(name), kind)
    m = w.m
    dims = _dims(m)
    ep = torch.export.export(w, (_x(m, 2, 5), _arg(m, kind, 2, 5, 0)), dynamic_shapes=(dims, _arg_dims(m, kind, dims)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(w, (_x(m, 2, 5), _arg(m, kind, 2, 5, 0)), check_trace=False)
    for captured in (ep.module(), traced):
        x, arg = _x(m, 4, 8), _arg(m, kind, 4, 8, 1)
        with torch.no_grad():
            _close(captured(x, arg), w(x, arg), TIGHT)


@pytest.mark.parametrize("name, kind", [("lstm_bi_2l_dropout", "lengths"), ("gru", "mask"), ("rnn_tanh", "mask"),
                                        ("rnn_tanh", "lengths")])
def test_lengths_and_mask_compile_fullgraph(name, kind):
    w = _WithArg(_make(name), kind)
    m = w.m
    assert _graph_breaks(w, _x(m, 2, 5), _arg(m, kind, 2, 5, 0)) == 0
    compiled = torch.compile(w, fullgraph=True, backend="aot_eager")
    x, arg = _x(m, 3, 6, grad=True), _arg(m, kind, 3, 6, 1)
    got, want = compiled(x, arg), w(x, arg)
    _close(got, want, TIGHT)
    _close(torch.autograd.grad(_loss(got), x), torch.autograd.grad(_loss(want), x), TOL)


# ----------------------------------------------------------------------------- captured training


@pytest.mark.parametrize("name", ["lstm_zoneout", "gru_zoneout_recdrop", "rnn_zoneout_recdrop"])
def test_captured_training_draws_fresh_masks(name):
    """The graph draws its masks at run time: two runs differ, and one seed repeats one run."""
    m = _make(name, train=True)
    ep = torch.export.export(m, (_x(m, 2, 4),), dynamic_shapes=(_dims(m),))
    assert any("randint" in str(n.target) for n in ep.graph.nodes)  # drawn in the graph, not baked in
    module = ep.module()
    x = _x(m, 8, 16)
    first, again, other = _same_seed(module, x, seed=3)[0], _same_seed(module, x, seed=3)[0], module(x)[0]
    assert torch.equal(first, again)
    assert not torch.equal(first, other)
    m.eval()
    assert not torch.allclose(first, m(x)[0])  # training masks, not the eval-mode expectation
