"""Shared test helpers: random float64 parameters in lstmkit's layout, and torch <-> NumPy."""

from __future__ import annotations

import numpy as np

from lstmkit.cells import GRUSpec, LSTMSpec


def lstm_params(
    spec: LSTMSpec,
    input_size: int,
    hidden: int,
    rng: np.random.Generator,
    *,
    proj: int | None = None,
    bias: bool = True,
    ln: bool = False,
    scale: float = 0.5,
) -> dict[str, np.ndarray]:
    """Random params for ``lstm_step``: every key the spec needs, optionally bias/projection/LN."""
    G, S = spec.num_gates, len(spec.sigmoid_gates)
    R = proj or hidden
    p = {
        "weight_ih": rng.normal(0, scale, (G * hidden, input_size)),
        "weight_hh": rng.normal(0, scale, (G * hidden, R)),
    }
    if bias:
        p["bias_ih"] = rng.normal(0, scale, G * hidden)
        p["bias_hh"] = rng.normal(0, scale, G * hidden)
    if proj:
        p["weight_hr"] = rng.normal(0, scale, (proj, hidden))
    if spec.peepholes:
        p["weight_peephole"] = rng.normal(0, scale, (len(spec.peephole_gates), hidden))
    if spec.full_gate_recurrence:
        p["weight_fgr"] = rng.normal(0, scale, (S * hidden, S * hidden))
    if ln:
        for name, n in (("ih", G * hidden), ("hh", G * hidden), ("c", hidden)):
            p[f"ln_{name}_weight"] = rng.uniform(0.5, 1.5, n)
            p[f"ln_{name}_bias"] = rng.normal(0, 0.3, n)
    return p


def gru_params(
    spec: GRUSpec,
    input_size: int,
    hidden: int,
    rng: np.random.Generator,
    *,
    bias: bool = True,
    ln: bool = False,
    scale: float = 0.5,
) -> dict[str, np.ndarray]:
    n_ih, n_hh = len(spec.ih_gates) * hidden, len(spec.hh_gates) * hidden
    p = {
        "weight_ih": rng.normal(0, scale, (n_ih, input_size)),
        "weight_hh": rng.normal(0, scale, (n_hh, hidden)),
    }
    if bias:
        p["bias_ih"] = rng.normal(0, scale, n_ih)
        p["bias_hh"] = rng.normal(0, scale, n_hh)
    if ln:
        for name, n in (("ih", n_ih), ("hh", n_hh)):
            p[f"ln_{name}_weight"] = rng.uniform(0.5, 1.5, n)
            p[f"ln_{name}_bias"] = rng.normal(0, 0.3, n)
    return p


def cell_params(module) -> dict[str, np.ndarray]:
    """Params of a torch.nn.LSTMCell / GRUCell as a dict of float64 NumPy arrays."""
    return {name: t.detach().numpy().copy() for name, t in module.named_parameters()}


def torch_layers(module, num_layers: int, bidirectional: bool) -> list[list[dict[str, np.ndarray]]]:
    """torch.nn.LSTM / GRU parameters as ``layers[l][d]`` param dicts for run_lstm / run_gru."""
    layers = []
    for l in range(num_layers):
        directions = []
        for suffix in [f"_l{l}"] + ([f"_l{l}_reverse"] if bidirectional else []):
            params = {}
            for name, tensor in module.named_parameters():
                if name.endswith(suffix):
                    params[name[: -len(suffix)]] = tensor.detach().numpy().copy()
            directions.append(params)
        layers.append(directions)
    return layers


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Plain textbook sigmoid, independent of lstmkit's stable one."""
    return 1.0 / (1.0 + np.exp(-x))
