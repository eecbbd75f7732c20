"""ONNX export: lstmkit.nn modules, a variant, an lstmkit.keras model and the apps' checkpoints,
run by ONNX Runtime on CPU against eager lstmkit (1e-5), at another batch and sequence length than
the example; the plain LSTM/GRU/RNN become ONNX's own LSTM/GRU/RNN operators, and a user's own
``torch.onnx.export`` call works with both of torch's exporters. The variants and extras, an ONNX
Loop: test_onnx_variants.py."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest
import torch

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import lstmkit.nn as lnn  # noqa: E402
from lstmkit.export import to_onnx  # noqa: E402

TOL = 1e-5


def _run(path_or_bytes, *inputs) -> list[np.ndarray]:
    session = ort.InferenceSession(path_or_bytes, providers=["CPUExecutionProvider"])
    return session.run(None, {i.name: np.asarray(x) for i, x in zip(session.get_inputs(), inputs)})


def _flat(out) -> list[np.ndarray]:
    if isinstance(out, torch.Tensor):
        return [out.detach().numpy()]
    return [a for o in out for a in _flat(o)]


def _close(got: list[np.ndarray], want: list[np.ndarray]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=TOL, atol=TOL)


def _ops(path) -> set[str]:
    model = onnx.load(path)
    assert all(n.domain in ("", "ai.onnx") for n in model.graph.node), "custom ops in the graph"
    return {n.op_type for n in model.graph.node}


PLAIN = [
    ("LSTM", lnn.LSTM, {}), ("LSTM", lnn.LSTM, {"num_layers": 2, "batch_first": True}),
    ("LSTM", lnn.LSTM, {"bidirectional": True, "batch_first": True}),
    ("LSTM", lnn.LSTM, {"num_layers": 2, "bidirectional": True}),
    ("GRU", lnn.GRU, {"num_layers": 2, "batch_first": True}), ("GRU", lnn.GRU, {"bidirectional": True}),
    ("RNN", lnn.RNN, {"batch_first": True}), ("RNN", lnn.RNN, {"nonlinearity": "relu", "num_layers": 2}),
]


@pytest.mark.parametrize(("op", "cls", "kwargs"), PLAIN, ids=[f"{c.__name__}-{k}" for _, c, k in PLAIN])
def test_plain_stacks_export_to_the_onnx_operator(tmp_path, op, cls, kwargs) -> None:
    torch.manual_seed(0)
    m = cls(4, 8, **kwargs).eval()
    bf = kwargs.get("batch_first", False)
    shape = (3, 5, 4) if bf else (5, 3, 4)
    path = to_onnx(m, torch.randn(shape), tmp_path / "m.onnx")
    assert op in _ops(path) and "Loop" not in _ops(path) and "Scan" not in _ops(path)
    x = torch.randn((2, 9, 4) if bf else (9, 2, 4))  # another batch and length than the example
    with torch.no_grad():
        want = _flat(m(x))
    _close(_run(str(path), x.numpy()), want)


def test_a_keras_loop_is_unrolled_with_its_sequence_length(tmp_path) -> None:
    """A Keras-level Python loop over time (ConvLSTM) is traced unrolled: the batch stays dynamic,
    the time axis keeps the example's length, with a warning. (lstmkit.nn's variants and extras
    export as an ONNX Loop instead: tests/export/test_onnx_variants.py.)"""
    from lstmkit import keras

    torch.manual_seed(0)
    model = keras.Sequential([keras.Input(shape=(None, 6, 2)), keras.layers.ConvLSTM1D(3, 3, padding="same"),
                              keras.layers.Flatten(), keras.layers.Dense(2)])
    rng = np.random.default_rng(0)
    with pytest.warns(UserWarning, match="keeps the example's sequence length"):
        path = to_onnx(model, rng.normal(size=(2, 4, 6, 2)).astype("float32"), tmp_path / "v.onnx")
    assert "Loop" not in _ops(path) and "Conv" in _ops(path)  # the unrolled loop
    x = rng.normal(size=(5, 4, 6, 2)).astype("float32")  # another batch, the example's length
    _close(_run(str(path), x), [np.asarray(model.predict(x, verbose=0))])
    with pytest.raises(Exception, match="(?i)dimension|shape"):  # a longer sequence is refused, never truncated
        _run(str(path), rng.normal(size=(2, 7, 6, 2)).astype("float32"))


def test_a_module_holding_an_lstm_and_the_export_leaves_its_mode(tmp_path) -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential()
    net.rnn, net.head = lnn.GRU(4, 8, batch_first=True), torch.nn.Linear(8, 2)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn, self.head = net.rnn, net.head

        def forward(self, x):
            return self.head(self.rnn(x)[0][:, -1])

    model = Net().train()
    path = to_onnx(model, torch.randn(2, 5, 4), tmp_path / "n.onnx")
    assert model.training and "GRU" in _ops(path)
    x = torch.randn(4, 11, 4)
    with torch.no_grad():
        want = _flat(model.eval()(x))
    _close(_run(str(path), x.numpy()), want)


def test_a_keras_sequential_lstm(tmp_path) -> None:
    from lstmkit import keras

    torch.manual_seed(0)
    model = keras.Sequential([keras.Input(shape=(None, 3)), keras.layers.LSTM(8, return_sequences=True),
                              keras.layers.LSTM(4), keras.layers.Dense(2)])
    x = np.random.default_rng(0).normal(size=(2, 6, 3)).astype("float32")
    path = to_onnx(model, x, tmp_path / "k.onnx")
    assert "LSTM" in _ops(path)
    x2 = np.random.default_rng(1).normal(size=(5, 9, 3)).astype("float32")
    _close(_run(str(path), x2), [np.asarray(model.predict(x2, verbose=0))])


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "default-exporter"])
def test_torch_onnx_export_called_directly(tmp_path, dynamo) -> None:
    """The user's own call. The default (dynamo) exporter of torch 2.13 gets a dynamic batch; with
    its graph optimizer on it folds the sequence length (onnxscript reads torch's static output
    shape of aten.lstm), so another length needs ``optimize=False`` there."""
    torch.manual_seed(0)
    m = lnn.LSTM(4, 16, num_layers=2, batch_first=True).eval()
    x = torch.randn(3, 5, 4)
    f = tmp_path / "direct.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dynamo:
            torch.onnx.export(m, (x,), f, input_names=["x"], dynamic_shapes=({0: "batch", 1: "time"},),
                              dynamo=True, external_data=False, optimize=False)
        else:
            torch.onnx.export(m, (x,), f, input_names=["x"], dynamic_axes={"x": {0: "batch", 1: "time"}},
                              dynamo=False)
    assert "LSTM" in _ops(f)
    x2 = torch.randn(2, 8, 4)
    with torch.no_grad():
        want = _flat(m(x2))
    _close(_run(str(f), x2.numpy()), want)


def test_missing_onnx_names_the_extra(monkeypatch, tmp_path) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(ImportError, match=r"pip install 'lstmkit\[onnx\]'"):
        to_onnx(lnn.LSTM(2, 3), torch.randn(4, 1, 2), tmp_path / "x.onnx")
    assert not list(tmp_path.iterdir())


def test_bad_arguments(tmp_path) -> None:
    with pytest.raises(TypeError, match="torch.nn.Module"):
        to_onnx(object(), torch.randn(1), tmp_path / "x.onnx")
    with pytest.raises(ValueError, match="input_names"):
        to_onnx(lnn.LSTM(2, 3), torch.randn(4, 1, 2), tmp_path / "x.onnx", input_names=["a", "b"])
