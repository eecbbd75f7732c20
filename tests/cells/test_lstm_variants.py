import numpy as np
import pytest
import torch

from lstmkit.cells import (
    LSTM_STEPS,
    LSTM_VARIANTS,
    forget_bias_init,
    layer_norm,
    lstm_step,
    sigmoid_gate_state,
)

from .helpers import cell_params, lstm_params, sigmoid

ALL = sorted(LSTM_VARIANTS)
B, I, H = 3, 4, 5


def setup(name, seed=0, **kw):
    spec = LSTM_VARIANTS[name]
    rng = np.random.default_rng(seed)
    p = lstm_params(spec, I, H, rng, **kw)
    R = kw.get("proj") or H
    x, h, c = rng.normal(size=(B, I)), rng.normal(size=(B, R)), rng.normal(size=(B, H))
    return spec, p, x, h, c


def by_hand(spec, p, x, h, c, a_prev=None):
    """Greff et al.'s equations written out gate by gate (no layer norm, no projection)."""
    rows = {k: slice(j * H, (j + 1) * H) for j, k in enumerate(spec.gates)}
    b = p.get("bias_ih", 0) + p.get("bias_hh", 0) + np.zeros(spec.num_gates * H)
    peep = dict(zip(spec.peephole_gates, p.get("weight_peephole", [])))
    fgr = {}
    if spec.full_gate_recurrence:
        S = spec.sigmoid_gates
        a_prev = np.zeros((B, len(S) * H)) if a_prev is None else a_prev
        fgr = {k: a_prev @ p["weight_fgr"][j * H:(j + 1) * H].T for j, k in enumerate(S)}

    def pre(k):
        return x @ p["weight_ih"][rows[k]].T + h @ p["weight_hh"][rows[k]].T + b[rows[k]] + fgr.get(k, 0)

    act_in = (lambda v: v) if spec.input_activation == "linear" else np.tanh
    act_out = (lambda v: v) if spec.output_activation == "linear" else np.tanh
    i = sigmoid(pre("i") + peep.get("i", 0) * c) if "i" in rows else 1.0
    if spec.coupled:
        f = 1 - i
    else:
        f = sigmoid(pre("f") + peep.get("f", 0) * c) if "f" in rows else 1.0
    c_new = f * c + i * act_in(pre("g"))
    o = sigmoid(pre("o") + peep.get("o", 0) * c_new) if "o" in rows else 1.0
    return o * act_out(c_new), c_new


@pytest.mark.parametrize("name", ALL)
def test_shapes_and_hand_computation(name):
    spec, p, x, h, c = setup(name)
    h1, c1, gates = lstm_step(spec, p, x, h, c)
    assert h1.shape == (B, H) and c1.shape == (B, H)
    assert set(gates) == {"i", "f", "g", "o", "c"} and all(v.shape == (B, H) for v in gates.values())
    h_ref, c_ref = by_hand(spec, p, x, h, c)
    np.testing.assert_allclose(h1, h_ref, rtol=0, atol=1e-13)
    np.testing.assert_allclose(c1, c_ref, rtol=0, atol=1e-13)
    # the named function is the same step
    h2, c2, _ = LSTM_STEPS[name](p, x, h, c)
    np.testing.assert_array_equal(h1, h2)
    np.testing.assert_array_equal(c1, c2)


@pytest.mark.parametrize("name,gate", [("nig", "i"), ("nfg", "f"), ("nog", "o")])
def test_absent_gates_are_one(name, gate):
    spec, p, x, h, c = setup(name)
    assert gate not in spec.gates and p["weight_ih"].shape == (3 * H, I)
    _, _, gates = lstm_step(spec, p, x, h, c)
    np.testing.assert_array_equal(gates[gate], np.ones((B, H)))
    for other in {"i", "f", "o"} - {gate}:
        assert np.all((gates[other] > 0) & (gates[other] < 1))


def test_cifg_couples_forget_to_input():
    spec, p, x, h, c = setup("cifg")
    _, c1, gates = lstm_step(spec, p, x, h, c)
    np.testing.assert_array_equal(gates["f"], 1.0 - gates["i"])
    np.testing.assert_allclose(c1, (1 - gates["i"]) * c + gates["i"] * gates["g"], atol=1e-15)


def test_niaf_noaf_drop_activations():
    spec, p, x, h, c = setup("niaf", scale=2.0)
    _, _, gates = lstm_step(spec, p, x, h, c)
    assert np.abs(gates["g"]).max() > 1  # not squashed
    spec, p, x, h, c = setup("noaf")
    h1, c1, gates = lstm_step(spec, p, x, h, c)
    np.testing.assert_allclose(h1, gates["o"] * c1, atol=1e-15)


