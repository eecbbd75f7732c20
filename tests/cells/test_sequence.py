import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from lstmkit.cells import GRU_VARIANTS, LSTM_VARIANTS, lstm_step, run_gru, run_lstm, unroll

from .helpers import lstm_params, torch_layers

T, B, I, H = 6, 4, 3, 5
LENGTHS = np.array([6, 2, 4, 1])


def make_case(seed=0, name="vanilla"):
    rng = np.random.default_rng(seed)
    spec = LSTM_VARIANTS[name]
    p = lstm_params(spec, I, H, rng)

    def step(x_t, state):
        h, c, _ = lstm_step(spec, p, x_t, state[0], state[1])
        return h, (h, c)

    x = rng.normal(size=(T, B, I))
    state = (rng.normal(size=(B, H)), rng.normal(size=(B, H)))
    return step, x, state


def one(state, b):
    return tuple(s[b:b + 1] for s in state)


@pytest.mark.parametrize("seed", [0, 1])
def test_lengths_equal_running_each_sequence_alone(seed):
    step, x, state = make_case(seed)
    out, (h_n, c_n) = unroll(step, x, state, lengths=LENGTHS)
    assert out.shape == (T, B, H)
    for b, L in enumerate(LENGTHS):
        ref_out, (ref_h, ref_c) = unroll(step, x[:L, b:b + 1], one(state, b))
        np.testing.assert_allclose(out[:L, b], ref_out[:, 0], atol=1e-14)
        np.testing.assert_array_equal(out[L:, b], 0.0)
        np.testing.assert_allclose(h_n[b], ref_h[0], atol=1e-14)
        np.testing.assert_allclose(c_n[b], ref_c[0], atol=1e-14)


@pytest.mark.parametrize("seed", [0, 1])
def test_reverse_lengths_run_each_true_prefix_backwards(seed):
    step, x, state = make_case(seed)
    out, (h_n, c_n) = unroll(step, x, state, lengths=LENGTHS, reverse=True)
    for b, L in enumerate(LENGTHS):
        ref_out, (ref_h, ref_c) = unroll(step, x[:L, b:b + 1][::-1], one(state, b))
        np.testing.assert_allclose(out[:L, b], ref_out[::-1, 0], atol=1e-14)  # back at original times
        np.testing.assert_array_equal(out[L:, b], 0.0)
        np.testing.assert_allclose(h_n[b], ref_h[0], atol=1e-14)
        np.testing.assert_allclose(c_n[b], ref_c[0], atol=1e-14)


def test_zero_lengths_keep_the_initial_state():
    step, x, state = make_case()
    out, (h_n, c_n) = unroll(step, x, state, lengths=np.array([0, 3, 0, 6]))
    np.testing.assert_array_equal(out[:, 0], 0.0)
    np.testing.assert_array_equal(h_n[[0, 2]], state[0][[0, 2]])


def test_mask_semantics():
    step, x, state = make_case(2)
    mask = np.ones((T, B), dtype=bool)
    mask[0, 1] = mask[2, 0] = mask[3, 0] = mask[5, 2] = False
    out0, fin0 = unroll(step, x, state, mask=mask)
    out1, fin1 = unroll(step, x, state, mask=mask, masked_output="carry")
    np.testing.assert_array_equal(fin0[0], fin1[0])
    # by hand: a masked step leaves the state alone
    h, c = state
    prev_out = np.zeros((B, H))
    for t in range(T):
        o, (h_new, c_new) = step(x[t], (h, c))
        m = mask[t][:, None]
        h, c = np.where(m, h_new, h), np.where(m, c_new, c)
        np.testing.assert_allclose(out0[t], np.where(m, o, 0.0), atol=1e-15)
        carried = np.where(m, o, prev_out)  # Keras: previous output, zeros before the first real step
        np.testing.assert_allclose(out1[t], carried, atol=1e-15)
        prev_out = carried
    np.testing.assert_allclose(fin0[0], h, atol=1e-15)
    np.testing.assert_allclose(fin0[1], c, atol=1e-15)
    np.testing.assert_array_equal(out1[0, 1], 0.0)
    np.testing.assert_array_equal(out1[3, 0], out1[1, 0])


def test_mask_reverse_flips_time_and_keeps_processing_order():
    step, x, state = make_case(3)
    mask = np.random.default_rng(0).uniform(size=(T, B)) < 0.7
    out, fin = unroll(step, x, state, mask=mask, reverse=True, masked_output="carry")
    ref, ref_fin = unroll(step, x[::-1], state, mask=mask[::-1], masked_output="carry")
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(fin[0], ref_fin[0])


def test_forward_lengths_equal_prefix_mask():
    step, x, state = make_case(4)
    mask = np.arange(T)[:, None] < LENGTHS[None, :]
    out_l, fin_l = unroll(step, x, state, lengths=LENGTHS)
    out_m, fin_m = unroll(step, x, state, mask=mask)
    np.testing.assert_allclose(out_l, out_m, atol=1e-15)
    np.testing.assert_allclose(fin_l[1], fin_m[1], atol=1e-15)


def torch_inputs(seed, D, L, R):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(T, B, I))
    h0, c0 = rng.normal(size=(D * L, B, R)), rng.normal(size=(D * L, B, H))
    return x, h0, c0


