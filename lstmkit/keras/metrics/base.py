"""The Keras ``Metric`` base on torch, and the reduction metrics every other metric builds on
(``Mean``, ``Sum``, ``MeanMetricWrapper``).

Metrics accumulate in tensors on the data's device and never call ``.item()``: ``update_state``
is a handful of tensor ops with no host synchronisation, so the training loop can update them
every batch and read ``result()`` once per log. ``update_state`` always runs under
``torch.no_grad()`` (also in user subclasses), so accumulating predictions that require grad
does not keep autograd graphs alive across batches.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import torch

from lstmkit.keras.engine.layer import as_tensor, snake_case, unique_name
from lstmkit.keras.engine.registry import register
from lstmkit.keras.losses.base import apply_mask, squeeze_or_expand_to_same_rank

__all__ = ["Metric", "Mean", "Sum", "MeanMetricWrapper", "reduce_to_samplewise_values", "divide_no_nan"]


def divide_no_nan(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a / b`` with 0 where ``b == 0`` (Keras' ``divide_no_nan``)."""
    zero = b == 0
    return torch.where(zero, torch.zeros_like(a), a / torch.where(zero, torch.ones_like(b), b))


def _dtype_of(dtype: Any) -> torch.dtype:
    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    return getattr(torch, str(dtype).removeprefix("torch."))


