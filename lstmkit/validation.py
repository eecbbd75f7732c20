"""The scalar argument checks every floor uses: one implementation, each error naming the
argument, what was expected and what came (``ValueError``, never an ``assert``).

Why here, at the package root: ``lstmkit.nn``, ``lstmkit.keras`` and ``lstmkit.tune`` all take
sizes and rates from users; the wording differs where each mirrors its namesake (torch says
"int", Keras "integer"), the rule does not.
"""

from __future__ import annotations

import numbers
from typing import Any

__all__ = ["positive_int", "rate"]


def positive_int(name: str, value: Any, *, allow_none: bool = False, word: str = "int") -> Any:
    """``value`` as an int >= 1 (NumPy integers accepted, bools refused); None passes with ``allow_none``."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{name} must be a positive {word}{' or None' if allow_none else ''}, got {value!r}")
    return int(value)


def rate(name: str, value: Any) -> float:
    """A probability-like rate in [0, 1) (dropout, zoneout)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) < 1.0:
        raise ValueError(f"{name} must be a float in [0, 1), got {value!r}")
    return float(value)
