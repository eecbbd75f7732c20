"""``HyperModel``: a model-building recipe with hyper-parameters (Keras Tuner's class).

A tuner accepts either a ``build_model(hp)`` function or a ``HyperModel``. Subclass it to
customise training too: ``fit(hp, model, *args, **kwargs)`` may tune fit's own arguments
(batch size, epochs...) and may return the objective's value itself (a float, or a dict of
metrics) instead of fit's History.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lstmkit.tune.hyperparameters import HyperParameters

__all__ = ["HyperModel", "as_hypermodel"]


class HyperModel:
    """Builds (``build``) and trains (``fit``) one model per trial."""

    def __init__(self, name: str | None = None, tunable: bool = True):
        self.name = name
        self.tunable = tunable

    def build(self, hp: HyperParameters) -> Any:
        """Return a compiled model whose architecture depends on ``hp``."""
        raise NotImplementedError("HyperModel subclasses must implement build(hp)")

    def declare_hyperparameters(self, hp: HyperParameters) -> None:
        """Declare hyper-parameters without building a model (optional)."""

    def fit(self, hp: HyperParameters, model: Any, *args: Any, **kwargs: Any) -> Any:
        """Train ``model``: by default ``model.fit(*args, **kwargs)`` with search()'s arguments."""
        return model.fit(*args, **kwargs)


class _FunctionHyperModel(HyperModel):
    def __init__(self, build_fn: Callable[[HyperParameters], Any]):
        super().__init__(name=getattr(build_fn, "__name__", None))
        self._build_fn = build_fn

    def build(self, hp: HyperParameters) -> Any:
        return self._build_fn(hp)


def as_hypermodel(hypermodel: Any) -> HyperModel:
    """A HyperModel from a HyperModel or a ``build_model(hp)`` function."""
    if isinstance(hypermodel, HyperModel):
        return hypermodel
    if callable(hypermodel):
        return _FunctionHyperModel(hypermodel)
    raise TypeError("hypermodel must be a build_model(hp) function or a lstmkit.tune.HyperModel, got "
                    f"{type(hypermodel).__name__}")
