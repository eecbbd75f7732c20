"""``keras.ops.nn``: activations, softmax, one-hot encoding, moments and the cross-entropies, with
Keras 3's defaults (``gelu(approximate=True)``, ``softmax(axis=-1)``, ``one_hot`` giving zeros for a
negative index, probabilities clipped to ``[1e-7, 1 - 1e-7]`` in the cross-entropies).

``lstmkit.keras.ops.nn`` is this module, as ``keras.ops.nn``; its names are also in ``ops``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lstmkit.keras.ops.core import axes, floating, standardize_dtype, tensor

__all__ = [
    "relu", "relu6", "sigmoid", "tanh", "softplus", "softsign", "silu", "swish", "log_sigmoid", "leaky_relu",
    "hard_sigmoid", "hard_silu", "hard_swish", "elu", "selu", "celu", "gelu", "glu", "softmax", "log_softmax",
    "one_hot", "multi_hot", "moments", "normalize", "binary_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy",
]

_EPSILON = 1e-7  # Keras' backend.epsilon()


def relu(x: Any) -> torch.Tensor:
    return torch.relu(floating(x))


def relu6(x: Any) -> torch.Tensor:
    return torch.clamp(floating(x), 0.0, 6.0)


def sigmoid(x: Any) -> torch.Tensor:
    return torch.sigmoid(floating(x))


def tanh(x: Any) -> torch.Tensor:
    return torch.tanh(floating(x))


def softplus(x: Any) -> torch.Tensor:
    return F.softplus(floating(x))


def softsign(x: Any) -> torch.Tensor:
    return F.softsign(floating(x))


def silu(x: Any) -> torch.Tensor:
    return F.silu(floating(x))


swish = silu


def log_sigmoid(x: Any) -> torch.Tensor:
    return F.logsigmoid(floating(x))


def leaky_relu(x: Any, negative_slope: float = 0.2) -> torch.Tensor:
    """Keras' default slope is 0.2 (torch's is 0.01)."""
    return F.leaky_relu(floating(x), negative_slope)


def hard_sigmoid(x: Any) -> torch.Tensor:
    """``relu6(x + 3) / 6``, Keras 3's definition."""
    return F.hardsigmoid(floating(x))


def hard_silu(x: Any) -> torch.Tensor:
    return F.hardswish(floating(x))


hard_swish = hard_silu


def elu(x: Any, alpha: float = 1.0) -> torch.Tensor:
    return F.elu(floating(x), alpha)


def selu(x: Any) -> torch.Tensor:
    return F.selu(floating(x))


def celu(x: Any, alpha: float = 1.0) -> torch.Tensor:
    return F.celu(floating(x), alpha)


def gelu(x: Any, approximate: bool = True) -> torch.Tensor:
    """GELU; Keras' default is the tanh approximation (torch's is the exact erf form)."""
    return F.gelu(floating(x), approximate="tanh" if approximate else "none")


def glu(x: Any, axis: int = -1) -> torch.Tensor:
    return F.glu(floating(x), dim=axis)


def _over_axes(x: Any, axis: Any, fn: Any) -> torch.Tensor:
    """Apply a softmax-like ``fn(t, dim)`` over one axis or several (flattened together)."""
    t = floating(x)
    if t.dim() == 0:
        return fn(t.reshape(1), 0).reshape(())
    if isinstance(axis, int):
        return fn(t, axis)
    dims = tuple(range(t.dim())) if axis is None else axes(axis, t.dim())  # None: over all axes (Keras)
    rest = [d for d in range(t.dim()) if d not in dims]
    moved = t.permute(*rest, *dims)
    shape = moved.shape
    out = fn(moved.reshape(*shape[:len(rest)], -1), -1).reshape(shape)
    inverse = [0] * t.dim()
    for k, d in enumerate([*rest, *dims]):
        inverse[d] = k
    return out.permute(*inverse)


def softmax(x: Any, axis: Any = -1) -> torch.Tensor:
    """Softmax over ``axis`` (an int, a tuple of axes, or None for all axes)."""
    return _over_axes(x, axis, lambda t, d: torch.softmax(t, dim=d))


def log_softmax(x: Any, axis: Any = -1) -> torch.Tensor:
    return _over_axes(x, axis, lambda t, d: torch.log_softmax(t, dim=d))


