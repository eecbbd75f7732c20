"""The Optuna study behind a tuner, shared safely by any number of worker processes.

The study lives in an Optuna storage: by default a SQLite file in the project folder, so a
search that is stopped resumes where it was; any Optuna storage URL (``postgresql://...``) lets
processes on several machines work on one study.

Workers coordinate through the storage alone. Taking the next trial ("claiming") counts the
study's trials against ``max_trials``, plans its hyper-parameters where the tuner plans them
(a grid point, a random draw unlike every earlier one) and creates the trial. For SQLite the claim
runs under an exclusive file lock beside the database, so two workers never overshoot
``max_trials`` nor take the same grid point: Optuna's own hand-out of queued trials is a
read-then-write that is not atomic on SQLite. Server databases get no lock; there a worker that
finds it overshot marks its trial "discarded" instead of running it, so the budget still holds.

A trial left RUNNING by a worker that died (same host, process gone) is marked failed and
discarded, and its hyper-parameters are queued again, as Keras Tuner re-runs interrupted trials.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["ATTR", "claim_trial", "counted", "discard", "open_study", "requeue", "sqlite_path", "storage_for",
           "study_lock", "trial_values", "worker_id"]

#: user attributes lstmkit records on trials and studies
ATTR = {
    "values": "hyperparameters",  # the active hyper-parameter values (planned ones are set at enqueue)
    "worker": "worker",  # "host:pid" of the process that ran the trial
    "discarded": "discarded",  # why the trial does not count (interrupted, surplus)
    "rerun_of": "rerun_of",  # the interrupted trial this one repeats
    "error": "error",  # why the trial failed
    "objective": "objective",  # study: the objective's name
    "tuner": "tuner",  # study: the tuner class that created it
}
SQLITE_TIMEOUT_S = 60  # how long a SQLite connection waits for another process's write
_IN_PROGRESS: set[tuple[str, int]] = set()  # (study name, trial number) running in this process


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def sqlite_path(storage: Any) -> Path | None:
    """The database file of a ``sqlite:///PATH`` URL (None for other storages and in-memory SQLite)."""
    if isinstance(storage, str) and storage.startswith("sqlite:///") and len(storage) > len("sqlite:///"):
        return Path(storage[len("sqlite:///"):].split("?")[0])
    return None


def _sqlite_connector(path: Path) -> Callable[[], Any]:
    """Connections in write-ahead-log mode: readers never block the writer, and a commit is not a
    disk flush (``synchronous=NORMAL``: a power cut may lose the last trials, never corrupt the
    file). A connection waits up to SQLITE_TIMEOUT_S for another process's write."""
    def connect() -> Any:
        import sqlite3

        connection = sqlite3.connect(str(path), timeout=SQLITE_TIMEOUT_S, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        return connection

    return connect


def storage_for(storage: Any) -> Any:
    """An Optuna storage from a URL or a storage object (returned as is)."""
    import optuna

    if not isinstance(storage, str):
        return storage
    path = sqlite_path(storage)
    engine_kwargs = {"creator": _sqlite_connector(path)} if path is not None else None
    try:
        return optuna.storages.RDBStorage(storage, engine_kwargs=engine_kwargs)
    except (ValueError, ImportError, ModuleNotFoundError) as exc:
        raise ValueError(f"cannot open the Optuna storage {storage!r}: {exc}") from None


@contextlib.contextmanager
def study_lock(storage: Any) -> Iterator[None]:
    """Exclusive across processes for a SQLite file (an ``fcntl`` lock on ``DB.lock``); a no-op otherwise."""
    path = sqlite_path(storage)
    try:
        import fcntl
    except ImportError:  # Windows: no cross-process lock; the surplus check still keeps the budget
        fcntl = None
    if path is None or fcntl is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def retry(fn: Callable[[], Any], attempts: int = 5) -> Any:
    """Run a storage operation, retrying a few times when the database is busy."""
    import optuna

    for attempt in range(attempts):
        try:
            return fn()
        except optuna.exceptions.StorageInternalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * 2**attempt)
    return None


