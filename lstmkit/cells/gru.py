"""The GRU family in NumPy float64: :func:`gru_step` for every variant of ``GRU_VARIANTS``.

A GRU keeps a single state ``h`` and interpolates between it and a candidate ``n`` with an
update gate ``z``; a reset gate ``r`` decides how much of ``h`` the candidate may look at.
The variants differ in which projections exist and where ``r`` acts, so unlike the LSTM
family (one equation with switches) each variant has its own few lines below.

Parameters use torch's layout: ``weight_ih`` (len(spec.ih_gates)*H, I) and ``weight_hh``
(len(spec.hh_gates)*H, H), rows stacked in ``r|z|n`` order restricted to the gates the
variant projects; optional ``bias_ih`` / ``bias_hh`` with matching rows; optional layer norm
``ln_ih_weight`` / ``ln_ih_bias`` and ``ln_hh_weight`` / ``ln_hh_bias`` (all four or none).

Notation in the docstrings (``σ`` = ``spec.gate_activation``, ``tanh`` = ``spec.activation``,
also where the papers apply tanh to ``x`` or ``h`` directly)::

    xW_k = x @ weight_ih[k rows].T + bias_ih[k rows]
    vU_k = v @ weight_hh[k rows].T + bias_hh[k rows]      (v is h, r ⊙ h or tanh(h))

Layer norm (when given) normalises each gate's projection on its own, before its bias:
``LN_k(x @ weight_ih[k rows].T)`` and ``LN_k(v @ weight_hh[k rows].T)`` with gate k's slice
of the gains and shifts. Per gate, because in "gru_cho" and MUT1-3 the reset gate acts
before the candidate's matmul, so the recurrent projections of all gates never exist at
the same moment to be normalised together.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .activations import get_activation
from .lstm import LN_KEYS, _array, _batch, _check_keys, _zoneout, layer_norm
from .spec import GRU_VARIANTS, GRUSpec

GRU_PARAM_KEYS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", *LN_KEYS)
Params = dict[str, np.ndarray]
GRUResult = tuple[np.ndarray, dict[str, np.ndarray]]


def _projection(
    inputs: dict[str, np.ndarray],
    weight: np.ndarray,
    bias: np.ndarray | None,
    ln: tuple[np.ndarray, np.ndarray] | None,
    rows: tuple[str, ...],
    H: int,
) -> dict[str, np.ndarray]:
    """``inputs[k] @ weight[k rows].T`` for each gate k in ``inputs``, each layer-normalised on
    its own (if ``ln``), plus the bias rows. ``rows`` is the gate order of ``weight``'s rows."""
    out = {}
    for k, v in inputs.items():
        sl = slice(rows.index(k) * H, (rows.index(k) + 1) * H)
        out[k] = v @ weight[sl].T  # (B, H)
        if ln is not None:
            out[k] = layer_norm(out[k], ln[0][sl], ln[1][sl])
        if bias is not None:
            out[k] = out[k] + bias[sl]
    return out


