"""``--nproc N`` for training commands: the command re-runs itself under torchrun.

A command adds the options with ``add_nproc_argument(parser)`` and starts its handler with::

    code = relaunch_if_requested(args)
    if code is not None:
        return code          # the job ran (under torchrun) and ended
    ...                      # a torchrun worker, or a plain one-process run: train as usual

With ``--nproc N > 1`` (or ``--nnodes > 1``) and not already inside a torchrun worker, it runs
``python -m torch.distributed.run --nproc-per-node N [rendezvous options] -m lstmkit <the same
arguments>`` in-process (torch's launcher, ``torch.distributed.run``, not a home-made one): N
workers start, each sees ``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` and takes the ordinary code path,
where ``fit(..., distributed=True)`` joins them. If a worker fails, torchrun stops the others and
the command ends with one line naming the failing rank and its error.

Rendezvous: one machine needs nothing (torchrun picks a free port). Several machines: run the
same command on each with ``--nnodes M`` and either ``--node-rank K --master-addr HOST
--master-port PORT`` (static: HOST is node 0's address) or ``--rdzv-endpoint HOST:PORT
[--rdzv-id JOB]`` (c10d: any node may start first). Nothing here imports torch until a launch.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from lstmkit.cliutil import int_in
from lstmkit.distributed.env import in_torchrun_worker
from lstmkit.errors import AppError

#: Worker failures that are consequences of another worker's failure: torchrun's stop signals
#: (SIGINT, SIGKILL, SIGTERM) and errors of collectives whose peer went away. The launcher names
#: the rank whose failure is not one of these.
_STOP_EXIT_CODES = (-2, -9, -15)
_SECONDARY_MESSAGES = ("connection closed by peer", "connection reset by peer", "broken pipe", "distbackenderror")


class LaunchError(AppError):
    """A distributed job that did not end well (one line: which rank failed and why)."""


def add_nproc_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--nproc`` and the multi-node rendezvous options (a "distributed training" group)."""
    group = parser.add_argument_group(
        "distributed training",
        "train data-parallel (torch DistributedDataParallel) with several processes; --batch-size stays the "
        "global batch, split across them. See docs/distributed.md.")
    group.add_argument("--nproc", type=int_in(1), default=1, metavar="N",
                       help="processes on this machine (one per GPU, or CPU workers; default: 1)")
    group.add_argument("--nnodes", type=int_in(1), default=1, metavar="M",
                       help="machines in the job (default: 1); with more, run the same command on each")
    group.add_argument("--node-rank", type=int_in(0), default=None, metavar="K",
                       help="this machine's index 0..M-1 (static rendezvous with --master-addr)")
    group.add_argument("--master-addr", default=None, metavar="HOST",
                       help="address of machine 0 (static rendezvous)")
    group.add_argument("--master-port", type=int_in(1, 65535), default=None, metavar="PORT",
                       help="free TCP port on machine 0 (static rendezvous; default: 29500)")
    group.add_argument("--rdzv-endpoint", default=None, metavar="HOST:PORT",
                       help="c10d rendezvous endpoint, instead of --node-rank/--master-addr")
    group.add_argument("--rdzv-id", default=None, metavar="JOB",
                       help="job id shared by all machines with --rdzv-endpoint (default: lstmkit)")


def torchrun_args(args: argparse.Namespace) -> list[str]:
    """torchrun's options (before the program) for the parsed ``--nproc``/rendezvous options."""
    nproc = int(getattr(args, "nproc", 1) or 1)
    nnodes = int(getattr(args, "nnodes", 1) or 1)
    node_rank = getattr(args, "node_rank", None)
    addr, port = getattr(args, "master_addr", None), getattr(args, "master_port", None)
    endpoint, rdzv_id = getattr(args, "rdzv_endpoint", None), getattr(args, "rdzv_id", None)
    opts = [f"--nproc-per-node={nproc}"]
    if endpoint and (addr or node_rank is not None):
        raise AppError("pass either --rdzv-endpoint (c10d rendezvous) or --node-rank/--master-addr (static "
                       "rendezvous), not both")
    if endpoint:
        if ":" not in endpoint:
            raise AppError(f"--rdzv-endpoint must be HOST:PORT, got {endpoint!r}")
        return opts + [f"--nnodes={nnodes}", "--rdzv-backend=c10d", f"--rdzv-endpoint={endpoint}",
                       f"--rdzv-id={rdzv_id or 'lstmkit'}"]
    if nnodes == 1 and addr is None and port is None:
        return opts + ["--standalone"]
    if nnodes > 1 and (addr is None or node_rank is None):
        raise AppError(f"--nnodes {nnodes} needs --node-rank and --master-addr (or --rdzv-endpoint HOST:PORT) so "
                       "the machines can find each other")
    if node_rank is not None and node_rank >= nnodes:
        raise AppError(f"--node-rank must be between 0 and {nnodes - 1} (--nnodes {nnodes}), got {node_rank}")
    return opts + [f"--nnodes={nnodes}", f"--node-rank={node_rank or 0}", f"--master-addr={addr or '127.0.0.1'}",
                   f"--master-port={port or 29500}"]


