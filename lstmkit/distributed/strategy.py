"""``DistributedStrategy``: what ``fit(..., strategy=...)`` (or ``distributed=True``) uses to train
one model with N processes through torch's own engine, ``torch.distributed`` +
``DistributedDataParallel`` (DDP).

It owns the parts that need the other processes:

- the process group (joined from torchrun's environment; gloo on CPU, nccl on CUDA);
- the DDP wrapper of the model (DDP broadcasts rank 0's weights when it is built and averages
  the gradients in ``backward``; a Keras-layer ``Model`` and the ``lstmkit.nn`` layers are plain
  ``nn.Module``s with ordinary parameters, so nothing special is needed);
- the all-reduces that make every rank log the same numbers: metric accumulators (sums and
  counts: every Keras metric here is additive) are summed over the ranks and the metric is
  read from the sums, so an epoch's ``accuracy`` or ``AUC`` is exactly the one-process value;
- which callbacks run where: ``ModelCheckpoint``, ``CSVLogger`` and any callback with
  ``rank0_only = True`` run on rank 0 only (one writer per file); the others (EarlyStopping,
  ReduceLROnPlateau, ...) run on every rank and, seeing identical logs, decide identically.

With one process (not launched by torchrun) the strategy does no communication at all and
``fit`` trains as usual, with the same data order a multi-process run would use.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch

from lstmkit.distributed import env

#: Callback class names that write files: run on rank 0 only.
RANK0_ONLY_CALLBACKS = ("ModelCheckpoint", "CSVLogger")


class DistributedStrategy:
    """Data-parallel training across the processes of a torchrun job.

    Args:
        backend: "gloo" or "nccl" (default: nccl with CUDA, else gloo).
        timeout_s: collective timeout in seconds (default: ``LSTMKIT_DIST_TIMEOUT`` or 600): a
            process that stops answering ends the job with an error after this long.
        find_unused_parameters: passed to DDP; needed only if some weights get no gradient in a
            step (e.g. a branch of the model is skipped).
        broadcast_buffers: passed to DDP (rank 0's buffers, e.g. BatchNorm statistics, are sent
            to the others before each forward).
    """

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
    def active(self) -> bool:
        """Whether there are other processes to talk to."""
        return self.world_size > 1

    def device(self, model: Any = None) -> torch.device:
        """The device this rank trains on: ``cuda:LOCAL_RANK`` with nccl; with gloo or one process,
        wherever ``model`` already is (the CPU without a model)."""
        import torch.distributed as dist

        if self.active and dist.get_backend() == "nccl":
            return env.device_for("nccl")
        return model._device() if model is not None else torch.device("cpu")

    # ------------------------------------------------------------------ the model
    def forward_for(self, model: Any) -> Any:
        """What the training step calls instead of ``model(x)``: the model's DDP wrapper (built
        once per model and set of trainable weights), or None with one process."""
        if not self.active:
            return None
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

    def reduced_logs(self, model: Any, trackers: bool = True) -> dict[str, Any]:
        """The model's logs computed from accumulators summed over all ranks.

        Args:
            model: a compiled lstmkit.keras model.
            trackers: also sum the loss trackers (evaluation); in training they already hold the
                global per-step values, so only the metrics are summed.
        """
        if not self.active:
            return model._logs()
        import torch.distributed as dist

        track = []
        if trackers:
            track = [model._loss_tracker] + (list(model._loss_fn.trackers) if model._loss_fn is not None else [])
        variables = [(m, name) for m in model.metrics for name in m._variable_names]
        pieces = [torch.tensor([_tracker_sum(t), float(t.count)], dtype=torch.float64) for t in track]
        pieces += [getattr(m, name).detach().reshape(-1).to("cpu", torch.float64) for m, name in variables]
        flat = torch.cat(pieces) if pieces else torch.zeros(0, dtype=torch.float64)
        self._check_same_length(flat.numel(), "the metric accumulators")
        if flat.numel() == 0:
            return model._logs()
        flat = flat.to(self._comm_device())
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        flat = flat.cpu()
        saved_trackers = [(t.total, t.float_total, t.count) for t in track]
        saved_vars = [getattr(m, name) for m, name in variables]
        try:
            at = 0
            for t in track:
                t.total, t.float_total, t.count = None, float(flat[at]), int(round(float(flat[at + 1])))
                at += 2
            for (m, name), old in zip(variables, saved_vars):
                size = old.numel()
                setattr(m, name, flat[at:at + size].reshape(old.shape).to(old.device, old.dtype))
                at += size
            return model._logs()
        finally:
            for t, (total, float_total, count) in zip(track, saved_trackers):
                t.total, t.float_total, t.count = total, float_total, count
            for (m, name), old in zip(variables, saved_vars):
                setattr(m, name, old)

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


def _tracker_sum(tracker: Any) -> float:
    total = tracker.float_total
    if tracker.total is not None:
        total += float(tracker.total.double().cpu())
    return total


_default: DistributedStrategy | None = None


def resolve(distributed: bool, strategy: Any) -> DistributedStrategy | None:
    """The strategy for ``fit``/``evaluate``/``predict``: ``strategy`` if given (a
    ``DistributedStrategy``, or "ddp" for the default one), the shared default one for
    ``distributed=True``, None (plain training) otherwise. Joins the process group if needed."""
    global _default
    if not isinstance(distributed, bool):
        raise TypeError(f"distributed must be True or False, got {distributed!r}")
    if strategy is None and not distributed:
        return None
    if isinstance(strategy, DistributedStrategy):
        return strategy.setup()
    if strategy is not None and not (isinstance(strategy, str) and strategy.lower() == "ddp"):
        raise TypeError(f"strategy must be a lstmkit.distributed.DistributedStrategy or 'ddp', got {strategy!r}")
    if _default is None:
        _default = DistributedStrategy()
    return _default.setup()