def gru_step(
    spec: GRUSpec,
    params: dict[str, np.ndarray],
    x: np.ndarray,
    h: np.ndarray,
    *,
    recurrent_mask: np.ndarray | None = None,
    zoneout: float | None = None,
    zoneout_mask: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One step of any GRU variant. Returns ``(h_new, gates)``.

    ``x`` (B, I), ``h`` (B, H). ``gates`` holds the (B, H) arrays ``"r"``, ``"z"``, ``"n"``
    and the pre-zoneout new state ``"h"``. The equations per variant are in the docstrings of
    :func:`standard_gru_step`, :func:`gru_cho_step`, :func:`mut1_step`, :func:`mut2_step`,
    :func:`mut3_step`.

    * ``recurrent_mask`` (B, H) multiplies ``h`` wherever it enters a recurrent matmul (not in
      the final interpolation): variational recurrent dropout.
    * ``zoneout_mask`` bool (B, H): where True the unit keeps its previous value (training).
      ``zoneout`` float z: the evaluation-time expectation ``h = z * h_prev + (1 - z) * h_new``.
    """
    if not isinstance(spec, GRUSpec):
        raise ValueError(f"spec must be a GRUSpec, got {type(spec).__name__}")
    if spec.name not in _EQUATIONS:
        raise ValueError(f"no GRU equations for variant {spec.name!r}; known: {sorted(_EQUATIONS)}")
    ln_given = [k for k in LN_KEYS if isinstance(params, dict) and k in params]
    if ln_given and len(ln_given) != len(LN_KEYS):
        raise ValueError(f"layer norm needs all of {list(LN_KEYS)}, got only {ln_given}")
    _check_keys(params, GRU_PARAM_KEYS, ("weight_ih", "weight_hh"))
    if zoneout is not None and zoneout_mask is not None:
        raise ValueError("pass either zoneout (evaluation rate) or zoneout_mask (training), not both")

    h = _batch("h", h)  # (B, H)
    B, H = h.shape
    x = _batch("x", x)  # (B, I)
    if x.shape[0] != B:
        raise ValueError(f"x and h must have the same batch size, got {x.shape[0]} and {B}")
    I = x.shape[1]
    if spec.needs_square_input and I != H:
        raise ValueError(
            f"variant {spec.name!r} adds x to a hidden-size vector, so input_size must equal "
            f"hidden_size; got input_size={I}, hidden_size={H}"
        )
    n_ih, n_hh = len(spec.ih_gates) * H, len(spec.hh_gates) * H
    w_ih = _array("weight_ih", params["weight_ih"], (n_ih, I), f" (gates {spec.ih_gates} x input)")
    w_hh = _array("weight_hh", params["weight_hh"], (n_hh, H), f" (gates {spec.hh_gates} x hidden)")
    b_ih = _array("bias_ih", params["bias_ih"], (n_ih,)) if "bias_ih" in params else None
    b_hh = _array("bias_hh", params["bias_hh"], (n_hh,)) if "bias_hh" in params else None
    ln_ih = ln_hh = None
    if ln_given:
        ln_ih = (_array("ln_ih_weight", params["ln_ih_weight"], (n_ih,)),
                 _array("ln_ih_bias", params["ln_ih_bias"], (n_ih,)))
        ln_hh = (_array("ln_hh_weight", params["ln_hh_weight"], (n_hh,)),
                 _array("ln_hh_bias", params["ln_hh_bias"], (n_hh,)))
    h_in = h if recurrent_mask is None else h * _array("recurrent_mask", recurrent_mask, (B, H))

    xW = _projection({k: x for k in spec.ih_gates}, w_ih, b_ih, ln_ih, spec.ih_gates, H)

    def hU(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return _projection(inputs, w_hh, b_hh, ln_hh, spec.hh_gates, H)

    sigma, act = get_activation(spec.gate_activation), get_activation(spec.activation)
    r, z, n, h_new = _EQUATIONS[spec.name](x, h, h_in, xW, hU, sigma, act)
    if zoneout_mask is not None:
        h_out = _zoneout(h, h_new, None, zoneout_mask, "zoneout_mask")
    else:
        h_out = _zoneout(h, h_new, zoneout, None, "zoneout")
    return h_out, {"r": r, "z": z, "n": n, "h": h_new}


# --------------------------------------------------------------------------- equations
# Each takes (x, h, h_in, xW, hU, σ, act): h_in is h after the recurrent mask, xW the input
# projections by gate, hU(inputs) the recurrent projections of {gate: input}. Returns r, z, n, h'.

def _gru(x, h, h_in, xW, hU, sigma, act):
    u = hU({"r": h_in, "z": h_in, "n": h_in})  # one matmul over all rows, like cuDNN
    r = sigma(xW["r"] + u["r"])
    z = sigma(xW["z"] + u["z"])
    n = act(xW["n"] + r * u["n"])  # reset applied after the matmul (and its bias)
    return r, z, n, (1.0 - z) * n + z * h


def _gru_cho(x, h, h_in, xW, hU, sigma, act):
    u = hU({"r": h_in, "z": h_in})
    r = sigma(xW["r"] + u["r"])
    z = sigma(xW["z"] + u["z"])
    n = act(xW["n"] + hU({"n": r * h_in})["n"])  # reset applied to h before the matmul
    return r, z, n, (1.0 - z) * n + z * h


def _mut1(x, h, h_in, xW, hU, sigma, act):
    z = sigma(xW["z"])
    r = sigma(xW["r"] + hU({"r": h_in})["r"])
    n = act(hU({"n": r * h_in})["n"] + act(x))
    return r, z, n, n * z + h * (1.0 - z)


def _mut2(x, h, h_in, xW, hU, sigma, act):
    u = hU({"r": h_in, "z": h_in})
    z = sigma(xW["z"] + u["z"])
    r = sigma(x + u["r"])
    n = act(hU({"n": r * h_in})["n"] + xW["n"])
    return r, z, n, n * z + h * (1.0 - z)


def _mut3(x, h, h_in, xW, hU, sigma, act):
    u = hU({"r": h_in, "z": act(h_in)})
    z = sigma(xW["z"] + u["z"])
    r = sigma(xW["r"] + u["r"])
    n = act(hU({"n": r * h_in})["n"] + xW["n"])
    return r, z, n, n * z + h * (1.0 - z)


_EQUATIONS = {"gru": _gru, "gru_cho": _gru_cho, "mut1": _mut1, "mut2": _mut2, "mut3": _mut3}


# --------------------------------------------------------------------------- named variants
def standard_gru_step(params: Params, x: np.ndarray, h: np.ndarray, **kw: Any) -> GRUResult:
    """Variant "gru": torch.nn.GRU, cuDNN and Keras ``GRU(reset_after=True)`` (Cho et al. 2014,
    arXiv:1406.1078, with the reset gate moved after the recurrent matmul)::

        r = σ(xW_r + hU_r),  z = σ(xW_z + hU_z),  n = tanh(xW_n + r ⊙ hU_n)
        h' = (1 - z) ⊙ n + z ⊙ h

    Note ``r`` also scales the recurrent bias ``b_hn`` (it is inside ``hU_n``).
    """
    return gru_step(GRU_VARIANTS["gru"], params, x, h, **kw)


def gru_cho_step(params: Params, x: np.ndarray, h: np.ndarray, **kw: Any) -> GRUResult:
    """Variant "gru_cho": the GRU as written by Cho et al. 2014 (Keras ``reset_after=False``)::

        r = σ(xW_r + hU_r),  z = σ(xW_z + hU_z),  n = tanh(xW_n + (r ⊙ h)U_n)
        h' = (1 - z) ⊙ n + z ⊙ h

    It equals "gru" when ``r = 1``; in general the two differ.
    """
    return gru_step(GRU_VARIANTS["gru_cho"], params, x, h, **kw)


def mut1_step(params: Params, x: np.ndarray, h: np.ndarray, **kw: Any) -> GRUResult:
    """Variant "mut1" (Jozefowicz, Zaremba & Sutskever 2015, ICML, section 3)::

        z = σ(xW_z),  r = σ(xW_r + hU_r),  n = tanh((r ⊙ h)U_n + tanh(x))
        h' = n ⊙ z + h ⊙ (1 - z)

    The update gate ignores ``h``, the candidate has no input projection (so input_size must
    equal hidden_size), and ``z`` weights the *new* candidate (the paper's convention).
    """
    return gru_step(GRU_VARIANTS["mut1"], params, x, h, **kw)


def mut2_step(params: Params, x: np.ndarray, h: np.ndarray, **kw: Any) -> GRUResult:
    """Variant "mut2" (Jozefowicz et al. 2015, section 3)::

        z = σ(xW_z + hU_z),  r = σ(x + hU_r),  n = tanh((r ⊙ h)U_n + xW_n)
        h' = n ⊙ z + h ⊙ (1 - z)

    The reset gate adds the raw input (input_size must equal hidden_size).
    """
    return gru_step(GRU_VARIANTS["mut2"], params, x, h, **kw)


def mut3_step(params: Params, x: np.ndarray, h: np.ndarray, **kw: Any) -> GRUResult:
    """Variant "mut3" (Jozefowicz et al. 2015, section 3)::

        z = σ(xW_z + tanh(h)U_z),  r = σ(xW_r + hU_r),  n = tanh((r ⊙ h)U_n + xW_n)
        h' = n ⊙ z + h ⊙ (1 - z)

    The update gate sees the squashed state ``tanh(h)``.
    """
    return gru_step(GRU_VARIANTS["mut3"], params, x, h, **kw)


#: Variant name -> its named step function.
GRU_STEPS: dict[str, Callable[..., GRUResult]] = {
    "gru": standard_gru_step,
    "gru_cho": gru_cho_step,
    "mut1": mut1_step,
    "mut2": mut2_step,
    "mut3": mut3_step,
}
