import numpy as np
import pytest
import torch

from lstmkit.cells import GRU_STEPS, GRU_VARIANTS, gru_step, layer_norm

from .helpers import cell_params, gru_params, sigmoid

ALL = sorted(GRU_VARIANTS)
B, H = 3, 4


def setup(name, I=H, seed=0, **kw):
    spec = GRU_VARIANTS[name]
    rng = np.random.default_rng(seed)
    p = gru_params(spec, I, H, rng, **kw)
    return spec, p, rng.normal(size=(B, I)), rng.normal(size=(B, H))


def blocks(p, spec):
    """Per-gate weights W[k] (H, I), U[k] (H, H), biases bW[k], bU[k] by name."""
    W = {k: p["weight_ih"][j * H:(j + 1) * H] for j, k in enumerate(spec.ih_gates)}
    U = {k: p["weight_hh"][j * H:(j + 1) * H] for j, k in enumerate(spec.hh_gates)}
    bW = {k: p["bias_ih"][j * H:(j + 1) * H] for j, k in enumerate(spec.ih_gates)}
    bU = {k: p["bias_hh"][j * H:(j + 1) * H] for j, k in enumerate(spec.hh_gates)}
    return W, U, bW, bU


def by_hand(name, p, x, h):
    """The equations of the brief / Jozefowicz et al. 2015, written out directly."""
    W, U, bW, bU = blocks(p, GRU_VARIANTS[name])

    def xw(k):
        return x @ W[k].T + bW[k]

    def hu(k, v):
        return v @ U[k].T + bU[k]

    if name == "gru":
        r, z = sigmoid(xw("r") + hu("r", h)), sigmoid(xw("z") + hu("z", h))
        return (1 - z) * np.tanh(xw("n") + r * hu("n", h)) + z * h
    if name == "gru_cho":
        r, z = sigmoid(xw("r") + hu("r", h)), sigmoid(xw("z") + hu("z", h))
        return (1 - z) * np.tanh(xw("n") + hu("n", r * h)) + z * h
    if name == "mut1":
        z = sigmoid(xw("z"))
        r = sigmoid(xw("r") + hu("r", h))
        n = np.tanh(hu("n", r * h) + np.tanh(x))
    elif name == "mut2":
        z = sigmoid(xw("z") + hu("z", h))
        r = sigmoid(x + hu("r", h))
        n = np.tanh(hu("n", r * h) + xw("n"))
    else:  # mut3
        z = sigmoid(xw("z") + hu("z", np.tanh(h)))
        r = sigmoid(xw("r") + hu("r", h))
        n = np.tanh(hu("n", r * h) + xw("n"))
    return n * z + h * (1 - z)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("seed", [0, 1])
def test_hand_computation(name, seed):
    spec, p, x, h = setup(name, seed=seed)
    h1, gates = gru_step(spec, p, x, h)
    assert h1.shape == (B, H) and set(gates) == {"r", "z", "n", "h"}
    np.testing.assert_allclose(h1, by_hand(name, p, x, h), rtol=0, atol=1e-13)
    h2, _ = GRU_STEPS[name](p, x, h)
    np.testing.assert_array_equal(h1, h2)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("I", [2, 4, 7])
def test_gru_equals_torch_grucell(bias, I):
    torch.manual_seed(I)
    cell = torch.nn.GRUCell(I, H, bias=bias, dtype=torch.float64)
    rng = np.random.default_rng(I)
    x, h = rng.normal(size=(B, I)), rng.normal(size=(B, H))
    with torch.no_grad():
        h_t = cell(torch.from_numpy(x), torch.from_numpy(h)).numpy()
    h1, _ = gru_step(GRU_VARIANTS["gru"], cell_params(cell), x, h)
    np.testing.assert_allclose(h1, h_t, rtol=0, atol=1e-12)


def test_gru_cho_differs_from_gru_except_when_r_is_one():
    _, p, x, h = setup("gru")
    h_gru, _ = gru_step(GRU_VARIANTS["gru"], p, x, h)
    h_cho, _ = gru_step(GRU_VARIANTS["gru_cho"], p, x, h)
    assert np.abs(h_gru - h_cho).max() > 1e-3
    p["bias_ih"][:H] = 100.0  # r = σ(100 + ...) == 1.0 exactly in float64
    h_gru, g = gru_step(GRU_VARIANTS["gru"], p, x, h)
    h_cho, _ = gru_step(GRU_VARIANTS["gru_cho"], p, x, h)
    np.testing.assert_array_equal(g["r"], 1.0)
    np.testing.assert_allclose(h_gru, h_cho, rtol=0, atol=1e-15)


@pytest.mark.parametrize("name", ["mut1", "mut2"])
def test_mut_needs_square_input(name):
    spec, p, x, h = setup(name, I=3)
    with pytest.raises(ValueError, match="input_size=3, hidden_size=4"):
        gru_step(spec, p, x, h)


def test_mut3_and_gru_cho_take_any_input_size():
    for name in ("mut3", "gru_cho"):
        spec, p, x, h = setup(name, I=6)
        h1, _ = gru_step(spec, p, x, h)
        np.testing.assert_allclose(h1, by_hand(name, p, x, h), atol=1e-13)


def _gate_ln(v, w, lw, lb, gate):
    """Gate ``gate``'s projection of v, layer-normalised on its own (before its bias)."""
    sl = slice(gate * H, (gate + 1) * H)
    return layer_norm(v @ w[sl].T, lw[sl], lb[sl])


