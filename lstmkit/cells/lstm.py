"""The LSTM family in NumPy float64: one general step, :func:`lstm_step`, for every variant.

Each variant of ``LSTM_VARIANTS`` is a set of switches on the same equations (see
:class:`~lstmkit.cells.spec.LSTMSpec`); :func:`lstm_step` reads the switches, and the small
functions at the bottom (``vanilla_step``, ``cifg_step``, ...) name each variant and cite
its paper. This is the executable specification the torch layers and kernels are tested
against, so it favours clarity over speed.

Parameters use torch's layout, without layer suffixes (``weight_ih``, not ``weight_ih_l0``):
the rows of ``weight_ih``, ``weight_hh`` and the biases are the gates present in the variant,
stacked in ``spec.gates`` order (a subsequence of ``i|f|g|o``). Shapes: ``B`` batch, ``I``
input size, ``H`` hidden (cell) size, ``G = spec.num_gates``, ``R`` size of the recurrent
state ``h`` (``H``, or the projection size ``P`` when ``weight_hr`` is given), ``S =
len(spec.sigmoid_gates)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .activations import get_activation
from .spec import LSTM_VARIANTS, LSTMSpec

#: Layer-norm epsilon (added to the biased variance), as in haste and torch.nn.LayerNorm.
LN_EPS = 1e-5
LN_KEYS = ("ln_ih_weight", "ln_ih_bias", "ln_hh_weight", "ln_hh_bias")
LSTM_LN_KEYS = (*LN_KEYS, "ln_c_weight", "ln_c_bias")
Params = dict[str, np.ndarray]
LSTMResult = tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]
LSTM_PARAM_KEYS = (
    "weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr", "weight_peephole", "weight_fgr",
    *LSTM_LN_KEYS,
)


# --------------------------------------------------------------------------- helpers
def layer_norm(v: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float = LN_EPS) -> np.ndarray:
    """Layer normalisation over the last axis (Ba, Kiros & Hinton 2016).

    ``(v - mean) / sqrt(var + eps) * weight + bias`` with the biased variance. It keeps the
    summed inputs of a recurrent layer at a fixed scale, whatever the scale of the weights.
    """
    mean = v.mean(axis=-1, keepdims=True)
    var = ((v - mean) ** 2).mean(axis=-1, keepdims=True)
    return (v - mean) / np.sqrt(var + eps) * weight + bias


def _array(name: str, value: Any, shape: tuple[int, ...] | None = None, what: str = "") -> np.ndarray:
    """``value`` as float64, with a ValueError if its shape is not ``shape``."""
    arr = np.asarray(value, dtype=np.float64)
    if shape is not None and arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}{what}, got {arr.shape}")
    return arr


def _batch(name: str, value: Any, width: int | None = None) -> np.ndarray:
    """A (B, width) float64 array, or a ValueError."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim != 2 or (width is not None and arr.shape[1] != width):
        expected = f"(batch, {width})" if width is not None else "(batch, features)"
        raise ValueError(f"{name} must have shape {expected}, got {arr.shape}")
    return arr


def _check_keys(params: dict, allowed: tuple[str, ...], required: tuple[str, ...]) -> None:
    if not isinstance(params, dict):
        raise ValueError(f"params must be a dict of arrays, got {type(params).__name__}")
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(f"unexpected params keys {unknown}; allowed keys are {list(allowed)}")
    missing = [k for k in required if k not in params]
    if missing:
        raise ValueError(f"params is missing {missing} (present: {sorted(params)})")


def _zoneout(
    prev: np.ndarray, new: np.ndarray, rate: float | None, keep: np.ndarray | None, name: str
) -> np.ndarray:
    """Zoneout (Krueger et al. 2016): some units keep their previous value instead of updating.

    Training: ``keep`` (bool, shape of ``new``) marks the units that keep ``prev``.
    Evaluation: the expectation ``rate * prev + (1 - rate) * new``.
    """
    if keep is not None:
        keep = np.asarray(keep)
        if keep.dtype != np.bool_ or keep.shape != new.shape:
            raise ValueError(
                f"{name} must be a bool array of shape {new.shape}, got {keep.dtype} {keep.shape}"
            )
        return np.where(keep, prev, new)
    if rate is not None:
        if not 0.0 <= float(rate) <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {rate}")
        return rate * prev + (1.0 - rate) * new
    return new