def _no_grad(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with torch.no_grad():
            return fn(*args, **kwargs)

    wrapped._lstmkit_no_grad = True
    return wrapped


@register("metric")
class Metric:
    """Base of the Keras metrics: ``update_state(...)`` accumulates, ``result()`` reads the
    value (a 0-dim tensor, or a vector for per-threshold / per-class metrics), ``reset_state()``
    starts over; calling the metric updates and returns the result (as Keras 3).

    Subclasses create their accumulators with ``add_variable`` in ``__init__``.

    Args:
        name: the metric name (the logs key).
        dtype: accumulator dtype (default "float32").
    """

    _direction: str | None = None  # "up" / "down": whether larger is better (read by callbacks in mode="auto")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        update = cls.__dict__.get("update_state")
        if update is not None and not getattr(update, "_lstmkit_no_grad", False):
            cls.update_state = _no_grad(update)

    def __init__(self, name: str | None = None, dtype: Any = None):
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"metric name must be a non-empty string, got {name!r}")
        self.name = name or unique_name(snake_case(type(self).__name__))
        self._dtype = _dtype_of(dtype)
        self._variable_names: list[str] = []
        self._device = torch.device("cpu")

    @property
    def dtype(self) -> str:
        return str(self._dtype).removeprefix("torch.")

    def add_variable(self, shape: Sequence[int] | int = (), initializer: Any = "zeros", dtype: Any = None,
                     name: str | None = None) -> torch.Tensor:
        """Create an accumulator (a tensor attribute ``self.<name>``), zeros unless
        ``initializer`` is a number."""
        if name is None or not str(name).isidentifier():
            raise ValueError(f"metric variables need a name usable as an attribute, got {name!r}")
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        fill = 0.0 if initializer in (None, "zeros") else float(initializer)
        value = torch.full(shape, fill, dtype=_dtype_of(dtype) if dtype is not None else self._dtype,
                           device=self._device)
        setattr(self, name, value)
        if name not in self._variable_names:
            self._variable_names.append(name)
        return value

    add_weight = add_variable  # Keras' backwards-compatible alias

    @property
    def variables(self) -> list[torch.Tensor]:
        return [getattr(self, n) for n in self._variable_names]

    def _to_device(self, device: torch.device) -> None:
        """Move the accumulators to the data's device (once, on the first update there)."""
        if device != self._device:
            for n in self._variable_names:
                setattr(self, n, getattr(self, n).to(device))
            self._device = device

    def update_state(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(f"{type(self).__name__}.update_state")

    def result(self) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__}.result")

    def reset_state(self) -> None:
        for n in self._variable_names:
            getattr(self, n).zero_()

    def __call__(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


def reduce_to_samplewise_values(values: Any, sample_weight: Any, reduce_fn: Callable[..., torch.Tensor],
                                dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Keras' rule: weights reduce the values to the weights' rank, then everything to one value
    per sample; also returns the per-sample weights."""
    mask = getattr(values, "_keras_mask", None)
    values = as_tensor(values)
    if values.dtype != dtype:
        values = values.to(dtype)
    if sample_weight is not None:
        sample_weight = as_tensor(sample_weight)
        if sample_weight.dtype != dtype or sample_weight.device != values.device:
            sample_weight = sample_weight.to(device=values.device, dtype=dtype)
        if mask is not None:
            sample_weight = apply_mask(sample_weight, mask.to(values.device), dtype, "sum")
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        weight_ndim, values_ndim = sample_weight.dim(), values.dim()
        if values_ndim > weight_ndim:
            values = reduce_fn(values, dim=list(range(weight_ndim, values_ndim)))
        try:
            sample_weight = torch.broadcast_to(sample_weight, values.shape)
        except RuntimeError:
            raise ValueError(f"sample_weight of shape {tuple(sample_weight.shape)} does not broadcast to the values "
                             f"of shape {tuple(values.shape)}") from None
        values = values * sample_weight
        if weight_ndim > 1:
            sample_weight = reduce_fn(sample_weight, dim=list(range(1, weight_ndim)))
    if values.dim() > 1:
        values = reduce_fn(values, dim=list(range(1, values.dim())))
    return values, sample_weight


@register("metric")
class Sum(Metric):
    """The (weighted) sum of the values passed to ``update_state(values, sample_weight=None)``.

    Args:
        name: the metric name.
        dtype: accumulator dtype.
    """

    def __init__(self, name: str = "sum", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), name="total")

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        values, _ = reduce_to_samplewise_values(values, sample_weight, torch.sum, self._dtype)
        self._to_device(values.device)
        self.total.add_(values.sum())

    def result(self) -> torch.Tensor:
        return self.total.clone()


@register("metric")
class Mean(Metric):
    """The (weighted) mean of the values passed to ``update_state(values, sample_weight=None)``.

    Args:
        name: the metric name.
        dtype: accumulator dtype.
    """

    def __init__(self, name: str = "mean", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), name="total")
        self.count = self.add_variable((), name="count")

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        values, sample_weight = reduce_to_samplewise_values(values, sample_weight, torch.mean, self._dtype)
        self._to_device(values.device)
        self.total.add_(values.sum())
        if sample_weight is not None:
            self.count.add_(sample_weight.sum())
        else:
            self.count.add_(values.shape[0] if values.dim() >= 1 else 1)

    def result(self) -> torch.Tensor:
        return divide_no_nan(self.total, self.count)


@register("metric")
class MeanMetricWrapper(Mean):
    """The mean of a per-sample function ``fn(y_true, y_pred, **kwargs)`` over all samples seen.

    Args:
        fn: the function (e.g. a loss function, or any ``callable(y_true, y_pred)``).
        name: the metric name (default: the function's name).
        dtype: accumulator dtype.
        **kwargs: passed to ``fn``.
    """

    def __init__(self, fn: Callable[..., Any], name: str | None = None, dtype: Any = None, **kwargs: Any):
        if isinstance(fn, str):
            fn = _builtin_function(fn)
        if not callable(fn):
            raise TypeError(f"MeanMetricWrapper expects a callable fn(y_true, y_pred), got {fn!r}")
        default = "".join(ch for ch in getattr(fn, "__name__", "") if ch.isalnum() or ch == "_")
        super().__init__(name=name or snake_case(default) or "mean_metric_wrapper", dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        mask = getattr(y_pred, "_keras_mask", None)
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        if mask is not None:
            values_t = as_tensor(values)
            if sample_weight is not None:
                sample_weight = as_tensor(sample_weight).to(device=values_t.device, dtype=self._dtype)
            sample_weight = apply_mask(sample_weight, mask.to(values_t.device), self._dtype, "sum")
        super().update_state(values, sample_weight=sample_weight)

    def get_config(self) -> dict[str, Any]:
        name = getattr(self._fn, "__name__", None)
        if _builtin_function(name, strict=False) is not self._fn:
            raise TypeError(f"cannot serialize metric {self.name!r}: its function {self._fn!r} is not a built-in "
                            "metric function")
        return {**super().get_config(), "fn": name, **self._fn_kwargs}


def _builtin_function(name: Any, strict: bool = True) -> Any:
    from lstmkit.keras.metrics import FUNCTIONS

    if name in FUNCTIONS:
        return FUNCTIONS[name]
    if strict:
        raise ValueError(f"unknown metric function {name!r}; known: {sorted(FUNCTIONS)}")
    return None