def test_gru_layer_norm_per_gate():
    spec, p, x, h = setup("gru", ln=True)
    h1, _ = gru_step(spec, p, x, h)
    ih = [_gate_ln(x, p["weight_ih"], p["ln_ih_weight"], p["ln_ih_bias"], k) + p["bias_ih"][k * H:(k + 1) * H]
          for k in range(3)]
    hh = [_gate_ln(h, p["weight_hh"], p["ln_hh_weight"], p["ln_hh_bias"], k) + p["bias_hh"][k * H:(k + 1) * H]
          for k in range(3)]
    r, z = sigmoid(ih[0] + hh[0]), sigmoid(ih[1] + hh[1])
    n = np.tanh(ih[2] + r * hh[2])
    np.testing.assert_allclose(h1, (1 - z) * n + z * h, atol=1e-13)


def test_gru_cho_layer_norm_per_gate():
    """The reset-before form normalises (r ⊙ h) U_n on its own too: per gate is well defined."""
    spec, p, x, h = setup("gru_cho", ln=True)
    h1, _ = gru_step(spec, p, x, h)
    lw, lb, b = p["ln_hh_weight"], p["ln_hh_bias"], p["bias_hh"]
    ih = [_gate_ln(x, p["weight_ih"], p["ln_ih_weight"], p["ln_ih_bias"], k) + p["bias_ih"][k * H:(k + 1) * H]
          for k in range(3)]
    r = sigmoid(ih[0] + _gate_ln(h, p["weight_hh"], lw, lb, 0) + b[:H])
    z = sigmoid(ih[1] + _gate_ln(h, p["weight_hh"], lw, lb, 1) + b[H:2 * H])
    n = np.tanh(ih[2] + _gate_ln(r * h, p["weight_hh"], lw, lb, 2) + b[2 * H:])
    np.testing.assert_allclose(h1, (1 - z) * n + z * h, atol=1e-13)


@pytest.mark.parametrize("name", ALL)
def test_layer_norm_runs_for_every_variant(name):
    spec, p, x, h = setup(name, ln=True)
    h1, _ = gru_step(spec, p, x, h)
    h2, _ = gru_step(spec, dict(p, weight_ih=9.0 * p["weight_ih"]), x, h)  # input scale is normalised away
    assert np.all(np.isfinite(h1))
    if name != "mut2":  # mut2's r sees the raw x, which is not normalised
        np.testing.assert_allclose(h1, h2, atol=1e-4)


@pytest.mark.parametrize("name", ALL)
def test_recurrent_mask_and_zoneout(name):
    spec, p, x, h = setup(name)
    mask = np.random.default_rng(5).integers(0, 2, size=(B, H)) * 2.0
    h_m, g_m = gru_step(spec, p, x, h, recurrent_mask=mask)
    # the mask reaches every recurrent matmul, but the interpolation uses the real h
    z, n = g_m["z"], g_m["n"]
    expected = (1 - z) * n + z * h if name in ("gru", "gru_cho") else n * z + h * (1 - z)
    np.testing.assert_allclose(h_m, expected, atol=1e-15)
    masked_everywhere = by_hand(name, p, x, h * mask)
    assert not np.allclose(h_m, masked_everywhere)
    h_new, _ = gru_step(spec, p, x, h)
    h_z, g = gru_step(spec, p, x, h, zoneout=0.3)
    np.testing.assert_allclose(h_z, 0.3 * h + 0.7 * h_new, atol=1e-15)
    np.testing.assert_array_equal(g["h"], h_new)
    keep = np.random.default_rng(6).uniform(size=(B, H)) < 0.5
    h_k, _ = gru_step(spec, p, x, h, zoneout_mask=keep)
    np.testing.assert_array_equal(h_k, np.where(keep, h, h_new))


def test_gru_mask_matches_masked_hand_computation():
    spec, p, x, h = setup("gru_cho")
    mask = np.random.default_rng(7).uniform(0.5, 1.5, size=(B, H))
    h1, g = gru_step(spec, p, x, h, recurrent_mask=mask)
    W, U, bW, bU = blocks(p, spec)
    hm = h * mask
    r = sigmoid(x @ W["r"].T + bW["r"] + hm @ U["r"].T + bU["r"])
    z = sigmoid(x @ W["z"].T + bW["z"] + hm @ U["z"].T + bU["z"])
    n = np.tanh(x @ W["n"].T + bW["n"] + (r * hm) @ U["n"].T + bU["n"])
    np.testing.assert_allclose(h1, (1 - z) * n + z * h, atol=1e-13)


def test_gru_errors():
    spec, p, x, h = setup("gru")
    with pytest.raises(ValueError, match=r"weight_ih must have shape \(8, 4\)"):
        gru_step(GRU_VARIANTS["mut1"], p, x, h)  # mut1 projects x for 2 gates, not 3
    with pytest.raises(ValueError, match="missing"):
        gru_step(spec, {"weight_ih": p["weight_ih"]}, x, h)
    with pytest.raises(ValueError, match="unexpected"):
        gru_step(spec, dict(p, weight_hr=np.zeros((2, H))), x, h)
    with pytest.raises(ValueError, match="batch size"):
        gru_step(spec, p, x[:2], h)
    with pytest.raises(ValueError, match="not both"):
        gru_step(spec, p, x, h, zoneout=0.1, zoneout_mask=np.zeros((B, H), bool))
    with pytest.raises(ValueError, match="layer norm needs all"):
        gru_step(spec, dict(p, ln_hh_bias=np.zeros(3 * H)), x, h)
