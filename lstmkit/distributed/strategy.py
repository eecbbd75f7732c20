"""``DistributedStrategy``: what ``fit(..., strategy=...)`` (or ``distributed=True``) uses to train
one model with N processes through torch's own engine, ``torch.distributed`` +
``DistributedDataParallel`` (DDP).

It implements lstmkit.keras' ``Strategy`` protocol (lstmkit/keras/models/strategy.py): the keras
loop runs the epochs and the steps (synced.py has the synchronized step), this class owns the
parts that need the other processes:

- the process group (joined from torchrun's environment; gloo on CPU, nccl on CUDA);
- the DDP wrapper of the model (DDP broadcasts rank 0's weights when it is built and averages
  the gradients in ``backward``; a Keras-layer ``Model`` and the ``lstmkit.nn`` layers are plain
  ``nn.Module``s with ordinary parameters, so nothing special is needed);
- which samples each rank trains, evaluates and predicts on (sampler.py);
- the collectives (all-reduce, broadcast, all-gather) from which the keras loop computes the
  step decisions and the logs every rank shares;
- which callbacks run where: ``ModelCheckpoint``, ``CSVLogger`` and any callback with
  ``rank0_only = True`` run on rank 0 only (one writer per file); the others (EarlyStopping,
  ReduceLROnPlateau, ...) run on every rank and, seeing identical logs, decide identically.

With one process (not launched by torchrun) the strategy does no communication at all and
``fit`` trains as usual, with the same data order a multi-process run would use.

Importing this module registers the strategy under the name ``"ddp"`` (what ``distributed=True``
means) with lstmkit.keras; lstmkit.keras finds it through the ``lstmkit.strategies`` entry point
``ddp = "lstmkit.distributed.strategy:default_strategy"`` when it first needs it.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from lstmkit.distributed import env
from lstmkit.distributed.sampler import (
    ShardedArrays,
    contiguous_range,
    contiguous_subset,
    rank_batches,
    strided_subset,
)
from lstmkit.keras.models import synced
from lstmkit.keras.models.data import ArrayData
from lstmkit.keras.models.strategy import Batch, Strategy, register_strategy, resolve_strategy

#: Callback class names that write files: run on rank 0 only.
RANK0_ONLY_CALLBACKS = ("ModelCheckpoint", "CSVLogger")


class DistributedStrategy(Strategy):
    """Data-parallel training across the processes of a torchrun job.

    Its steps are synchronized (every rank takes the same decisions, see
    lstmkit/keras/models/synced.py) and it needs a built model (DDP registers the weights).

    Args:
        backend: "gloo" or "nccl" (default: nccl with CUDA, else gloo).
        timeout_s: collective timeout in seconds (default: ``LSTMKIT_DIST_TIMEOUT`` or 600): a
            process that stops answering ends the job with an error after this long.
        find_unused_parameters: passed to DDP; needed only if some weights get no gradient in a
            step (e.g. a branch of the model is skipped).
        broadcast_buffers: passed to DDP (rank 0's buffers, e.g. BatchNorm statistics, are sent
            to the others before each forward).
    """

    synchronized = True
    needs_built_model = True

    def __init__(self, backend: str | None = None, timeout_s: float | None = None,
                 find_unused_parameters: bool = False, broadcast_buffers: bool = True):
        if backend is not None and backend not in ("gloo", "nccl"):
            raise ValueError(f"backend must be 'gloo', 'nccl' or None, got {backend!r}")
        if timeout_s is not None and not timeout_s > 0:
            raise ValueError(f"timeout_s must be a positive number of seconds, got {timeout_s!r}")
        self.backend = backend
        self.timeout_s = timeout_s
        self.find_unused_parameters = bool(find_unused_parameters)
        self.broadcast_buffers = bool(broadcast_buffers)
        self._ddp: tuple[Any, tuple[int, ...], Any] | None = None  # (model, parameter ids, DDP wrapper)

    # ------------------------------------------------------------------ where we are
    def setup(self) -> DistributedStrategy:
        """Join the process group if the job has several processes (idempotent)."""
        try:
            env.init_process_group(self.backend, self.timeout_s)
        except Exception as exc:
            from lstmkit.distributed.launch import record_failure

            record_failure(exc)
            raise
        return self

    @property
    def world_size(self) -> int:
        return env.world_size()

    @property
    def rank(self) -> int:
        return env.rank()

    @property
    def is_main(self) -> bool:
        """Rank 0: prints the progress bar and runs the file-writing callbacks."""
        return self.rank == 0

    @property
    def is_chief(self) -> bool:
        """Rank 0 (``is_main``): the one process that shows progress and writes files."""
        return self.is_main

    @property
    def active(self) -> bool:
        """Whether there are other processes to talk to."""
        return self.world_size > 1

    def device(self, model: Any = None) -> torch.device:
        """The device this rank trains on: ``cuda:LOCAL_RANK`` with nccl; with gloo or one process,
        wherever ``model`` already is (the CPU without a model)."""
        import torch.distributed as dist

        if self.active and dist.get_backend() == "nccl":
            return env.device_for("nccl")
        return super().device(model)

    # ------------------------------------------------------------------ the model
    def wrap_model(self, model: Any) -> Any:
        """What the training step calls instead of ``model(x)``: the model's DDP wrapper (built
        once per model and set of trainable weights), or the model itself with one process."""
        if not self.active:
            return model
        from torch.nn.parallel import DistributedDataParallel

        key = tuple(id(p) for p in model.parameters() if p.requires_grad)
        if not key:
            raise ValueError("the model has no trainable weights: there is nothing to train in parallel")
        if self._ddp is not None and self._ddp[0] is model and self._ddp[1] == key:
            return self._ddp[2]
        device = self.device(model)
        ids = [device.index if device.index is not None else torch.cuda.current_device()] \
            if device.type == "cuda" else None
        extra: dict[str, Any] = {}
        if not self.broadcast_buffers:  # the option's name changed in torch 2.13
            sync = "forward_sync_buffers" in inspect.signature(DistributedDataParallel.__init__).parameters
            extra = {"forward_sync_buffers" if sync else "broadcast_buffers": False}
        ddp = DistributedDataParallel(model, device_ids=ids, output_device=ids[0] if ids else None,
                                      find_unused_parameters=self.find_unused_parameters, **extra)
        self._ddp = (model, key, ddp)
        return ddp

    def forward_for(self, model: Any) -> Any:
        """``wrap_model``, but None with one process (the name this method had before the protocol)."""
        wrapped = self.wrap_model(model)
        return None if wrapped is model else wrapped

    # ------------------------------------------------------------------ the data
    def train_data(self, data: Any) -> Any:
        """Arrays: this rank's ``ShardedArrays`` view (``batch_size`` is the global batch, the
        order comes from a seed shared by all ranks); a dataset/generator is this rank's part as it is."""
        world = self.world_size
        if isinstance(data, ArrayData) and data.n < world:
            raise ValueError(f"fit() with {world} processes needs at least {world} training samples, got {data.n}")
        seed = self.shared_seed()  # drawn for every kind of data, so all ranks' generators advance alike
        return ShardedArrays(data, self.rank, world, seed) if isinstance(data, ArrayData) else data

    def train_batches(self, data: Any) -> Iterator[tuple[Batch, bool]]:
        """One step per global batch on every rank, stand-in batches where a rank has no share
        (see ``sampler.rank_batches``)."""
        return rank_batches(data, self)

    def eval_data(self, data: Any) -> tuple[Any, bool]:
        """Arrays are split into strided subsets (``batch_size`` is global) whose results are
        summed; with fewer samples than ranks every rank evaluates everything; a
        dataset/generator is taken as this rank's part (summed when there are other ranks)."""
        world = self.world_size
        if not isinstance(data, ArrayData):
            return data, self.active
        if not self.active or data.n < world:
            return data, False
        return strided_subset(data, self.rank, world, max(1, data.batch_size // world)), True

    def predict_data(self, data: Any) -> tuple[Any, bool]:
        """Arrays: this rank's contiguous block, gathered afterwards; a dataset/generator (or
        fewer samples than ranks) is predicted by each rank as it is."""
        world = self.world_size
        if not self.active or not isinstance(data, ArrayData) or data.n < world:
            return data, False
        return contiguous_subset(data, self.rank, world, max(1, data.batch_size // world)), True

    def gather_predictions(self, part: np.ndarray, total: int) -> np.ndarray:
        """Every rank's block of the ``total`` rows (``predict_data``'s split), in order, on every rank."""
        world = self.world_size
        counts = [b - a for a, b in (contiguous_range(total, r, world) for r in range(world))]
        return self.gather_rows(torch.from_numpy(part), counts).numpy()

    # ------------------------------------------------------------------ collectives
    def _comm_device(self) -> torch.device:
        """Where the tensors of lstmkit's own collectives live: the GPU with nccl, else the CPU."""
        return self.device()

    def sum_floats(self, values: list[float]) -> list[float]:
        """Element-wise sums over the ranks (float64), as Python floats."""
        if not self.active:
            return list(values)
        import torch.distributed as dist

        t = torch.tensor(values, dtype=torch.float64, device=self._comm_device())
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t.cpu().tolist()

    def any_rank(self, flag: bool) -> bool:
        """True on every rank if ``flag`` is true on some rank."""
        if not self.active:
            return bool(flag)
        return self.sum_floats([1.0 if flag else 0.0])[0] > 0

    def shared_seed(self) -> int:
        """A seed drawn from rank 0's torch generator and given to every rank (every rank draws,
        so all generators advance alike)."""
        seed = torch.randint(0, 2**62, (1,), dtype=torch.int64)
        if self.active:
            import torch.distributed as dist

            seed = seed.to(self._comm_device())
            dist.broadcast(seed, src=0)
        return int(seed.item())

    def _check_same_length(self, length: int, what: str) -> None:
        import torch.distributed as dist

        t = torch.tensor([length, -length], dtype=torch.int64, device=self._comm_device())
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        if int(t[0]) != -int(t[1]):
            raise RuntimeError(f"the ranks disagree on {what} ({length} values on rank {self.rank}, between "
                               f"{-int(t[1])} and {int(t[0])} over all ranks): did some rank get no data?")

    def sum_tensor(self, values: torch.Tensor, what: str = "the summed values") -> torch.Tensor:
        """Element-wise sums over the ranks, after checking that every rank sums as many values
        (a rank that took another path would otherwise wait forever or sum garbage)."""
        if not self.active:
            return values
        import torch.distributed as dist

        self._check_same_length(values.numel(), what)
        if values.numel() == 0:
            return values
        out = values.to(self._comm_device())
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
        return out.to(values.device)

    def reduced_logs(self, model: Any, trackers: bool = True) -> dict[str, Any]:
        """The model's logs from its accumulators summed over all ranks (see
        ``lstmkit.keras.models.synced.reduced_logs``, which this calls)."""
        return synced.reduced_logs(model, self, trackers)

    def gather_rows(self, parts: torch.Tensor, counts: list[int]) -> torch.Tensor:
        """Concatenate each rank's rows (rank r has ``counts[r]`` rows of the same trailing shape)
        in rank order, on every rank."""
        if not self.active:
            return parts
        import torch.distributed as dist

        most = max(counts)
        padded = torch.zeros((most, *parts.shape[1:]), dtype=parts.dtype, device=self._comm_device())
        padded[:parts.shape[0]] = parts.to(padded.device)
        out = [torch.empty_like(padded) for _ in counts]
        dist.all_gather(out, padded)
        return torch.cat([o[:c] for o, c in zip(out, counts)]).to(parts.device)

    # ------------------------------------------------------------------ callbacks
    def rank_callbacks(self, callbacks: list[Any]) -> list[Any]:
        """The callbacks this rank runs: all on rank 0; elsewhere all but the rank-0-only ones."""
        if self.is_main:
            return list(callbacks)
        return [cb for cb in callbacks if not is_rank0_only(cb)]

    def on_failure(self, exc: BaseException) -> None:
        """Write the error to torchrun's error file, so the launcher names the failing rank."""
        if self.active:
            from lstmkit.distributed.launch import record_failure

            record_failure(exc)

    def __repr__(self) -> str:
        return (f"DistributedStrategy(backend={self.backend!r}, world_size={self.world_size}, rank={self.rank}, "
                f"timeout_s={self.timeout_s!r})")


def is_rank0_only(callback: Any) -> bool:
    """Whether a callback runs on rank 0 only: its ``rank0_only`` attribute if it has one, else
    whether it is (a subclass of) a file-writing callback."""
    flag = getattr(callback, "rank0_only", None)
    if flag is not None:
        return bool(flag)
    return any(c.__name__ in RANK0_ONLY_CALLBACKS for c in type(callback).__mro__)


_default: DistributedStrategy | None = None


def default_strategy() -> DistributedStrategy:
    """The one ``DistributedStrategy()`` behind ``distributed=True`` and ``strategy="ddp"`` (its
    DDP wrapper is kept between fit, evaluate and predict)."""
    global _default
    if _default is None:
        _default = DistributedStrategy()
    return _default


register_strategy("ddp", default_strategy)


def resolve(distributed: bool, strategy: Any) -> Strategy | None:
    """The strategy for ``fit``/``evaluate``/``predict``: ``strategy`` if given (a ``Strategy``
    such as a ``DistributedStrategy``, or a registered name like "ddp"), the shared default one
    for ``distributed=True``, None (plain training) otherwise; set up (the process group joined).
    Kept for callers of this name: it is ``lstmkit.keras.models.strategy.resolve_strategy``."""
    return resolve_strategy(distributed, strategy)
