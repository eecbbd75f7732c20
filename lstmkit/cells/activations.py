"""Element-wise activation functions in NumPy float64.

Every name in ``lstmkit.cells.spec.ACTIVATIONS`` has a function here, so a spec's
``gate_activation`` / ``input_activation`` / ``output_activation`` strings can be turned into
code with :func:`get_activation`. Each function takes anything ``np.asarray`` accepts and
returns a new float64 array; none of them warns on large inputs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .spec import ACTIVATIONS

Activation = Callable[[np.ndarray], np.ndarray]


def _f64(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-x))``, squashing to (0, 1): how far a gate is open.

    Written in the numerically stable form: ``exp`` only ever sees ``-|x|`` (at most 0), so
    it cannot overflow, and for x < 0 we use the algebraically equal ``e^x / (1 + e^x)``.
    """
    x = _f64(x)
    e = np.exp(-np.abs(x))  # in (0, 1], never overflows
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def tanh(x: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent, squashing to (-1, 1): the usual candidate and output activation."""
    return np.tanh(_f64(x))


def hard_sigmoid(x: np.ndarray) -> np.ndarray:
    """Keras 3's piecewise-linear sigmoid ``clip(x / 6 + 0.5, 0, 1)``; cheap, exactly 0/1 in the tails."""
    return np.clip(_f64(x) / 6.0 + 0.5, 0.0, 1.0)


def relu(x: np.ndarray) -> np.ndarray:
    """Rectifier ``max(x, 0)``."""
    return np.maximum(_f64(x), 0.0)


def linear(x: np.ndarray) -> np.ndarray:
    """Identity (as a float64 copy). Greff's NIAF / NOAF variants use it to drop an activation."""
    return np.array(x, dtype=np.float64, copy=True)


def softsign(x: np.ndarray) -> np.ndarray:
    """``x / (1 + |x|)``: like tanh but with polynomial rather than exponential tails."""
    x = _f64(x)
    return x / (1.0 + np.abs(x))


_BY_NAME: dict[str, Activation] = {
    "tanh": tanh,
    "sigmoid": sigmoid,
    "hard_sigmoid": hard_sigmoid,
    "relu": relu,
    "linear": linear,
    "softsign": softsign,
}


def get_activation(name: str) -> Activation:
    """The activation function called ``name``; ValueError listing the valid names otherwise."""
    if not isinstance(name, str) or name not in _BY_NAME:
        raise ValueError(f"unknown activation {name!r}; expected one of {list(ACTIVATIONS)}")
    return _BY_NAME[name]
