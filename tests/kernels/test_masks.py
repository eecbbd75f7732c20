"""Zoneout keep masks (lstmkit/kernels/masks.py, lstmkit/csrc/masks.cpp): the op and the torch reference
give the same bits; the bits behave like independent Bernoulli(z) draws; torch's seed fixes them."""

from __future__ import annotations

import math

import pytest
import torch

from lstmkit.kernels import fused, masks

needs_kernels = pytest.mark.skipif(not fused.available(), reason="lstmkit's fused CPU kernels are not built")


@needs_kernels
@pytest.mark.parametrize("shape", [(1, 1, 1), (7, 3, 5), (50, 32, 64), (3, 1, 4097)])
@pytest.mark.parametrize("z", [0.0, 1e-6, 0.1, 0.5, 0.9, 0.999999])
def test_op_matches_the_torch_reference_bit_for_bit(shape, z):
    seeds = (123456789, 4294967295)
    got = torch.ops.lstmkit.zoneout_keep(seeds[0], seeds[1], list(shape), z)
    assert got.dtype == torch.bool and tuple(got.shape) == shape
    assert torch.equal(got, masks.keep_mask_torch(seeds, shape, z))


@pytest.mark.parametrize("z", [0.05, 0.3, 0.5])
def test_rate_and_independence(z):
    m = masks.keep_mask_torch((11, 99), (40, 50, 64), z).float()
    n = m.numel()
    assert abs(m.mean().item() - z) < 5 * math.sqrt(z * (1 - z) / n)
    centred = m - z
    for dim in range(3):  # neighbours along time, batch and units are uncorrelated
        a, b = centred.narrow(dim, 0, m.shape[dim] - 1), centred.narrow(dim, 1, m.shape[dim] - 1)
        corr = (a * b).mean().item() / (z * (1 - z))
        assert abs(corr) < 5 / math.sqrt(a.numel())


def test_seeds_follow_torch_manual_seed():
    torch.manual_seed(3)
    a = masks.zoneout_keep((4, 3, 8), 0.5, torch.device("cpu"), kernel=False)
    b = masks.zoneout_keep((4, 3, 8), 0.5, torch.device("cpu"), kernel=False)
    torch.manual_seed(3)
    assert torch.equal(a, masks.zoneout_keep((4, 3, 8), 0.5, torch.device("cpu"), kernel=False))
    assert not torch.equal(a, b)


@pytest.mark.parametrize("z", [-0.1, 1.0, float("nan")])
def test_bad_rate_is_refused(z):
    with pytest.raises(ValueError, match="zoneout rate"):
        masks.keep_threshold(z)