def open_study(storage: Any, study_name: str, objective: Any, sampler: Any, pruner: Any, overwrite: bool,
               tuner_name: str) -> Any:
    """Create or load the study; refuse one that optimises another objective or direction."""
    import optuna

    with study_lock(storage):  # creating the tables is not safe against a concurrent creation either
        backend = storage_for(storage)
        if overwrite:
            with contextlib.suppress(KeyError):
                optuna.delete_study(study_name=study_name, storage=backend)
        study = optuna.create_study(storage=backend, study_name=study_name, direction=objective.optuna_direction,
                                    sampler=sampler, pruner=pruner, load_if_exists=True)
        recorded = study.user_attrs.get(ATTR["objective"])
        if study.direction.name.lower() != objective.optuna_direction or recorded not in (None, objective.name):
            raise ValueError(f"the study {study_name!r} already {study.direction.name.lower()}s "
                             f"{recorded or 'its objective'!r}, but this tuner's objective is {objective!r}; use "
                             "another project_name/study_name, or overwrite=True to start again")
        if recorded is None:
            study.set_user_attr(ATTR["objective"], objective.name)
            study.set_user_attr(ATTR["tuner"], tuner_name)
    return study


def trial_values(trial: Any) -> dict[str, Any] | None:
    """A trial's hyper-parameter values: as recorded by lstmkit, else its Optuna params."""
    values = trial.user_attrs.get(ATTR["values"])
    if values is not None:
        return values
    return dict(trial.params) if trial.params else None


def counted(trials: list[Any]) -> list[Any]:
    """The trials that count against max_trials (all but discarded ones)."""
    return [t for t in trials if not t.user_attrs.get(ATTR["discarded"])]


def discard(study: Any, number: int, reason: str) -> None:
    """Mark a trial as not counting and finish it as failed."""
    from optuna.trial import TrialState

    trial = study.get_trials(deepcopy=False)[number]
    study._storage.set_trial_user_attr(trial._trial_id, ATTR["discarded"], reason)  # no public API for others' trials
    if not trial.state.is_finished():
        study.tell(number, state=TrialState.FAIL, skip_if_finished=True)


def _dead(worker: str) -> bool:
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or os.name == "nt":
        return False  # another machine's worker (or no way to check): assume it lives
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def requeue(study: Any, number: int, reason: str) -> None:
    """Discard an interrupted trial and queue its hyper-parameter values to run again."""
    trial = study.get_trials(deepcopy=False)[number]
    discard(study, number, reason)
    values = trial_values(trial)
    if values:
        study.enqueue_trial(values, user_attrs={ATTR["values"]: values, ATTR["rerun_of"]: number})


def requeue_interrupted(study: Any) -> list[int]:
    """Requeue the RUNNING trials whose worker process is gone (same host, process not alive)."""
    from optuna.trial import TrialState

    requeued = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = trial.user_attrs.get(ATTR["worker"])
        if not worker:
            continue
        mine = worker == worker_id()
        if (mine and (study.study_name, trial.number) in _IN_PROGRESS) or (not mine and not _dead(worker)):
            continue
        requeue(study, trial.number, f"interrupted (worker {worker} stopped)")
        requeued.append(trial.number)
    return requeued


def claim_trial(study: Any, storage: Any, max_trials: int | None,
                plan: Callable[[list[Any]], dict[str, Any] | None]) -> tuple[Any, int] | None:
    """The next trial to run and its position in the budget (1-based), or None when the budget is
    spent or ``plan`` finds nothing new. ``plan(counted_trials)`` returns the values to run next
    ({} to let the sampler choose) or None when the space is exhausted."""
    from optuna.trial import TrialState

    with study_lock(storage):
        retry(lambda: requeue_interrupted(study))
        trials = counted(study.get_trials(deepcopy=False))
        if not any(t.state == TrialState.WAITING for t in trials):
            if max_trials is not None and len(trials) >= max_trials:
                return None
            values = plan(trials)
            if values is None:
                return None
            if values:
                retry(lambda: study.enqueue_trial(values, user_attrs={ATTR["values"]: values}))
        trial = retry(study.ask)
        trial.set_user_attr(ATTR["worker"], worker_id())
        before = [t for t in counted(study.get_trials(deepcopy=False)) if t.number < trial.number]
    if max_trials is not None and len(before) >= max_trials:  # another worker got there first (no lock)
        discard(study, trial.number, "surplus (max_trials was reached by other workers)")
        return None
    return trial, len(before) + 1


@contextlib.contextmanager
def in_progress(study: Any, number: int) -> Iterator[None]:
    """Mark a trial as being run by this process (so it is never taken for an interrupted one)."""
    key = (study.study_name, number)
    _IN_PROGRESS.add(key)
    try:
        yield
    finally:
        _IN_PROGRESS.discard(key)
