"""The fused ops' named schemas (the ``m.def`` lines in lstmkit/csrc/) and the Python named
tuples that pass their arguments by keyword: every field is an argument of that name, every
argument is passed, every result is named, and a layer's option can be followed by name from
the Keras front end down to the kernel's arguments."""

from __future__ import annotations

import pytest
import torch

import lstmkit.nn as lnn
from lstmkit.cells.spec import ACTIVATIONS
from lstmkit.kernels import fused

pytestmark = pytest.mark.skipif(not fused.available(), reason="lstmkit's fused CPU kernels are not built")

from lstmkit.kernels import fused_gru  # noqa: E402  (the library is loaded by now)


def _schema(name: str):
    return getattr(torch.ops.lstmkit, name).default._schema


def _args(name: str, kwarg_only: bool | None = None) -> list[str]:
    return [a.name for a in _schema(name).arguments if kwarg_only is None or a.kwarg_only == kwarg_only]


def _returns(name: str) -> list[str]:
    return [r.name for r in _schema(name).returns]


@pytest.mark.parametrize("op,config,tensors,extra", [
    ("lstm_forward", fused.LSTMConfig, fused.LSTM_FORWARD_KWARGS, ["save", "inplace"]),
    ("lstm_backward", fused.LSTMConfig, fused.LSTM_BACKWARD_KWARGS, []),
    ("gru_forward", fused_gru.GRUConfig, fused_gru.GRU_FORWARD_KWARGS, ["save"]),
    ("gru_backward", fused_gru.GRUConfig, fused_gru.GRU_BACKWARD_KWARGS, []),
])
def test_every_keyword_of_an_op_comes_from_a_named_field(op, config, tensors, extra):
    assert sorted(_args(op, kwarg_only=True)) == sorted([*tensors, *config._fields, *extra])


def test_operand_fields_are_the_ops_argument_names():
    lstm = set(_args("lstm_forward")) | set(_args("lstm_backward"))
    assert set(fused.LSTMOperands._fields) - lstm == {"x", "weight_ih", "bias"}  # the projection's, in Python
    assert set(fused_gru.GRUOperands._fields) <= set(_args("gru_forward"))


@pytest.mark.parametrize("op,grads,operands", [
    ("lstm_backward", fused.LSTMGrads, fused.LSTMOperands),
    ("gru_backward", fused_gru.GRUGrads, fused_gru.GRUOperands),
])
def test_gradients_are_named_after_their_inputs(op, grads, operands):
    assert list(grads._fields) == _returns(op)
    for name in grads._fields:
        if name not in ("d_gx_bf16", "d_gx_colsum"):
            assert name.removeprefix("d_") in operands._fields + ("gx",), name


def test_forward_results_are_named():
    assert _returns("lstm_forward") == ["output", "h_n", "c_n", "saved"]
    assert _returns("gru_forward") == ["output", "h_n", "saved"]


def _small_lstm(**kw):
    T, B, H = 3, 2, 4
    return torch.ops.lstmkit.lstm_forward(torch.randn(T, B, 4 * H), torch.zeros(B, H), torch.zeros(B, H),
                                          torch.randn(4 * H, H), **kw)


def test_switches_are_keyword_only_and_unknown_names_are_refused():
    assert _small_lstm(gate_activation="hard_sigmoid")[0].shape == (3, 2, 4)
    with pytest.raises(RuntimeError, match="positional"):
        torch.ops.lstmkit.lstm_forward(torch.randn(3, 2, 16), torch.zeros(2, 4), torch.zeros(2, 4),
                                       torch.randn(16, 4), None)
    with pytest.raises(RuntimeError, match="Unknown keyword argument 'recurrent_dropout'"):
        _small_lstm(recurrent_dropout=0.5)


def test_activations_go_by_name():
    outs = {name: _small_lstm(output_activation=name)[0] for name in ACTIVATIONS}
    assert len({o.sum().item() for o in outs.values()}) == len(ACTIVATIONS)  # each name its own function
    with pytest.raises(RuntimeError, match="unknown activation 'gelu'"):
        _small_lstm(input_activation="gelu")


def test_the_config_leaves_out_only_the_schemas_own_defaults():
    plain = fused.LSTMConfig.of(lnn.LSTM(2, 3).spec)
    assert plain.kwargs("lstm_forward") == {}
    cifg = fused.LSTMConfig.of(lnn.LSTM(2, 3, variant="cifg", recurrent_activation="hard_sigmoid").spec,
                               zoneout=(0.25, 0.0), bf16=True)
    assert cifg.kwargs("lstm_backward") == dict(forget_gate=False, coupled=True, gate_activation="hard_sigmoid",
                                                zoneout_h=0.25, bf16=True)
    cho = fused_gru.GRUConfig.of(lnn.GRU(2, 3, variant="gru_cho").spec, zoneout=0.1)
    assert cho.kwargs("gru_forward") == dict(reset_after=False, zoneout=0.1)


def test_a_keras_option_reaches_the_kernel_by_name(monkeypatch):
    """keras.layers.LSTM(recurrent_dropout=, recurrent_activation=, zoneout=) -> lstmkit.nn.LSTM ->
    fused.lstm_layer -> the op's rmask / gate_activation / keep_h and keep_c keywords."""
    from lstmkit.keras import layers

    seen: list[dict] = []
    real = fused._lstm_forward

    def spy(t, config, save):
        seen.append({**t.kwargs(fused.LSTM_FORWARD_KWARGS), **config.kwargs("lstm_forward")})
        return real(t, config, save)

    monkeypatch.setattr(fused, "_lstm_forward", spy)
    layer = layers.LSTM(4, recurrent_dropout=0.5, recurrent_activation="hard_sigmoid", zoneout=0.2,
                        return_sequences=True)
    x = torch.randn(2, 5, 3)
    layer(x, training=True)
    assert seen, "the Keras LSTM did not run the fused kernels"
    kw = seen[-1]
    assert kw["gate_activation"] == "hard_sigmoid"
    assert kw["rmask"].shape == (2, 4) and set(kw["rmask"].unique().tolist()) <= {0.0, 2.0}
    assert kw["keep_h"].shape == kw["keep_c"].shape == (5, 2, 4)
    layer(x, training=False)
    assert seen[-1]["zoneout_h"] == seen[-1]["zoneout_c"] == 0.2 and "rmask" not in seen[-1]
