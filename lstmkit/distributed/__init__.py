"""Data-parallel training across processes and machines with torch.distributed +
DistributedDataParallel (see docs/distributed.md).

- ``model.fit(..., distributed=True)`` or ``fit(..., strategy=DistributedStrategy(...))`` trains
  one lstmkit.keras model with every process of a torchrun job (``batch_size`` is the global batch);
- ``add_nproc_argument(parser)`` / ``relaunch_if_requested(args, argv)`` give a command line
  ``--nproc N`` (and the multi-node rendezvous options): the command re-runs itself under torchrun;
- ``rank()``, ``world_size()``, ``is_main_process()``... read the job's environment.

Importing this package is cheap (torch is imported on first use of the strategy), so command-line
parsers can use the launch helpers.

The training loop itself is lstmkit.keras' (one loop for one or N processes); ``DistributedStrategy``
implements its ``Strategy`` protocol (lstmkit/keras/models/strategy.py). Its module registers it as
``"ddp"`` with lstmkit.keras when imported: on first use of ``DistributedStrategy`` here, or when
``fit(distributed=True)`` loads it through the ``lstmkit.strategies`` entry point. This package does not
import lstmkit.keras itself (that would import torch).
"""

from __future__ import annotations

from typing import Any

from lstmkit.distributed.env import (
    destroy_process_group,
    in_torchrun_worker,
    init_process_group,
    is_distributed,
    is_main_process,
    local_rank,
    rank,
    world_size,
)
from lstmkit.distributed.launch import (
    LaunchError,
    add_nproc_argument,
    relaunch_if_requested,
    run_torchrun,
    torchrun_args,
)

__all__ = ["DistributedStrategy", "LaunchError", "add_nproc_argument", "destroy_process_group", "in_torchrun_worker",
           "init_process_group", "is_distributed", "is_main_process", "local_rank", "rank",
           "relaunch_if_requested", "run_torchrun", "torchrun_args", "world_size"]


def __getattr__(name: str) -> Any:
    if name == "DistributedStrategy":
        from lstmkit.distributed.strategy import DistributedStrategy

        return DistributedStrategy
    raise AttributeError(f"module 'lstmkit.distributed' has no attribute {name!r}")
