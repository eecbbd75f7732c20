"""Keras ops and Python operators on the symbolic tensors of the functional API.

Why: Keras 3 programs write ``res = x + inputs``, ``x[:, -1, :]`` or ``ops.mean(z, axis=1)`` between
layer calls of a functional model (the keras.io Transformer examples do). Each such call on a
``KerasTensor`` becomes one ``SymbolicOp`` layer in the graph, which runs the eager op on real
tensors; its output shape comes from the engine's dummy passes, as for any layer.

Saving: the layer's config names the op (one of ``lstmkit.keras.ops``' public functions, nothing
else) and records its non-tensor arguments as JSON, with ``{"__tensor__": i}`` where the i-th
symbolic input goes; loading looks the op up in that fixed table, so no code comes from a file.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from lstmkit.keras.engine.keras_tensor import KerasTensor, is_symbolic
from lstmkit.keras.engine.layer import Layer, unique_name
from lstmkit.keras.engine.registry import register

__all__ = ["SymbolicOp", "symbolic_aware", "EAGER_ONLY"]

#: op name -> the eager function, filled by ``symbolic_aware`` (the public ops of lstmkit.keras.ops)
_OPS: dict[str, Callable[..., Any]] = {}
#: ops that never make a graph node: they take callables, or answer from the static shape/dtype
EAGER_ONLY = frozenset({"cond", "fori_loop", "while_loop", "switch", "convert_to_numpy", "convert_to_tensor",
                        "is_tensor", "standardize_dtype", "shape", "dtype", "ndim", "size"})


def _encode(value: Any, tensors: list[KerasTensor]) -> Any:
    """``value`` as JSON, each KerasTensor replaced by a placeholder (and appended to ``tensors``)."""
    if isinstance(value, KerasTensor):
        tensors.append(value)
        return {"__tensor__": len(tensors) - 1}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, slice):
        return {"__slice__": [_encode(v, tensors) for v in (value.start, value.stop, value.step)]}
    if value is Ellipsis:
        return {"__ellipsis__": True}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, tensors) for v in value]}
    if isinstance(value, list):
        return [_encode(v, tensors) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: _encode(v, tensors) for k, v in value.items()}}
    if isinstance(value, torch.dtype):
        return str(value).removeprefix("torch.")
    if isinstance(value, (np.ndarray, torch.Tensor)):
        arr = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else value
        return {"__array__": arr.tolist(), "dtype": str(arr.dtype)}
    raise TypeError(f"a keras op on symbolic tensors cannot record an argument of type {type(value).__name__} "
                    f"({value!r}); put this computation in a Layer subclass or a Lambda layer")


def _decode(value: Any, tensors: list[Any]) -> Any:
    """Inverse of ``_encode``, with the placeholders filled from ``tensors``."""
    if isinstance(value, list):
        return [_decode(v, tensors) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tensor__" in value:
        return tensors[value["__tensor__"]]
    if "__slice__" in value:
        return slice(*(_decode(v, tensors) for v in value["__slice__"]))
    if "__ellipsis__" in value:
        return Ellipsis
    if "__tuple__" in value:
        return tuple(_decode(v, tensors) for v in value["__tuple__"])
    if "__dict__" in value:
        return {k: _decode(v, tensors) for k, v in value["__dict__"].items()}
    if "__array__" in value:
        return np.asarray(value["__array__"], dtype=value["dtype"])
    raise ValueError(f"unknown entry in a SymbolicOp template: {value!r}")


@register("layer")
class SymbolicOp(Layer):
    """One keras op applied in a functional graph (made by the ops and operators, not by hand).

    Args:
        op: the name of a public ``lstmkit.keras.ops`` function.
        template: ``{"args": [...], "kwargs": {...}}`` in ``_encode``'s JSON form.
    """

    def __init__(self, op: str, template: dict[str, Any], name: str | None = None, **kwargs: Any):
        if op not in _OPS:
            raise ValueError(f"SymbolicOp: unknown op {op!r}; expected one of lstmkit.keras.ops' functions")
        super().__init__(name=name or unique_name(op), **kwargs)
        self.op = op
        self.template = template
        self.built = True

    def call(self, inputs: list[torch.Tensor]) -> Any:
        tensors = list(inputs)
        args = _decode(self.template.get("args", []), tensors)
        kwargs = {k: _decode(v, tensors) for k, v in self.template.get("kwargs", {}).items()}
        return _OPS[self.op](*args, **kwargs)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "op": self.op, "template": self.template}


def apply_symbolic(op: str, args: tuple, kwargs: dict[str, Any]) -> Any:
    """``op(*args, **kwargs)`` with symbolic tensors among the arguments: a ``SymbolicOp`` node."""
    tensors: list[KerasTensor] = []
    template = {"args": _encode(list(args), tensors), "kwargs": _encode(dict(kwargs), tensors)["__dict__"]}
    return SymbolicOp(op, template)(tensors)


def symbolic_aware(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` as a public op: eager on real tensors, a graph node when an argument is symbolic."""
    _OPS[name] = fn

    @functools.wraps(fn)
    def op(*args: Any, **kwargs: Any) -> Any:
        if is_symbolic(list(args)) or is_symbolic(list(kwargs.values())):
            return apply_symbolic(name, args, kwargs)
        return fn(*args, **kwargs)

    return op
