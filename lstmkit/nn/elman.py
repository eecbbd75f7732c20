"""``RNN`` and ``RNNCell``: the Elman RNN, drop-in supersets of torch.nn.RNN / torch.nn.RNNCell.

Built on the same ``RecurrentStack`` / ``RecurrentCell`` as the LSTM and GRU, so masks,
lengths, go_backwards, masked_output, recurrent dropout and zoneout work alike; Keras'
``SimpleRNN`` runs on it. torch's own kernels (``torch.rnn_tanh`` / ``rnn_relu``) run tanh and
relu without extras; everything else runs on the plain-torch loop (lstmkit's fused kernels
are for the gated families).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from lstmkit.cells.spec import ACTIVATIONS, RNNSpec, rnn_spec
from lstmkit.nn.cell import RecurrentCell
from lstmkit.nn.rnn import RecurrentStack


def _spec(nonlinearity: str | Callable) -> tuple[RNNSpec, str]:
    """The spec for a nonlinearity and torch's ``mode`` string for it ("RNN_TANH", "RNN_RELU";
    "RNN_<NAME>" for lstmkit's other named activations, "RNN" for a callable)."""
    if isinstance(nonlinearity, str) and nonlinearity in ACTIVATIONS:
        return rnn_spec(nonlinearity), f"RNN_{nonlinearity.upper()}"
    if callable(nonlinearity) and not isinstance(nonlinearity, str):
        return rnn_spec(nonlinearity), "RNN"
    raise ValueError(f"nonlinearity must be 'tanh' or 'relu' (torch's), another of {list(ACTIVATIONS)} or a "
                     f"callable on tensors, got {nonlinearity!r}")


class RNN(RecurrentStack):
    """Multi-layer Elman RNN, a drop-in superset of ``torch.nn.RNN``:
    ``h_t = nonlinearity(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``.

    Same constructor arguments (``nonlinearity`` is the 4th), parameter names and shapes
    (``weight_ih_l0`` ...), inputs (tensor or PackedSequence, optional ``h_0``, unbatched 2-D
    input) and outputs ``(output, h_n)`` as torch.nn.RNN, so ``load_state_dict`` from a
    torch.nn.RNN just works. ``hidden_size`` may be a list of per-layer sizes (then h_0/h_n are
    per-layer lists). ``forward(input, hx=None, *, lengths=None, mask=None)``: see
    ``RecurrentStack.forward``.

    ``nonlinearity``: "tanh" or "relu" (torch's kernels run these), or as lstmkit extras any
    other name of ``lstmkit.cells.spec.ACTIVATIONS`` or a callable on tensors (the loop path;
    a callable has no NumPy reference, so ``lstmkit.viz.record`` skips such a layer).

    Keyword-only extras: recurrent_dropout, zoneout (one float, on h), go_backwards,
    masked_output, backend ("auto", "torch", "reference"; "fused" raises: lstmkit has no fused
    Elman kernel), as for ``lstmkit.nn.LSTM``.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int | Sequence[int],
        num_layers: int = 1,
        nonlinearity: str | Callable = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
        *,
        recurrent_dropout: float = 0.0,
        zoneout: float = 0.0,
        go_backwards: bool = False,
        masked_output: str = "zero",
        backend: str = "auto",
    ):
        spec, mode = _spec(nonlinearity)
        super().__init__(
            mode, spec, input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
            0, device, dtype, recurrent_dropout=recurrent_dropout, zoneout=zoneout, go_backwards=go_backwards,
            masked_output=masked_output, backend=backend,
        )  # fmt: skip
        self.nonlinearity = nonlinearity

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s if self.nonlinearity == "tanh" else f"{s}, nonlinearity={self.nonlinearity!r}"


class RNNCell(RecurrentCell):
    """One Elman step, a drop-in superset of ``torch.nn.RNNCell``: ``forward(input, hx=None) -> h_1``.

    ``nonlinearity`` and the keyword-only extras (recurrent_dropout, zoneout, backend): as
    ``lstmkit.nn.RNN``.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str | Callable = "tanh",
        device=None,
        dtype=None,
        *,
        recurrent_dropout: float = 0.0,
        zoneout: float = 0.0,
        backend: str = "auto",
    ):
        spec, _ = _spec(nonlinearity)
        super().__init__(
            "RNNCell", spec, input_size, hidden_size, bias, device, dtype, recurrent_dropout=recurrent_dropout,
            zoneout=zoneout, backend=backend,
        )  # fmt: skip
        self.nonlinearity = nonlinearity

    def forward(self, input: torch.Tensor, hx: torch.Tensor | None = None) -> torch.Tensor:
        return self._step(input, hx)[0]
