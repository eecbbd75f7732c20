"""``Normalization``: feature-wise standardisation ``(x - mean) / sqrt(variance)`` with
statistics given up front or learned from data by ``adapt`` (Keras 3 semantics).

Why the adapted statistics are buffers listed as weights (``adapt_mean``, ``adapt_variance``,
``count``, in Keras' order): they are data, not trainable parameters, yet ``model.save`` /
``load_model`` and ``get_weights`` must carry them, so a model that standardises its inputs
keeps doing so after a reload. Statistics passed as ``mean=``/``variance=`` live in the config
instead, and the layer then has no weights, as in Keras.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

from lstmkit.keras.engine.keras_tensor import is_symbolic
from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.common import check_single_shape, check_tensor, to_float

_EPSILON = 1e-7  # Keras' backend.epsilon(): the floor of the standard deviation


def _first(batch: Any) -> Any:
    """The inputs of a batch: ``x`` of an ``(x, y[, sample_weight])`` tuple."""
    return batch[0] if isinstance(batch, tuple) else batch


def _as_array(batch: Any) -> np.ndarray:
    if isinstance(batch, torch.Tensor):
        return batch.detach().cpu().double().numpy()
    return np.asarray(batch, dtype=np.float64)


@register("layer")
class Normalization(Layer):
    """Standardises inputs per feature: ``(x - mean) / max(sqrt(variance), 1e-7)``, or with
    ``invert=True`` the inverse, ``mean + x * max(sqrt(variance), 1e-7)``.

    Args:
        axis: the axis or axes that keep their own statistics (the features; default the last);
            every other axis is reduced over. None: one mean and variance for everything.
        mean: fixed mean (a scalar or an array broadcastable over the kept axes); needs
            ``variance`` too. Without them, call ``adapt(data)`` before use.
        variance: fixed variance, the shape of ``mean``.
        invert: apply the inverse transform (de-standardise model outputs).
    """

    def __init__(self, axis: int | tuple[int, ...] | list[int] | None = -1, mean: Any = None, variance: Any = None,
                 invert: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        if axis is None:
            axes: tuple[int, ...] = ()
        elif isinstance(axis, numbers.Integral) and not isinstance(axis, bool):
            axes = (int(axis),)
        elif isinstance(axis, (list, tuple)) and all(isinstance(a, numbers.Integral) and not isinstance(a, bool)
                                                     for a in axis):
            axes = tuple(int(a) for a in axis)
        else:
            raise TypeError(f"Normalization axis must be an int, a list of ints or None, got {axis!r}")
        self.axis = axes
        self.input_mean, self.input_variance = mean, variance
        self.invert = bool(invert)
        self.supports_masking = True
        if (mean is not None) != (variance is not None):
            raise ValueError(f"When setting values directly, both `mean` and `variance` must be set. Received: "
                             f"mean={mean} and variance={variance}")
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError(f"When setting values directly, `mean` and `variance` must have the same shape. "
                                 f"Received: mean shape {np.shape(mean)} and variance shape {np.shape(variance)}")
            if len(np.shape(mean)) > len(self.axis):
                raise ValueError(f"The rank of `mean` must be less than or equal to the number of axes "
                                 f"({len(self.axis)}). Received: mean shape {np.shape(mean)} for axis {self.axis}")

    def build(self, input_shape: Any) -> None:
        shape = check_single_shape(self, input_shape)
        ndim = len(shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError(f"All `axis` values must be in the range [-ndim, ndim). Received inputs with ndim={ndim}, "
                             f"while axis={self.axis}")
        keep = tuple(sorted(a % ndim for a in self.axis))
        for d in keep:
            if shape[d] is None:
                raise ValueError(f"All `axis` values to be kept must have a known shape. Received axis={self.axis}, "
                                 f"inputs.shape={shape}, with unknown axis at index {d}")
        self._ndim, self._keep_axis = ndim, keep
        self._build_shape = shape
        self._reduce_axis = tuple(d for d in range(ndim) if d not in keep)
        self._broadcast_shape = [shape[d] if d in keep else 1 for d in range(ndim)]
        stat_shape = tuple(int(shape[d]) for d in keep)
        if self.input_mean is None:
            for name, value in (("adapt_mean", torch.zeros(stat_shape)), ("adapt_variance", torch.ones(stat_shape)),
                                ("count", torch.zeros((), dtype=torch.int32))):
                self.register_buffer(name, value.to(self.compute_dtype) if name != "count" else value)
                self._weight_names.append(name)
            return
        mean = torch.as_tensor(np.asarray(self.input_mean, dtype=np.float64))
        variance = torch.as_tensor(np.asarray(self.input_variance, dtype=np.float64))
        if mean.dim() > 0:  # the given statistics align with the last kept axes
            expanded = [1] * ndim
            for i in range(1, mean.dim() + 1):
                expanded[keep[-i]] = mean.shape[-i]
            mean, variance = mean.reshape(expanded), variance.reshape(expanded)
        try:
            self._fixed = (mean.broadcast_to(self._broadcast_shape).to(self.compute_dtype),
                           variance.broadcast_to(self._broadcast_shape).to(self.compute_dtype))
        except RuntimeError:
            raise ValueError(f"Normalization {self.name!r}: mean of shape {tuple(np.shape(self.input_mean))} does not "
                             f"broadcast to the kept axes {keep} of inputs of shape {shape}") from None

    # ------------------------------------------------------------------ adapt
    def adapt(self, data: Any) -> None:
        """Set the mean and variance from ``data``: an array or tensor (all of it at once), a
        ``lstmkit.keras.utils`` dataset (``PyDataset``, ``timeseries_dataset_from_array``), or any
        iterable of batches (``(x, y)`` batches use ``x``). Batches are combined exactly (the
        population variance of all samples)."""
        if self.input_mean is not None:
            raise ValueError(f"Normalization {self.name!r} was given mean and variance; it cannot be adapted")
        if isinstance(data, (np.ndarray, torch.Tensor)):
            batches: Iterable[Any] | None = None
            shape = tuple(data.shape)
        elif is_symbolic(data) or isinstance(data, (str, bytes)) or not hasattr(data, "__iter__"):
            raise TypeError(f"Unsupported data type: {type(data)}. `adapt` supports NumPy arrays, tensors, "
                            "lstmkit.keras.utils datasets (PyDataset, timeseries datasets) and iterables of batches.")
        else:
            iterator = iter(data)
            first = next(iterator, None)
            if first is None:
                raise ValueError("adapt() received an empty iterable (no batches). Expected at least one batch. Pass "
                                 "a non-empty iterable of arrays or tensors, e.g. layer.adapt([x]).")
            first = _first(first)
            if getattr(first, "shape", None) is None:
                raise TypeError(f"adapt() expects an iterable that yields arrays or tensors with a `.shape` attribute "
                                f"(e.g. numpy arrays or tensors). Got an element of type {type(first).__name__}.")
            shape = tuple(first.shape)
            batches = itertools.chain([first], iterator)
        if not self.built:
            self._maybe_build(shape)
        self._check_shape(shape, "adapt() is being called with data with an incompatible shape")
        if batches is None:
            arr = _as_array(data)
            mean, var = arr.mean(axis=self._reduce_axis), arr.var(axis=self._reduce_axis)
        else:
            mean, var = self._combine(batches)
        with torch.no_grad():
            shape = self.adapt_mean.shape
            self.adapt_mean.copy_(torch.as_tensor(np.asarray(mean), dtype=self.adapt_mean.dtype).reshape(shape))
            self.adapt_variance.copy_(torch.as_tensor(np.asarray(var), dtype=self.adapt_variance.dtype).reshape(shape))

    def _combine(self, batches: Iterable[Any]) -> tuple[np.ndarray, np.ndarray]:
        """Running mean and variance over batches (Keras' pairwise update, in float64)."""
        stat_shape = tuple(self.adapt_mean.shape)
        total_mean, total_var, total_count = np.zeros(stat_shape), np.zeros(stat_shape), 0
        for batch in batches:
            arr = _as_array(_first(batch))
            self._check_shape(arr.shape, "adapt() yielded a batch with incompatible shape")
            batch_mean, batch_var = arr.mean(axis=self._reduce_axis), arr.var(axis=self._reduce_axis)
            count = math.prod(arr.shape[d] for d in self._reduce_axis) if self._reduce_axis else 1
            total_count += count
            w = count / total_count
            new_mean = total_mean * (1 - w) + batch_mean * w
            total_var = ((total_var + (total_mean - new_mean) ** 2) * (1 - w)
                         + (batch_var + (batch_mean - new_mean) ** 2) * w)
            total_mean = new_mean
        return total_mean, total_var

    def _check_shape(self, shape: tuple, what: str) -> None:
        if len(shape) != self._ndim or any(shape[d] != self._build_shape[d] for d in self._keep_axis):
            raise ValueError(f"The layer was built with input_shape={self._build_shape}, but {what}: "
                             f"data.shape={tuple(shape)}")

    # ------------------------------------------------------------------ calling
    @property
    def mean(self) -> torch.Tensor | None:
        """The mean in use, shaped to broadcast over the inputs (as Keras' ``layer.mean``); None before build."""
        if not self.built:
            return None
        return self._fixed[0] if self.input_mean is not None else self.adapt_mean.reshape(self._broadcast_shape)

    @property
    def variance(self) -> torch.Tensor | None:
        """The variance in use, shaped as ``mean``; None before build."""
        if not self.built:
            return None
        return self._fixed[1] if self.input_mean is not None else self.adapt_variance.reshape(self._broadcast_shape)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = to_float(check_tensor(self, inputs), self.compute_dtype)  # any rank the statistics broadcast to, as Keras
        mean, variance = self.mean.to(x.device), self.variance.to(x.device)
        std = torch.clamp(torch.sqrt(variance), min=_EPSILON)
        return mean + x * std if self.invert else (x - mean) / std

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis, "invert": self.invert,
                "mean": np.array(self.input_mean).tolist(), "variance": np.array(self.input_variance).tolist()}
