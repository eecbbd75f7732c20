"""The plain-torch sequence runner: a Python loop over time steps, autograd does the backward.

It runs any step of ``lstmkit.kernels.steps`` over a sequence and owns everything that is
about *time* rather than gates: direction (reversal within each sequence's length),
variable lengths and Keras-style masks (a masked step leaves the state untouched), and
zoneout (Krueger et al. 2016: each unit keeps its previous value with probability z).
It is the ``backend="reference"`` path of ``lstmkit.nn`` and handles every configuration.
One time step of it is ``advance``; under torch.onnx's TorchScript exporter the loop over the
steps is ``loop_script.scan`` instead, an ONNX ``Loop`` whose body is that same ``advance``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from lstmkit.kernels import loop_script

State = tuple[torch.Tensor, ...]
Step = Callable[[torch.Tensor, State], tuple[torch.Tensor, State]]


def reverse_time(x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """Reverse (T, B, ...) along time; with ``lengths`` (B,), reverse each sequence within its
    own length and leave the padding where it is (so the reversal is its own inverse)."""
    if lengths is None:
        return x.flip(0)
    T = x.shape[0]
    t = torch.arange(T, device=x.device).unsqueeze(1)  # (T, 1)
    lens = lengths.to(x.device).unsqueeze(0)  # (1, B)
    index = torch.where(t < lens, lens - 1 - t, t)  # (T, B)
    index = index.reshape(T, -1, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(0, index)


def lengths_to_mask(lengths: torch.Tensor, T: int) -> torch.Tensor:
    """(B,) lengths -> (T, B) bool, True on real steps."""
    return torch.arange(T, device=lengths.device).unsqueeze(1) < lengths.unsqueeze(0)


def run_sequence(
    step: Step,
    gx: torch.Tensor,
    state: State,
    *,
    step_mask: torch.Tensor | None = None,
    lengths: torch.Tensor | None = None,
    reverse: bool = False,
    zoneout_rates: Sequence[float] = (),
    zoneout_keep: Sequence[torch.Tensor | None] | None = None,
    masked_output: str = "zero",
) -> tuple[torch.Tensor, State]:
    """Run ``step`` over the time axis of ``gx`` (T, B, K), the precomputed input projection.

    Args:
        step: ``(gx_t, state) -> (output_t, new_state)``; ``state[0]`` is the hidden state.
        state: initial state tuple, each (B, ·).
        step_mask: (T, B) bool; False steps carry the state unchanged and output 0 (or the
            carried hidden state with ``masked_output="carry"``, as Keras' RNN does).
        lengths: (B,) real lengths; with ``reverse`` each sequence is reversed within its
            length (packed-sequence semantics) instead of flipping the whole time axis.
        reverse: process time backwards; outputs are returned at their original positions.
        zoneout_rates: per state component, the eval-mode zoneout rate (expectation
            ``z * prev + (1 - z) * new``); ignored where ``zoneout_keep`` is given.
        zoneout_keep: per state component, a (T, B, ·) bool tensor: True keeps the previous
            value (training-mode zoneout with sampled masks), or None.
    Returns:
        (outputs (T, B, R), final state)
    """
    if reverse:
        gx = reverse_time(gx, lengths)
        if step_mask is not None and lengths is None:
            step_mask = step_mask.flip(0)
        # With lengths the reversed sequence is still a prefix, so step_mask is unchanged.
    mask = None if step_mask is None else step_mask.unsqueeze(-1)  # (T, B, 1)
    carry = masked_output == "carry" and mask is not None
    if not zoneout_keep and loop_script.exporting():  # torch.onnx (TorchScript): an ONNX Loop over time

        def body(gx_t, st, m_t, prev):
            return advance(step, gx_t, st, m_t, zoneout_rates=zoneout_rates, prev_out=prev)

        output, state = loop_script.scan(body, gx, state, mask, carry=carry)
    else:
        outputs = []
        prev_out = None  # Keras' "carry": a masked step repeats the last output (zeros before any)
        for t in range(gx.shape[0]):
            keep_t = [None if k is None else k[t] for k in zoneout_keep] if zoneout_keep else None
            out, state = advance(step, gx[t], state, None if mask is None else mask[t], keep_t, zoneout_rates,
                                 prev_out)
            prev_out = out if carry else None
            outputs.append(out)
        output = torch.stack(outputs)  # (T, B, R)
    if reverse:
        output = reverse_time(output, lengths)
    return output, state


def advance(
    step: Step,
    gx_t: torch.Tensor,
    state: State,
    m_t: torch.Tensor | None = None,
    keep_t: Sequence[torch.Tensor | None] | None = None,
    zoneout_rates: Sequence[float] = (),
    prev_out: torch.Tensor | None = None,
) -> tuple[torch.Tensor, State]:
    """One time step of ``run_sequence``: ``step``, then zoneout and the mask. The one definition
    of a step's time semantics, for the Python loop and for the ONNX Loop's body alike.

    ``m_t``: (B, 1) bool, False keeps ``state`` and outputs ``prev_out`` (zeros if None);
    ``keep_t``: per state component a (B, ·) bool (True keeps the previous value) or None,
    else the eval-mode ``zoneout_rates``. Returns ``(output_t, new_state)``.
    """
    out, new = step(gx_t, state)
    if keep_t:
        new = tuple(n if keep is None else torch.where(keep, s, n)
                    for n, s, keep in zip(new, state, list(keep_t) + [None] * len(new)))
        out = new[0]  # the zoned-out h is the output
    elif any(z > 0.0 for z in zoneout_rates):
        new = tuple(n if k >= len(zoneout_rates) or zoneout_rates[k] <= 0.0
                    else zoneout_rates[k] * s + (1.0 - zoneout_rates[k]) * n
                    for k, (n, s) in enumerate(zip(new, state)))
        out = new[0]
    if m_t is not None:
        new = tuple(torch.where(m_t, n, s) for n, s in zip(new, state))
        out = torch.where(m_t, out, torch.zeros_like(out) if prev_out is None else prev_out)
    return out, new


def mask_spans(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
    """If every sequence's real steps form one unbroken run (the masks that pre- or post-padding
    make), return that run's ``(starts, lengths)``, each (B,); else None (also if a sequence
    has no real step at all).

    Such a mask means the same as packed lengths once each run is shifted to the front: the
    state is untouched before the run and after it. That lets torch's fused kernels run it.
    """
    lengths = mask.sum(0)  # (B,)
    if bool((lengths == 0).any()):
        return None
    starts = mask.to(torch.int8).argmax(0)  # (B,) first real step
    t = torch.arange(mask.shape[0], device=mask.device).unsqueeze(1)  # (T, 1)
    if not torch.equal((t >= starts) & (t < starts + lengths), mask):
        return None
    return starts, lengths


def shift_time(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """(T, B, ...) with sequence b moved ``shift[b]`` steps earlier (negative: later); the
    steps that fall off one end are dropped and the other end is filled with zeros."""
    T = x.shape[0]
    src = torch.arange(T, device=x.device).unsqueeze(1) + shift.to(x.device).unsqueeze(0)  # (T, B)
    valid = (src >= 0) & (src < T)
    index = src.clamp(0, T - 1).reshape(T, -1, *([1] * (x.dim() - 2))).expand_as(x)
    valid = valid.reshape(T, -1, *([1] * (x.dim() - 2)))
    return torch.where(valid, x.gather(0, index), torch.zeros((), dtype=x.dtype, device=x.device))


def carry_fill(out: torch.Tensor, starts: torch.Tensor, lengths: torch.Tensor, reverse: bool) -> torch.Tensor:
    """Keras' masked_output="carry" for one direction's outputs (T, B, F) of a span mask:
    masked steps repeat the last output produced before them in processing order (zeros if
    none). Forward: steps after the run repeat its last output. Reverse: steps before the run
    (processed last) repeat the output at the run's first step."""
    T = out.shape[0]
    t = torch.arange(T, device=out.device).unsqueeze(1)  # (T, 1)
    if reverse:
        fill_at, source = t < starts, starts
    else:
        fill_at, source = t >= starts + lengths, starts + lengths - 1
    fill = out.gather(0, source.reshape(1, -1, 1).expand(1, -1, out.shape[-1]))  # (1, B, F)
    return torch.where(fill_at.unsqueeze(-1), fill, out)


def carry_forward(out: torch.Tensor, step_mask: torch.Tensor) -> torch.Tensor:
    """Keras' masked_output="carry" for outputs (T, B, F) in processing order whose masked steps
    are zero: each masked step repeats the output of the last real step before it (zeros if
    none). Works for any mask, not only spans."""
    T = out.shape[0]
    t = torch.arange(T, device=out.device).unsqueeze(1).expand_as(step_mask)  # (T, B)
    last = torch.where(step_mask, t, torch.full_like(t, -1)).cummax(0).values  # (T, B) last real step <= t
    index = last.clamp(min=0).unsqueeze(-1).expand_as(out)
    return torch.where((last >= 0).unsqueeze(-1), out.gather(0, index), torch.zeros((), dtype=out.dtype))
