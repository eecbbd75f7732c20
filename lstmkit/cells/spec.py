"""What each recurrent variant *is*: which gates it has, how they are wired, and in which
order their weights are stored (the Elman RNN too: one state, no gates).

This module is the one place that names the variants. The NumPy reference cells
(`lstmkit.cells.lstm`, `lstmkit.cells.gru`) implement the equations; the torch layers
(`lstmkit.nn`) and the fast kernels (`lstmkit.kernels`) read these specs to lay out their
parameters and are tested against the reference cells.

Weight layout follows PyTorch: the rows of ``weight_ih`` / ``weight_hh`` / biases are the
gates stacked in a fixed order, ``i|f|g|o`` for the LSTM family and ``r|z|n`` for the GRU
family. A variant that drops a gate drops its rows (an LSTM without an input gate has
``3 * hidden_size`` rows ordered ``f|g|o``), so no parameter is ever unused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

#: Gate order of torch.nn.LSTM's weight rows: input, forget, cell candidate ("g"), output.
LSTM_GATES: tuple[str, ...] = ("i", "f", "g", "o")
#: Gate order of torch.nn.GRU's weight rows: reset, update, new (candidate).
GRU_GATES: tuple[str, ...] = ("r", "z", "n")

#: Activation names understood everywhere (reference cells, torch layers, Keras front end).
#: ``hard_sigmoid`` is Keras 3's: ``clip(x / 6 + 0.5, 0, 1)``.
ACTIVATIONS: tuple[str, ...] = ("tanh", "sigmoid", "hard_sigmoid", "relu", "linear", "softsign")


def check_activation(name: str, argument: str) -> str:
    """Return ``name`` if it is a known activation, else raise a ValueError naming ``argument``."""
    if name not in ACTIVATIONS:
        raise ValueError(f"{argument} must be one of {list(ACTIVATIONS)}, got {name!r}")
    return name


@dataclass(frozen=True)
class LSTMSpec:
    """One member of the LSTM family, as a set of switches on Greff et al.'s vanilla LSTM.

    The general step (``c`` is the cell state, ``h`` the hidden state, ``σ`` the gate
    activation, ``g``/``h`` the input/output activations)::

        i = σ(W_i x + R_i h + p_i ⊙ c_prev + b_i)        (1 if not input_gate)
        f = σ(W_f x + R_f h + p_f ⊙ c_prev + b_f)        (1 if not forget_gate; 1 - i if coupled)
        z = g(W_g x + R_g h + b_g)                        (block input / candidate)
        c = f ⊙ c_prev + i ⊙ z
        o = σ(W_o x + R_o h + p_o ⊙ c + b_o)              (1 if not output_gate)
        h = o ⊙ h(c)

    Peephole terms ``p ⊙ c`` appear only when ``peepholes``. With ``full_gate_recurrence``
    every sigmoid gate also receives the previous step's activations of all sigmoid gates
    (``+ Σ_j R_{j→k} a_j(t-1)``).
    """

    name: str
    input_gate: bool = True
    forget_gate: bool = True
    output_gate: bool = True
    coupled: bool = False  # CIFG: f = 1 - i
    peepholes: bool = False
    full_gate_recurrence: bool = False
    gate_activation: str = "sigmoid"
    input_activation: str = "tanh"  # g(.) applied to the candidate
    output_activation: str = "tanh"  # h(.) applied to the cell state

    @property
    def gates(self) -> tuple[str, ...]:
        """Gates that have weight rows, in storage order (a subsequence of ``i|f|g|o``)."""
        present = {
            "i": self.input_gate,
            "f": self.forget_gate and not self.coupled,
            "g": True,
            "o": self.output_gate,
        }
        return tuple(g for g in LSTM_GATES if present[g])

    @property
    def sigmoid_gates(self) -> tuple[str, ...]:
        """The multiplicative gates that are computed (not fixed to 1), in storage order."""
        return tuple(g for g in self.gates if g != "g")

    @property
    def peephole_gates(self) -> tuple[str, ...]:
        """Gates with a peephole weight vector, in storage order (rows of ``weight_peephole``)."""
        return self.sigmoid_gates if self.peepholes else ()

    @property
    def num_gates(self) -> int:
        return len(self.gates)

    def with_options(
        self,
        *,
        peepholes: bool | None = None,
        activation: str | None = None,
        recurrent_activation: str | None = None,
    ) -> LSTMSpec:
        """This spec with user overrides.

        ``activation`` replaces the input and output activations the variant keeps
        (NIAF/NOAF's identity stays identity); ``recurrent_activation`` replaces the gate
        activation; ``peepholes=None`` keeps the variant's default.
        """
        spec = self
        if peepholes is not None:
            if peepholes and not spec.sigmoid_gates:
                raise ValueError(f"variant {spec.name!r} has no gates to attach peepholes to")
            spec = replace(spec, peepholes=bool(peepholes))
        if activation is not None:
            check_activation(activation, "activation")
            spec = replace(
                spec,
                input_activation="linear" if self.input_activation == "linear" else activation,
                output_activation="linear" if self.output_activation == "linear" else activation,
            )
        if recurrent_activation is not None:
            check_activation(recurrent_activation, "recurrent_activation")
            spec = replace(spec, gate_activation=recurrent_activation)
        return spec


#: The LSTM family. "lstm" is torch.nn.LSTM / Keras' LSTM (Gers et al. 2000: forget gate, no
#: peepholes), identical to Greff's NP. The others are Greff et al. 2015, "LSTM: A Search
#: Space Odyssey" (arXiv:1503.04069), Table 1: each is vanilla (V) with one change.
LSTM_VARIANTS: dict[str, LSTMSpec] = {
    "lstm": LSTMSpec("lstm"),
    "vanilla": LSTMSpec("vanilla", peepholes=True),
    "nig": LSTMSpec("nig", peepholes=True, input_gate=False),
    "nfg": LSTMSpec("nfg", peepholes=True, forget_gate=False),
    "nog": LSTMSpec("nog", peepholes=True, output_gate=False),
    "niaf": LSTMSpec("niaf", peepholes=True, input_activation="linear"),
    "noaf": LSTMSpec("noaf", peepholes=True, output_activation="linear"),
    "np": LSTMSpec("np"),
    "cifg": LSTMSpec("cifg", peepholes=True, coupled=True),
    "fgr": LSTMSpec("fgr", peepholes=True, full_gate_recurrence=True),
}


@dataclass(frozen=True)
class GRUSpec:
    """One member of the GRU family: which gates take a projection of the input (``ih_gates``)
    and of the previous hidden state (``hh_gates``), each with its own bias, rows stored in
    ``r|z|n`` order.

    The step itself differs per variant (see ``lstmkit.cells.gru``): GRU and Cho's original
    GRU differ only in where the reset gate acts; MUT1-3 (Jozefowicz et al. 2015) were found
    by architecture search and each drops or replaces some projections.
    """

    name: str
    ih_gates: tuple[str, ...] = GRU_GATES
    hh_gates: tuple[str, ...] = GRU_GATES
    reset_after: bool = True  # torch/cuDNN: r ⊙ (W_hn h + b_hn); Cho et al.: W_hn (r ⊙ h)
    gate_activation: str = "sigmoid"
    activation: str = "tanh"
    needs_square_input: bool = False  # MUT1/MUT2 add x to a hidden-size vector

    def with_options(
        self, *, activation: str | None = None, recurrent_activation: str | None = None
    ) -> GRUSpec:
        spec = self
        if activation is not None:
            spec = replace(spec, activation=check_activation(activation, "activation"))
        if recurrent_activation is not None:
            spec = replace(
                spec, gate_activation=check_activation(recurrent_activation, "recurrent_activation")
            )
        return spec


#: The GRU family. "gru" is torch.nn.GRU / Keras' GRU(reset_after=True) (Cho et al. 2014 as
#: implemented by cuDNN); "gru_cho" is the paper's form (Keras' reset_after=False); MUT1-3 are
#: from Jozefowicz, Zaremba & Sutskever 2015, "An Empirical Exploration of Recurrent Network
#: Architectures", section 3.
GRU_VARIANTS: dict[str, GRUSpec] = {
    "gru": GRUSpec("gru"),
    "gru_cho": GRUSpec("gru_cho", reset_after=False),
    "mut1": GRUSpec(
        "mut1", ih_gates=("r", "z"), hh_gates=("r", "n"), reset_after=False, needs_square_input=True
    ),
    "mut2": GRUSpec(
        "mut2", ih_gates=("z", "n"), hh_gates=("r", "z", "n"), reset_after=False, needs_square_input=True
    ),
    "mut3": GRUSpec("mut3", reset_after=False),
}


@dataclass(frozen=True)
class RNNSpec:
    """The Elman RNN (Elman 1990, "Finding Structure in Time"): one state and no gates::

        h' = act(W_ih x + b_ih + W_hh h + b_hh)

    torch.nn.RNN with ``nonlinearity`` "tanh" or "relu", Keras' SimpleRNN with its
    ``activation``. Weights: ``weight_ih`` (H, I), ``weight_hh`` (H, H), biases (H,).

    ``activation`` is a name of ``ACTIVATIONS``; the torch layers also accept a torch callable
    there (Keras' SimpleRNN takes any activation), which has no NumPy reference.
    """

    name: str = "rnn"
    activation: str | Callable = "tanh"

    @property
    def num_gates(self) -> int:
        """Weight rows per hidden unit: one block, as a single LSTM gate would have."""
        return 1

    def with_options(self, *, activation: str | Callable | None = None) -> RNNSpec:
        """This spec with another activation (a name of ``ACTIVATIONS``, or a torch callable)."""
        if activation is None:
            return self
        if isinstance(activation, str):
            return replace(self, activation=check_activation(activation, "activation"))
        if not callable(activation):
            raise ValueError(f"activation must be one of {list(ACTIVATIONS)} or a callable, got {activation!r}")
        return replace(self, activation=activation)


#: The Elman RNN with torch.nn.RNN's default nonlinearity.
RNN_SPEC = RNNSpec()


def rnn_spec(activation: str | Callable = "tanh") -> RNNSpec:
    """The Elman RNN with ``activation`` (a name of ``ACTIVATIONS`` or a torch callable)."""
    return RNN_SPEC.with_options(activation=activation)


def lstm_spec(variant: str) -> LSTMSpec:
    """Look up an LSTM variant by name, with an error that lists the valid names."""
    if not isinstance(variant, str) or variant.lower() not in LSTM_VARIANTS:
        raise ValueError(f"variant must be one of {sorted(LSTM_VARIANTS)}, got {variant!r}")
    return LSTM_VARIANTS[variant.lower()]


def gru_spec(variant: str) -> GRUSpec:
    """Look up a GRU variant by name, with an error that lists the valid names."""
    if not isinstance(variant, str) or variant.lower() not in GRU_VARIANTS:
        raise ValueError(f"variant must be one of {sorted(GRU_VARIANTS)}, got {variant!r}")
    return GRU_VARIANTS[variant.lower()]
