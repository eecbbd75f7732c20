"""``keras.ops`` math and linear-algebra ops used in custom layers: ``erf``, ``logsumexp``,
``top_k``, ``rsqrt``, ``norm`` (NumPy's ``linalg.norm``) and ``segment_sum``/``segment_max``."""

from __future__ import annotations

from typing import Any

import torch

from lstmkit.keras.ops.core import axes, floating, tensor

__all__ = ["erf", "erfinv", "logsumexp", "top_k", "in_top_k", "rsqrt", "norm", "segment_sum", "segment_max"]


def erf(x: Any) -> torch.Tensor:
    return torch.erf(floating(x))


def erfinv(x: Any) -> torch.Tensor:
    return torch.erfinv(floating(x))


def rsqrt(x: Any) -> torch.Tensor:
    return torch.rsqrt(floating(x))


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """``log(sum(exp(x)))`` over ``axis`` (all axes when None), computed stably."""
    t = floating(x)
    dims = axes(axis, t.dim())
    dims = tuple(range(t.dim())) if dims is None else dims
    return torch.logsumexp(t, dim=dims, keepdim=keepdims)


def top_k(x: Any, k: int, sorted: bool = True) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: A002
    """``(values, indices)`` of the ``k`` largest entries of the last axis."""
    out = torch.topk(tensor(x), int(k), dim=-1, largest=True, sorted=sorted)
    return out.values, out.indices


def in_top_k(targets: Any, predictions: Any, k: int) -> torch.Tensor:
    """Whether each target class is among the ``k`` highest predictions of its row."""
    p = floating(predictions)
    t = tensor(targets).long()
    target_scores = p.gather(-1, t.unsqueeze(-1))
    return (p > target_scores).sum(dim=-1) < int(k)


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> torch.Tensor:  # noqa: A002
    """NumPy's ``linalg.norm``: a vector norm over one axis (or the flattened tensor), a matrix norm
    over two axes ("fro", "nuc", 1, -1, 2, -2, inf, -inf)."""
    t = floating(x)
    dims = axes(axis, t.dim())
    if dims is None:
        if ord is None:
            out = torch.linalg.vector_norm(t.reshape(-1), 2)
            return out.reshape((1,) * t.dim()) if keepdims else out
        dims = tuple(range(t.dim()))
    if len(dims) == 1:
        return torch.linalg.vector_norm(t, 2 if ord is None else ord, dim=dims, keepdim=keepdims)
    if len(dims) == 2:
        return torch.linalg.matrix_norm(t, "fro" if ord is None else ord, dim=dims, keepdim=keepdims)
    raise ValueError(f"norm: axis must be None, one axis or two axes, got {axis!r}")


def _segments(data: Any, segment_ids: Any, num_segments: int | None) -> tuple[torch.Tensor, torch.Tensor, int]:
    d = tensor(data)
    ids = tensor(segment_ids).long()
    n = int(ids.max()) + 1 if num_segments is None else int(num_segments)
    return d, ids, n


def segment_sum(data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False) -> torch.Tensor:  # noqa: A002
    """Sums of the rows of ``data`` that share a segment id."""
    d, ids, n = _segments(data, segment_ids, num_segments)
    out = torch.zeros((n, *d.shape[1:]), dtype=d.dtype, device=d.device)
    return out.index_add_(0, ids, d)


def segment_max(data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False) -> torch.Tensor:  # noqa: A002
    """Maxima of the rows of ``data`` that share a segment id (empty segments: the dtype's lowest)."""
    d, ids, n = _segments(data, segment_ids, num_segments)
    low = torch.finfo(d.dtype).min if d.is_floating_point() else torch.iinfo(d.dtype).min
    out = torch.full((n, *d.shape[1:]), low, dtype=d.dtype, device=d.device)
    index = ids.reshape(-1, *([1] * (d.dim() - 1))).expand_as(d)
    return out.scatter_reduce(0, index, d, reduce="amax", include_self=True)
