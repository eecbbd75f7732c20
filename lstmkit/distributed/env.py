"""Where this process stands in a distributed job, read from the environment torchrun sets
(``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``/``MASTER_PORT``), and the process
group's life cycle.

Reading the environment (not the process group) lets code ask "am I rank 0?" before the group
exists, e.g. to decide who prints or writes files. The module imports nothing heavy at import
time (torch is imported inside the functions), so command-line parsers can use it.

Backends: ``gloo`` on CPU, ``nccl`` when CUDA is available (one GPU per process, chosen by
``LOCAL_RANK``). Every collective has a timeout (``LSTMKIT_DIST_TIMEOUT`` seconds, default 600),
so a process that stops answering ends the job with an error instead of a hang; a process that
dies is noticed at once (its sockets close) and torchrun stops the others.
"""

from __future__ import annotations

import atexit
import datetime
import os
import sys
from typing import Any

DEFAULT_TIMEOUT_S = 600.0
TIMEOUT_ENV = "LSTMKIT_DIST_TIMEOUT"

_created_here = False  # whether this module initialised the process group (then it also destroys it)


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"the environment variable {name} must be an integer, got {value!r}") from None


def _group_ready() -> bool:
    try:
        import torch.distributed as dist
    except ImportError:  # pragma: no cover - torch without distributed support
        return False
    return dist.is_available() and dist.is_initialized()


def world_size() -> int:
    """Number of processes in the job (1 when not launched by torchrun)."""
    if _group_ready():
        import torch.distributed as dist

        return dist.get_world_size()
    return _env_int("WORLD_SIZE", 1)


def rank() -> int:
    """This process's global rank, 0 .. world_size() - 1 (0 when not distributed)."""
    if _group_ready():
        import torch.distributed as dist

        return dist.get_rank()
    return _env_int("RANK", 0)


def local_rank() -> int:
    """This process's rank on its machine (selects the GPU with nccl)."""
    return _env_int("LOCAL_RANK", 0)


def is_distributed() -> bool:
    """True when the job has more than one process."""
    return world_size() > 1


def is_main_process() -> bool:
    """True on rank 0, the process that prints progress and writes files (and when not distributed)."""
    return rank() == 0


def in_torchrun_worker() -> bool:
    """True inside a process started by torchrun / torch.distributed.run (it sets these variables)."""
    return "TORCHELASTIC_RUN_ID" in os.environ or ("LOCAL_RANK" in os.environ and "WORLD_SIZE" in os.environ)


def timeout() -> datetime.timedelta:
    """The collective timeout: ``LSTMKIT_DIST_TIMEOUT`` seconds, default 600."""
    raw = os.environ.get(TIMEOUT_ENV, "")
    try:
        seconds = float(raw) if raw else DEFAULT_TIMEOUT_S
    except ValueError:
        raise ValueError(f"{TIMEOUT_ENV} must be a number of seconds, got {raw!r}") from None
    if not seconds > 0:
        raise ValueError(f"{TIMEOUT_ENV} must be positive, got {raw!r}")
    return datetime.timedelta(seconds=seconds)


def default_backend() -> str:
    """``nccl`` when NCCL is available and this machine has a GPU for each of its processes
    (``LOCAL_WORLD_SIZE``, set by torchrun), else ``gloo`` (CPU)."""
    import torch
    import torch.distributed as dist

    local = _env_int("LOCAL_WORLD_SIZE", 1)
    if torch.cuda.is_available() and dist.is_nccl_available() and torch.cuda.device_count() >= local:
        return "nccl"
    return "gloo"


def device_for(backend: str) -> Any:
    """The device this process trains on with nccl (its own GPU) or gloo (the CPU)."""
    import torch

    if backend == "nccl":
        return torch.device("cuda", local_rank())
    return torch.device("cpu")


def init_process_group(backend: str | None = None, timeout_s: float | None = None) -> bool:
    """Join the job's process group (``env://`` rendezvous, as torchrun sets up) if the job has
    several processes and the group does not exist yet. Returns True when this call created it
    (then every rank leaves it together at interpreter exit).

    Args:
        backend: "gloo" or "nccl" (default: nccl with CUDA, else gloo).
        timeout_s: collective timeout in seconds (default: ``LSTMKIT_DIST_TIMEOUT`` or 600).
    """
    global _created_here
    import torch
    import torch.distributed as dist

    if not dist.is_available():
        raise RuntimeError("this build of torch has no torch.distributed support")
    if dist.is_initialized():
        return False
    if _env_int("WORLD_SIZE", 1) <= 1:
        return False
    for name in ("RANK", "MASTER_ADDR", "MASTER_PORT"):
        if name not in os.environ:
            raise RuntimeError(f"WORLD_SIZE={os.environ['WORLD_SIZE']} but {name} is not set: launch the job with "
                               "torchrun (python -m torch.distributed.run) or the --nproc option")
    backend = backend or default_backend()
    if backend not in ("gloo", "nccl"):
        raise ValueError(f"backend must be 'gloo' or 'nccl', got {backend!r}")
    if backend == "nccl":
        gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if local_rank() >= gpus:
            raise RuntimeError(f"backend 'nccl' needs one GPU per process on a machine, but LOCAL_RANK is "
                               f"{local_rank()} and there are {gpus} GPU(s): start at most {gpus} processes per "
                               "machine, or use gloo")
        torch.cuda.set_device(local_rank())
    limit = datetime.timedelta(seconds=timeout_s) if timeout_s is not None else timeout()
    dist.init_process_group(backend=backend, init_method="env://", timeout=limit)
    if not _created_here:
        # Leave the group explicitly at exit, after a barrier: exiting with the group alive lets
        # C++ static destruction tear down gloo's threads (seen as "terminate called without an
        # active exception", SIGABRT, after a successful run), and destroying it while a peer
        # still communicates races; the barrier makes every rank finish first.
        atexit.register(_shutdown)
        sys.excepthook = _excepthook
    _created_here = True
    return True


_failing = False  # set when this process dies of an uncaught exception or reports a failure


def mark_failing() -> None:
    """This process is ending because of an error: at exit, leave at once (no barrier with the
    peers, which may be blocked in a collective waiting for us)."""
    global _failing
    _failing = True


def _excepthook(exc_type, exc, tb, _previous=sys.excepthook) -> None:
    mark_failing()
    _previous(exc_type, exc, tb)


def _shutdown() -> None:
    """At a normal interpreter exit: wait for every rank, then leave the group together."""
    if not _group_ready() or _failing:
        return
    import torch.distributed as dist

    if dist.get_backend() == "gloo":
        try:  # bounded: if a peer failed, leave after a few seconds (the launcher reports the failure)
            dist.monitored_barrier(timeout=datetime.timedelta(seconds=10))
        except Exception:
            pass
    destroy_process_group()


def destroy_process_group() -> None:
    """Leave the process group if it exists (safe to call twice)."""
    global _created_here
    if _group_ready():
        import torch.distributed as dist

        dist.destroy_process_group()
    _created_here = False
