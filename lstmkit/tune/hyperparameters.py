"""``HyperParameters``: what a model-building function receives as ``hp`` (Keras Tuner's API).

``build_model(hp)`` declares its hyper-parameters by calling ``hp.Int(...)``, ``hp.Choice(...)``
and so on, and uses the values they return. Where the values come from depends on who calls
``build_model``:

- on its own (a dry run, or ``build_model(HyperParameters())``), every call returns its default;
- during a search, each call draws from the trial's Optuna sampler (``suggest_int``,
  ``suggest_float`` or ``suggest_categorical``; see hp_types.py);
- with values already set (``get_best_hyperparameters()`` returns such objects), the recorded
  values are replayed, so ``build_model(best_hp)`` rebuilds the best model.

Declarations under ``with hp.conditional_scope(parent, values):`` are active only while the
parent's value is one of ``values``; an inactive declaration returns None and is not sampled,
so a trial's record holds only the values that shaped its model.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from lstmkit.tune import hp_types
from lstmkit.tune.hp_types import Condition, HyperParameter

__all__ = ["HyperParameters"]

#: where a search's values come from: ``source(declaration) -> value``
Source = Callable[[HyperParameter], Any]


class HyperParameters:
    """The search space a model-building function declares and the current values.

    Attributes:
        values: the values of the active hyper-parameters, by name.
        space: the declarations seen so far, in declaration order.
    """

    def __init__(self) -> None:
        self._space: list[HyperParameter] = []
        self._conditions: list[Condition] = []
        self.values: dict[str, Any] = {}
        self._source: Source | None = None

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> HyperParameters:
        """Hyper-parameters whose values are already chosen (a recorded trial): declarations replay them."""
        hp = cls()
        hp.values = dict(values)
        return hp

    @property
    def space(self) -> list[HyperParameter]:
        return list(self._space)

    # ------------------------------------------------------------------ conditions
    @contextlib.contextmanager
    def conditional_scope(self, parent_name: str, parent_values: Any) -> Iterator[None]:
        """Declarations inside are active only while ``parent_name``'s value is in ``parent_values``
        (one value or a list). The code inside always runs; inactive declarations return None."""
        if not any(h.name == parent_name for h in self._space):
            raise ValueError(f"conditional_scope: no hyper-parameter named {parent_name!r} is declared yet; declare "
                             "the parent before the scope")
        if isinstance(parent_values, (list, tuple, set)):
            parent_values = tuple(parent_values)
        else:
            parent_values = (parent_values,)
        self._conditions.append(Condition(parent_name, parent_values))
        try:
            yield
        finally:
            self._conditions.pop()

    @contextlib.contextmanager
    def _maybe_scope(self, parent_name: str | None, parent_values: Any) -> Iterator[None]:
        if parent_name is None:
            yield
            return
        with self.conditional_scope(parent_name, parent_values):
            yield

    def _active(self, conditions: Sequence[Condition]) -> bool:
        return all(c.is_active(self.values) for c in conditions)

    def is_active(self, hyperparameter: str | HyperParameter) -> bool:
        """Whether a declaration (or any declaration of that name) is active with the current values."""
        if isinstance(hyperparameter, HyperParameter):
            return self._active(hyperparameter.conditions)
        return any(self._active(h.conditions) for h in self._space if h.name == hyperparameter)

    # ------------------------------------------------------------------ values
    def _retrieve(self, declared: HyperParameter) -> Any:
        """Register the declaration (once per name and conditions) and return its value, or None if inactive."""
        existing = next((h for h in self._space
                         if h.name == declared.name and h.conditions == declared.conditions), None)
        if existing is None:
            self._space.append(declared)
        else:
            declared = existing
        if not self._active(declared.conditions):
            return None
        if declared.name not in self.values:
            self.values[declared.name] = declared.default if self._source is None else self._source(declared)
        return self.values[declared.name]

    def get(self, name: str) -> Any:
        """The value of an active hyper-parameter (ValueError if inactive, KeyError if never declared)."""
        if name in self.values:
            return self.values[name]
        if any(h.name == name for h in self._space):
            raise ValueError(f"hyper-parameter {name!r} is currently inactive")
        raise KeyError(f"no hyper-parameter named {name!r}")

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self.values

    def copy(self) -> HyperParameters:
        """An independent copy (same declarations and values)."""
        other = HyperParameters()
        other._space = list(self._space)
        other.values = dict(self.values)
        return other

    # ------------------------------------------------------------------ declarations
    def Int(self, name: str, min_value: int, max_value: int, step: int | None = None, sampling: str = "linear",
            default: int | None = None, parent_name: str | None = None, parent_values: Any = None) -> int | None:
        """An integer in ``[min_value, max_value]`` (see ``hp_types.Int`` for ``step`` and ``sampling``)."""
        with self._maybe_scope(parent_name, parent_values):
            return self._retrieve(hp_types.Int(name, min_value, max_value, step=step, sampling=sampling,
                                               default=default, conditions=self._conditions))

    def Float(self, name: str, min_value: float, max_value: float, step: float | None = None,
              sampling: str = "linear", default: float | None = None, parent_name: str | None = None,
              parent_values: Any = None) -> float | None:
        """A float in ``[min_value, max_value]`` (see ``hp_types.Float``)."""
        with self._maybe_scope(parent_name, parent_values):
            return self._retrieve(hp_types.Float(name, min_value, max_value, step=step, sampling=sampling,
                                                 default=default, conditions=self._conditions))

    def Choice(self, name: str, values: Sequence[Any], ordered: bool | None = None, default: Any = None,
               parent_name: str | None = None, parent_values: Any = None) -> Any:
        """One of ``values`` (default: the first)."""
        with self._maybe_scope(parent_name, parent_values):
            return self._retrieve(hp_types.Choice(name, values, ordered=ordered, default=default,
                                                  conditions=self._conditions))

    def Boolean(self, name: str, default: bool = False, parent_name: str | None = None,
                parent_values: Any = None) -> bool | None:
        """True or False (default False)."""
        with self._maybe_scope(parent_name, parent_values):
            return self._retrieve(hp_types.Boolean(name, default=default, conditions=self._conditions))

    def Fixed(self, name: str, value: Any, parent_name: str | None = None, parent_values: Any = None) -> Any:
        """A value that is recorded with each trial but not tuned."""
        with self._maybe_scope(parent_name, parent_values):
            return self._retrieve(hp_types.Fixed(name, value, conditions=self._conditions))

    def __repr__(self) -> str:
        return f"HyperParameters(values={self.values!r})"
