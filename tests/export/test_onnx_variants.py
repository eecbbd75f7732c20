"""ONNX export of the variants and extras (issue 17): an ONNX ``Loop`` over a dynamic time axis
(``lstmkit.kernels.loop_script``), not the example's steps unrolled. Each model is exported at one
(batch, T) and run by ONNX Runtime on CPU at another batch and at a longer and a shorter T; outputs
and final states must equal eager lstmkit within 1e-5 (float32), the issue's tolerance.

Every case is one layout of (bidirectional, num_layers, batch_first), the layouts taken in turn so
that each family meets all eight; two cases run all eight layouts."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import torch

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import lstmkit.nn as lnn  # noqa: E402
from lstmkit.export import onnx as export_onnx  # noqa: E402
from lstmkit.export import to_onnx  # noqa: E402

TOL = 1e-5
EXAMPLE, OTHERS = (3, 5), [(2, 9), (4, 2)]  # (batch, T): exported at, then run at (longer, shorter)
LAYOUTS = list(itertools.product((False, True), (1, 2), (True, False)))  # (bidirectional, layers, batch_first)

LSTM_CASES = [{"variant": v} for v in ("vanilla", "nig", "nfg", "nog", "niaf", "noaf", "cifg", "fgr")] + [
    {"layer_norm": True}, {"proj_size": 3}, {"zoneout": (0.3, 0.1)}, {"recurrent_dropout": 0.4},
    {"go_backwards": True, "variant": "vanilla"}, {"activation": "relu", "recurrent_activation": "hard_sigmoid"},
]
GRU_CASES = [{"variant": v} for v in ("gru_cho", "mut1", "mut2", "mut3")] + [
    {"layer_norm": True}, {"zoneout": 0.25}, {"go_backwards": True},
]
RNN_CASES = [{"zoneout": 0.2}, {"nonlinearity": "relu", "go_backwards": True}]
#: (family, kwargs, how the steps are selected: None, "mask", "carry" (masked_output) or "lengths")
SELECT_CASES = [("LSTM", {}, "mask"), ("LSTM", {"variant": "cifg"}, "carry"), ("LSTM", {"layer_norm": True}, "lengths"),
                ("GRU", {}, "mask"), ("GRU", {"variant": "gru_cho"}, "lengths"), ("RNN", {}, "carry")]
CASES = [("LSTM", k, None) for k in LSTM_CASES] + [("GRU", k, None) for k in GRU_CASES] + \
    [("RNN", k, None) for k in RNN_CASES] + SELECT_CASES
PARAMS = [(*case, LAYOUTS[i % len(LAYOUTS)]) for i, case in enumerate(CASES)]
PARAMS += [("LSTM", {"variant": "vanilla", "proj_size": 3}, None, lay) for lay in LAYOUTS]
PARAMS += [("GRU", {"layer_norm": True, "zoneout": 0.1}, "mask", lay) for lay in LAYOUTS]
SQUARE = 6  # MUT1/MUT2 add the input to hidden-size sums: input size == hidden (also between layers)


def _id(param) -> str:
    family, kwargs, select, (bi, layers, bf) = param
    extras = "-".join(f"{k}={v}" for k, v in kwargs.items()) or "plain"
    return f"{family}-{extras}-{select or 'all'}-{'bi' if bi else 'uni'}{layers}-{'bf' if bf else 'tm'}"


class Selecting(torch.nn.Module):
    """A stack called with ``mask=`` or ``lengths=``; inputs always batch first (the batch and time
    axes to_onnx makes dynamic), turned time-major here for a time-major stack."""

    def __init__(self, rnn: lnn.LSTM | lnn.GRU | lnn.RNN, select: str):
        super().__init__()
        self.rnn, self.select = rnn, select

    def forward(self, x: torch.Tensor, aux: torch.Tensor):
        if not self.rnn.batch_first:
            x = x.transpose(0, 1)
            aux = aux if self.select == "lengths" else aux.transpose(0, 1)
        return self.rnn(x, lengths=aux) if self.select == "lengths" else self.rnn(x, mask=aux)


def _build(family: str, kwargs: dict, select: str | None, layout) -> tuple[torch.nn.Module, int]:
    bi, layers, bf = layout
    kwargs = dict(kwargs)
    square = kwargs.get("variant") in ("mut1", "mut2")
    if square and bi and layers > 1:
        layers = 1  # layer 2 would read 2 * hidden features: no square MUT stack exists
    size, hidden = (SQUARE, SQUARE) if square else (4, 6)
    if select == "carry":
        kwargs["masked_output"] = "carry"
    rnn = getattr(lnn, family)(size, hidden, num_layers=layers, bidirectional=bi, batch_first=bf, **kwargs)
    return (rnn if select is None else Selecting(rnn, select)).eval(), size


def _inputs(rng: np.random.Generator, batch: int, T: int, size: int, select: str | None, batch_first: bool):
    x = rng.normal(size=(batch, T, size) if batch_first or select else (T, batch, size)).astype(np.float32)
    if select is None:
        return (x,)
    if select == "lengths":
        lengths = rng.integers(1, T + 1, size=batch)
        lengths[0] = T
        return x, lengths.astype(np.int64)
    mask = rng.random((batch, T)) > 0.3
    mask[:, 0] = True  # one sequence starts masked
    mask[-1, 0] = False
    return x, mask


def _flat(out) -> list[np.ndarray]:
    if isinstance(out, torch.Tensor):
        return [out.detach().numpy()]
    return [a for o in out for a in _flat(o)]


def _ops(data) -> set[str]:
    model = onnx.load_from_string(data) if isinstance(data, bytes) else onnx.load(data)
    assert all(n.domain in ("", "ai.onnx") for n in model.graph.node), "custom ops in the graph"
    return {n.op_type for n in model.graph.node}


def _check_dynamic(path, model: torch.nn.Module, inputs_at) -> None:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    for batch, T in OTHERS:
        inputs = inputs_at(batch, T)
        with torch.no_grad():
            want = _flat(model(*(torch.from_numpy(a) for a in inputs)))
        got = session.run(None, dict(zip(names, inputs)))
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == w.shape
            np.testing.assert_allclose(g, w, rtol=TOL, atol=TOL, err_msg=f"at (batch, T) = {(batch, T)}")


@pytest.mark.parametrize(("family", "kwargs", "select", "layout"), PARAMS, ids=[_id(p) for p in PARAMS])
def test_a_variant_or_extra_exports_with_a_dynamic_time_axis(tmp_path, family, kwargs, select, layout) -> None:
    torch.manual_seed(0)
    model, size = _build(family, kwargs, select, layout)
    rng = np.random.default_rng(0)
    batch_first = layout[2]

    def inputs_at(batch: int, T: int):
        return _inputs(rng, batch, T, size, select, batch_first)

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no "keeps the example's sequence length" fallback
        path = to_onnx(model, inputs_at(*EXAMPLE), tmp_path / "m.onnx")
    ops = _ops(path)
    assert "Loop" in ops or (select == "lengths" and not kwargs), ops  # plain + lengths: ONNX's own LSTM/GRU
    assert not model.training
    _check_dynamic(path, model, inputs_at)


def test_a_keras_model_with_variant_layers(tmp_path) -> None:
    from lstmkit import keras

    torch.manual_seed(0)
    model = keras.Sequential([
        keras.Input(shape=(None, 3)), keras.layers.Masking(mask_value=0.0),
        keras.layers.LSTM(8, variant="cifg", return_sequences=True),
        keras.layers.Bidirectional(keras.layers.GRU(4, layer_norm=True, return_sequences=True)),
        keras.layers.SimpleRNN(4, go_backwards=True), keras.layers.Dense(2)])
    rng = np.random.default_rng(0)

    def inputs_at(batch: int, T: int):
        x = rng.normal(size=(batch, T, 3)).astype(np.float32)
        x[0, -1:] = 0.0  # a masked (padding) step
        return (x,)

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        path = to_onnx(model, inputs_at(*EXAMPLE), tmp_path / "k.onnx")
    assert "Loop" in _ops(path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch, T in OTHERS:
        (x,) = inputs_at(batch, T)
        np.testing.assert_allclose(session.run(None, {"input": x})[0], np.asarray(model.predict(x, verbose=0)),
                                   rtol=TOL, atol=TOL)


def test_the_export_check_uses_the_issue_tolerance() -> None:
    assert export_onnx.CHECK_RTOL <= TOL and export_onnx.CHECK_ATOL <= TOL


def test_a_users_own_torchscript_export_gets_the_loop_too(tmp_path) -> None:
    """``torch.onnx.export(..., dynamo=False)`` called directly (not through to_onnx)."""
    torch.manual_seed(0)
    m = lnn.LSTM(4, 6, num_layers=2, bidirectional=True, variant="vanilla", layer_norm=True).eval()
    f = tmp_path / "direct.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(m, (torch.randn(5, 3, 4),), f, input_names=["x"], dynamic_axes={"x": {0: "time", 1: "batch"}},
                          dynamo=False)
    assert "Loop" in _ops(f)
    rng = np.random.default_rng(1)
    _check_dynamic(f, m, lambda batch, T: (rng.normal(size=(T, batch, 4)).astype(np.float32),))


def test_training_mode_and_gradients_are_untouched_by_an_export(tmp_path) -> None:
    torch.manual_seed(0)
    m = lnn.GRU(4, 6, variant="mut3", zoneout=0.2).train()
    to_onnx(m, torch.randn(5, 3, 4), tmp_path / "g.onnx")
    assert m.training and all(p.requires_grad and p.grad is None for p in m.parameters())
    m(torch.randn(5, 3, 4))[0].sum().backward()  # still trains after the export
    assert all(p.grad is not None for p in m.parameters())
