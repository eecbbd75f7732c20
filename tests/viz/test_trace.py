"""lstmkit.viz.record: every gate equals the float64 reference cell's, per variant, with
lengths, masks, stacking and both directions; the trace's h is the model's real output on every
backend; tracing changes nothing (outputs, modes, stateful states, RNG)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit.cells import GRU_VARIANTS, LSTM_VARIANTS, gru_step, lstm_step, sigmoid_gate_state
from lstmkit.nn import GRU, LSTM
from lstmkit.viz import record

T, B, I, H = 6, 3, 4, 5
LENGTHS = [6, 4, 1]
MASK = np.array([[1, 1, 0, 1, 1, 1], [0, 1, 1, 1, 0, 1], [1, 0, 0, 0, 0, 0]], dtype=bool)  # (B, T)


def _params(module, layer, d):
    return {k: v.detach().double().numpy() for k, v in module.layer_params(layer, d).items()}


def _oracle(module, x, *, lengths=None, mask=None):
    """Step the reference cell one sequence and one real step at a time: a list over layers of
    lists over directions of ({name: (B, T, U)}, real (B, T)), and each layer's output."""
    lstm = module.mode == "LSTM"
    spec = module.spec
    x = x.double().numpy()  # (B, T, I) batch_first
    real = np.ones((B, T), dtype=bool)
    if lengths is not None:
        real = np.arange(T)[None, :] < np.asarray(lengths)[:, None]
    if mask is not None:
        real = mask.copy()
    layer_in = x
    result = []
    for layer in range(module.num_layers):
        outs, per_dir = [], []
        for d in range(module.num_directions):
            p = _params(module, layer, d)
            Hl = p["weight_hh"].shape[0] // (spec.num_gates if lstm else len(spec.hh_gates))
            R = p["weight_hr"].shape[0] if "weight_hr" in p else Hl
            values, out = {}, np.zeros((B, T, R))
            for b in range(B):
                steps = [t for t in range(T) if real[b, t]]
                if d == 1:
                    steps = steps[::-1]
                h, c = np.zeros((1, R)), np.zeros((1, Hl))
                prev = None
                for t in steps:
                    xt = layer_in[b:b + 1, t]
                    if lstm:
                        h, c, gates = lstm_step(spec, p, xt, h, c, prev_gates=prev)
                        prev = sigmoid_gate_state(spec, gates) if spec.full_gate_recurrence else None
                        got = {**{k: gates[k] for k in "ifgo"}, "c": c, "h": h}
                    else:
                        h, gates = gru_step(spec, p, xt, h)
                        got = {**gates, "h": h}
                    for k, v in got.items():
                        values.setdefault(k, np.full((B, T, v.shape[1]), np.nan))[b, t] = v[0]
                    out[b, t] = h[0]
            outs.append(out)
            per_dir.append((values, real))
        result.append(per_dir)
        layer_in = np.concatenate(outs, axis=-1)
    return result, layer_in


LSTM_CASES = [(v, {}) for v in LSTM_VARIANTS] + [
    ("lstm", {"num_layers": 2, "bidirectional": True}),
    ("lstm", {"proj_size": 3}),
    ("lstm", {"layer_norm": True}),
    ("cifg", {"bidirectional": True}),
]
GRU_CASES = [(v, {}) for v in GRU_VARIANTS] + [("gru", {"num_layers": 2, "bidirectional": True})]


def _make(family, variant, options):
    torch.manual_seed(0)
    square = variant in ("mut1", "mut2")
    cls = LSTM if family == "lstm" else GRU
    return cls(H if square else I, H, batch_first=True, variant=variant, backend="reference", **options)


@pytest.mark.parametrize("padding", ["none", "lengths", "mask"])
@pytest.mark.parametrize(("family", "variant", "options"),
                         [("lstm", v, o) for v, o in LSTM_CASES] + [("gru", v, o) for v, o in GRU_CASES])
