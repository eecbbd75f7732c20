"""``keras.ops`` NumPy-like math: element-wise arithmetic, comparisons, logic and reductions,
with NumPy's argument names (``axis``, ``keepdims``) and Keras 3's results (integer inputs give
float32 where the result is not an integer: ``mean``, ``sqrt``, ``exp``, ``divide`` ...).

Shapes, indexing and array creation are in arrays.py.
"""

from __future__ import annotations

from typing import Any

import torch

from lstmkit.keras.ops.core import axes, floating, pair, same_dtype, tensor

__all__ = [
    "add", "subtract", "multiply", "divide", "true_divide", "floor_divide", "mod", "power", "negative", "abs",
    "absolute", "square", "sqrt", "exp", "expm1", "log", "log1p", "log2", "log10", "sign", "floor", "ceil", "round",
    "reciprocal", "sin", "cos", "tan", "tanh", "sinh", "cosh", "arctan", "arctan2", "maximum", "minimum", "clip",
    "matmul", "dot", "tensordot", "outer", "einsum", "equal", "not_equal", "greater", "greater_equal", "less",
    "less_equal", "logical_and", "logical_or", "logical_not", "logical_xor", "isnan", "isinf", "isfinite", "sum",
    "mean", "max", "min", "amax", "amin", "prod", "var", "std", "all", "any", "argmax", "argmin", "cumsum", "cumprod",
    "count_nonzero", "divide_no_nan",
]


# ---------------------------------------------------------------------------------------------- arithmetic
def add(x1: Any, x2: Any) -> torch.Tensor:
    a, b = pair(x1, x2)
    return torch.add(a, b) if isinstance(a, torch.Tensor) else torch.add(b, a)


def subtract(x1: Any, x2: Any) -> torch.Tensor:
    a, b = pair(x1, x2)
    return a - b


def multiply(x1: Any, x2: Any) -> torch.Tensor:
    a, b = pair(x1, x2)
    return a * b


def divide(x1: Any, x2: Any) -> torch.Tensor:
    """True division (integers give float32)."""
    a, b = pair(x1, x2)
    return torch.true_divide(*((a, b) if isinstance(a, torch.Tensor) else (tensor(a), b)))


true_divide = divide


def divide_no_nan(x1: Any, x2: Any) -> torch.Tensor:
    """``x1 / x2`` with 0 where ``x2 == 0``."""
    a, b = floating(x1), floating(x2)
    zero = b == 0
    return torch.where(zero, torch.zeros_like(a * b), a / torch.where(zero, torch.ones_like(b), b))


def floor_divide(x1: Any, x2: Any) -> torch.Tensor:
    a, b = pair(x1, x2)
    return torch.floor_divide(tensor(a), b)


def mod(x1: Any, x2: Any) -> torch.Tensor:
    a, b = pair(x1, x2)
    return torch.remainder(tensor(a), b)


def power(x1: Any, x2: Any) -> torch.Tensor:
    a, b = pair(x1, x2)
    return torch.pow(tensor(a), b)


def negative(x: Any) -> torch.Tensor:
    return -tensor(x)


def abs(x: Any) -> torch.Tensor:  # noqa: A001 (Keras' name)
    return torch.abs(tensor(x))


absolute = abs


def square(x: Any) -> torch.Tensor:
    t = tensor(x)
    return t * t if t.dtype != torch.bool else t.to(torch.int32)


def sign(x: Any) -> torch.Tensor:
    return torch.sign(tensor(x))


def _float_unary(fn: Any, name: str, doc: str) -> Any:
    def op(x: Any) -> torch.Tensor:
        return fn(floating(x))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


sqrt = _float_unary(torch.sqrt, "sqrt", "Element-wise square root (integers give float32).")
exp = _float_unary(torch.exp, "exp", "Element-wise exponential.")
expm1 = _float_unary(torch.expm1, "expm1", "``exp(x) - 1``, accurate near 0.")
log = _float_unary(torch.log, "log", "Element-wise natural logarithm.")
log1p = _float_unary(torch.log1p, "log1p", "``log(1 + x)``, accurate near 0.")
log2 = _float_unary(torch.log2, "log2", "Base-2 logarithm.")
log10 = _float_unary(torch.log10, "log10", "Base-10 logarithm.")
reciprocal = _float_unary(torch.reciprocal, "reciprocal", "``1 / x``.")
sin = _float_unary(torch.sin, "sin", "Element-wise sine.")
cos = _float_unary(torch.cos, "cos", "Element-wise cosine.")
tan = _float_unary(torch.tan, "tan", "Element-wise tangent.")
tanh = _float_unary(torch.tanh, "tanh", "Element-wise hyperbolic tangent.")
sinh = _float_unary(torch.sinh, "sinh", "Element-wise hyperbolic sine.")
cosh = _float_unary(torch.cosh, "cosh", "Element-wise hyperbolic cosine.")
arctan = _float_unary(torch.atan, "arctan", "Element-wise arc tangent.")


