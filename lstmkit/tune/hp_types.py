"""The kinds of hyper-parameter a model-building function can declare (Keras Tuner's ``Int``,
``Float``, ``Choice``, ``Boolean``, ``Fixed``) and how each maps onto an Optuna distribution.

A declaration is a value object: it validates its arguments once, knows its default, the finite
list of values a grid search walks through, and the Optuna distribution a sampler draws from.
Keras Tuner's multiplicative steps (``sampling="log"`` with ``step``: 32, 64, 128, ...) have no
Optuna counterpart, so they become a categorical distribution over the geometric values.
Optuna is imported only when a distribution is asked for.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Boolean", "Choice", "Condition", "Fixed", "Float", "HyperParameter", "Int"]

#: points of a continuous Float (no ``step``) in a grid search
FLOAT_GRID_POINTS = 10


@dataclass(frozen=True)
class Condition:
    """Active when the hyper-parameter ``parent`` is active and its value is one of ``values``."""

    parent: str
    values: tuple[Any, ...]

    def is_active(self, values: dict[str, Any]) -> bool:
        return self.parent in values and values[self.parent] in self.values

    def config(self) -> dict[str, Any]:
        return {"class_name": "Parent", "config": {"name": self.parent, "values": list(self.values)}}


class HyperParameter:
    """A declared hyper-parameter: its name, the conditions under which it is active, its default."""

    def __init__(self, name: str, default: Any = None, conditions: Sequence[Condition] = ()):
        if not isinstance(name, str) or not name:
            raise ValueError(f"a hyper-parameter name must be a non-empty string, got {name!r}")
        self.name = name
        self.conditions = tuple(conditions)
        self._default = default

    @property
    def default(self) -> Any:
        return self._default

    def grid_values(self) -> list[Any]:
        """The values a grid search tries, in order."""
        raise NotImplementedError

    def distribution(self) -> Any:
        """The Optuna distribution to sample from (None: not tunable)."""
        raise NotImplementedError

    def suggest(self, trial: Any) -> Any:
        """Draw this hyper-parameter's value from an Optuna trial (``suggest_int/float/categorical``)."""
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        dist = self.distribution()
        if dist is None:
            return self.default
        if isinstance(dist, IntDistribution):
            return trial.suggest_int(self.name, dist.low, dist.high, step=dist.step, log=dist.log)
        if isinstance(dist, FloatDistribution):
            return trial.suggest_float(self.name, dist.low, dist.high, step=dist.step, log=dist.log)
        assert isinstance(dist, CategoricalDistribution)
        return trial.suggest_categorical(self.name, dist.choices)

    def config(self) -> dict[str, Any]:
        """Keras Tuner's description of the declaration (``search_space_summary`` prints it)."""
        return {"default": self._default, "conditions": [c.config() for c in self.conditions]}

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}: {v!r}" for k, v in self.config().items() if k != "conditions")
        return f"{type(self).__name__}(name: {self.name!r}, {fields})"


def _check_sampling(sampling: str, name: str) -> str:
    sampling = str(sampling).lower()
    if sampling == "reverse_log":
        raise ValueError(f"hyper-parameter {name!r}: sampling='reverse_log' is not supported (Optuna has no "
                         "reverse-log distribution); use 'linear' or 'log'")
    if sampling not in ("linear", "log"):
        raise ValueError(f"hyper-parameter {name!r}: sampling must be 'linear' or 'log', got {sampling!r}")
    return sampling


def _geometric(low: float, high: float, factor: float, cast: type) -> list[Any]:
    """``low, low*factor, low*factor**2, ...`` up to ``high`` (rounded to 12 significant digits)."""
    values, k = [], 0
    while True:
        value = cast(float(f"{low * factor ** k:.12g}"))
        if value > high * (1 + 1e-9):
            return values
        values.append(value)
        k += 1


class _Numerical(HyperParameter):
    """Shared checks of Int and Float: ``min <= max``, positive steps, log ranges above zero."""

    def __init__(self, name: str, min_value: Any, max_value: Any, step: Any, sampling: str, default: Any,
                 conditions: Sequence[Condition], cast: type):
        super().__init__(name, default, conditions)
        self.sampling = _check_sampling(sampling, name)
        self.min_value, self.max_value = cast(min_value), cast(max_value)
        if self.min_value > self.max_value:
            raise ValueError(f"hyper-parameter {name!r}: min_value {min_value} is larger than max_value {max_value}")
        if self.sampling == "log" and self.min_value <= 0:
            raise ValueError(f"hyper-parameter {name!r}: sampling='log' needs min_value > 0, got {min_value}")
        self.step = None if step is None else cast(step)
        if self.step is not None:
            if not self.step > 0:
                raise ValueError(f"hyper-parameter {name!r}: step must be positive, got {step}")
            if self.sampling == "log" and not self.step > 1:
                raise ValueError(f"hyper-parameter {name!r}: with sampling='log' the step multiplies, so it must be "
                                 f"larger than 1, got {step}")
        if default is not None and not self.min_value <= cast(default) <= self.max_value:
            raise ValueError(f"hyper-parameter {name!r}: default {default} is outside [{min_value}, {max_value}]")

    @property
    def default(self) -> Any:
        return self.min_value if self._default is None else self._default

    def config(self) -> dict[str, Any]:
        return {**super().config(), "min_value": self.min_value, "max_value": self.max_value, "step": self.step,
                "sampling": self.sampling}


