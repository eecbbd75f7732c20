"""Parameter layout of the recurrent layers: names, shapes and initialisation.

Names and shapes follow torch.nn exactly for what torch has (``weight_ih_l0``,
``weight_hh_l0_reverse``, ``bias_ih_l1``, ``weight_hr_l0``; ``weight_ih`` for cells), so a
torch.nn state_dict loads as it is. Extras get names of the same pattern:

- ``weight_peephole_l{k}``  (P, H): peephole vectors, rows in ``spec.peephole_gates`` order
- ``weight_fgr_l{k}``       (S*H, S*H): full gate recurrence (Greff's FGR)
- ``ln_{ih,hh,c}_{weight,bias}_l{k}``: layer-norm gains and shifts

Inside the kernels each layer-direction's parameters travel as a dict keyed by the name
without its ``_l{k}[_reverse]`` suffix: the keys of the NumPy reference cells.
"""

from __future__ import annotations

import math

from lstmkit.cells.spec import GRUSpec, LSTMSpec


def lstm_shapes(
    spec: LSTMSpec, input_size: int, hidden: int, proj: int, bias: bool, layer_norm: bool
) -> dict[str, tuple[int, ...]]:
    """Canonical key -> shape for one LSTM layer-direction, in registration order
    (torch's order first, so default configurations initialise exactly like torch.nn.LSTM)."""
    G, R = spec.num_gates, proj or hidden
    shapes: dict[str, tuple[int, ...]] = {"weight_ih": (G * hidden, input_size), "weight_hh": (G * hidden, R)}
    if bias:
        shapes.update(bias_ih=(G * hidden,), bias_hh=(G * hidden,))
    if proj:
        shapes["weight_hr"] = (proj, hidden)
    if spec.peepholes:
        shapes["weight_peephole"] = (len(spec.peephole_gates), hidden)
    if spec.full_gate_recurrence:
        S = len(spec.sigmoid_gates)
        shapes["weight_fgr"] = (S * hidden, S * hidden)
    if layer_norm:
        shapes.update(
            ln_ih_weight=(G * hidden,), ln_ih_bias=(G * hidden,),
            ln_hh_weight=(G * hidden,), ln_hh_bias=(G * hidden,),
            ln_c_weight=(hidden,), ln_c_bias=(hidden,),
        )  # fmt: skip
    return shapes


def gru_shapes(
    spec: GRUSpec, input_size: int, hidden: int, bias: bool, layer_norm: bool
) -> dict[str, tuple[int, ...]]:
    """Canonical key -> shape for one GRU-family layer-direction, in registration order."""
    gi, gh = len(spec.ih_gates) * hidden, len(spec.hh_gates) * hidden
    shapes: dict[str, tuple[int, ...]] = {"weight_ih": (gi, input_size), "weight_hh": (gh, hidden)}
    if bias:
        shapes.update(bias_ih=(gi,), bias_hh=(gh,))
    if layer_norm:
        shapes.update(ln_ih_weight=(gi,), ln_ih_bias=(gi,), ln_hh_weight=(gh,), ln_hh_bias=(gh,))
    return shapes


def rnn_shapes(input_size: int, hidden: int, bias: bool) -> dict[str, tuple[int, ...]]:
    """Canonical key -> shape for one Elman RNN layer-direction: torch.nn.RNN's four."""
    shapes: dict[str, tuple[int, ...]] = {"weight_ih": (hidden, input_size), "weight_hh": (hidden, hidden)}
    if bias:
        shapes.update(bias_ih=(hidden,), bias_hh=(hidden,))
    return shapes


def suffix(layer: int | None, direction: int) -> str:
    """torch's parameter-name suffix: ``_l0``, ``_l1_reverse``; cells (layer None) have none."""
    if layer is None:
        return ""
    return f"_l{layer}" + ("_reverse" if direction == 1 else "")


def init_value(key: str, hidden: int) -> float | tuple[float, float]:
    """How a parameter starts: layer-norm gains 1 and shifts 0; everything else, like torch,
    uniform in (-1/sqrt(H), 1/sqrt(H))."""
    if key.startswith("ln_"):
        return 1.0 if key.endswith("_weight") else 0.0
    bound = 1.0 / math.sqrt(hidden)
    return (-bound, bound)


def forget_rows(spec: LSTMSpec, hidden: int) -> slice:
    """The rows of the forget gate in an LSTM weight/bias, for forget-bias initialisation."""
    if "f" not in spec.gates:
        raise ValueError(
            f"forget_bias needs a forget gate, but variant {spec.name!r} has none "
            f"(its gates are {'|'.join(spec.gates)})"
        )
    k = spec.gates.index("f")
    return slice(k * hidden, (k + 1) * hidden)