@pytest.mark.parametrize("name", ["lstm", "np"])
@pytest.mark.parametrize("bias", [True, False])
def test_equals_torch_lstmcell(name, bias):
    torch.manual_seed(3)
    cell = torch.nn.LSTMCell(I, H, bias=bias, dtype=torch.float64)
    _, _, x, h, c = setup("lstm", seed=4)
    with torch.no_grad():
        h_t, c_t = cell(torch.from_numpy(x), (torch.from_numpy(h), torch.from_numpy(c)))
    h1, c1, _ = lstm_step(LSTM_VARIANTS[name], cell_params(cell), x, h, c)
    np.testing.assert_allclose(h1, h_t.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(c1, c_t.numpy(), rtol=0, atol=1e-12)


def test_projection_equals_torch_lstm_proj_size():
    P = 3
    torch.manual_seed(5)
    lstm = torch.nn.LSTM(I, H, proj_size=P, dtype=torch.float64)
    p = {k[: -len("_l0")]: v.detach().numpy() for k, v in lstm.named_parameters()}
    assert p["weight_hr"].shape == (P, H) and p["weight_hh"].shape == (4 * H, P)
    _, _, x, h, c = setup("lstm", seed=6, proj=P)
    with torch.no_grad():
        state = (torch.from_numpy(h)[None], torch.from_numpy(c)[None])  # (layers, B, ·)
        out, (h_t, c_t) = lstm(torch.from_numpy(x)[None], state)
    h1, c1, _ = lstm_step(LSTM_VARIANTS["lstm"], p, x, h, c)
    assert h1.shape == (B, P)
    np.testing.assert_allclose(h1, h_t[0].numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(h1, out[0].numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(c1, c_t[0].numpy(), rtol=0, atol=1e-12)


def test_fgr_uses_previous_gates():
    spec, p, x, h, c = setup("fgr")
    rng = np.random.default_rng(9)
    a_prev = rng.uniform(size=(B, 3 * H))
    h1, c1, gates = lstm_step(spec, p, x, h, c, prev_gates=a_prev)
    h_ref, c_ref = by_hand(spec, p, x, h, c, a_prev)
    np.testing.assert_allclose(h1, h_ref, atol=1e-13)
    # the gates dict is an equivalent way to pass the previous step's activations
    prev = {"i": a_prev[:, :H], "f": a_prev[:, H:2 * H], "o": a_prev[:, 2 * H:], "g": 0 * c, "c": c}
    h2, _, _ = lstm_step(spec, p, x, h, c, prev_gates=prev)
    np.testing.assert_array_equal(h1, h2)
    np.testing.assert_array_equal(sigmoid_gate_state(spec, prev), a_prev)
    # zero FGR weights reduce it to vanilla
    p0 = {k: v for k, v in p.items() if k != "weight_fgr"}
    h_v, _, _ = lstm_step(LSTM_VARIANTS["vanilla"], p0, x, h, c)
    h_z, _, _ = lstm_step(spec, dict(p, weight_fgr=np.zeros((3 * H, 3 * H))), x, h, c, prev_gates=a_prev)
    np.testing.assert_allclose(h_v, h_z, atol=1e-15)


@pytest.mark.parametrize("name", ["lstm", "vanilla", "cifg"])
def test_layer_norm(name):
    spec, p, x, h, c = setup(name, ln=True)
    h1, c1, gates = lstm_step(spec, p, x, h, c)
    # by hand: LN over each whole projection before its bias, LN_c only inside the output
    ih = layer_norm(x @ p["weight_ih"].T, p["ln_ih_weight"], p["ln_ih_bias"]) + p["bias_ih"]
    hh = layer_norm(h @ p["weight_hh"].T, p["ln_hh_weight"], p["ln_hh_bias"]) + p["bias_hh"]
    # the same cell fed the normalised sums directly (identity input weights, nothing else)
    plain = {k: v for k, v in p.items() if not k.startswith(("ln_", "bias_"))}
    plain["weight_ih"], plain["weight_hh"] = np.eye(ih.shape[1]), np.zeros((ih.shape[1], H))
    _, c_ref, g_ref = lstm_step(spec, plain, ih + hh, h, c)
    np.testing.assert_allclose(c1, c_ref, atol=1e-13)  # carried c is not normalised
    c_ln = (c1 - c1.mean(1, keepdims=True)) / np.sqrt(c1.var(1, keepdims=True) + 1e-5)
    expected_h = g_ref["o"] * np.tanh(c_ln * p["ln_c_weight"] + p["ln_c_bias"])
    np.testing.assert_allclose(h1, expected_h, atol=1e-13)
    # normalising makes the step invariant to the scale of the input and recurrent weights
    scaled = dict(p, weight_ih=7.0 * p["weight_ih"], weight_hh=3.0 * p["weight_hh"])  # (up to eps)
    h2, c2, _ = lstm_step(spec, scaled, x, h, c)
    np.testing.assert_allclose(h2, h1, atol=1e-4)
    np.testing.assert_allclose(c2, c1, atol=1e-4)


def test_zoneout():
    spec, p, x, h, c = setup("vanilla")
    h_new, c_new, gates = lstm_step(spec, p, x, h, c)
    h_z, c_z, g_z = lstm_step(spec, p, x, h, c, zoneout=(0.25, 0.6))
    np.testing.assert_allclose(c_z, 0.25 * c + 0.75 * c_new, atol=1e-15)
    np.testing.assert_allclose(h_z, 0.6 * h + 0.4 * h_new, atol=1e-15)
    np.testing.assert_array_equal(g_z["c"], c_new)  # the gates report the pre-zoneout cell
    rng = np.random.default_rng(1)
    keep_c, keep_h = rng.uniform(size=(B, H)) < 0.5, rng.uniform(size=(B, H)) < 0.5
    h_m, c_m, _ = lstm_step(spec, p, x, h, c, zoneout_masks=(keep_c, keep_h))
    np.testing.assert_array_equal(c_m, np.where(keep_c, c, c_new))
    np.testing.assert_array_equal(h_m, np.where(keep_h, h, h_new))
    with pytest.raises(ValueError, match="not both"):
        lstm_step(spec, p, x, h, c, zoneout=(0.1, 0.1), zoneout_masks=(keep_c, keep_h))
    with pytest.raises(ValueError, match="bool"):
        lstm_step(spec, p, x, h, c, zoneout_masks=(keep_c.astype(float), None))


def test_zoneout_after_projection():
    spec, p, x, h, c = setup("lstm", proj=2)
    h_new, _, _ = lstm_step(spec, p, x, h, c)
    h_z, _, _ = lstm_step(spec, p, x, h, c, zoneout=(0.0, 0.5))
    np.testing.assert_allclose(h_z, 0.5 * h + 0.5 * h_new, atol=1e-15)


def test_recurrent_mask_only_touches_recurrent_input():
    spec, p, x, h, c = setup("vanilla")
    mask = np.random.default_rng(2).integers(0, 2, size=(B, H)) * 2.0
    h1, c1, _ = lstm_step(spec, p, x, h, c, recurrent_mask=mask)
    h2, c2, _ = lstm_step(spec, p, x, h * mask, c)
    np.testing.assert_array_equal(h1, h2)
    np.testing.assert_array_equal(c1, c2)  # c (and the peepholes on it) untouched
    # zoneout keeps the *unmasked* previous h
    keep = np.ones((B, H), dtype=bool)
    h3, _, _ = lstm_step(spec, p, x, h, c, recurrent_mask=0 * mask, zoneout_masks=(None, keep))
    np.testing.assert_array_equal(h3, h)


def test_forget_bias_init():
    b = forget_bias_init(LSTM_VARIANTS["lstm"], 3)
    np.testing.assert_array_equal(b, [0] * 3 + [1] * 3 + [0] * 6)
    b = forget_bias_init(LSTM_VARIANTS["nig"], 2, value=2.5)  # rows f|g|o
    np.testing.assert_array_equal(b, [2.5, 2.5, 0, 0, 0, 0])
    for name in ("nfg", "cifg"):
        with pytest.raises(ValueError, match="no forget"):
            forget_bias_init(LSTM_VARIANTS[name], 3)
    with pytest.raises(ValueError, match="hidden_size"):
        forget_bias_init(LSTM_VARIANTS["lstm"], 0)


def test_param_errors():
    spec, p, x, h, c = setup("vanilla")
    with pytest.raises(ValueError, match="missing.*weight_peephole"):
        lstm_step(spec, {k: v for k, v in p.items() if k != "weight_peephole"}, x, h, c)
    with pytest.raises(ValueError, match="unexpected.*weight_ih_l0"):
        lstm_step(spec, dict(p, weight_ih_l0=p["weight_ih"]), x, h, c)
    with pytest.raises(ValueError, match="unexpected.*weight_peephole"):
        lstm_step(LSTM_VARIANTS["lstm"], p, x, h, c)
    with pytest.raises(ValueError, match=r"weight_hh must have shape \(20, 5\)"):
        lstm_step(spec, dict(p, weight_hh=p["weight_hh"][:, :4]), x, h, c)
    with pytest.raises(ValueError, match="x must have shape"):
        lstm_step(spec, p, x[:, :3], h, c)
    with pytest.raises(ValueError, match="layer norm needs all"):
        lstm_step(spec, dict(p, ln_ih_weight=np.ones(4 * H)), x, h, c)
    with pytest.raises(ValueError, match="LSTMSpec"):
        lstm_step("lstm", p, x, h, c)
