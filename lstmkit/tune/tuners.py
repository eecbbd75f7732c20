"""The four Keras Tuner search strategies, each an Optuna sampler/pruner choice on ``Tuner``.

- ``RandomSearch``: values drawn by Optuna's ``RandomSampler``; like Keras Tuner it never runs
  the same combination twice (a draw that repeats an earlier trial is drawn again) and stops
  early when no new combination can be found.
- ``GridSearch``: every combination of the grid values (see hp_types.py), in order. The grid is
  enumerated by dry runs of build_model, so conditional hyper-parameters yield only the
  combinations that really differ (Optuna's ``GridSampler`` would multiply them by every inactive
  value); each claimed trial is given its grid point (see study.py: no point runs twice, even
  with several workers).
- ``BayesianOptimization``: Optuna's TPE (or its Gaussian-process sampler with ``sampler="gp"``)
  after ``num_initial_points`` random trials.
- ``Hyperband``: Optuna's ``HyperbandPruner`` (``max_epochs``, ``factor``) stops trials that are
  behind at each rung; values are drawn as in RandomSearch. Every trial may train up to
  ``max_epochs`` epochs (search()'s ``epochs`` is replaced).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lstmkit.tune import study as study_lib
from lstmkit.tune.planning import enumerate_grid, values_key
from lstmkit.tune.tuner import Tuner

__all__ = ["BayesianOptimization", "GridSearch", "Hyperband", "RandomSearch"]

MAX_COLLISIONS = 50  # draws that repeat earlier trials before the space counts as exhausted


def _tried(trials: list[Any]) -> set[str]:
    return {values_key(v) for t in trials if (v := study_lib.trial_values(t))}


class _RandomPlanning:
    """Plans each trial with Optuna's RandomSampler, skipping combinations already tried."""

    study: Any
    seed: int | None
    _dry_run: Any  # Tuner's

    def _plan(self, trials: list[Any]) -> dict[str, Any] | None:
        import optuna

        seen = _tried(trials)
        seed = None if self.seed is None else int(np.random.SeedSequence([self.seed, len(trials)]).generate_state(1)[0])
        sampler = optuna.samplers.RandomSampler(seed=seed)
        for _ in range(MAX_COLLISIONS):
            # RandomSampler draws from the distribution alone; it reads neither the study nor the trial.
            values = self._dry_run(lambda spec: sampler.sample_independent(self.study, None, spec.name,
                                                                           spec.distribution())).values
            if values_key(values) not in seen:
                return values
        return None


class RandomSearch(_RandomPlanning, Tuner):
    """Random search (Keras Tuner's ``RandomSearch``): each trial draws fresh values at random.

    Args: as ``Tuner``; ``max_trials`` defaults to 10. Other keyword arguments (``directory``,
    ``project_name``, ``overwrite``, ``executions_per_trial``, ``storage``...) go to ``Tuner``.
    """

    def __init__(self, hypermodel: Any = None, objective: Any = None, max_trials: int = 10, seed: int | None = None,
                 hyperparameters: Any = None, tune_new_entries: bool = True, allow_new_entries: bool = True,
                 max_retries_per_trial: int = 0, max_consecutive_failed_trials: int = 3, **kwargs: Any):
        super().__init__(hypermodel, objective, max_trials, seed=seed, hyperparameters=hyperparameters,
                         tune_new_entries=tune_new_entries, allow_new_entries=allow_new_entries,
                         max_retries_per_trial=max_retries_per_trial,
                         max_consecutive_failed_trials=max_consecutive_failed_trials, **kwargs)

    def _make_sampler(self) -> Any:
        import optuna

        return optuna.samplers.RandomSampler(seed=self.seed)


class GridSearch(Tuner):
    """Grid search (Keras Tuner's ``GridSearch``): every combination once, in order.

    ``max_trials`` (default None) caps the number of grid points tried.
    """

    def __init__(self, hypermodel: Any = None, objective: Any = None, max_trials: int | None = None,
                 seed: int | None = None, hyperparameters: Any = None, tune_new_entries: bool = True,
                 allow_new_entries: bool = True, max_retries_per_trial: int = 0,
                 max_consecutive_failed_trials: int = 3, **kwargs: Any):
        self._grid: list[dict[str, Any]] | None = None
        super().__init__(hypermodel, objective, max_trials, seed=seed, hyperparameters=hyperparameters,
                         tune_new_entries=tune_new_entries, allow_new_entries=allow_new_entries,
                         max_retries_per_trial=max_retries_per_trial,
                         max_consecutive_failed_trials=max_consecutive_failed_trials, **kwargs)

    @property
    def grid(self) -> list[dict[str, Any]]:
        """All combinations of the grid, in the order they are tried."""
        if self._grid is None:
            self._grid = enumerate_grid(self._dry_run)
        return self._grid

    def _make_sampler(self) -> Any:
        import optuna

        return optuna.samplers.RandomSampler(seed=self.seed)  # only for values build_model did not declare in dry runs

    def _plan(self, trials: list[Any]) -> dict[str, Any] | None:
        seen = _tried(trials)
        return next((dict(combo) for combo in self.grid if values_key(combo) not in seen), None)


