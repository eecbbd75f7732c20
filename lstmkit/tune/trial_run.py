"""Running one trial: train the model ``executions_per_trial`` times, report every epoch's
objective to Optuna so a pruner can stop a bad trial early, and keep the best weights.

An execution's score is its best epoch's objective (as in Keras Tuner), and the trial's score is
the mean over executions. The weights saved for the trial are the best epoch's weights of its
best execution, so the model ``get_best_models`` returns scores what the trial reported. Only the
first execution reports to the pruner: Optuna accepts one value per step, and the first run is
enough to tell a hopeless trial.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lstmkit.keras.callbacks import Callback
from lstmkit.tune.objective import Objective

__all__ = ["ObjectiveError", "Outcome", "TrialReporter", "run_executions"]


class ObjectiveError(ValueError):
    """The objective cannot be read from what training produced."""


@dataclass
class Outcome:
    """What a trial produced: ``pruned`` trials have no value and save no model."""

    value: float | None
    pruned: bool = False
    best_epoch: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    execution_values: list[float] = field(default_factory=list)
    last_reported: float | None = None


class TrialReporter(Callback):
    """Tracks the best epoch of the objective (with a copy of its weights) and reports each epoch.

    ``report(value, step) -> bool`` sends the value to the Optuna trial and says whether to prune;
    a pruned run stops at the end of that epoch.
    """

    def __init__(self, objective: Objective, report: Callable[[float, int], bool] | None):
        super().__init__()
        self.objective = objective
        self.report = report
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.best_logs: dict[str, float] = {}
        self.best_state: dict[str, Any] | None = None
        self.pruned = False
        self.last_reported: float | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        name = self.objective.name
        if name not in logs:
            hint = " (pass validation_data=... or validation_split=... to search())" if name.startswith("val_") else ""
            raise ObjectiveError(f"the objective {name!r} is not among the metrics fit() reports "
                                 f"({', '.join(sorted(logs)) or 'none'}){hint}")
        value = float(logs[name])
        if not math.isfinite(value):
            return
        if self.best is None or self.objective.better(value, self.best):
            self.best, self.best_epoch, self.best_logs = value, epoch, dict(logs)
            self.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        if self.report is not None:
            self.last_reported = value
            if self.report(value, epoch + 1):  # step = epochs trained, the pruner's resource
                self.pruned = True
                self.model.stop_training = True


def _result_value(result: Any, reporter: TrialReporter, objective: Objective) -> tuple[float, dict[str, float], bool]:
    """The execution's score, its metrics, and whether the best-epoch weights go with it.

    As in Keras Tuner, a custom ``HyperModel.fit`` may return the score (a number) or a dict of
    metrics; otherwise (fit's History) the best epoch counts."""
    if isinstance(result, (int, float, np.floating, np.integer)) and not isinstance(result, bool):
        return float(result), {objective.name: float(result)}, False
    if isinstance(result, dict):
        if objective.name not in result:
            raise ObjectiveError(f"HyperModel.fit returned metrics {sorted(result)} without the objective "
                                 f"{objective.name!r}")
        return float(result[objective.name]), {k: float(v) for k, v in result.items()}, False
    if reporter.best is None:
        raise ObjectiveError(f"the objective {objective.name!r} was never finite (NaN/inf in every epoch, or no "
                             "epoch ran)")
    return reporter.best, reporter.best_logs, True


def run_executions(*, hypermodel: Any, build: Callable[[Any], Any], hp: Any, first_model: Any,
                   objective: Objective, executions: int, seed_execution: Callable[[int], None],
                   report: Callable[[float, int], bool], fit_args: tuple, fit_kwargs: dict,
                   save_path: Path) -> Outcome:
    """Train ``executions`` fresh models of one trial; save the best one's best-epoch weights to
    ``save_path`` (atomically: Model.save writes a temporary file and renames it)."""
    user_callbacks = list(fit_kwargs.get("callbacks") or [])
    scores: list[float] = []
    best: tuple[float, Any, dict[str, Any] | None, int | None, dict[str, float]] | None = None
    for execution in range(executions):
        if execution == 0:
            model = first_model
        else:
            seed_execution(execution)
            model = build(hp.copy())
        reporter = TrialReporter(objective, report if execution == 0 else None)
        kwargs = {**fit_kwargs, "callbacks": [*copy.deepcopy(user_callbacks), reporter]}
        result = hypermodel.fit(hp, model, *fit_args, **kwargs)
        if reporter.pruned:
            return Outcome(None, pruned=True, best_epoch=reporter.best_epoch, last_reported=reporter.last_reported)
        score, metrics, use_best_state = _result_value(result, reporter, objective)
        if not math.isfinite(score):
            raise ObjectiveError(f"the objective {objective.name!r} is {score} (not finite)")
        scores.append(score)
        if best is None or objective.better(score, best[0]):
            state = reporter.best_state if use_best_state else None
            best = (score, model, state, reporter.best_epoch if use_best_state else None, metrics)
    assert best is not None
    _, model, state, best_epoch, metrics = best
    if state is not None:
        model.load_state_dict(state)
    save_path.parent.mkdir(parents=True, exist_ok=True)
    model.save(save_path, include_optimizer=False)
    return Outcome(float(np.mean(scores)), best_epoch=best_epoch, metrics=metrics, execution_values=scores)