class Int(_Numerical):
    """An integer in ``[min_value, max_value]`` (both included).

    ``step`` spaces the values (``6..13`` step 3: 6, 9, 12); with ``sampling="log"`` it multiplies
    (``2..32`` step 2: 2, 4, 8, 16, 32). Without a step, ``linear`` means step 1 and ``log`` draws
    any integer, log-uniformly. The default is ``min_value``.
    """

    def __init__(self, name: str, min_value: int, max_value: int, step: int | None = None, sampling: str = "linear",
                 default: int | None = None, conditions: Sequence[Condition] = ()):
        for arg, value in (("min_value", min_value), ("max_value", max_value), ("step", step), ("default", default)):
            if value is not None and (isinstance(value, bool) or int(value) != value):
                raise ValueError(f"hyper-parameter {name!r}: {arg} must be an integer, got {value!r}")
        if step is None and str(sampling).lower() == "linear":
            step = 1
        super().__init__(name, min_value, max_value, step, sampling, default, conditions, int)
        if default is not None:
            self._default = int(default)

    def grid_values(self) -> list[int]:
        if self.sampling == "log" and self.step is not None:
            return _geometric(self.min_value, self.max_value, self.step, int)
        return list(range(self.min_value, self.max_value + 1, self.step or 1))

    def distribution(self) -> Any:
        from optuna.distributions import CategoricalDistribution, IntDistribution

        if self.sampling == "log":
            if self.step is None:
                return IntDistribution(self.min_value, self.max_value, log=True)
            return CategoricalDistribution(self.grid_values())
        high = self.min_value + (self.max_value - self.min_value) // self.step * self.step  # the last value on the grid
        return IntDistribution(self.min_value, high, step=self.step)


class Float(_Numerical):
    """A float in ``[min_value, max_value]``; ``step`` as for ``Int`` (added, or multiplied with
    ``sampling="log"``). Without a step any value can be drawn, and a grid search tries
    ``FLOAT_GRID_POINTS`` evenly spaced values (log-spaced with ``sampling="log"``)."""

    def __init__(self, name: str, min_value: float, max_value: float, step: float | None = None,
                 sampling: str = "linear", default: float | None = None, conditions: Sequence[Condition] = ()):
        super().__init__(name, min_value, max_value, step, sampling, default, conditions, float)
        if default is not None:
            self._default = float(default)

    def grid_values(self) -> list[float]:
        low, high = self.min_value, self.max_value
        if self.step is not None:
            if self.sampling == "log":
                return _geometric(low, high, self.step, float)
            count = int(math.floor((high - low) / self.step + 1e-9)) + 1
            return [float(f"{low + k * self.step:.12g}") for k in range(count)]
        if low == high:
            return [low]
        n = FLOAT_GRID_POINTS
        if self.sampling == "log":
            return [float(f"{low * (high / low) ** (k / (n - 1)):.12g}") for k in range(n)]
        return [float(f"{low + (high - low) * k / (n - 1):.12g}") for k in range(n)]

    def distribution(self) -> Any:
        from optuna.distributions import CategoricalDistribution, FloatDistribution

        if self.sampling == "log":
            if self.step is None:
                return FloatDistribution(self.min_value, self.max_value, log=True)
            return CategoricalDistribution(self.grid_values())
        if self.step is None:
            return FloatDistribution(self.min_value, self.max_value)
        return FloatDistribution(self.min_value, self.grid_values()[-1], step=self.step)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "str"
    raise ValueError(f"a Choice value must be an int, float, str or bool, got {value!r} ({type(value).__name__})")


class Choice(HyperParameter):
    """One value of ``values`` (all numbers, all strings or all booleans). The default is the
    first value; ``ordered`` (default: True for numbers) is kept for Keras Tuner compatibility."""

    def __init__(self, name: str, values: Sequence[Any], ordered: bool | None = None, default: Any = None,
                 conditions: Sequence[Condition] = ()):
        super().__init__(name, default, conditions)
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
            raise ValueError(f"hyper-parameter {name!r}: values must be a non-empty list, got {values!r}")
        kinds = {_kind(v) for v in values}
        if len(kinds) > 1:
            raise ValueError(f"hyper-parameter {name!r}: values must all be numbers, all strings or all booleans, "
                             f"got {list(values)!r}")
        if len(set(values)) != len(values):
            raise ValueError(f"hyper-parameter {name!r}: values contain duplicates: {list(values)!r}")
        self.values = list(values)
        is_number = kinds == {"number"}
        if ordered and not is_number:
            raise ValueError(f"hyper-parameter {name!r}: ordered=True needs numeric values")
        self.ordered = is_number if ordered is None else bool(ordered)
        if default is not None and default not in self.values:
            raise ValueError(f"hyper-parameter {name!r}: default {default!r} is not one of {self.values!r}")

    @property
    def default(self) -> Any:
        return self.values[0] if self._default is None else self._default

    def grid_values(self) -> list[Any]:
        return list(self.values)

    def distribution(self) -> Any:
        from optuna.distributions import CategoricalDistribution

        return CategoricalDistribution(self.values)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "values": self.values, "ordered": self.ordered}


class Boolean(Choice):
    """True or False (default False)."""

    def __init__(self, name: str, default: bool = False, conditions: Sequence[Condition] = ()):
        if not isinstance(default, bool):
            raise ValueError(f"hyper-parameter {name!r}: default must be True or False, got {default!r}")
        super().__init__(name, [False, True], ordered=False, default=default, conditions=conditions)

    def config(self) -> dict[str, Any]:
        return {"default": self._default, "conditions": [c.config() for c in self.conditions]}


class Fixed(HyperParameter):
    """A value that is recorded with the trial but never tuned."""

    def __init__(self, name: str, value: Any, conditions: Sequence[Condition] = ()):
        _kind(value)
        super().__init__(name, value, conditions)
        self.value = value

    def grid_values(self) -> list[Any]:
        return [self.value]

    def distribution(self) -> None:
        return None

    def config(self) -> dict[str, Any]:
        return {"conditions": [c.config() for c in self.conditions], "value": self.value}