class BayesianOptimization(Tuner):
    """Bayesian optimisation (Keras Tuner's ``BayesianOptimization``) with Optuna's samplers.

    Args:
        num_initial_points: random trials before the model of the objective is used (default:
            3 per declared hyper-parameter, at least 2, as Keras Tuner).
        alpha, beta: accepted for Keras Tuner compatibility; Optuna's samplers tune themselves.
        sampler: "tpe" (default, Tree-structured Parzen Estimator, handles conditional spaces), "gp"
            (Gaussian process) or an Optuna sampler object.
    """

    def __init__(self, hypermodel: Any = None, objective: Any = None, max_trials: int = 10,
                 num_initial_points: int | None = None, alpha: float = 1e-4, beta: float = 2.6,
                 seed: int | None = None, hyperparameters: Any = None, tune_new_entries: bool = True,
                 allow_new_entries: bool = True, max_retries_per_trial: int = 0,
                 max_consecutive_failed_trials: int = 3, sampler: Any = "tpe", **kwargs: Any):
        if isinstance(sampler, str) and sampler not in ("tpe", "gp"):
            raise ValueError(f"sampler must be 'tpe', 'gp' or an Optuna sampler, got {sampler!r}")
        self._sampler_kind = sampler
        self.num_initial_points = num_initial_points
        super().__init__(hypermodel, objective, max_trials, seed=seed, hyperparameters=hyperparameters,
                         tune_new_entries=tune_new_entries, allow_new_entries=allow_new_entries,
                         max_retries_per_trial=max_retries_per_trial,
                         max_consecutive_failed_trials=max_consecutive_failed_trials,
                         sampler=None if isinstance(sampler, str) else sampler, **kwargs)

    def _make_sampler(self) -> Any:
        import optuna

        if self.num_initial_points is None:
            tunable = [s for s in self._space() if s.distribution() is not None]
            self.num_initial_points = max(2, 3 * len(tunable)) if tunable else 10
        if self._sampler_kind == "gp":
            return optuna.samplers.GPSampler(seed=self.seed, n_startup_trials=self.num_initial_points)
        return optuna.samplers.TPESampler(seed=self.seed, n_startup_trials=self.num_initial_points,
                                          constant_liar=True)


def hyperband_trials(max_epochs: int, factor: int, iterations: int = 1) -> int:
    """The models Keras Tuner's Hyperband starts: per bracket ``ceil((s_max+1)/(s+1) * factor**s)``."""
    s_max = int(math.floor(math.log(max_epochs, factor) + 1e-9))
    return iterations * sum(math.ceil((s_max + 1) / (s + 1) * factor**s) for s in range(s_max + 1))


class Hyperband(_RandomPlanning, Tuner):
    """Hyperband (Keras Tuner's ``Hyperband``) as Optuna's ``HyperbandPruner``.

    Args:
        max_epochs: the most epochs one trial trains (search()'s ``epochs`` is set to it).
        factor: the reduction factor between rungs (default 3: a third goes on at each rung).
        hyperband_iterations: how many times the bracket schedule is run; with ``max_trials``
            left at None the budget is the number of models Keras Tuner would start.
    """

    def __init__(self, hypermodel: Any = None, objective: Any = None, max_epochs: int = 100, factor: int = 3,
                 hyperband_iterations: int = 1, seed: int | None = None, hyperparameters: Any = None,
                 tune_new_entries: bool = True, allow_new_entries: bool = True, max_retries_per_trial: int = 0,
                 max_consecutive_failed_trials: int = 3, max_trials: int | None = None, **kwargs: Any):
        if isinstance(max_epochs, bool) or not isinstance(max_epochs, int) or max_epochs < 1:
            raise ValueError(f"max_epochs must be a positive integer, got {max_epochs!r}")
        if isinstance(factor, bool) or not isinstance(factor, int) or factor < 2:
            raise ValueError(f"factor must be an integer >= 2, got {factor!r}")
        self.max_epochs, self.factor = max_epochs, factor
        if max_trials is None:
            max_trials = hyperband_trials(max_epochs, factor, hyperband_iterations)
        super().__init__(hypermodel, objective, max_trials, seed=seed, hyperparameters=hyperparameters,
                         tune_new_entries=tune_new_entries, allow_new_entries=allow_new_entries,
                         max_retries_per_trial=max_retries_per_trial,
                         max_consecutive_failed_trials=max_consecutive_failed_trials, **kwargs)

    def _make_sampler(self) -> Any:
        import optuna

        return optuna.samplers.RandomSampler(seed=self.seed)

    def _make_pruner(self) -> Any:
        import optuna

        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=self.max_epochs,
                                              reduction_factor=self.factor)

    def _fit_kwargs(self, fit_kwargs: dict[str, Any]) -> dict[str, Any]:
        return {**fit_kwargs, "epochs": self.max_epochs}
