"""Running a tuning script as one worker of a shared study (``lstmkit tune worker SPEC.py``).

A spec is an ordinary tuning script: it builds a tuner and either calls ``tuner.search(...)``
itself or leaves a ``tuner`` with ``search_kwargs`` (and optionally ``search_args``) for the
worker to call. While it runs, every tuner it creates takes the worker's settings instead of
its own: the storage URL, the study name and max_trials given on the command line, and never
``overwrite`` (a worker must not wipe a study other workers are filling). So the same script
runs alone on a laptop or as any number of workers on a database server.
"""

from __future__ import annotations

import contextlib
import os
import runpy
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["WorkerSettings", "current_settings", "run_spec", "worker_settings"]


@dataclass
class WorkerSettings:
    """What the worker command imposes on the tuners a spec creates (None: keep the spec's)."""

    storage: str | None = None
    study_name: str | None = None
    max_trials: int | None = None
    tuners: list[Any] = field(default_factory=list)  # the tuners created while the spec runs


_CURRENT: list[WorkerSettings] = []


def current_settings() -> WorkerSettings | None:
    """The settings of the worker running now in this process (None outside a worker)."""
    return _CURRENT[-1] if _CURRENT else None


@contextlib.contextmanager
def worker_settings(settings: WorkerSettings) -> Iterator[WorkerSettings]:
    _CURRENT.append(settings)
    try:
        yield settings
    finally:
        _CURRENT.pop()


def run_spec(path: str, settings: WorkerSettings) -> list[Any]:
    """Run the spec script as ``__main__`` under ``settings``; call its tuner's search if the script
    did not. Returns the tuners it created. Raises FileNotFoundError/ValueError for a bad spec."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such spec file: {path!r} (expected a Python script that creates a tuner)")
    argv, sys_path = sys.argv[:], sys.path[:]
    sys.argv = [path]  # as `python SPEC.py` would see them: its own argv, its folder importable
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        with worker_settings(settings):
            namespace = runpy.run_path(path, run_name="__main__")
            if not any(getattr(t, "_searched", False) for t in settings.tuners):
                tuner = namespace.get("tuner")
                if tuner is None or ("search_kwargs" not in namespace and "search_args" not in namespace):
                    raise ValueError(f"{path} ran but started no search: call tuner.search(...) in it, or define "
                                     "`tuner` and `search_kwargs` (and optionally `search_args`)")
                tuner.search(*namespace.get("search_args", ()), **namespace.get("search_kwargs", {}))
    finally:
        sys.argv, sys.path[:] = argv, sys_path
    return settings.tuners
