"""The Elman RNN's plain-torch loop as one ``torch.library`` custom op, for graph capture.

Why: torch's own RNN kernels (``traced.native_stack``) run only the plain tanh/relu Elman RNN
without a Keras mask; everything else of the family (a mask, zoneout, recurrent dropout,
go_backwards, another activation) runs ``loop.run_sequence``, a Python loop over time steps.
Captured as it is, that loop is unrolled: one node group per step, the sequence length fixed in
the graph (``torch.export`` with a dynamic time dimension fails) and a recompilation per length
under ``torch.compile``. As one op, with a fake kernel giving the output shapes, the recurrence
stays a single node; its backward recomputes the loop under autograd (as the fused ops do).
An activation given as a Python callable cannot cross an op schema: such a layer is captured
unrolled. Eager calls never come here.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from lstmkit.cells.spec import rnn_spec
from lstmkit.kernels import steps
from lstmkit.kernels.loop import run_sequence
from lstmkit.kernels.traced import _define, _dense


class ElmanOperands(NamedTuple):
    """The tensors of one Elman layer-direction; the input projection ``gx`` is computed outside."""

    gx: torch.Tensor  # (T, B, H) W_ih x + biases
    h0: torch.Tensor  # (B, H)
    weight_hh: torch.Tensor  # (H, H)
    rmask: torch.Tensor | None = None  # (B, H) recurrent-dropout multiplier
    step_mask: torch.Tensor | None = None  # (T, B) bool
    lengths: torch.Tensor | None = None  # (B,) int64: reversal within each length
    keep: torch.Tensor | None = None  # (T, B, H) bool training zoneout mask


class ElmanConfig(NamedTuple):
    activation: str  # a name of lstmkit.cells.spec.ACTIVATIONS
    zoneout: float = 0.0  # eval-mode rate, used where no keep mask is given
    reverse: bool = False
    carry: bool = False  # masked_output="carry"


def _elman_eager(config: ElmanConfig, gx, h0, weight_hh, rmask, step_mask, lengths, keep):
    """``run_sequence`` with the Elman step: (out (T, B, H), h_n (B, H)), under autograd."""
    step = steps.RNNStep(rnn_spec(config.activation), {"weight_hh": weight_hh}, rmask)
    out, (h,) = run_sequence(step, gx, (h0,), step_mask=step_mask, lengths=lengths, reverse=config.reverse,
                             zoneout_rates=(config.zoneout,), zoneout_keep=None if keep is None else [keep],
                             masked_output="carry" if config.carry else "zero")
    return out, h


elman_op = _define("elman_sequence", ElmanOperands, {n for n in ElmanOperands._field_defaults}, ElmanConfig("tanh"),
                   2, lambda t, c: _dense(_elman_eager(c, *t)), _elman_eager,
                   lambda t: (t.gx.new_empty(t.gx.shape), torch.empty_like(t.h0)))


def elman_sequence(activation: str, gx: torch.Tensor, h0: torch.Tensor, weight_hh: torch.Tensor, *, rmask=None,
                   step_mask=None, lengths=None, keep=None, zoneout: float = 0.0, reverse: bool = False,
                   carry: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """``run_sequence`` of the Elman step as one ``lstmkit::elman_sequence`` node: (out, h_n)."""
    t = ElmanOperands(gx.contiguous(), h0.contiguous(), weight_hh.contiguous(), rmask, step_mask, lengths, keep)
    return elman_op(*t, *ElmanConfig(activation, float(zoneout), bool(reverse), bool(carry)))