def arctan2(x1: Any, x2: Any) -> torch.Tensor:
    a, b = same_dtype(floating(x1), floating(x2))
    return torch.atan2(a, b)


def floor(x: Any) -> torch.Tensor:
    return torch.floor(floating(x))


def ceil(x: Any) -> torch.Tensor:
    return torch.ceil(floating(x))


def round(x: Any, decimals: int = 0) -> torch.Tensor:  # noqa: A001
    """Round half to even, as NumPy."""
    t = tensor(x)
    return torch.round(t, decimals=decimals) if t.is_floating_point() else t


def maximum(x1: Any, x2: Any) -> torch.Tensor:
    a, b = same_dtype(*pair(x1, x2))
    return torch.maximum(a, b)


def minimum(x1: Any, x2: Any) -> torch.Tensor:
    a, b = same_dtype(*pair(x1, x2))
    return torch.minimum(a, b)


def clip(x: Any, x_min: Any, x_max: Any) -> torch.Tensor:
    """Values limited to ``[x_min, x_max]`` (a bool input is clipped as int32, as Keras)."""
    t = tensor(x)
    if t.dtype == torch.bool:
        t = t.to(torch.int32)
    lo = x_min if not isinstance(x_min, torch.Tensor) or x_min.dim() == 0 else x_min.to(t.dtype)
    hi = x_max if not isinstance(x_max, torch.Tensor) or x_max.dim() == 0 else x_max.to(t.dtype)
    return torch.clamp(t, lo, hi)


# ---------------------------------------------------------------------------------------------- products
def matmul(x1: Any, x2: Any) -> torch.Tensor:
    """NumPy's ``matmul`` (batched, broadcast), mixed dtypes promoted."""
    a, b = same_dtype(x1, x2)
    return torch.matmul(a, b)


def dot(x1: Any, x2: Any) -> torch.Tensor:
    """Keras' ``dot``: a product with a scalar, else ``matmul`` (for N-D inputs Keras batches like
    ``matmul``, unlike NumPy's ``dot``)."""
    a, b = same_dtype(x1, x2)
    if a.dim() == 0 or b.dim() == 0:
        return a * b
    return torch.matmul(a, b)


def tensordot(x1: Any, x2: Any, axes: Any = 2) -> torch.Tensor:
    a, b = same_dtype(x1, x2)
    if isinstance(axes, (list, tuple)):
        axes = [list(ax) if isinstance(ax, (list, tuple)) else [ax] for ax in axes]
    return torch.tensordot(a, b, dims=axes)


def outer(x1: Any, x2: Any) -> torch.Tensor:
    a, b = same_dtype(x1, x2)
    return torch.outer(a.reshape(-1), b.reshape(-1))


def einsum(subscripts: str, *operands: Any) -> torch.Tensor:
    """Einstein summation (``"btd,dk->btk"``), mixed dtypes promoted."""
    return torch.einsum(subscripts.replace(" ", ""), *same_dtype(*operands))


# ---------------------------------------------------------------------------------------------- comparisons
def _compare(fn: Any, name: str) -> Any:
    def op(x1: Any, x2: Any) -> torch.Tensor:
        a, b = pair(x1, x2)
        return fn(tensor(a), b)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Element-wise ``{name}`` (a bool tensor)."
    return op


equal = _compare(torch.eq, "equal")
not_equal = _compare(torch.ne, "not_equal")
greater = _compare(torch.gt, "greater")
greater_equal = _compare(torch.ge, "greater_equal")
less = _compare(torch.lt, "less")
less_equal = _compare(torch.le, "less_equal")


def logical_and(x1: Any, x2: Any) -> torch.Tensor:
    return torch.logical_and(tensor(x1).bool(), tensor(x2).bool())


def logical_or(x1: Any, x2: Any) -> torch.Tensor:
    return torch.logical_or(tensor(x1).bool(), tensor(x2).bool())


def logical_xor(x1: Any, x2: Any) -> torch.Tensor:
    return torch.logical_xor(tensor(x1).bool(), tensor(x2).bool())


def logical_not(x: Any) -> torch.Tensor:
    return torch.logical_not(tensor(x).bool())


def isnan(x: Any) -> torch.Tensor:
    return torch.isnan(tensor(x))


def isinf(x: Any) -> torch.Tensor:
    return torch.isinf(tensor(x))


