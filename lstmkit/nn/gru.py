"""``GRU`` and ``GRUCell``: drop-in supersets of torch.nn.GRU / torch.nn.GRUCell."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from lstmkit.cells.spec import gru_spec
from lstmkit.nn.cell import RecurrentCell
from lstmkit.nn.rnn import RecurrentStack


def _spec(variant: str, reset_after: bool | None, activation, recurrent_activation):
    spec = gru_spec(variant)
    if reset_after is not None:
        if spec.name not in ("gru", "gru_cho"):
            raise ValueError(f"reset_after applies to variant 'gru' / 'gru_cho', not {spec.name!r}")
        spec = gru_spec("gru" if reset_after else "gru_cho")
    return spec.with_options(activation=activation, recurrent_activation=recurrent_activation)


class GRU(RecurrentStack):
    """Multi-layer GRU, a drop-in superset of ``torch.nn.GRU``.

    Same constructor arguments, parameter names and shapes (gate rows r|z|n), inputs and outputs
    ``(output, h_n)`` as torch.nn.GRU, so ``load_state_dict`` from a torch.nn.GRU just works.
    ``hidden_size`` may be a list of per-layer sizes (then h_0/h_n are per-layer lists).
    ``forward(input, hx=None, *, lengths=None, mask=None)``: see ``RecurrentStack.forward``.

    Keyword-only extras:
        variant: "gru" (default, torch's / cuDNN's: reset applied after the recurrent matmul),
            "gru_cho" (Cho et al. 2014's original: reset applied to h before it; Keras'
            reset_after=False), or Jozefowicz et al. 2015's "mut1", "mut2", "mut3" (MUT1/MUT2
            need each layer's input size equal to its hidden size).
        reset_after: Keras' switch between "gru" (True) and "gru_cho" (False).
        layer_norm: layer-normalise each gate's input and recurrent projection (per gate, so it
            is defined where the reset gate acts before the recurrent matmul too).
        recurrent_dropout, zoneout (one float, on h), activation, recurrent_activation,
        go_backwards, masked_output, backend: as for ``lstmkit.nn.LSTM``.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int | Sequence[int],
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
        *,
        variant: str = "gru",
        reset_after: bool | None = None,
        layer_norm: bool = False,
        recurrent_dropout: float = 0.0,
        zoneout: float = 0.0,
        activation: str | None = None,
        recurrent_activation: str | None = None,
        go_backwards: bool = False,
        masked_output: str = "zero",
        backend: str = "auto",
    ):
        spec = _spec(variant, reset_after, activation, recurrent_activation)
        super().__init__(
            "GRU", spec, input_size, hidden_size, num_layers, bias, batch_first, dropout,
            bidirectional, 0, device, dtype, layer_norm=layer_norm, recurrent_dropout=recurrent_dropout,
            zoneout=zoneout, go_backwards=go_backwards, masked_output=masked_output, backend=backend,
        )  # fmt: skip


class GRUCell(RecurrentCell):
    """One GRU step, a drop-in superset of ``torch.nn.GRUCell``: ``forward(input, hx=None) -> h_1``.

    Keyword-only extras: as ``lstmkit.nn.GRU`` (variant, reset_after, layer_norm,
    recurrent_dropout, zoneout, activation, recurrent_activation, backend).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device=None,
        dtype=None,
        *,
        variant: str = "gru",
        reset_after: bool | None = None,
        layer_norm: bool = False,
        recurrent_dropout: float = 0.0,
        zoneout: float = 0.0,
        activation: str | None = None,
        recurrent_activation: str | None = None,
        backend: str = "auto",
    ):
        spec = _spec(variant, reset_after, activation, recurrent_activation)
        super().__init__(
            "GRUCell", spec, input_size, hidden_size, bias, device, dtype, layer_norm=layer_norm,
            recurrent_dropout=recurrent_dropout, zoneout=zoneout, backend=backend,
        )  # fmt: skip

    def forward(self, input: torch.Tensor, hx: torch.Tensor | None = None) -> torch.Tensor:
        return self._step(input, hx)[0]