@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("proj", [0, 2])
def test_run_lstm_equals_torch_bidirectional_two_layers(packed, proj):
    torch.manual_seed(7)
    lstm = torch.nn.LSTM(I, H, num_layers=2, bidirectional=True, proj_size=proj, dtype=torch.float64)
    R = proj or H
    x, h0, c0 = torch_inputs(1, 2, 2, R)
    lengths = LENGTHS if packed else None
    with torch.no_grad():
        xt = torch.from_numpy(x)
        if packed:
            xt = pack_padded_sequence(xt, torch.from_numpy(LENGTHS), enforce_sorted=False)
        out_t, (h_t, c_t) = lstm(xt, (torch.from_numpy(h0), torch.from_numpy(c0)))
        if packed:
            out_t, _ = pad_packed_sequence(out_t, total_length=T)
    layers = torch_layers(lstm, 2, True)
    out, h_n, c_n = run_lstm(LSTM_VARIANTS["lstm"], layers, x, h0, c0, bidirectional=True, lengths=lengths)
    assert out.shape == (T, B, 2 * R) and len(h_n) == 4
    np.testing.assert_allclose(out, out_t.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.stack(h_n), h_t.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.stack(c_n), c_t.numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("packed", [False, True])
def test_run_gru_equals_torch_bidirectional_two_layers(packed):
    torch.manual_seed(8)
    gru = torch.nn.GRU(I, H, num_layers=2, bidirectional=True, dtype=torch.float64)
    x, h0, _ = torch_inputs(2, 2, 2, H)
    with torch.no_grad():
        xt = torch.from_numpy(x)
        if packed:
            xt = pack_padded_sequence(xt, torch.from_numpy(LENGTHS), enforce_sorted=False)
        out_t, h_t = gru(xt, torch.from_numpy(h0))
        if packed:
            out_t, _ = pad_packed_sequence(out_t, total_length=T)
    out, h_n = run_gru(GRU_VARIANTS["gru"], torch_layers(gru, 2, True), x, h0, bidirectional=True,
                       lengths=LENGTHS if packed else None)
    np.testing.assert_allclose(out, out_t.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.stack(h_n), h_t.numpy(), rtol=0, atol=1e-12)


def test_run_lstm_fgr_carries_gate_activations():
    spec = LSTM_VARIANTS["fgr"]
    rng = np.random.default_rng(9)
    p = lstm_params(spec, I, H, rng)
    x = rng.normal(size=(T, B, I))
    out, h_n, c_n = run_lstm(spec, [[p]], x)
    h, c, gates = np.zeros((B, H)), np.zeros((B, H)), None
    for t in range(T):
        h, c, gates = lstm_step(spec, p, x[t], h, c, prev_gates=gates)
        np.testing.assert_allclose(out[t], h, atol=1e-15)
    np.testing.assert_allclose(c_n[0], c, atol=1e-15)


@pytest.mark.parametrize("go_backwards", [False, True])
def test_mask_semantics_match_keras(go_backwards):
    """Keras' LSTM with a mask: masked steps carry the state and repeat the previous output
    (zeros before the first real step, not h0); go_backwards returns processing order."""
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip("needs KERAS_BACKEND=torch (tests/conftest.py sets it)")
    rng = np.random.default_rng(10)
    spec = LSTM_VARIANTS["lstm"]
    p = lstm_params(spec, I, H, rng)
    x = rng.normal(size=(T, B, I))
    h0, c0 = rng.normal(size=(B, H)), rng.normal(size=(B, H))
    mask = rng.uniform(size=(T, B)) < 0.6
    mask[0, 0] = mask[-1, 1] = False  # a masked first step in either direction
    layer = keras.layers.LSTM(H, return_sequences=True, return_state=True, go_backwards=go_backwards,
                              dtype="float64")
    layer.build((B, T, I))
    layer.set_weights([p["weight_ih"].T, p["weight_hh"].T, p["bias_ih"] + p["bias_hh"]])
    out_k, h_k, c_k = (t.detach().numpy() for t in layer(np.swapaxes(x, 0, 1), mask=mask.T,
                                                          initial_state=[h0, c0]))

    def step(x_t, state):
        h, c, _ = lstm_step(spec, p, x_t, state[0], state[1])
        return h, (h, c)

    out, (h_n, c_n) = unroll(step, x, (h0, c0), mask=mask, reverse=go_backwards, masked_output="carry")
    # Keras 3.15's ops.matmul computes float64 products in float32 (keras-team/keras#23223),
    # so agreement is at float32 level; any semantic difference would be O(0.1).
    np.testing.assert_allclose(out, np.swapaxes(out_k, 0, 1), rtol=0, atol=1e-6)
    np.testing.assert_allclose(h_n, h_k, rtol=0, atol=1e-6)
    np.testing.assert_allclose(c_n, c_k, rtol=0, atol=1e-6)


def test_sequence_errors():
    step, x, state = make_case()
    with pytest.raises(ValueError, match="not both"):
        unroll(step, x, state, lengths=LENGTHS, mask=np.ones((T, B), bool))
    with pytest.raises(ValueError, match="masked_output"):
        unroll(step, x, state, mask=np.ones((T, B), bool), masked_output="last")
    with pytest.raises(ValueError, match=r"lengths must lie in \[0, 6\]"):
        unroll(step, x, state, lengths=np.array([7, 1, 1, 1]))
    with pytest.raises(ValueError, match="int array"):
        unroll(step, x, state, lengths=np.array([1.0, 1, 1, 1]))
    with pytest.raises(ValueError, match="mask must be a bool array"):
        unroll(step, x, state, mask=np.ones((T, B)))
    p = lstm_params(LSTM_VARIANTS["lstm"], I, H, np.random.default_rng(0))
    with pytest.raises(ValueError, match="lists of 2 param dicts"):
        run_lstm(LSTM_VARIANTS["lstm"], [[p]], x, bidirectional=True)
    with pytest.raises(ValueError, match=r"h0\[0\] must have shape"):
        run_lstm(LSTM_VARIANTS["lstm"], [[p]], x, h0=[np.zeros((B, H + 1))])