def isfinite(x: Any) -> torch.Tensor:
    return torch.isfinite(tensor(x))


# ---------------------------------------------------------------------------------------------- reductions
def _reduce(t: torch.Tensor, axis: Any, keepdims: bool, fn: Any) -> torch.Tensor:
    dims = axes(axis, t.dim())
    if dims == ():
        return t  # NumPy: an empty axis tuple reduces nothing
    if dims is None:
        out = fn(t)
        return out.reshape((1,) * t.dim()) if keepdims else out
    return fn(t, dim=dims, keepdim=keepdims)


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:  # noqa: A001
    t = tensor(x)
    if t.dtype == torch.bool:
        t = t.to(torch.int32)
    return _reduce(t, axis, keepdims, torch.sum)


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """The mean (integers give float32; float16 is summed in float32 so it does not overflow)."""
    t = floating(x)
    low = t.dtype in (torch.float16, torch.bfloat16)
    out = _reduce(t.float() if low else t, axis, keepdims, torch.mean)
    return out.to(t.dtype) if low else out


def _extremum(x: Any, axis: Any, keepdims: bool, initial: Any, fn: Any, combine: Any) -> torch.Tensor:
    t = tensor(x)
    if t.numel() == 0:
        if initial is None:
            raise ValueError("zero-size array to reduction operation which has no identity: pass initial=")
        dims = axes(axis, t.dim())
        dims = tuple(range(t.dim())) if dims is None else dims
        shape = [1 if k in dims else n for k, n in enumerate(t.shape)] if keepdims else \
            [n for k, n in enumerate(t.shape) if k not in dims]
        return torch.full(shape, initial, dtype=t.dtype)
    out = _reduce(t, axis, keepdims, fn)
    return out if initial is None else combine(out, torch.as_tensor(initial, dtype=out.dtype))


def max(x: Any, axis: Any = None, keepdims: bool = False, initial: Any = None) -> torch.Tensor:  # noqa: A001
    return _extremum(x, axis, keepdims, initial, torch.amax, torch.maximum)


def min(x: Any, axis: Any = None, keepdims: bool = False, initial: Any = None) -> torch.Tensor:  # noqa: A001
    return _extremum(x, axis, keepdims, initial, torch.amin, torch.minimum)


amax, amin = max, min


def prod(x: Any, axis: Any = None, keepdims: bool = False, dtype: Any = None) -> torch.Tensor:
    t = tensor(x, dtype)
    dims = axes(axis, t.dim())
    if dims is None:
        out = torch.prod(t)
        return out.reshape((1,) * t.dim()) if keepdims else out
    for d in sorted(dims, reverse=True):
        t = torch.prod(t, dim=d, keepdim=keepdims)
    return t


def var(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Population variance (NumPy's default ``ddof=0``)."""
    return _reduce(floating(x), axis, keepdims, lambda t, **kw: torch.var(t, correction=0, **kw))


def std(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    return torch.sqrt(var(x, axis, keepdims))


def all(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:  # noqa: A001
    return _reduce(tensor(x).bool(), axis, keepdims, torch.all)


def any(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:  # noqa: A001
    return _reduce(tensor(x).bool(), axis, keepdims, torch.any)


def count_nonzero(x: Any, axis: Any = None) -> torch.Tensor:
    t = tensor(x)
    dims = axes(axis, t.dim())
    return torch.count_nonzero(t) if dims is None else torch.count_nonzero(t, dim=dims)


def _arg(fn: Any, x: Any, axis: Any, keepdims: bool) -> torch.Tensor:
    t = tensor(x)
    if t.dtype == torch.bool:
        t = t.to(torch.int32)
    if axis is None:
        out = fn(t.reshape(-1))
        return out.reshape((1,) * t.dim()) if keepdims else out
    return fn(t, dim=int(axis), keepdim=keepdims)


def argmax(x: Any, axis: int | None = None, keepdims: bool = False) -> torch.Tensor:
    """Index of the first maximum (of the flattened tensor for ``axis=None``)."""
    return _arg(torch.argmax, x, axis, keepdims)


def argmin(x: Any, axis: int | None = None, keepdims: bool = False) -> torch.Tensor:
    return _arg(torch.argmin, x, axis, keepdims)


def cumsum(x: Any, axis: int | None = None, dtype: Any = None) -> torch.Tensor:
    t = tensor(x, dtype)
    return torch.cumsum(t.reshape(-1), 0) if axis is None else torch.cumsum(t, int(axis))


def cumprod(x: Any, axis: int | None = None, dtype: Any = None) -> torch.Tensor:
    t = tensor(x, dtype)
    return torch.cumprod(t.reshape(-1), 0) if axis is None else torch.cumprod(t, int(axis))
