"""``Tuner``: Keras Tuner's search loop on an Optuna study.

A tuner builds a model per trial with ``build_model(hp)``, trains it with ``search()``'s
arguments (forwarded to ``model.fit``), scores it by the objective, saves its best weights in
the project folder and records everything in the study (see study.py for how several workers
share one). Subclasses (tuners.py) choose the sampler and pruner, and may plan each trial's
values themselves (a grid point, a random draw unlike earlier ones).

A failure inside one trial (build error, NaN, missing metric) is recorded as a failed trial with
its message; the search goes on, unless ``max_consecutive_failed_trials`` fail in a row, which
means the problem is in the setup, not in one unlucky trial.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from pathlib import Path
from typing import Any

from lstmkit.tune import study as study_lib
from lstmkit.tune.display import SearchDisplay, best_trials, space_text, summary_text
from lstmkit.tune.hp_types import Fixed, HyperParameter
from lstmkit.tune.hypermodel import as_hypermodel
from lstmkit.tune.hyperparameters import HyperParameters, Source
from lstmkit.tune.objective import infer_objective
from lstmkit.tune.worker import current_settings
from lstmkit.validation import positive_int

__all__ = ["Tuner"]


def _positive(name: str, value: Any, allow_none: bool = False) -> Any:
    return positive_int(name, value, allow_none=allow_none, word="integer")


@contextlib.contextmanager
def _quiet_optuna() -> Any:
    """Optuna logs every trial at INFO; the tuner prints its own display instead."""
    import optuna

    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(level)


class Tuner:
    """Base tuner: an Optuna study, a model-building function and a search loop.

    Args:
        hypermodel: a ``build_model(hp)`` function returning a compiled lstmkit.keras model, or a
            ``HyperModel``.
        objective: a metric name of fit's logs (direction inferred: losses/errors minimised,
            accuracy/AUC maximised) or an ``Objective(name, direction)``.
        max_trials: how many trials the study runs in all (over every worker and every resume).
        executions_per_trial: models trained per trial; the trial's score is their mean.
        seed: seeds the sampler and each execution's training (same seed, same search).
        hyperparameters: a HyperParameters whose declarations override build_model's (e.g. Fixed).
        tune_new_entries: tune declarations not in ``hyperparameters`` (else use their defaults).
        allow_new_entries: allow declarations not in ``hyperparameters``.
        max_retries_per_trial: re-run a failing trial this many times before recording it as failed.
        max_consecutive_failed_trials: stop the search after this many failures in a row.
        directory, project_name: the project folder (trial models, default SQLite study).
        overwrite: start again, deleting the project folder and the study.
        storage: an Optuna storage URL (default ``sqlite:///DIRECTORY/PROJECT_NAME/study.db``) or
            storage object; share one between processes or machines to run one study together.
        study_name: the study's name in the storage (default: project_name).
        sampler, pruner: Optuna sampler/pruner objects replacing the tuner's defaults.
    """

    default_max_trials: int | None = 10

    def __init__(self, hypermodel: Any = None, objective: Any = None, max_trials: int | None = 10, *,
                 executions_per_trial: int = 1, seed: int | None = None,
                 hyperparameters: HyperParameters | None = None, tune_new_entries: bool = True,
                 allow_new_entries: bool = True, max_retries_per_trial: int = 0,
                 max_consecutive_failed_trials: int = 3, directory: str | Path = ".",
                 project_name: str = "untitled_project", overwrite: bool = False, storage: Any = None,
                 study_name: str | None = None, sampler: Any = None, pruner: Any = None):
        if hypermodel is None:
            raise ValueError("a tuner needs a hypermodel: a build_model(hp) function or a HyperModel")
        self.hypermodel = as_hypermodel(hypermodel)
        self.objective = infer_objective(objective)
        settings = current_settings()
        if settings is not None:  # running as `lstmkit tune worker`: the command line decides
            storage = settings.storage or storage
            study_name = settings.study_name or study_name
            max_trials = settings.max_trials or max_trials
            overwrite = False
            settings.tuners.append(self)
        self.max_trials = _positive("max_trials", max_trials, allow_none=True)
        self.executions_per_trial = _positive("executions_per_trial", executions_per_trial)
        self.max_retries_per_trial = int(max_retries_per_trial)
        self.max_consecutive_failed_trials = _positive("max_consecutive_failed_trials", max_consecutive_failed_trials)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32):
            raise ValueError(f"seed must be an integer in [0, 2**32 - 1] or None, got {seed!r}")
        self.seed = seed
        self._hp_overrides = hyperparameters
        self.tune_new_entries = tune_new_entries
        self.allow_new_entries = allow_new_entries
        if not isinstance(project_name, str) or project_name.strip(". /\\") == "":
            raise ValueError(f"project_name must name a folder, got {project_name!r}")
        self.directory, self.project_name = str(directory), project_name
        self.project_dir = Path(directory) / project_name
        if overwrite and self.project_dir.exists():
            shutil.rmtree(self.project_dir)
        self.project_dir.mkdir(parents=True, exist_ok=True)
        self.storage = storage if storage is not None else f"sqlite:///{(self.project_dir / 'study.db').resolve()}"
        self.study_name = study_name or project_name
        self._space_cache: list[HyperParameter] | None = None
        self._searched = False
        sampler = sampler if sampler is not None else self._make_sampler()
        pruner = pruner if pruner is not None else self._make_pruner()
        with _quiet_optuna():
            self.study = study_lib.open_study(self.storage, self.study_name, self.objective, sampler, pruner,
                                              overwrite, type(self).__name__)

    # ------------------------------------------------------------------ hooks for subclasses
    def _make_sampler(self) -> Any:
        import optuna

        return optuna.samplers.TPESampler(seed=self.seed)

    def _make_pruner(self) -> Any:
        import optuna

        return optuna.pruners.NopPruner()

    def _plan(self, trials: list[Any]) -> dict[str, Any] | None:
        """The values of the next trial, {} to let the sampler draw them, None when nothing is left."""
        return {}

    def _fit_kwargs(self, fit_kwargs: dict[str, Any]) -> dict[str, Any]:
        return fit_kwargs

    # ------------------------------------------------------------------ hyper-parameter sources
    def _source(self, pick: Source) -> Source:
        """Apply ``hyperparameters``/``tune_new_entries``/``allow_new_entries``, then ``pick`` a value."""
        def source(spec: HyperParameter) -> Any:
            if self._hp_overrides is not None:
                override = next((h for h in self._hp_overrides.space if h.name == spec.name), None)
                if override is not None:
                    spec = override
                elif not self.allow_new_entries:
                    raise ValueError(f"hyper-parameter {spec.name!r} is not in the tuner's `hyperparameters` and "
                                     "allow_new_entries=False")
                elif not self.tune_new_entries:
                    return spec.default
            return spec.value if isinstance(spec, Fixed) else pick(spec)

        return source

    def _dry_run(self, pick: Source) -> HyperParameters:
        """Build one model with values from ``pick``, only to learn the declarations. A build that
        raises still tells the values declared before the error; the trial that runs them will
        fail with that error and record it."""
        hp = HyperParameters()
        hp._source = self._source(pick)
        try:
            self.hypermodel.declare_hyperparameters(hp)
            self.hypermodel.build(hp)
        except Exception:
            pass
        return hp

    def _space(self) -> list[HyperParameter]:
        if self._space_cache is None:
            from lstmkit.tune.planning import discover_space

            self._space_cache = discover_space(self._dry_run)
        return self._space_cache

    # ------------------------------------------------------------------ search
    def search(self, *fit_args: Any, **fit_kwargs: Any) -> None:
        """Run trials until the study has ``max_trials`` (or the space is exhausted). Arguments go
        to ``model.fit`` (``epochs``, ``validation_data``, ``callbacks``, ``verbose``...)."""
        fit_kwargs = self._fit_kwargs(dict(fit_kwargs))
        display = SearchDisplay(fit_kwargs.get("verbose", 1), self.objective.name, self.max_trials)
        self._searched = True
        ran, failures = 0, 0
        with _quiet_optuna():
            while True:
                claimed = study_lib.claim_trial(self.study, self.storage, self.max_trials, self._plan)
                if claimed is None:
                    break
                trial, position = claimed
                with study_lib.in_progress(self.study, trial.number):
                    state, error = self._run_trial(trial, position, fit_args, fit_kwargs, display)
                ran += 1
                failures = failures + 1 if state == "failed" else 0
                if failures >= self.max_consecutive_failed_trials:
                    raise RuntimeError(f"{failures} consecutive trials failed; the last one with {error}")
        total = len(study_lib.counted(self.study.get_trials(deepcopy=False)))
        spent = self.max_trials is not None and total >= self.max_trials
        display.search_end(ran, f"the study has {total} of max_trials={self.max_trials} trials" if spent
                           else "no new hyper-parameter values are left to try")

    def _seed_execution(self, number: int, execution: int) -> None:
        if self.seed is None:
            return
        import numpy as np

        from lstmkit.keras.utils import set_random_seed

        set_random_seed(int(np.random.SeedSequence([self.seed, number, execution]).generate_state(1)[0]))

    def _build(self, hp: HyperParameters) -> Any:
        from lstmkit.keras.models import Model

        model = self.hypermodel.build(hp)
        if not isinstance(model, Model):
            raise TypeError(f"build_model must return a compiled lstmkit.keras model, got {type(model).__name__}")
        if not model.compiled:
            raise ValueError("build_model must return a compiled model: call model.compile(...) before returning it")
        return model

    def _trial_path(self, number: int) -> Path:
        return self.project_dir / f"trial_{number:04d}" / "model.keras"

    def _run_trial(self, trial: Any, position: int, fit_args: tuple, fit_kwargs: dict,
                   display: SearchDisplay) -> tuple[str, str | None]:
        """Run, record and tell one trial; returns its state ("complete", "pruned", "failed") and error."""
        import optuna
        from optuna.trial import TrialState

        from lstmkit.tune.trial_run import run_executions

        start = time.perf_counter()
        pruning = not isinstance(self.study.pruner, optuna.pruners.NopPruner)

        def report(value: float, step: int) -> bool:
            trial.report(value, step)
            return pruning and trial.should_prune()

        best = next(iter(best_trials(self.study, 1)), None)
        outcome, error, hp, shown = None, None, HyperParameters(), False
        for _attempt in range(1 + self.max_retries_per_trial):
            hp = HyperParameters()
            hp._source = self._source(lambda spec: spec.suggest(trial))
            try:
                self._seed_execution(trial.number, 0)
                model = self._build(hp)
                trial.set_user_attr(study_lib.ATTR["values"], hp.values)
                if not shown:
                    display.trial_begin(trial.number, position, hp.values, best)
                    shown = True
                outcome = run_executions(
                    hypermodel=self.hypermodel, build=self._build, hp=hp, first_model=model,
                    objective=self.objective, executions=self.executions_per_trial,
                    seed_execution=lambda e: self._seed_execution(trial.number, e), report=report,
                    fit_args=fit_args, fit_kwargs=fit_kwargs, save_path=self._trial_path(trial.number))
                if hp.values != trial.user_attrs.get(study_lib.ATTR["values"]):  # HyperModel.fit declared more
                    trial.set_user_attr(study_lib.ATTR["values"], hp.values)
                error = None
                break
            except optuna.TrialPruned:
                outcome, error = None, None
                break
            except KeyboardInterrupt:
                study_lib.requeue(self.study, trial.number, "interrupted (KeyboardInterrupt)")
                raise
            except Exception as exc:  # any error inside a trial fails that trial only
                error = f"{type(exc).__name__}: {exc}"
                if not shown:  # the build failed: show what was declared before the error
                    display.trial_begin(trial.number, position, hp.values, best)
                    shown = True
        elapsed = time.perf_counter() - start
        trial.set_user_attr("elapsed_s", round(elapsed, 3))
        if error is not None:
            trial.set_user_attr(study_lib.ATTR["error"], error)
            study_lib.retry(lambda: self.study.tell(trial, state=TrialState.FAIL))
            state, value = "failed", None
        elif outcome is None or outcome.pruned:
            study_lib.retry(lambda: self.study.tell(trial, state=TrialState.PRUNED))
            state, value = "pruned", outcome.last_reported if outcome is not None else None
        else:
            for key, item in (("best_epoch", outcome.best_epoch), ("metrics", outcome.metrics),
                              ("execution_values", outcome.execution_values),
                              ("model_path", str(self._trial_path(trial.number).resolve()))):
                trial.set_user_attr(key, item)
            study_lib.retry(lambda: self.study.tell(trial, outcome.value))
            state, value = "complete", outcome.value
        done = sum(t.state.is_finished() for t in study_lib.counted(self.study.get_trials(deepcopy=False)))
        display.trial_end(trial.number, state, value, elapsed, next(iter(best_trials(self.study, 1)), None),
                          done, error)
        return state, error

    # ------------------------------------------------------------------ results
    def get_best_hyperparameters(self, num_trials: int = 1) -> list[HyperParameters]:
        """The values of the best completed trials, best first (``build_model(hp)`` rebuilds them)."""
        return [HyperParameters.from_values(study_lib.trial_values(t) or {})
                for t in best_trials(self.study, num_trials)]

    def get_best_models(self, num_models: int = 1) -> list[Any]:
        """The best trials' models: rebuilt with their values, with the saved best-epoch weights."""
        from lstmkit.keras.models import load_model

        models = []
        for trial in best_trials(self.study, num_models):
            path = Path(trial.user_attrs.get("model_path") or self._trial_path(trial.number))
            if not path.is_file():
                raise FileNotFoundError(f"trial {trial.number}'s model is not at {path} (worker "
                                        f"{trial.user_attrs.get('worker', '?')} saved it); copy it there, or rebuild "
                                        "and train from get_best_hyperparameters()")
            model = self.hypermodel.build(HyperParameters.from_values(study_lib.trial_values(trial) or {}))
            if getattr(model, "built", False):
                model.load_weights(path)
            else:
                model = load_model(path)
            models.append(model)
        return models

    def results_summary(self, num_trials: int = 10) -> None:
        """Print the best trials: their hyper-parameters and scores."""
        print(summary_text(self.study, num_trials, where=str(self.project_dir)))

    def search_space_summary(self, extended: bool = False) -> None:
        """Print the declared hyper-parameters (found by building the model without training)."""
        print(space_text(self._space()))
