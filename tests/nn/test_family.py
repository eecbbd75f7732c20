"""The engine's seams: one family object per cell type, the declared host of ``nn/_paths.py``, and
``kernels.choose_path`` as the one place that picks an execution path."""

from __future__ import annotations

import ast
import inspect

import pytest
import torch

import lstmkit.nn as lnn
from lstmkit import kernels
from lstmkit.cells.spec import GRUSpec, LSTMSpec, RNNSpec, gru_spec, lstm_spec
from lstmkit.kernels import fused
from lstmkit.nn import _paths, family


def _self_attributes(source: str) -> set[str]:
    """Every ``self.<name>`` read in the source."""
    tree = ast.parse(source)
    return {node.attr for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self"}


def test_paths_read_only_what_their_host_declares():
    declared = set(_paths.ExecutionPaths.__annotations__) | set(vars(_paths.ExecutionPaths))
    assert _self_attributes(inspect.getsource(_paths)) <= declared


@pytest.mark.parametrize("module", [lnn.LSTM(3, 4), lnn.GRU(3, 4, bidirectional=True), lnn.RNN(3, 4),
                                    lnn.LSTM(3, [4, 5], proj_size=2)])
def test_every_declared_host_attribute_is_provided(module):
    for name in _paths.ExecutionPaths.__annotations__:
        getattr(module, name)  # raises AttributeError if a host forgot one
    for name in ("layer_params", "_state_size", "_flat_weights"):
        assert getattr(type(module), name) is not getattr(_paths.ExecutionPaths, name), name


@pytest.mark.parametrize("spec, expected", [(lstm_spec("cifg"), family.LSTM), (gru_spec("mut1"), family.GRU),
                                            (RNNSpec(activation="relu"), family.RNN)])
def test_family_of_spec(spec, expected):
    assert family.family_of(spec) is expected


def test_modules_keep_torchs_mode_and_read_their_family():
    cases = [(lnn.LSTM(3, 4), "LSTM", family.LSTM), (lnn.GRU(3, 4), "GRU", family.GRU),
             (lnn.RNN(3, 4), "RNN_TANH", family.RNN), (lnn.RNN(3, 4, nonlinearity="relu"), "RNN_RELU", family.RNN),
             (lnn.LSTMCell(3, 4), "LSTMCell", family.LSTM), (lnn.RNNCell(3, 4), "RNNCell", family.RNN)]
    for module, mode, fam in cases:
        assert module.mode == mode and module.family is fam
    assert family.LSTM.state_names == ("h", "c") and family.GRU.n_states == family.RNN.n_states == 1
    with pytest.raises(TypeError, match="no recurrent family"):
        family.family_of("lstm")


# ---------------------------------------------------------------------------- choose_path
def _request(backend="auto", spec=None, **kw) -> kernels.PathRequest:
    return kernels.PathRequest(backend, spec or LSTMSpec("lstm"), kw.pop("x", torch.randn(5, 2, 3)), **kw)


def test_explicit_backends():
    assert kernels.choose_path(_request("reference")).path == "reference"
    assert kernels.choose_path(_request("torch")).path == "torch"
    with pytest.raises(ValueError, match="backend='torch'.*layer_norm"):
        kernels.choose_path(_request("torch", extras={"layer_norm": True}))
    with pytest.raises(ValueError, match="backend='fused'.*Elman"):
        kernels.choose_path(_request("fused", RNNSpec(), fused_unsupported=family.RNN.fused_unsupported))


def test_span_masks_go_to_torch_and_holes_to_the_loop():
    mask = torch.ones(5, 2, dtype=torch.bool)
    mask[3:, 0] = False  # post-padding: one run
    choice = kernels.choose_path(_request("torch", GRUSpec("gru"), mask=mask))
    assert choice.path == "torch" and choice.spans is not None
    mask[1, 1] = False  # a hole: not one run
    assert kernels.choose_path(_request("auto", RNNSpec(), mask=mask, fused_unsupported="none")).path == "reference"
    with pytest.raises(ValueError, match="cannot run mask="):
        kernels.choose_path(_request("torch", mask=mask))


def test_cells_have_no_fused_path():
    """A single step: backend="fused" acts as "auto", which runs torch's cell kernel."""
    assert kernels.choose_path(_request("fused", single_step=True, x=torch.randn(2, 3))).path == "torch"
    assert kernels.choose_path(_request("auto", lstm_spec("vanilla"), single_step=True)).path == "reference"


@pytest.mark.skipif(not fused.available(), reason="lstmkit's fused CPU kernels are not built")
def test_auto_prefers_fused_then_measured_native():
    assert kernels.choose_path(_request()).path == "fused"
    big = dict(x=torch.randn(5, 16, 3), native_speedup=True, min_hidden=128)
    with torch.no_grad():
        assert kernels.choose_path(_request(**big)).path == "torch"
    weight = torch.nn.Parameter(torch.zeros(1))
    assert kernels.choose_path(_request(**big, parameters=lambda: [weight])).path == "fused"  # training
    assert kernels.choose_path(_request(spec=RNNSpec(), fused_unsupported="none")).path == "torch"


def test_bf16_needs_the_fused_kernels():
    with pytest.raises(ValueError, match="bf16.*cannot run here"):
        kernels.choose_path(_request(bf16=True, x=torch.randn(5, 2, 3, dtype=torch.float16)))