def one_hot(x: Any, num_classes: int, axis: int = -1, dtype: Any = None, sparse: bool = False) -> torch.Tensor:
    """One-hot vectors of ``num_classes`` along ``axis``; a negative index gives all zeros (Keras)."""
    if sparse:
        raise ValueError("one_hot(sparse=True) is not supported by lstmkit.keras.ops")
    idx = tensor(x).long()
    out = F.one_hot(torch.clamp(idx + 1, min=0), int(num_classes) + 1)[..., 1:]
    out = out.to(standardize_dtype(dtype) or torch.float32)
    if axis != -1:
        out = torch.movedim(out, -1, axis)
    return out


def multi_hot(inputs: Any, num_classes: int, axis: int = -1, dtype: Any = None, sparse: bool = False) -> torch.Tensor:
    """The union of the one-hot vectors of the last axis' indices (1 where any index is the class)."""
    t = tensor(inputs)
    hot = one_hot(t if t.dim() > 1 else t.unsqueeze(0), num_classes, dtype=dtype, sparse=sparse)
    out = hot.amax(dim=-2)
    out = out if t.dim() > 1 else out.squeeze(0)
    return torch.movedim(out, -1, axis) if axis != -1 else out


def moments(x: Any, axes: Any, keepdims: bool = False, synchronized: bool = False) -> tuple[torch.Tensor, ...]:
    """``(mean, variance)`` over ``axes`` (population variance)."""
    t = floating(x)
    dims = _axes(axes, t.dim())
    mean = torch.mean(t, dim=dims, keepdim=True)
    variance = torch.mean(torch.square(t - mean), dim=dims, keepdim=True)
    if not keepdims:
        mean, variance = mean.squeeze(dims), variance.squeeze(dims)
    return mean, variance


_axes = axes  # moments' argument is named ``axes``, as in Keras


def normalize(x: Any, axis: int = -1, order: int = 2, epsilon: float | None = None) -> torch.Tensor:
    """``x`` divided by its ``order``-norm along ``axis`` (Keras: at least ``epsilon``)."""
    t = floating(x)
    norm = torch.linalg.vector_norm(t, ord=order, dim=axis, keepdim=True)
    return t / torch.clamp(norm, min=_EPSILON if epsilon is None else epsilon)


def binary_crossentropy(target: Any, output: Any, from_logits: bool = False) -> torch.Tensor:
    """Element-wise binary cross-entropy (probabilities clipped to ``[eps, 1 - eps]``)."""
    t, o = floating(target), floating(output)
    if from_logits:
        return F.binary_cross_entropy_with_logits(o, t.to(o.dtype), reduction="none")
    o = torch.clamp(o, _EPSILON, 1.0 - _EPSILON)
    return -(t * torch.log(o) + (1 - t) * torch.log(1 - o))


def categorical_crossentropy(target: Any, output: Any, from_logits: bool = False, axis: int = -1) -> torch.Tensor:
    """Cross-entropy of one-hot (or soft) targets; the output is renormalised to sum to 1 first."""
    t, o = floating(target), floating(output)
    if t.shape != o.shape:
        raise ValueError(f"Arguments `target` and `output` must have the same shape. Received: "
                         f"target.shape={tuple(t.shape)}, output.shape={tuple(o.shape)}")
    if from_logits:
        log_prob = torch.log_softmax(o, dim=axis)
    else:
        o = o / o.sum(dim=axis, keepdim=True)
        log_prob = torch.log(torch.clamp(o, _EPSILON, 1.0 - _EPSILON))
    return -(t * log_prob).sum(dim=axis)


def sparse_categorical_crossentropy(target: Any, output: Any, from_logits: bool = False,
                                    axis: int = -1) -> torch.Tensor:
    """Cross-entropy of integer targets (a trailing size-1 axis on the target is dropped)."""
    idx = tensor(target).long()
    o = floating(output)
    if idx.dim() == o.dim() and idx.shape[-1] == 1:
        idx = idx.squeeze(-1)
    one = one_hot(idx, o.shape[axis], axis=axis, dtype=o.dtype)
    return categorical_crossentropy(one, o, from_logits=from_logits, axis=axis)

