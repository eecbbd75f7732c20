"""What a search prints: a block per trial (as Keras Tuner's), the results summary and the
search-space summary.

Per trial: its number and place in the budget (``trial 3, 4/10``), a table of its values next
to the best trial's, then fit's own progress bars, then its objective, the best so far, the
elapsed time and an ETA for the rest of the budget at this worker's pace. The summaries read
only the Optuna study, so ``lstmkit tune summary`` prints the same text without the tuner.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from lstmkit.tune.hp_types import HyperParameter

__all__ = ["SearchDisplay", "best_trials", "format_duration", "space_text", "summary_text"]


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600:02d}h {seconds % 3600 // 60:02d}m {seconds % 60:02d}s"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def best_trials(study: Any, num: int | None = None) -> list[Any]:
    """The completed trials, best first (ties: the earlier trial first)."""
    from optuna.study import StudyDirection
    from optuna.trial import TrialState

    sign = 1.0 if study.direction == StudyDirection.MINIMIZE else -1.0
    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.value is not None]
    done.sort(key=lambda t: (sign * t.value, t.number))
    return done if num is None else done[:num]


class SearchDisplay:
    """Prints the per-trial blocks of one worker's search (nothing when ``verbose`` is 0)."""

    def __init__(self, verbose: Any, objective_name: str, max_trials: int | None):
        self.verbose = 0 if verbose in (0, False) else 1
        self.objective_name = objective_name
        self.max_trials = max_trials
        self.start = time.perf_counter()
        self.durations: list[float] = []

    def _print(self, text: str = "") -> None:
        if self.verbose:
            print(text, flush=True)

    def trial_begin(self, number: int, position: int, values: dict[str, Any], best: Any) -> None:
        budget = f"{position}/{self.max_trials}" if self.max_trials else f"{position}"
        self._print(f"\nSearch: Running Trial #{number} ({budget})\n")
        best_values = best.user_attrs.get("hyperparameters", best.params) if best is not None else {}
        rows = [(_fmt(v), _fmt(best_values[k]) if k in best_values else "?", k) for k, v in values.items()]
        if rows:
            width = max(18, *(len(r[0]) + 1 for r in rows), *(len(r[1]) + 1 for r in rows))
            self._print(f"{'Value':<{width}}|{'Best Value So Far':<{width}}|Hyperparameter")
            for value, best_value, name in rows:
                self._print(f"{value:<{width}}|{best_value:<{width}}|{name}")
            self._print()

    def trial_end(self, number: int, state: str, value: float | None, elapsed: float, best: Any,
                  done: int, error: str | None = None) -> None:
        """``state`` is "complete", "pruned" or "failed"; ``done`` counts the study's finished trials."""
        self.durations.append(elapsed)
        label = {"complete": "Complete", "pruned": "Pruned", "failed": "Failed"}[state]
        self._print(f"\nTrial {number} {label} [{format_duration(elapsed)}]")
        if state == "failed":
            self._print(f"error: {error}")
        elif value is not None:
            note = " (at the last report)" if state == "pruned" else ""
            self._print(f"{self.objective_name}: {_fmt(value)}{note}")
        if best is not None:
            self._print(f"\nBest {self.objective_name} So Far: {_fmt(best.value)} (trial {best.number})")
        line = f"Total elapsed time: {format_duration(time.perf_counter() - self.start)}"
        if self.max_trials and done < self.max_trials:
            eta = sum(self.durations) / len(self.durations) * (self.max_trials - done)
            line += f"; ETA {format_duration(eta)} for {self.max_trials - done} more trial(s) at this pace"
        self._print(line)

    def search_end(self, ran: int, reason: str) -> None:
        self._print(f"\nSearch done: {ran} trial(s) run by this worker in "
                    f"{format_duration(time.perf_counter() - self.start)}; {reason}")


def summary_text(study: Any, num_trials: int = 10, where: str | None = None) -> str:
    """Keras Tuner's results summary (best trials, their values and scores), plus trial counts
    and the errors of failed trials."""
    from optuna.trial import TrialState

    objective = study.user_attrs.get("objective", "objective")
    direction = "min" if study.direction.name == "MINIMIZE" else "max"
    trials = study.get_trials(deepcopy=False)
    live = [t for t in trials if not t.user_attrs.get("discarded")]
    counts = {state: sum(t.state == state for t in live) for state in TrialState}
    best = best_trials(study, num_trials)
    lines = ["Results summary", f"Results in {where or study.study_name}", f"Showing {len(best)} best trials",
             f'Objective(name="{objective}", direction="{direction}")',
             "Trials: " + ", ".join(f"{counts[s]} {s.name.lower()}" for s in TrialState if counts[s])
             + (f" ({len(trials) - len(live)} discarded)" if len(live) < len(trials) else "")]
    for trial in best:
        values = trial.user_attrs.get("hyperparameters", trial.params)
        lines += ["", f"Trial {trial.number:02d} summary", "Hyperparameters:"]
        lines += [f"{name}: {_fmt(value)}" for name, value in values.items()]
        lines.append(f"Score: {_fmt(trial.value)}")
    failed = [t for t in live if t.state == TrialState.FAIL]
    if failed:
        lines += ["", "Failed trials:"]
        lines += [f"Trial {t.number:02d}: {t.user_attrs.get('error', 'no error recorded')}" for t in failed]
    return "\n".join(lines)


def space_text(space: Sequence[HyperParameter]) -> str:
    """Keras Tuner's search-space summary: each declaration's kind and settings."""
    lines = ["Search space summary", f"Default search space size: {len(space)}"]
    for spec in space:
        lines.append(f"{spec.name} ({type(spec).__name__})")
        lines.append(str(spec.config()))
    return "\n".join(lines)
