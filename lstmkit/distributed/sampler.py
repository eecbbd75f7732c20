"""Which samples each process trains on: the global batch of one process, split across N.

``fit(batch_size=B)`` means the GLOBAL batch, as in tf.distribute: step k of an epoch uses the
same B samples as a one-process run (positions ``k*B .. k*B+B-1`` of the epoch's order), and rank
r takes every N-th of them, starting at r (``B / N`` each). This is the assignment of torch's
``DistributedSampler`` (``order[r::N]``) cut into batches of ``B / N``, so with the gradients
averaged by DDP and each loss scaled by its share of the batch, N processes make the same
updates as one process with batch B.

The epoch's order is the same on every rank: ``arange(n)``, or a permutation drawn from a
generator seeded with ``seed + pass`` (``seed`` comes from rank 0, so the run is reproducible
with ``set_random_seed`` on rank 0 and does not depend on N).

A last, partial global batch with fewer than N samples leaves some ranks without data: they get
``None`` for that step, and ``rank_batches`` gives the training loop a dummy batch to run with
weight zero, so that DDP's gradient all-reduce still has every rank.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import torch

from lstmkit.keras.models.data import ArrayData, bounded_epoch, flat_struct, map_struct


def epoch_order(n: int, shuffle: bool | str, seed: int, pass_index: int, batch_size: int) -> torch.Tensor:
    """The global order of the samples for one pass (identical on every rank).

    Args:
        n: number of samples.
        shuffle: True (a permutation), "batch" (permute inside each global batch) or False.
        seed: the run's shuffling seed (from rank 0).
        pass_index: which pass over the data (0, 1, ...): each pass gets its own permutation.
        batch_size: the global batch size (for ``shuffle="batch"``).
    """
    if not shuffle:
        return torch.arange(n)
    gen = torch.Generator().manual_seed((int(seed) + int(pass_index)) % (2**63 - 1))
    if shuffle == "batch":
        order = torch.arange(n)
        for start in range(0, n, batch_size):
            size = min(batch_size, n - start)
            order[start:start + size] = order[start:start + size][torch.randperm(size, generator=gen)]
        return order
    return torch.randperm(n, generator=gen)


def rank_indices(order: torch.Tensor, rank: int, world: int) -> torch.Tensor:
    """This rank's samples of a pass, in step order (``DistributedSampler``'s ``order[rank::world]``)."""
    return order[rank::world]


def local_batch_size(global_batch: int, world: int, what: str = "batch_size") -> int:
    """``global_batch / world``, with a clear error when it does not divide."""
    if global_batch % world:
        raise ValueError(f"{what}={global_batch} is the global batch (split across the {world} processes) and must "
                         f"be divisible by {world}; pass e.g. {what}={max(world, global_batch // world * world)}")
    return global_batch // world


def contiguous_range(n: int, rank: int, world: int) -> tuple[int, int]:
    """Rank ``rank``'s block of ``n`` items split as evenly as possible (``numpy.array_split``)."""
    base, extra = divmod(n, world)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