def command_line(args: argparse.Namespace, argv: Sequence[str], *, module: str = "lstmkit",
                 script: str | None = None) -> list[str]:
    """The full command ``relaunch_if_requested`` runs, as a shell would: for display and docs."""
    return [sys.executable, "-m", "torch.distributed.run", *torchrun_args(args), *_program(argv, module, script)]


def _program(argv: Sequence[str], module: str, script: str | None) -> list[str]:
    # "--" ends torchrun's options: without it argparse may take the program's own options
    # (e.g. --nproc, an abbreviation of torchrun's --nproc-per-node) for torchrun's
    return ["--", script, *argv] if script else ["--module", "--", module, *argv]


def relaunch_if_requested(args: argparse.Namespace, argv: Sequence[str] | None = None, *, module: str = "lstmkit",
                          script: str | None = None,
                          runner: Callable[[list[str]], int] | None = None) -> int | None:
    """Re-run this command under torchrun when ``--nproc``/``--nnodes`` ask for more than one
    process and this is not already a torchrun worker. Returns the job's exit status (0) after
    it ran, or None when the caller should just go on (one process, or inside a worker).

    Args:
        args: the parsed arguments (with the options of ``add_nproc_argument``).
        argv: the command's arguments to repeat (default: ``args.argv`` if the CLI stored it,
            else ``sys.argv[1:]``).
        module: the module the workers run as ``python -m`` (default: lstmkit).
        script: run this Python file instead of ``module``.
        runner: what runs torchrun's argument list (default: ``run_torchrun``; tests pass a fake).

    Raises:
        LaunchError: a worker failed (the message names its rank) or the options are inconsistent.
    """
    if in_torchrun_worker():
        return None
    if int(getattr(args, "nproc", 1) or 1) <= 1 and int(getattr(args, "nnodes", 1) or 1) <= 1:
        return None
    if argv is None:
        argv = getattr(args, "argv", None)
    if argv is None:
        argv = sys.argv[1:]
    torchrun_argv = [*torchrun_args(args), *_program(list(argv), module, script)]
    nproc, nnodes = int(getattr(args, "nproc", 1) or 1), int(getattr(args, "nnodes", 1) or 1)
    where = f"{nproc} processes" + (f" on each of {nnodes} machines" if nnodes > 1 else "")
    print(f"lstmkit: starting {where} with torchrun", file=sys.stderr, flush=True)
    return (runner or run_torchrun)(torchrun_argv)


def run_torchrun(torchrun_argv: list[str]) -> int:
    """Run ``torch.distributed.run`` (torchrun) in this process with these arguments; returns 0
    when every worker succeeded, raises ``LaunchError`` naming the failing rank otherwise."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    try:
        run(parse_args(torchrun_argv))
    except ChildFailedError as exc:
        raise LaunchError(describe_failure(exc.failures)) from None
    return 0


def _message(failure: Any) -> str:
    message = failure.message
    if isinstance(message, dict):
        message = message.get("message", "")
    message = str(message or "")
    if "To enable traceback" in message:
        return ""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def _secondary(failure: Any) -> bool:
    text = _message(failure).lower()
    return failure.exitcode in _STOP_EXIT_CODES or any(pattern in text for pattern in _SECONDARY_MESSAGES)


def describe_failure(failures: dict[int, Any]) -> str:
    """One line naming the rank whose failure started it all (torchrun's ProcessFailure records):
    the earliest failure that is not just a consequence of another (a closed connection, a stop
    signal from torchrun)."""
    primary = {r: f for r, f in failures.items() if not _secondary(f)} or failures
    rank, failure = min(primary.items(), key=lambda item: (item[1].timestamp, item[0]))
    cause = f"exit code {failure.exitcode}" if failure.exitcode >= 0 else f"signal {failure.signal_name()}"
    text = f"training process rank {rank} (local rank {failure.local_rank}) failed with {cause}"
    message = _message(failure)
    if message:
        text += f": {message}"
    others = sorted(set(failures) - {rank})
    if others:
        text += f"; ranks {', '.join(map(str, others))} stopped too" if len(others) > 1 else \
            f"; rank {others[0]} stopped too"
    return text


def record_failure(exc: BaseException) -> None:
    """Inside a torchrun worker, write ``exc`` to the error file torchrun reads (its message then
    reaches the launcher's one-line error). Does nothing elsewhere or if the file exists."""
    from lstmkit.distributed.env import mark_failing

    mark_failing()
    path = os.environ.get("TORCHELASTIC_ERROR_FILE")
    if not path or os.path.exists(path):
        return
    data = {"message": {"message": f"{type(exc).__name__}: {exc}",
                        "extraInfo": {"py_callstack": "".join(traceback.format_exception(exc)),
                                      "timestamp": str(int(time.time()))}}}
    try:
        with open(path, "w") as f:
            json.dump(data, f)
    except OSError:
        pass
