"""``LSTM`` and ``LSTMCell``: drop-in supersets of torch.nn.LSTM / torch.nn.LSTMCell."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from lstmkit.cells.spec import lstm_spec
from lstmkit.nn.cell import RecurrentCell
from lstmkit.nn.rnn import RecurrentStack

_EXTRAS_DOC = """
    Keyword-only extras (torch.nn has none of these):
        variant: a member of the LSTM family (``lstmkit.cells.spec.LSTM_VARIANTS``): "lstm"
            (default, torch's), or Greff et al. 2015's "vanilla" (peepholes), "nig", "nfg",
            "nog", "niaf", "noaf", "np", "cifg", "fgr". Variants without a gate have no weight
            rows for it, so ``weight_ih`` has ``num_gates * hidden_size`` rows.
        peepholes: add peephole connections (Gers & Schmidhuber 2000); None keeps the
            variant's default (on for Greff's variants, off for "lstm"/"np").
        forget_bias: initialise the forget-gate bias to this value (Jozefowicz et al. 2015
            recommend 1.0; Keras' unit_forget_bias). None keeps torch's uniform init.
        layer_norm: layer-normalise the input and recurrent projections and the cell state
            inside the output (Ba et al. 2016), with learned gains and shifts.
        recurrent_dropout: variational dropout on the recurrent input h (Gal & Ghahramani
            2016): one mask per sequence, per layer and direction, in training mode only.
        zoneout: probability that a unit keeps its previous value at a step (Krueger et al.
            2016): a float for h and c, or a (cell, hidden) pair; in eval mode the expectation.
        activation: candidate and cell-output activation (default "tanh");
            recurrent_activation: gate activation (default "sigmoid"); by name, see
            ``lstmkit.cells.spec.ACTIVATIONS``.
        go_backwards: process the sequence in reverse and return outputs in that order (Keras).
        masked_output: what a masked step outputs with ``mask=``: "zero" or "carry" (the
            last unmasked step's output, zeros before any, as Keras' LSTM).
        backend: "auto" (on CPU lstmkit's fused kernels when built; else torch's kernels when
            they can run the configuration, cuDNN on CUDA; else the plain-torch loop), "fused"
            (only lstmkit's fused CPU kernels; error if they cannot run), "torch" (only torch's
            kernels; error if an extra needs more), "reference" (always the loop).
        matmul_precision: "fp32" (default) or "bf16" (LSTM; backend "auto" or "fused"): on the
            fused kernels the large GEMMs (the input projection, its backward and the recurrent
            weight gradient) run in bfloat16 with float32 accumulation (AVX512-BF16); the
            recurrence itself stays float32. Under "auto" on a CPU with AMX tiles, the plain LSTM
            runs torch's own bfloat16 LSTM instead (oneDNN's AMX GEMMs, about 2x the fused bf16
            kernels there; weights cast per call, gradients reach them in float32). Costs ~3
            significant digits in those products (measured in BENCHMARKS.md). Opt-in.
"""


class LSTM(RecurrentStack):
    __doc__ = (
        """Multi-layer LSTM, a drop-in superset of ``torch.nn.LSTM``.

    Same constructor arguments, parameter names and shapes, inputs (tensor or PackedSequence,
    optional ``(h_0, c_0)``, unbatched 2-D input) and outputs ``(output, (h_n, c_n))`` as
    torch.nn.LSTM, so ``load_state_dict`` from a torch.nn.LSTM just works.

    ``hidden_size`` may also be a list (one size per layer, e.g. ``[128, 64]``); then h_0/c_0 and
    h_n/c_n are lists of per-layer (num_directions, batch, size) tensors.
    ``forward(input, hx=None, *, lengths=None, mask=None)``: see ``RecurrentStack.forward``.
    """
        + _EXTRAS_DOC
    )

    def __init__(
        self,
        input_size: int,
        hidden_size: int | Sequence[int],
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
        *,
        variant: str = "lstm",
        peepholes: bool | None = None,
        forget_bias: float | None = None,
        layer_norm: bool = False,
        recurrent_dropout: float = 0.0,
        zoneout: float | Sequence[float] = 0.0,
        activation: str | None = None,
        recurrent_activation: str | None = None,
        go_backwards: bool = False,
        masked_output: str = "zero",
        backend: str = "auto",
        matmul_precision: str = "fp32",
    ):
        spec = lstm_spec(variant).with_options(
            peepholes=peepholes, activation=activation, recurrent_activation=recurrent_activation
        )
        super().__init__(
            "LSTM", spec, input_size, hidden_size, num_layers, bias, batch_first, dropout,
            bidirectional, proj_size, device, dtype, forget_bias=forget_bias, layer_norm=layer_norm,
            recurrent_dropout=recurrent_dropout, zoneout=zoneout, go_backwards=go_backwards,
            masked_output=masked_output, backend=backend, matmul_precision=matmul_precision,
        )  # fmt: skip


class LSTMCell(RecurrentCell):
    __doc__ = (
        """One LSTM step, a drop-in superset of ``torch.nn.LSTMCell``.

    ``forward(input, hx=None) -> (h_1, c_1)`` with input (batch, input_size) or (input_size,).
    With variant="fgr" the state carries the previous gate activations too:
    ``hx = (h, c, a)`` and the result is ``(h_1, c_1, a_1)``. recurrent_dropout keeps its mask
    until ``reset_recurrent_dropout_mask()`` (call it at each new sequence).

    Keyword-only extras: as ``lstmkit.nn.LSTM`` (variant, peepholes, forget_bias, layer_norm,
    recurrent_dropout, zoneout, activation, recurrent_activation, backend).
    """
    )

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device=None,
        dtype=None,
        *,
        variant: str = "lstm",
        peepholes: bool | None = None,
        forget_bias: float | None = None,
        layer_norm: bool = False,
        recurrent_dropout: float = 0.0,
        zoneout: float | Sequence[float] = 0.0,
        activation: str | None = None,
        recurrent_activation: str | None = None,
        backend: str = "auto",
    ):
        spec = lstm_spec(variant).with_options(
            peepholes=peepholes, activation=activation, recurrent_activation=recurrent_activation
        )
        super().__init__(
            "LSTMCell", spec, input_size, hidden_size, bias, device, dtype, forget_bias=forget_bias,
            layer_norm=layer_norm, recurrent_dropout=recurrent_dropout, zoneout=zoneout, backend=backend,
        )  # fmt: skip

    def forward(self, input: torch.Tensor, hx=None) -> tuple[torch.Tensor, ...]:
        return self._step(input, hx)