class ShardedArrays:
    """A rank's view of in-memory training data (see the module docstring).

    ``epoch()`` yields one item per GLOBAL step: this rank's ``(x, y, sample_weight)`` or None
    when its share of that step is empty. Every rank yields the same number of items.

    Args:
        data: the whole data set, already checked (an ``ArrayData``; its ``batch_size`` is the
            global batch and its ``steps`` the global steps per epoch, if set).
        rank, world: this process and the number of processes.
        seed: the shuffling seed shared by all ranks.
    """

    def __init__(self, data: ArrayData, rank: int, world: int, seed: int):
        self.data = data
        self.rank, self.world, self.seed = rank, world, int(seed)
        self.global_batch = data.batch_size
        self.batch = local_batch_size(data.batch_size, world)
        self.n = data.n
        self.steps = data.steps
        self.num_batches = data.num_batches
        self.passes_per_epoch = math.ceil(self.n / self.global_batch)
        self._pass = 0
        self._stream: Iterator | None = None
        self.device = data.device

    def to(self, device: torch.device) -> ShardedArrays:
        self.data.to(device)
        self.device = self.data.device
        return self

    def dummy_batch(self) -> tuple[Any, Any, Any]:
        """The first sample of the data: what a rank with no share of a step computes on (weight 0)."""
        d = self.data
        return tuple(map_struct(lambda t: t[:1].to(self.device), s) for s in (d.x, d.y, d.sw))

    def _one_pass(self) -> Iterator[tuple[Any, Any, Any] | None]:
        d = self.data
        order = epoch_order(self.n, self.data.shuffle, self.seed, self._pass, self.global_batch)
        self._pass += 1
        mine = rank_indices(order, self.rank, self.world)
        first = flat_struct(d.x)[0]
        mine = mine.to(first.device)
        x, y, sw = (map_struct(lambda t: t.index_select(0, mine), s) for s in (d.x, d.y, d.sw))
        move = self.device.type != "cpu" and first.device != self.device
        b = self.batch
        for step in range(self.passes_per_epoch):
            a = step * b
            if a >= mine.shape[0]:
                yield None
                continue
            batch = tuple(_rows(s, a, a + b) for s in (x, y, sw))
            if move:
                batch = tuple(map_struct(lambda t: t.to(self.device, non_blocking=True), s) for s in batch)
            yield batch

    def epoch(self) -> Iterator[tuple[Any, Any, Any] | None]:
        """This rank's share of each global step of one epoch (None where it has none)."""
        return bounded_epoch(self)


_END = object()


def rank_batches(data: Any, strategy: Any) -> Iterator[tuple[tuple[Any, Any, Any], bool]]:
    """One epoch of this rank's training data as ``(batch, has_data)``, one item per step that
    every rank takes (``DistributedStrategy.train_batches``).

    ``ShardedArrays`` yields exactly ``num_batches`` items, with its dummy batch where this rank
    has no share. A dataset/generator is this rank's own source: a rank whose source runs out
    before the others' repeats its last batch with ``has_data`` False (zero weight); the
    synchronized step ends the epoch once no rank has data. If no rank has a first batch, the
    epoch is empty (nothing is yielded).
    """
    sharded = isinstance(data, ShardedArrays)
    bound = data.num_batches if sharded else data.steps
    it = data.epoch()
    last = None
    step = 0
    while bound is None or step < bound:
        item = next(it, _END)
        has_data = item is not _END and item is not None
        if has_data:
            last = item
        if step == 0 and not sharded and not strategy.any_rank(has_data):
            return  # every rank's source is exhausted (fit stops training)
        batch = item if has_data else last
        if batch is None:
            if not sharded:
                raise ValueError(f"rank {strategy.rank} got no batch from its dataset while other ranks did: give "
                                 "every process at least one batch per epoch (e.g. a DistributedSampler)")
            batch = data.dummy_batch()
        yield batch, has_data
        step += 1


def _rows(s: Any, a: int, b: int) -> Any:
    return map_struct(lambda t: t[a:b], s)


def strided_subset(data: ArrayData, rank: int, world: int, batch_size: int) -> ArrayData:
    """Every ``world``-th sample starting at ``rank``, as an ``ArrayData`` with ``batch_size``
    (evaluation: the metrics' sums over all ranks cover each sample exactly once)."""
    idx = torch.arange(rank, data.n, world)
    sub = tuple(map_struct(lambda t: t.index_select(0, idx.to(t.device)), s) for s in (data.x, data.y, data.sw))
    out = ArrayData(*sub, batch_size=batch_size, what="evaluate")
    out.device = data.device
    return out


def contiguous_subset(data: ArrayData, rank: int, world: int, batch_size: int) -> ArrayData:
    """This rank's contiguous block of the samples (prediction: the blocks concatenate in order)."""
    a, b = contiguous_range(data.n, rank, world)
    sub = tuple(_rows(s, a, b) for s in (data.x, data.y, data.sw))
    out = ArrayData(*sub, batch_size=batch_size, what="predict")
    out.device = data.device
    return out