def test_trace_equals_reference_cells(family, variant, options, padding):
    module = _make(family, variant, options)
    x = torch.randn(B, T, module.input_size, generator=torch.Generator().manual_seed(1))
    kwargs = {"lengths": LENGTHS} if padding == "lengths" else {"mask": torch.from_numpy(MASK)} \
        if padding == "mask" else {}
    traces = record(module, x, **kwargs)
    expected, _ = _oracle(module, x, lengths=kwargs.get("lengths"), mask=MASK if padding == "mask" else None)
    assert len(traces) == module.num_layers * module.num_directions
    spec = module.spec
    for trace, (values, real) in zip(traces, [e for layer in expected for e in layer], strict=True):
        np.testing.assert_array_equal(trace.mask, real)
        assert trace.variant == variant and trace.family == family
        if family == "lstm":
            keys = [k for k in "ifgo" if k in spec.gates or (k == "f" and spec.coupled)] + ["c", "h"]
        else:
            keys = ["r", "z", "n", "h"]
        assert list(trace) == keys
        for k in keys:
            assert trace[k].dtype == np.float64
            np.testing.assert_allclose(trace[k], values[k], rtol=1e-12, atol=1e-12, err_msg=f"{trace.name} {k}")
            assert np.isnan(trace[k][~real]).all()


@pytest.mark.parametrize("backend", ["reference", "torch", "fused"])
@pytest.mark.parametrize("family", ["lstm", "gru"])
def test_trace_h_is_the_model_output_on_every_backend(backend, family):
    torch.manual_seed(0)
    cls = LSTM if family == "lstm" else GRU
    module = cls(I, H, num_layers=2, bidirectional=True, batch_first=True, backend=backend)
    x = torch.randn(B, T, I)
    out, _ = module(x, lengths=LENGTHS)
    traces = record(module, x, lengths=LENGTHS)
    h = np.concatenate([traces[2]["h"], traces[3]["h"]], axis=-1)
    real = traces[2].mask
    torch.testing.assert_close(torch.from_numpy(h[real]).float(), out.detach()[torch.from_numpy(real)],
                               rtol=1e-5, atol=1e-5)


def test_go_backwards_traces_are_indexed_by_input_time():
    torch.manual_seed(0)
    module = LSTM(I, H, batch_first=True, go_backwards=True)
    x = torch.randn(B, T, I)
    out, _ = module(x)  # processing order: out[:, s] read x[:, T-1-s]
    (trace,) = record(module, x)
    assert trace.direction == "backward"
    torch.testing.assert_close(torch.from_numpy(trace["h"][:, ::-1].copy()).float(), out.detach(), rtol=1e-5,
                               atol=1e-5)
    # the first input step is read last, so its h is the final state
    _, (h_n, _) = module(x)
    torch.testing.assert_close(torch.from_numpy(trace["h"][:, 0]).float(), h_n[0].detach(), rtol=1e-5, atol=1e-5)


def test_zoneout_is_traced_as_its_expectation():
    torch.manual_seed(0)
    module = LSTM(I, H, batch_first=True, zoneout=(0.3, 0.2), backend="reference").eval()
    x = torch.randn(B, T, I)
    out, _ = module(x)
    (trace,) = record(module, x)
    torch.testing.assert_close(torch.from_numpy(trace["h"]).float(), out.detach(), rtol=1e-5, atol=1e-5)


def test_tracing_changes_nothing():
    torch.manual_seed(0)
    module = LSTM(I, H, batch_first=True, dropout=0.5, num_layers=2, recurrent_dropout=0.3).train()
    x = torch.randn(B, T, I)
    before = {k: v.clone() for k, v in module.state_dict().items()}
    rng = torch.get_rng_state()
    record(module, x)
    assert module.training
    assert torch.equal(torch.get_rng_state(), rng)
    for k, v in module.state_dict().items():
        assert torch.equal(v, before[k])


class _Wrapper(torch.nn.Module):
    """A user's model: embedding -> lstmkit LSTM -> linear, called twice (two chunks)."""

    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(7, I)
        self.encoder = LSTM(I, H, batch_first=True)
        self.head = torch.nn.Linear(H, 7)

    def forward(self, ids):
        y, state = self.encoder(self.embed(ids[:, :3]))
        y2, _ = self.encoder(self.embed(ids[:, 3:]), state)
        return self.head(torch.cat([y, y2], 1))


