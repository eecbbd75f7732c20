"""The Elman RNN in NumPy float64: :func:`simple_rnn_step`, the reference of ``lstmkit.nn.RNN``
and Keras' ``SimpleRNN``.

The simplest recurrent cell (Elman 1990): no gates and no cell state, the new hidden state is
an activation of the input and the previous state::

    a  = x @ weight_ih.T + bias_ih + h_in @ weight_hh.T + bias_hh     (h_in: h after the mask)
    h' = act(a)

With ``act`` = tanh or relu this is torch.nn.RNN (its ``nonlinearity``); Keras' SimpleRNN has
one bias, which is ``bias_ih`` here with ``bias_hh`` zero. It is the baseline the gated cells
of ``lstm`` and ``gru`` improve on: the gradient through ``h`` is multiplied by ``weight_hh``
and ``act'`` at every step, so over long spans it vanishes or explodes (Bengio et al. 1994).

Parameters use torch's layout, without layer suffixes: ``weight_ih`` (H, I), ``weight_hh``
(H, H), optional ``bias_ih`` / ``bias_hh`` (H,).
"""

from __future__ import annotations

import numpy as np

from .activations import get_activation
from .lstm import _array, _batch, _check_keys, _zoneout
from .spec import RNNSpec

RNN_PARAM_KEYS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
RNNResult = tuple[np.ndarray, dict[str, np.ndarray]]


def simple_rnn_step(
    spec: RNNSpec,
    params: dict[str, np.ndarray],
    x: np.ndarray,
    h: np.ndarray,
    *,
    recurrent_mask: np.ndarray | None = None,
    zoneout: float | None = None,
    zoneout_mask: np.ndarray | None = None,
) -> RNNResult:
    """One Elman step. Returns ``(h_new, values)``.

    ``x`` (B, I), ``h`` (B, H). ``values`` holds the (B, H) pre-activation ``"a"`` and the
    pre-zoneout new state ``"h"``.

    * ``recurrent_mask`` (B, H) multiplies ``h`` where it enters the recurrent matmul:
      variational recurrent dropout.
    * ``zoneout_mask`` bool (B, H): where True the unit keeps its previous value (training).
      ``zoneout`` float z: the evaluation-time expectation ``h = z * h_prev + (1 - z) * h_new``.
    """
    if not isinstance(spec, RNNSpec):
        raise ValueError(f"spec must be an RNNSpec, got {type(spec).__name__}")
    if not isinstance(spec.activation, str):
        raise ValueError(f"the reference cell needs a named activation, got the callable {spec.activation!r} "
                         "(a torch function has no NumPy reference)")
    _check_keys(params, RNN_PARAM_KEYS, ("weight_ih", "weight_hh"))
    if zoneout is not None and zoneout_mask is not None:
        raise ValueError("pass either zoneout (evaluation rate) or zoneout_mask (training), not both")
    h = _batch("h", h)  # (B, H)
    B, H = h.shape
    x = _batch("x", x)  # (B, I)
    if x.shape[0] != B:
        raise ValueError(f"x and h must have the same batch size, got {x.shape[0]} and {B}")
    w_ih = _array("weight_ih", params["weight_ih"], (H, x.shape[1]), " (hidden x input)")
    w_hh = _array("weight_hh", params["weight_hh"], (H, H), " (hidden x hidden)")
    h_in = h if recurrent_mask is None else h * _array("recurrent_mask", recurrent_mask, (B, H))
    a = x @ w_ih.T + h_in @ w_hh.T  # (B, H)
    for key in ("bias_ih", "bias_hh"):
        if key in params:
            a = a + _array(key, params[key], (H,))
    h_new = get_activation(spec.activation)(a)
    if zoneout_mask is not None:
        h_out = _zoneout(h, h_new, None, zoneout_mask, "zoneout_mask")
    else:
        h_out = _zoneout(h, h_new, zoneout, None, "zoneout")
    return h_out, {"a": a, "h": h_new}
