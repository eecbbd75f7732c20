"""One time step of each recurrent family, in torch, for every variant in ``lstmkit.cells.spec``.

These are the equations of ``lstmkit.cells.lstm`` / ``gru`` / ``rnn`` arranged for speed
rather than reading: the input projection of all time steps is one GEMM done up front
(``*_input_projection``), and each step does one fused recurrent GEMM for all gates. They are
tested against the NumPy reference cells, not copied from them.

Parameters come as a dict with the canonical keys of the reference cells (``weight_ih``,
``weight_hh``, ``bias_ih``, ``bias_hh``, ``weight_hr``, ``weight_peephole``, ``weight_fgr``,
``ln_ih_weight`` ...), so one helper maps module parameters to both.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lstmkit.cells.spec import GRUSpec, LSTMSpec, RNNSpec
from lstmkit.kernels.activations import Activation, get_activation

Params = dict[str, torch.Tensor]
LN_EPS = 1e-5


def _layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    return F.layer_norm(x, (int(x.shape[-1]),), weight, bias, eps=LN_EPS)  # int: a constant when traced (ONNX)


# ----------------------------------------------------------------------------- LSTM family


def lstm_input_projection(spec: LSTMSpec, p: Params, x: torch.Tensor) -> torch.Tensor:
    """(T, B, I) -> (T, B, G*H): W_ih x (+ layer norm) + biases, for all steps in one GEMM.

    Without layer norm ``bias_hh`` is folded in here too, so a step adds nothing but its GEMM.
    (The fused path projects inside ``lstmkit.kernels.fused.lstm_layer`` instead.)
    """
    if "ln_ih_weight" not in p:
        # One addmm with both biases summed: no extra passes over the (T, B, G*H) result.
        return F.linear(x, p["weight_ih"], lstm_projection_bias(p))  # (T, B, G*H)
    gx = _layer_norm(F.linear(x, p["weight_ih"]), p["ln_ih_weight"], p["ln_ih_bias"])
    if "bias_ih" in p:
        gx = gx + p["bias_ih"]
    return gx


def lstm_projection_bias(p: Params) -> torch.Tensor | None:
    """The bias added with the input projection: bias_ih, plus bias_hh unless layer norm of the
    recurrent term needs it after the norm (then a step adds it)."""
    if "bias_ih" not in p:
        return None
    return p["bias_ih"] if "ln_hh_weight" in p else p["bias_ih"] + p["bias_hh"]


class LSTMStep:
    """Closure over one layer-direction's parameters: ``step(gx_t, state) -> (h, state)``.

    ``state`` is ``(h, c)``, or ``(h, c, a)`` for full gate recurrence where ``a`` (B, S*H)
    holds the previous step's sigmoid-gate activations.
    """

    def __init__(self, spec: LSTMSpec, p: Params, recurrent_mask: torch.Tensor | None = None):
        self.spec, self.p = spec, p
        self.hidden = p["weight_hh"].shape[0] // spec.num_gates
        self.gate_act = get_activation(spec.gate_activation)
        self.in_act = get_activation(spec.input_activation)
        self.out_act = get_activation(spec.output_activation)
        self.recurrent_mask = recurrent_mask
        self.layer_norm = "ln_hh_weight" in p
        peep = p.get("weight_peephole")
        self.peephole = dict(zip(spec.peephole_gates, peep.unbind(0))) if peep is not None else {}

    def __call__(self, gx: torch.Tensor, state: tuple[torch.Tensor, ...]):
        spec, p = self.spec, self.p
        h, c = state[0], state[1]
        h_in = h if self.recurrent_mask is None else h * self.recurrent_mask
        gh = F.linear(h_in, p["weight_hh"])  # (B, G*H)
        if self.layer_norm:
            gh = _layer_norm(gh, p["ln_hh_weight"], p["ln_hh_bias"])
            if "bias_hh" in p:
                gh = gh + p["bias_hh"]
        pre = dict(zip(spec.gates, (gx + gh).split(self.hidden, dim=-1)))  # each (B, H)
        if spec.full_gate_recurrence:
            fgr = F.linear(state[2], p["weight_fgr"]).split(self.hidden, dim=-1)
            for gate, term in zip(spec.sigmoid_gates, fgr):
                pre[gate] = pre[gate] + term
        for gate in ("i", "f"):
            if gate in self.peephole:
                pre[gate] = pre[gate] + self.peephole[gate] * c

        i = self.gate_act(pre["i"]) if spec.input_gate else None
        g = self.in_act(pre["g"])
        if spec.coupled:
            f = 1.0 - i
        else:
            f = self.gate_act(pre["f"]) if spec.forget_gate else None
        c_new = (c if f is None else f * c) + (g if i is None else i * g)  # (B, H)
        if "o" in self.peephole:
            pre["o"] = pre["o"] + self.peephole["o"] * c_new
        o = self.gate_act(pre["o"]) if spec.output_gate else None

        c_out = _layer_norm(c_new, p["ln_c_weight"], p["ln_c_bias"]) if self.layer_norm else c_new
        h_new = self.out_act(c_out) if o is None else o * self.out_act(c_out)
        if "weight_hr" in p:
            h_new = F.linear(h_new, p["weight_hr"])  # (B, P)
        if spec.full_gate_recurrence:
            acts = {"i": i, "f": f, "o": o}
            a_new = torch.cat([acts[k] for k in spec.sigmoid_gates], dim=-1)  # (B, S*H)
            return h_new, (h_new, c_new, a_new)
        return h_new, (h_new, c_new)


# ----------------------------------------------------------------------------- GRU family


def gru_input_projection(spec: GRUSpec, p: Params, x: torch.Tensor) -> torch.Tensor:
    """(T, B, I) -> (T, B, len(ih_gates)*H): per-gate layer norm (if any) and bias_ih included.

    MUT1 and MUT2 also use the raw input inside a hidden-size sum, so for them the raw
    ``x`` (I == H) is appended as one more H-wide block: (T, B, (len(ih_gates)+1)*H).
    """
    if "ln_ih_weight" in p:
        gx = _gate_layer_norm(F.linear(x, p["weight_ih"]), p["ln_ih_weight"], p["ln_ih_bias"], len(spec.ih_gates))
        if "bias_ih" in p:
            gx = gx + p["bias_ih"]
    else:
        gx = F.linear(x, p["weight_ih"], p.get("bias_ih"))  # one addmm, bias included
    if spec.needs_square_input:
        gx = torch.cat([gx, x], dim=-1)
    return gx


def _gate_layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, gates: int) -> torch.Tensor:
    """Layer norm of each gate's H-slice separately (well defined even where r acts before U_n)."""
    shape = x.shape
    xs = x.reshape(*shape[:-1], gates, shape[-1] // gates)
    xs = F.layer_norm(xs, (int(xs.shape[-1]),), eps=LN_EPS).reshape(shape)
    return xs * weight + bias


class GRUStep:
    """Closure over one layer-direction's GRU-family parameters: ``step(gx_t, (h,)) -> (h, (h,))``."""

    def __init__(self, spec: GRUSpec, p: Params, recurrent_mask: torch.Tensor | None = None):
        self.spec, self.p = spec, p
        self.hidden = p["weight_hh"].shape[0] // len(spec.hh_gates)
        self.gate_act = get_activation(spec.gate_activation)
        self.act = get_activation(spec.activation)
        self.recurrent_mask = recurrent_mask
        H = self.hidden
        # Per-gate views of the recurrent weights, biases and layer-norm parameters.
        self.U = dict(zip(spec.hh_gates, p["weight_hh"].split(H, dim=0)))
        self.bh = dict(zip(spec.hh_gates, p["bias_hh"].split(H))) if "bias_hh" in p else {}
        self.ln = None
        if "ln_hh_weight" in p:
            self.ln = {
                gate: (w, b)
                for gate, w, b in zip(spec.hh_gates, p["ln_hh_weight"].split(H), p["ln_hh_bias"].split(H))
            }

    def _hh(self, gate: str, h: torch.Tensor) -> torch.Tensor:
        """One gate's recurrent term: U_gate h (+ layer norm) + b_gate."""
        out = F.linear(h, self.U[gate])
        if self.ln is not None:
            out = _layer_norm(out, *self.ln[gate])
        if gate in self.bh:
            out = out + self.bh[gate]
        return out

    def __call__(self, gx: torch.Tensor, state: tuple[torch.Tensor, ...]):
        spec = self.spec
        h = state[0]
        h_in = h if self.recurrent_mask is None else h * self.recurrent_mask
        x = dict(zip((*spec.ih_gates, "x"), gx.split(self.hidden, dim=-1)))  # input terms, (B, H) each
        name = spec.name
        if name in ("gru", "gru_cho"):
            if name == "gru" and self.ln is None:
                # One fused GEMM for r|z|n: reset applies after the recurrent matmul (cuDNN form).
                gh = F.linear(h_in, self.p["weight_hh"])
                if "bias_hh" in self.p:
                    gh = gh + self.p["bias_hh"]
                hr, hz, hn = gh.split(self.hidden, dim=-1)
            else:
                hr, hz = self._hh("r", h_in), self._hh("z", h_in)
            r = self.gate_act(x["r"] + hr)
            z = self.gate_act(x["z"] + hz)
            if name == "gru":
                hn = hn if self.ln is None else self._hh("n", h_in)
                n = self.act(x["n"] + r * hn)
            else:
                n = self.act(x["n"] + self._hh("n", r * h_in))
            h_new = (1.0 - z) * n + z * h
            return h_new, (h_new,)
        # MUT1-3 (Jozefowicz et al. 2015): z weights the *new* candidate.
        if name == "mut1":
            z = self.gate_act(x["z"])
            r = self.gate_act(x["r"] + self._hh("r", h_in))
            n = self.act(self._hh("n", r * h_in) + torch.tanh(x["x"]))
        elif name == "mut2":
            z = self.gate_act(x["z"] + self._hh("z", h_in))
            r = self.gate_act(x["x"] + self._hh("r", h_in))
            n = self.act(self._hh("n", r * h_in) + x["n"])
        elif name == "mut3":
            z = self.gate_act(x["z"] + self._hh("z", torch.tanh(h_in)))
            r = self.gate_act(x["r"] + self._hh("r", h_in))
            n = self.act(self._hh("n", r * h_in) + x["n"])
        else:  # pragma: no cover - spec registry and this table are kept in step by tests
            raise ValueError(f"no torch step for GRU variant {name!r}")
        h_new = n * z + h * (1.0 - z)
        return h_new, (h_new,)


# ----------------------------------------------------------------------------- Elman RNN


def rnn_input_projection(spec: RNNSpec, p: Params, x: torch.Tensor) -> torch.Tensor:
    """(T, B, I) -> (T, B, H): W_ih x + bias_ih + bias_hh for all steps in one GEMM (both
    biases folded in here, so a step adds nothing but its recurrent GEMM)."""
    return F.linear(x, p["weight_ih"], lstm_projection_bias(p))


def rnn_activation(spec: RNNSpec) -> Activation:
    """The torch function of the spec's activation: a name, or a callable used as it is."""
    return get_activation(spec.activation) if isinstance(spec.activation, str) else spec.activation


class RNNStep:
    """Closure over one layer-direction's Elman parameters: ``step(gx_t, (h,)) -> (h, (h,))``."""

    def __init__(self, spec: RNNSpec, p: Params, recurrent_mask: torch.Tensor | None = None):
        self.weight_hh = p["weight_hh"]
        self.act = rnn_activation(spec)
        self.recurrent_mask = recurrent_mask

    def __call__(self, gx: torch.Tensor, state: tuple[torch.Tensor, ...]):
        h = state[0]
        h_in = h if self.recurrent_mask is None else h * self.recurrent_mask
        h_new = self.act(gx + F.linear(h_in, self.weight_hh))
        return h_new, (h_new,)