def _zoneout_args(zoneout: Any, masks: Any, names: tuple[str, ...]) -> tuple[list, list]:
    """Unpack ``zoneout`` rates / ``zoneout_masks`` tuples (one entry per state) into two lists."""
    n = len(names)
    if zoneout is not None and masks is not None:
        raise ValueError("pass either zoneout (evaluation rates) or zoneout masks (training), not both")
    rates, keeps = [None] * n, [None] * n
    if zoneout is not None:
        if len(zoneout) != n:
            raise ValueError(f"zoneout must be a tuple {names} of {n} floats, got {zoneout!r}")
        rates = list(zoneout)
    if masks is not None:
        if len(masks) != n:
            raise ValueError(f"zoneout masks must be a tuple {names} of {n} bool arrays, got {len(masks)}")
        keeps = list(masks)
    return rates, keeps


def sigmoid_gate_state(spec: LSTMSpec, gates: dict[str, np.ndarray]) -> np.ndarray:
    """The (B, S*H) concatenation of the sigmoid gates in ``spec.sigmoid_gates`` order.

    This is what full gate recurrence (FGR) carries from one step to the next; sequence
    runners keep it as a third state array next to ``h`` and ``c``.
    """
    return np.concatenate([gates[k] for k in spec.sigmoid_gates], axis=1)


