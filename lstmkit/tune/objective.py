"""``Objective``: the metric a search optimises and in which direction.

A plain name works as in Keras Tuner: the direction is inferred from the metric's name (losses
and errors are minimised, accuracies and AUC maximised); anything else must say its direction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Objective", "infer_objective"]

_MINIMISED = ("loss", "error", "mse", "mae", "mape", "msle", "rmse", "crossentropy", "hinge", "kl_divergence",
              "kld", "poisson", "log_cosh", "logcosh", "huber", "perplexity")
_MAXIMISED = ("acc", "accuracy", "auc", "precision", "recall", "f1", "f1_score", "fbeta_score", "r2", "r2_score",
              "iou", "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "specificity", "sensitivity")


@dataclass(frozen=True)
class Objective:
    """The metric ``name`` (a key of fit's logs, e.g. ``"val_loss"``) and ``direction``, "min" or "max"."""

    name: str
    direction: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"Objective name must be a non-empty string, got {self.name!r}")
        if self.direction not in ("min", "max"):
            raise ValueError(f"Objective direction must be 'min' or 'max', got {self.direction!r}")

    @property
    def optuna_direction(self) -> str:
        return "minimize" if self.direction == "min" else "maximize"

    def better(self, value: float, than: float) -> bool:
        """Whether ``value`` is strictly better than ``than``."""
        return value < than if self.direction == "min" else value > than

    def __repr__(self) -> str:
        return f'Objective(name="{self.name}", direction="{self.direction}")'


def _direction(name: str) -> str | None:
    base = name[4:] if name.startswith("val_") else name
    base = base.lower()
    if base in _MAXIMISED or base.endswith(("_accuracy", "_acc", "_auc")):
        return "max"
    if base in _MINIMISED or base.endswith(("_loss", "_error")) or "loss" in base or "error" in base:
        return "min"
    return None


def infer_objective(objective: Any) -> Objective:
    """An ``Objective`` from a name, an Objective, or None (Keras Tuner's "default_objective",
    minimised: the value a custom ``HyperModel.fit`` returns)."""
    if objective is None:
        return Objective("default_objective", "min")
    if isinstance(objective, Objective):
        return objective
    if isinstance(objective, str):
        direction = _direction(objective)
        if direction is None:
            raise ValueError(f"cannot tell whether the objective {objective!r} should be minimised or maximised; "
                             f"pass Objective({objective!r}, direction='min') or direction='max'")
        return Objective(objective, direction)
    if isinstance(objective, (list, tuple)):
        raise ValueError("several objectives are not supported: pass one name or Objective (e.g. 'val_loss')")
    raise TypeError(f"objective must be a metric name or an Objective, got {type(objective).__name__}")