def test_a_torch_module_containing_layers_is_traced_per_call_with_its_states():
    torch.manual_seed(0)
    model = _Wrapper().train()
    ids = torch.randint(0, 7, (B, T))
    traces = record(model, ids)
    assert [t.name for t in traces] == ["encoder/l0", "encoder#1/l0"]
    assert model.training
    whole = record(model.encoder, model.embed(ids))[0]  # one pass == two chunks with the state carried
    chunks = np.concatenate([traces[0]["c"], traces[1]["c"]], axis=1)
    np.testing.assert_allclose(chunks, whole["c"], atol=1e-6)  # chunk 2 starts from the float32 state


def test_keras_model_bidirectional_and_stacked():
    from lstmkit import keras
    from lstmkit.keras import layers

    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(T, I))
    seq = layers.Bidirectional(layers.LSTM(H, return_sequences=True), name="bi")(inputs)
    top = layers.GRU(3, return_sequences=True, name="top")(seq)
    model = keras.Model(inputs, [seq, top])
    x = np.random.default_rng(0).normal(size=(B, T, I)).astype("float32")
    want_seq, want_top = (np.asarray(a) for a in model.predict(x, verbose=0))
    traces = record(model, torch.from_numpy(x))
    assert [(t.name.split("/")[0], t.direction, t.family) for t in traces] == [
        ("bi", "forward", "lstm"), ("bi", "backward", "lstm"), ("top", "forward", "gru")]
    got = np.concatenate([traces[0]["h"], traces[1]["h"]], axis=-1)
    np.testing.assert_allclose(got, want_seq, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(traces[2]["h"], want_top, rtol=1e-5, atol=1e-5)


def test_keras_stateful_states_are_left_alone():
    from lstmkit import keras
    from lstmkit.keras import layers

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(T, I), batch_size=B), layers.LSTM(H, stateful=True)])
    x = np.random.default_rng(0).normal(size=(B, T, I)).astype("float32")
    model.predict(x, verbose=0)
    kept = [s.clone() for s in model.layers[0].states]
    (trace,) = record(model, torch.from_numpy(x))
    for before, after in zip(kept, model.layers[0].states, strict=True):
        assert torch.equal(before, after)
    np.testing.assert_allclose(trace["h"][:, 0], np.zeros((B, H)) + trace["h"][:, 0])  # ran from the kept state
    assert not np.allclose(trace["c"][:, 0], record(model.layers[0].rnn, torch.from_numpy(x))[0]["c"][:, 0])


@pytest.mark.parametrize(("model", "x", "message"), [
    (torch.nn.Linear(3, 3), torch.randn(2, 3), "contains no lstmkit.nn LSTM or GRU"),
    (LSTM(3, 4, batch_first=True), torch.randn(2, 5, 2), "input_size"),
    ("not a model", torch.randn(2, 5, 3), "must be an lstmkit.nn LSTM/GRU"),
])
def test_bad_input_is_named(model, x, message):
    with pytest.raises((ValueError, TypeError), match=message):
        record(model, x)


def test_keras_masks_reach_the_trace():
    from lstmkit import keras
    from lstmkit.keras import layers

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(T,), dtype="int64"), layers.Embedding(9, I, mask_zero=True),
                              layers.LSTM(H, return_sequences=True)])
    ids = np.array([[3, 4, 5, 0, 0, 0], [1, 2, 3, 4, 5, 6], [7, 0, 0, 0, 0, 0]])
    want = np.asarray(model.predict(ids, verbose=0))
    (trace,) = record(model, torch.from_numpy(ids))
    np.testing.assert_array_equal(trace.mask, ids != 0)
    np.testing.assert_allclose(trace["h"][ids != 0], want[ids != 0], rtol=1e-5, atol=1e-5)
    assert np.isnan(trace["f"][ids == 0]).all()
