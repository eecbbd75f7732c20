"""The learning-rate schedule of ``TextGenerator.fit``: a short linear warm-up, then a decay to a floor.

Why this shape: Adam's first updates are taken with second-moment estimates built from a handful
of gradients, and at the high learning rates that make a budget of a few hundred large-batch
updates pay off, those first steps can throw the LSTM into saturated gates it takes many updates
to leave; a warm-up of a few dozen steps avoids it. The decay (cosine by default, linear as
before) follows the fraction of the budget spent, so a run planned in steps and one planned in
seconds both end at ``final_learning_rate``: most of the drop in loss at the end of a short run
comes from annealing, not from more characters.
"""

from __future__ import annotations

import math

SCHEDULES = ("cosine", "linear")


def learning_rate(step: int, fraction: float, *, peak: float, final: float, warmup_steps: int = 0,
                  schedule: str = "cosine") -> float:
    """The learning rate of update ``step`` (0-based) when ``fraction`` of the budget is spent.

    ``fraction`` is clipped to [0, 1]; the warm-up multiplies the decayed rate by
    ``(step + 1) / warmup_steps`` for the first ``warmup_steps`` updates (0: no warm-up).
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown learning-rate schedule {schedule!r}: expected one of {', '.join(SCHEDULES)}")
    progress = min(1.0, max(0.0, fraction))
    if schedule == "cosine":
        rate = final + (peak - final) * 0.5 * (1.0 + math.cos(math.pi * progress))
    else:
        rate = peak + (final - peak) * progress
    if warmup_steps > 0 and step < warmup_steps:
        rate *= (step + 1) / warmup_steps
    return rate
