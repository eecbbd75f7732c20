"""The ``keras.random`` draws on torch, as Keras 3's torch backend makes them (same torch calls
in the same order, so a given integer seed or SeedGenerator gives Keras' numbers on the CPU).

New tensors go on torch's default device; ``dropout`` and ``shuffle`` follow their input.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from lstmkit.keras.ops.core import standardize_dtype, tensor
from lstmkit.keras.random.seed_generator import torch_generator

__all__ = ["normal", "uniform", "randint", "truncated_normal", "dropout", "shuffle", "categorical", "gamma",
           "binomial", "beta"]


def _device() -> torch.device:
    return torch.get_default_device() if hasattr(torch, "get_default_device") else torch.device("cpu")


def _float(dtype: Any) -> torch.dtype:
    dt = standardize_dtype(dtype) or torch.float32  # Keras' floatx
    if not dt.is_floating_point:
        raise ValueError(f"`dtype` must be a floating point type, got {dtype!r}")
    return dt


def _shape(shape: Sequence[int] | int) -> tuple[int, ...]:
    return (int(shape),) if isinstance(shape, int) else tuple(int(d) for d in shape)


def normal(shape: Sequence[int], mean: float = 0.0, stddev: float = 1.0, dtype: Any = None,
           seed: Any = None) -> torch.Tensor:
    """Samples of a normal distribution."""
    device = _device()
    return torch.normal(mean, stddev, size=_shape(shape), generator=torch_generator(seed, device),
                        dtype=_float(dtype), device=device)


def uniform(shape: Sequence[int], minval: float = 0.0, maxval: float = 1.0, dtype: Any = None,
            seed: Any = None) -> torch.Tensor:
    """Samples of a uniform distribution on ``[minval, maxval)``."""
    requested = _shape(shape)
    device = _device()
    rand = torch.rand(size=requested or (1,), generator=torch_generator(seed, device), dtype=_float(dtype),
                      device=device)
    out = (maxval - minval) * rand + minval
    return out[0] if not requested else out


def randint(shape: Sequence[int], minval: int, maxval: int, dtype: Any = "int32", seed: Any = None) -> torch.Tensor:
    """Integers uniform on ``[minval, maxval)``."""
    device = _device()
    return torch.randint(low=int(minval), high=int(maxval), size=_shape(shape),
                         generator=torch_generator(seed, device), dtype=standardize_dtype(dtype), device=device)


def truncated_normal(shape: Sequence[int], mean: float = 0.0, stddev: float = 1.0, dtype: Any = None,
                     seed: Any = None) -> torch.Tensor:
    """Normal samples within two standard deviations (Keras' draw: 4 candidates per value)."""
    shape = _shape(shape)
    x = normal((*shape, 4), mean=0, stddev=1, dtype=dtype, seed=seed)  # (*shape, 4)
    valid = (x > -2) & (x < 2)
    indexes = valid.max(-1, keepdim=True)[1]
    return x.gather(-1, indexes).squeeze(-1) * stddev + mean


def dropout(inputs: Any, rate: float, noise_shape: Sequence[int | None] | None = None,
            seed: Any = None) -> torch.Tensor:
    """Zero each entry with probability ``rate`` and scale the rest by ``1 / (1 - rate)``."""
    x = tensor(inputs)
    if rate == 1.0:
        return torch.zeros_like(x)
    if rate == 0.0:
        return x
    seeded = seed is not None and getattr(seed, "_initial_seed", 0) is not None  # Keras: unseeded generator
    if not seeded and noise_shape is None:
        return torch.nn.functional.dropout(x, p=rate, training=True)
    keep = 1.0 - rate
    shape = x.shape if noise_shape is None else [x.shape[i] if d is None else d for i, d in enumerate(noise_shape)]
    mask = torch.bernoulli(torch.full(tuple(shape), keep, device=x.device), generator=torch_generator(seed, x.device))
    return torch.where(torch.broadcast_to(mask.bool(), x.shape), x / keep, torch.zeros_like(x))


def shuffle(x: Any, axis: int = 0, seed: Any = None) -> torch.Tensor:
    """``x`` with its entries permuted along ``axis``."""
    t = tensor(x)
    perm = torch.rand(t.shape[: axis + 1], generator=torch_generator(seed, t.device), device=t.device).argsort(axis)
    for _ in range(t.ndim - axis - 1):
        perm = perm.unsqueeze(-1)
    perm = perm.repeat(*[1] * (axis + 1), *t.shape[axis + 1:])
    return t.gather(axis, perm)


def categorical(logits: Any, num_samples: int, dtype: Any = "int32", seed: Any = None) -> torch.Tensor:
    """``num_samples`` class indices per row of ``logits`` (batch, classes)."""
    t = tensor(logits)
    probs = torch.softmax(t, dim=-1)
    return torch.multinomial(probs, num_samples, replacement=True,
                             generator=torch_generator(seed, t.device)).to(standardize_dtype(dtype))


def _global_seeded(seed: Any) -> None:
    """Gamma/binomial/beta take no generator in torch: Keras seeds the global RNG for them."""
    generator = torch_generator(seed)
    if generator is not None:
        torch.manual_seed(generator.initial_seed())


def gamma(shape: Sequence[int], alpha: float, dtype: Any = None, seed: Any = None) -> torch.Tensor:
    """Samples of a gamma distribution of concentration ``alpha`` (rate 1)."""
    dt = _float(dtype)
    _global_seeded(seed)
    return torch.distributions.Gamma(torch.tensor(alpha, dtype=dt), torch.tensor(1.0, dtype=dt)).sample(_shape(shape))


def binomial(shape: Sequence[int], counts: Any, probabilities: Any, dtype: Any = None,
             seed: Any = None) -> torch.Tensor:
    """Samples of binomial distributions (``counts`` trials of success probability ``probabilities``)."""
    dt = _float(dtype)
    _global_seeded(seed)
    dist = torch.distributions.Binomial(total_count=tensor(counts, dt), probs=tensor(probabilities, dt))
    return dist.sample(_shape(shape)).to(dt)


def beta(shape: Sequence[int], alpha: Any, beta: Any, dtype: Any = None, seed: Any = None) -> torch.Tensor:
    """Samples of a beta distribution."""
    dt = _float(dtype)
    _global_seeded(seed)
    return torch.distributions.Beta(tensor(alpha, dt), tensor(beta, dt)).sample(_shape(shape)).to(dt)