# --------------------------------------------------------------------------- the cell proper
def lstm_gates(
    spec: LSTMSpec,
    pre: dict[str, np.ndarray],
    c: np.ndarray,
    *,
    peepholes: dict[str, np.ndarray] | None = None,
    ln_c: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The LSTM cell given its gate pre-activations: the one definition of the gate equations.

    ``pre`` maps each gate of ``spec.gates`` to its summed input and recurrent terms, shaped like
    ``c``; any shape works, as everything is element-wise (``lstm_step`` passes (B, H) matmul
    results, ``conv_lstm_step`` (B, *spatial, filters) convolution results). ``peepholes`` maps a
    gate of ``spec.peephole_gates`` to its (H,) weights; ``ln_c`` is the layer-norm (weight, bias)
    of the shown cell state. Returns ``(h_new, c_new, gates)`` before any projection or zoneout.
    """
    sigma = get_activation(spec.gate_activation)
    act_in = get_activation(spec.input_activation)
    act_out = get_activation(spec.output_activation)
    peep = peepholes or {}

    def with_peephole(k: str, cell: np.ndarray) -> np.ndarray:
        return pre[k] + peep[k] * cell if k in peep else pre[k]

    def fixed_open() -> np.ndarray:  # a gate the variant does not have: always fully open
        return np.ones_like(c, dtype=np.float64)

    i = sigma(with_peephole("i", c)) if "i" in spec.gates else fixed_open()
    if spec.coupled:
        f = 1.0 - i  # CIFG: forget exactly what is written
    elif spec.forget_gate:
        f = sigma(with_peephole("f", c))
    else:
        f = fixed_open()
    g = act_in(pre["g"])  # block input / candidate
    c_new = f * c + i * g
    o = sigma(with_peephole("o", c_new)) if "o" in spec.gates else fixed_open()  # peephole: c_new
    c_shown = c_new if ln_c is None else layer_norm(c_new, *ln_c)
    h_new = o * act_out(c_shown)
    return h_new, c_new, {"i": i, "f": f, "g": g, "o": o, "c": c_new}


# --------------------------------------------------------------------------- the step
def lstm_step(
    spec: LSTMSpec,
    params: dict[str, np.ndarray],
    x: np.ndarray,
    h: np.ndarray,
    c: np.ndarray,
    *,
    prev_gates: np.ndarray | dict[str, np.ndarray] | None = None,
    recurrent_mask: np.ndarray | None = None,
    zoneout: tuple[float, float] | None = None,
    zoneout_masks: tuple[np.ndarray | None, np.ndarray | None] | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """One step of any LSTM variant. Returns ``(h_new, c_new, gates)``.

    Arguments: ``x`` (B, I), ``h`` (B, R), ``c`` (B, H); ``params`` as described in the module
    docstring: ``weight_ih`` (G*H, I), ``weight_hh`` (G*H, R), optional ``bias_ih`` /
    ``bias_hh`` (G*H,), optional projection ``weight_hr`` (P, H), ``weight_peephole``
    (len(spec.peephole_gates), H) iff ``spec.peepholes``, ``weight_fgr`` (S*H, S*H) iff
    ``spec.full_gate_recurrence``, and optionally the six layer-norm keys ``ln_ih_*``,
    ``ln_hh_*`` (G*H,) and ``ln_c_*`` (H,), all or none.

    The equations (``σ`` the gate activation, ``act_in`` / ``act_out`` the input / output
    activations, ``LN`` layer norm when enabled)::

        pre  = LN_ih(x W_ih^T) + b_ih + LN_hh((h ⊙ mask) W_hh^T) + b_hh      (B, G*H)
        pre[sigmoid gate k] += a_prev W_fgr[k rows]^T                            (FGR only)
        i = σ(pre_i + p_i ⊙ c_prev)                 1 without input gate
        f = σ(pre_f + p_f ⊙ c_prev)                 1 without forget gate; 1 - i if coupled
        g = act_in(pre_g)
        c_new = f ⊙ c_prev + i ⊙ g
        o = σ(pre_o + p_o ⊙ c_new)                  1 without output gate
        h_new = (o ⊙ act_out(LN_c(c_new))) W_hr^T   (no W_hr: no projection)

    then zoneout, if asked, on ``c_new`` and ``h_new`` (the carried ``c`` is never normalised).

    Options:

    * ``prev_gates``: for FGR, the previous step's sigmoid-gate activations ``a_prev``, either
      the ``gates`` dict that step returned or its (B, S*H) concatenation in
      ``spec.sigmoid_gates`` order (:func:`sigmoid_gate_state`). ``None`` means zeros (t = 0).
    * ``recurrent_mask`` (B, R): multiplies ``h`` before the recurrent matmul only, e.g. a
      scaled dropout mask reused at every step (variational dropout, Gal & Ghahramani 2016).
    * ``zoneout_masks = (keep_c, keep_h)``: bool (B, H) and (B, R) (or None); where True the
      unit keeps its previous value (training). ``zoneout = (z_c, z_h)``: the evaluation-time
      expectation ``c = z_c * c_prev + (1 - z_c) * c_new``, likewise ``h``.

    ``gates`` holds (B, H) arrays ``"i"``, ``"f"``, ``"g"``, ``"o"`` (a gate the variant lacks
    is an array of ones; CIFG's ``f`` is ``1 - i``) and the pre-zoneout cell state ``"c"``.
    """
    if not isinstance(spec, LSTMSpec):
        raise ValueError(f"spec must be an LSTMSpec, got {type(spec).__name__}")
    ln_given = [k for k in LSTM_LN_KEYS if isinstance(params, dict) and k in params]
    if ln_given and len(ln_given) != len(LSTM_LN_KEYS):
        raise ValueError(f"layer norm needs all of {list(LSTM_LN_KEYS)}, got only {ln_given}")
    use_ln = bool(ln_given)
    required = ("weight_ih", "weight_hh")
    required += ("weight_peephole",) * spec.peepholes + ("weight_fgr",) * spec.full_gate_recurrence
    required += LSTM_LN_KEYS * use_ln
    allowed = tuple(k for k in LSTM_PARAM_KEYS if k in required or k in ("bias_ih", "bias_hh", "weight_hr"))
    _check_keys(params, allowed, required)

    # ---- sizes and shapes
    gates, sig = spec.gates, spec.sigmoid_gates
    G, S = len(gates), len(sig)
    w_ih = _array("weight_ih", params["weight_ih"])
    if w_ih.ndim != 2 or w_ih.shape[0] % G != 0:
        raise ValueError(f"weight_ih must have shape ({G}*hidden, input) for {spec.name!r}, got {w_ih.shape}")
    H, I = w_ih.shape[0] // G, w_ih.shape[1]
    w_hr = params.get("weight_hr")
    if w_hr is not None:
        w_hr = _array("weight_hr", w_hr)
        if w_hr.ndim != 2 or w_hr.shape[1] != H:
            raise ValueError(f"weight_hr must have shape (proj_size, {H}), got {w_hr.shape}")
    R = H if w_hr is None else w_hr.shape[0]
    w_ih = _array("weight_ih", w_ih, (G * H, I))
    w_hh = _array("weight_hh", params["weight_hh"], (G * H, R), " (gate rows, recurrent size)")
    b_ih = _array("bias_ih", params["bias_ih"], (G * H,)) if "bias_ih" in params else 0.0
    b_hh = _array("bias_hh", params["bias_hh"], (G * H,)) if "bias_hh" in params else 0.0
    x = _batch("x", x, I)  # (B, I)
    B = x.shape[0]
    h = _array("h", h, (B, R))  # (B, R)
    c = _array("c", c, (B, H))  # (B, H)

    # ---- gate pre-activations
    h_in = h if recurrent_mask is None else h * _array("recurrent_mask", recurrent_mask, (B, R))
    ih = x @ w_ih.T  # (B, G*H)
    hh = h_in @ w_hh.T  # (B, G*H)
    if use_ln:
        ln = {k: _array(k, params[k], (G * H,)) for k in LN_KEYS}
        ih = layer_norm(ih, ln["ln_ih_weight"], ln["ln_ih_bias"])
        hh = layer_norm(hh, ln["ln_hh_weight"], ln["ln_hh_bias"])
    pre = (ih + b_ih) + (hh + b_hh)  # (B, G*H)
    block = {k: pre[:, j * H:(j + 1) * H] for j, k in enumerate(gates)}  # each (B, H)

    if spec.full_gate_recurrence:
        w_fgr = _array("weight_fgr", params["weight_fgr"], (S * H, S * H))
        if prev_gates is None:
            a_prev = np.zeros((B, S * H))
        elif isinstance(prev_gates, dict):
            a_prev = _array("prev_gates", sigmoid_gate_state(spec, prev_gates), (B, S * H))
        else:
            a_prev = _array("prev_gates", prev_gates, (B, S * H))
        fgr = a_prev @ w_fgr.T  # (B, S*H)
        for j, k in enumerate(sig):
            block[k] = block[k] + fgr[:, j * H:(j + 1) * H]

    peep = None
    if spec.peepholes:
        w_p = _array("weight_peephole", params["weight_peephole"], (len(spec.peephole_gates), H))
        peep = {k: w_p[j] for j, k in enumerate(spec.peephole_gates)}  # each (H,)
    ln_c = None
    if use_ln:
        ln_c = (_array("ln_c_weight", params["ln_c_weight"], (H,)), _array("ln_c_bias", params["ln_c_bias"], (H,)))
    h_new, c_new, gates_out = lstm_gates(spec, block, c, peepholes=peep, ln_c=ln_c)  # (B, H) each
    if w_hr is not None:
        h_new = h_new @ w_hr.T  # (B, P)

    # ---- zoneout
    rates, keeps = _zoneout_args(zoneout, zoneout_masks, ("c", "h"))
    c_out = _zoneout(c, c_new, rates[0], keeps[0], "zoneout for c")
    h_out = _zoneout(h, h_new, rates[1], keeps[1], "zoneout for h")
    return h_out, c_out, gates_out


# --------------------------------------------------------------------------- named variants
def standard_lstm_step(params: Params, x: np.ndarray, h: np.ndarray, c: np.ndarray, **kw: Any) -> LSTMResult:
    """Variant "lstm": the LSTM of torch.nn.LSTM and Keras (Gers, Schmidhuber & Cummins 2000).

    Input, forget and output gates, no peepholes; ``weight_hr`` gives torch's ``proj_size``::

        i = σ(W_i x + R_i h + b_i),  f = σ(W_f x + R_f h + b_f),  g = tanh(W_g x + R_g h + b_g)
        c = f ⊙ c_prev + i ⊙ g,      o = σ(W_o x + R_o h + b_o),  h = o ⊙ tanh(c)
    """
    return lstm_step(LSTM_VARIANTS["lstm"], params, x, h, c, **kw)


def vanilla_step(params: Params, x: np.ndarray, h: np.ndarray, c: np.ndarray, **kw: Any) -> LSTMResult:
    """Variant "vanilla" (V): Greff et al. 2015, "LSTM: A Search Space Odyssey" (arXiv:1503.04069).

    The "lstm" equations plus peepholes: ``i`` and ``f`` add ``p ⊙ c_prev``, ``o`` adds
    ``p_o ⊙ c`` (the new cell state). ``weight_peephole`` rows are ``i|f|o``.
    """
    return lstm_step(LSTM_VARIANTS["vanilla"], params, x, h, c, **kw)


def nig_step(params: Params, x: np.ndarray, h: np.ndarray, c: np.ndarray, **kw: Any) -> LSTMResult:
    """Variant "nig", No Input Gate (Greff et al. 2015): vanilla with ``i = 1``, so ``c = f ⊙ c_prev + g``.

    Weight rows ``f|g|o``; peephole rows ``f|o``.
    """
    return lstm_step(LSTM_VARIANTS["nig"], params, x, h, c, **kw)


def nfg_step(params: Params, x: np.ndarray, h: np.ndarray, c: np.ndarray, **kw: Any) -> LSTMResult:
    """Variant "nfg", No Forget Gate (Greff et al. 2015): vanilla with ``f = 1``, so ``c = c_prev + i ⊙ g``.

    This is the original LSTM of Hochreiter & Schmidhuber 1997. Weight rows ``i|g|o``.
    """
    return lstm_step(LSTM_VARIANTS["nfg"], params, x, h, c, **kw)


def nog_step(params: Params, x: np.ndarray, h: np.ndarray, c: np.ndarray, **kw: Any) -> LSTMResult:
    """Variant "nog", No Output Gate (Greff et al. 2015): vanilla with ``o = 1``, so ``h = tanh(c)``.

    Weight rows ``i|f|g``; peephole rows ``i|f``.
    """
    return lstm_step(LSTM_VARIANTS["nog"], params, x, h, c, **kw)


def niaf_step(params: Params, x: np.ndarray, h: np.ndarray, c: np.ndarray, **kw: Any) -> LSTMResult:
    """Variant "niaf", No Input Activation Function (Greff et al. 2015): vanilla with a linear
    candidate, ``g = W_g x + R_g h + b_g`` (not squashed by tanh).
    """
    return lstm_step(LSTM_VARIANTS["niaf"], params, x, h, c, **kw)


def noaf_step(params: Params, x: np.ndarray, h: np.ndarray, c: np.ndarray, **kw: Any) -> LSTMResult:
    """Variant "noaf", No Output Activation Function (Greff et al. 2015): vanilla with ``h = o ⊙ c``."""
    return lstm_step(LSTM_VARIANTS["noaf"], params, x, h, c, **kw)


def np_step(params: Params, x: np.ndarray, h: np.ndarray, c: np.ndarray, **kw: Any) -> LSTMResult:
    """Variant "np", No Peepholes (Greff et al. 2015): vanilla without ``p ⊙ c`` terms; same as "lstm"."""
    return lstm_step(LSTM_VARIANTS["np"], params, x, h, c, **kw)


def cifg_step(params: Params, x: np.ndarray, h: np.ndarray, c: np.ndarray, **kw: Any) -> LSTMResult:
    """Variant "cifg", Coupled Input and Forget Gate (Greff et al. 2015): vanilla with ``f = 1 - i``::

        c = (1 - i) ⊙ c_prev + i ⊙ g

    so the cell forgets exactly as much as it writes (as in the GRU). Weight rows ``i|g|o``;
    peephole rows ``i|o`` (``f`` has no weights of its own).
    """
    return lstm_step(LSTM_VARIANTS["cifg"], params, x, h, c, **kw)


def fgr_step(params: Params, x: np.ndarray, h: np.ndarray, c: np.ndarray, **kw: Any) -> LSTMResult:
    """Variant "fgr", Full Gate Recurrence (Greff et al. 2015): vanilla where every gate also sees the
    previous step's activations of all gates::

        i = σ(W_i x + R_i h + p_i ⊙ c_prev + b_i + R_ii i_prev + R_fi f_prev + R_oi o_prev)

    and likewise ``f`` and ``o``. ``weight_fgr`` (3H, 3H) holds the nine ``R_jk`` blocks (rows:
    target gate ``i|f|o``; columns: source gate ``i|f|o``). Pass ``prev_gates`` (the previous
    step's ``gates``) to chain steps; it defaults to zeros.
    """
    return lstm_step(LSTM_VARIANTS["fgr"], params, x, h, c, **kw)


#: Variant name -> its named step function.
LSTM_STEPS: dict[str, Callable[..., LSTMResult]] = {
    "lstm": standard_lstm_step,
    "vanilla": vanilla_step,
    "nig": nig_step,
    "nfg": nfg_step,
    "nog": nog_step,
    "niaf": niaf_step,
    "noaf": noaf_step,
    "np": np_step,
    "cifg": cifg_step,
    "fgr": fgr_step,
}


def forget_bias_init(spec: LSTMSpec, hidden_size: int, value: float = 1.0) -> np.ndarray:
    """A (G*H,) bias vector: ``value`` on the forget-gate rows, 0 elsewhere.

    Jozefowicz, Zaremba & Sutskever 2015 found that initialising the forget-gate bias to 1
    (so the cell starts by remembering, ``f ≈ σ(1) ≈ 0.73``) closes most of the gap between
    the LSTM and the GRU. torch adds two biases, so put this vector in one of them (say
    ``bias_ih``) and keep the other's forget rows at 0, or the effective bias is doubled.
    Raises ValueError for variants without forget rows (NFG, CIFG).
    """
    if "f" not in spec.gates:
        raise ValueError(f"variant {spec.name!r} has no forget-gate rows (gates {spec.gates})")
    if isinstance(hidden_size, bool) or not isinstance(hidden_size, (int, np.integer)) or hidden_size < 1:
        raise ValueError(f"hidden_size must be a positive int, got {hidden_size!r}")
    bias = np.zeros(spec.num_gates * hidden_size)  # (G*H,)
    j = spec.gates.index("f")
    bias[j * hidden_size:(j + 1) * hidden_size] = value
    return bias
