"""Sharding: N ranks together see exactly the global batches of a one-process run."""

from __future__ import annotations

import pytest
import torch

from lstmkit.distributed.sampler import (
    ShardedArrays,
    contiguous_range,
    contiguous_subset,
    epoch_order,
    local_batch_size,
    strided_subset,
)
from lstmkit.keras.models.data import ArrayData


def arrays(n: int, batch: int, shuffle=False, steps=None) -> ArrayData:
    x = torch.arange(n, dtype=torch.float32)[:, None]
    return ArrayData(x, x.clone(), batch_size=batch, shuffle=shuffle, steps=steps)


def steps_of(data: ArrayData, world: int, seed: int = 7, epochs: int = 1) -> list[list[list[int] | None]]:
    """Per rank, per global step: the sample ids (None for an empty share)."""
    out = []
    for rank in range(world):
        shard = ShardedArrays(data, rank, world, seed)
        rows = []
        for _ in range(epochs):
            for item in shard.epoch():
                rows.append(None if item is None else item[0][:, 0].long().tolist())
        out.append(rows)
    return out


@pytest.mark.parametrize("n, batch, world", [(33, 8, 2), (40, 8, 4), (9, 6, 3), (5, 4, 4), (17, 4, 2)])
@pytest.mark.parametrize("shuffle", [False, True, "batch"])
def test_ranks_together_make_the_global_batches(n, batch, world, shuffle):
    data = arrays(n, batch, shuffle)
    per_rank = steps_of(data, world)
    order = epoch_order(n, shuffle, 7, 0, batch).tolist()
    global_batches = [order[i:i + batch] for i in range(0, n, batch)]
    assert all(len(rows) == len(global_batches) for rows in per_rank)  # every rank runs every step
    for k, expected in enumerate(global_batches):
        got = [i for rows in per_rank for i in (rows[k] or [])]
        assert sorted(got) == sorted(expected)
        sizes = [len(rows[k] or []) for rows in per_rank]
        assert max(sizes) <= batch // world


def test_shares_are_distributed_sampler_style():
    per_rank = steps_of(arrays(8, 4), 2)
    assert per_rank == [[[0, 2], [4, 6]], [[1, 3], [5, 7]]]


def test_a_small_last_batch_leaves_some_ranks_empty():
    per_rank = steps_of(arrays(9, 4), 4)
    assert per_rank[0][-1] == [8] and all(rows[-1] is None for rows in per_rank[1:])


def test_order_is_deterministic_and_changes_per_pass():
    a, b = epoch_order(20, True, 3, 0, 4), epoch_order(20, True, 3, 0, 4)
    assert torch.equal(a, b)
    assert not torch.equal(a, epoch_order(20, True, 3, 1, 4))
    assert not torch.equal(a, epoch_order(20, True, 4, 0, 4))
    within = epoch_order(20, "batch", 3, 0, 4)
    assert all(sorted(within[i:i + 4].tolist()) == list(range(i, i + 4)) for i in range(0, 20, 4))


def test_steps_per_epoch_cycles_through_passes():
    per_rank = steps_of(arrays(6, 4, steps=3), 2, epochs=2)
    assert per_rank[0] == [[0, 2], [4], [0, 2], [4], [0, 2], [4]]


def test_global_batch_must_divide():
    assert local_batch_size(32, 4) == 8
    with pytest.raises(ValueError, match="batch_size=30 is the global batch .* divisible by 4"):
        local_batch_size(30, 4)
    with pytest.raises(ValueError, match="divisible by 3"):
        ShardedArrays(arrays(10, 8), 0, 3, 0)


def test_evaluation_and_prediction_subsets():
    data = arrays(10, 4)
    parts = [strided_subset(data, r, 3, 2).x[:, 0].long().tolist() for r in range(3)]
    assert parts == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]
    assert [contiguous_range(10, r, 3) for r in range(3)] == [(0, 4), (4, 7), (7, 10)]
    blocks = [contiguous_subset(data, r, 3, 2).x[:, 0].long().tolist() for r in range(3)]
    assert sum(blocks, []) == list(range(10))
