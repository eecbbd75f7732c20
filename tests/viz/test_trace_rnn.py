"""lstmkit.viz.record on the Elman RNN: ``a`` and ``h`` equal the reference cell's and the model's
output (lengths, masks, both directions, every backend), Keras' SimpleRNN is traced inside a
model, and a layer with a callable activation (no NumPy reference) is refused or skipped."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit.cells import simple_rnn_step
from lstmkit.nn import LSTM, RNN
from lstmkit.viz import record

T, B, I, H = 6, 3, 4, 5
LENGTHS = [6, 4, 1]


@pytest.mark.parametrize("backend", ["reference", "torch"])
def test_trace_h_is_the_model_output(backend):
    torch.manual_seed(0)
    module = RNN(I, H, num_layers=2, bidirectional=True, nonlinearity="relu", batch_first=True, backend=backend)
    x = torch.randn(B, T, I)
    out, _ = module(x, lengths=LENGTHS)
    traces = record(module, x, lengths=LENGTHS)
    assert [t.name for t in traces] == ["rnn/l0", "rnn/l0/reverse", "rnn/l1", "rnn/l1/reverse"]
    assert all(t.family == "rnn" and t.variant == "rnn" and list(t) == ["a", "h"] for t in traces)
    h = np.concatenate([traces[2]["h"], traces[3]["h"]], axis=-1)
    real = traces[2].mask
    torch.testing.assert_close(torch.from_numpy(h[real]).float(), out.detach()[torch.from_numpy(real)],
                               rtol=1e-5, atol=1e-5)
    assert np.isnan(traces[0]["a"][~real]).all()


def test_trace_equals_the_reference_step_with_a_mask():
    torch.manual_seed(0)
    module = RNN(I, H, batch_first=True, nonlinearity="softsign")
    x = torch.randn(B, T, I)
    mask = np.ones((B, T), dtype=bool)
    mask[0, 2:4] = False
    (trace,) = record(module, x, mask=torch.from_numpy(mask))
    params = {k: v.detach().double().numpy() for k, v in module.layer_params(0).items()}
    for b in range(B):
        h = np.zeros((1, H))
        for t in range(T):
            if not mask[b, t]:
                assert np.isnan(trace["h"][b, t]).all()
                continue
            h, values = simple_rnn_step(module.spec, params, x[b:b + 1, t].double().numpy(), h)
            np.testing.assert_allclose(trace["a"][b, t], values["a"][0], rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(trace["h"][b, t], h[0], rtol=1e-12, atol=1e-12)


def test_keras_simple_rnn_is_traced_and_callables_are_skipped():
    from lstmkit import keras
    from lstmkit.keras import layers

    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(T, I))
    seq = layers.SimpleRNN(H, return_sequences=True, name="simple")(inputs)
    top = layers.SimpleRNN(3, activation="elu", return_sequences=True, name="elu")(seq)
    model = keras.Model(inputs, [seq, top])
    x = np.random.default_rng(0).normal(size=(B, T, I)).astype("float32")
    want_seq, _ = (np.asarray(a) for a in model.predict(x, verbose=0))
    (trace,) = record(model, torch.from_numpy(x))  # the elu layer has no NumPy reference: skipped
    assert trace.name == "simple/l0" and trace.family == "rnn"
    np.testing.assert_allclose(trace["h"], want_seq, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="no NumPy reference"):
        record(RNN(I, H, nonlinearity=torch.nn.functional.elu), torch.randn(T, B, I))


class _Stack(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm, self.rnn = LSTM(I, H), RNN(H, H)

    def forward(self, x):
        return self.rnn(self.lstm(x)[0])[0]


def test_lstm_traces_are_unchanged_beside_an_rnn():
    """A container with both: one trace per layer, each of its own family."""
    torch.manual_seed(0)
    traces = record(_Stack(), torch.randn(T, B, I))
    assert [(t.name, t.family) for t in traces] == [("lstm/l0", "lstm"), ("rnn/l0", "rnn")]
