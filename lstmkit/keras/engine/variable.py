"""Layer weights as Keras variables, and the argument forms of ``Layer.add_weight``.

Why a ``Parameter`` subclass: Keras 3 code reads weights through the Variable API
(``v.value.grad`` in the torch ``train_step`` of the Keras guide, ``v.numpy()``, ``v.assign(...)``,
``v.name``, ``v.path``, ``v.trainable``) while torch code (optimizers, ``state_dict``,
``model.to(device)``) needs ``nn.Parameter`` s. A ``Variable`` is both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

_DTYPE_ALIASES = {"float": "float32", "int": "int64", "double": "float64", "half": "float16"}


def torch_dtype(dtype: Any) -> torch.dtype:
    """A Keras dtype name ("float32", "int32", "bool"), NumPy or torch dtype as a torch dtype."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if isinstance(dtype, np.dtype) or (isinstance(dtype, type) and issubclass(dtype, np.generic)):
        dtype = np.dtype(dtype).name
    name = str(dtype).removeprefix("torch.")
    value = getattr(torch, _DTYPE_ALIASES.get(name, name), None)
    if not isinstance(value, torch.dtype):
        raise ValueError(f"dtype must be a dtype name such as 'float32' or 'int32', got {dtype!r}")
    return value


class Variable(nn.Parameter):
    """A ``torch.nn.Parameter`` with Keras' Variable API. ``value`` is the variable itself, so
    ``v.value.grad`` is the gradient autograd left there."""

    def __new__(cls, data: torch.Tensor, requires_grad: bool = True, name: str | None = None,
                path: str | None = None) -> Variable:
        self = super().__new__(cls, data, requires_grad)
        self._keras_name = name or "variable"
        self._keras_path = path or self._keras_name
        return self

    def __deepcopy__(self, memo: dict) -> Variable:
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(self.data.clone(memory_format=torch.preserve_format), self.requires_grad,
                            self._keras_name, self._keras_path)
        memo[id(self)] = result
        return result

    @property
    def value(self) -> Variable:
        return self

    @property
    def name(self) -> str:  # type: ignore[override]
        return self._keras_name

    @property
    def path(self) -> str:
        return self._keras_path

    @property
    def trainable(self) -> bool:
        return self.requires_grad

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self.requires_grad_(bool(value))

    def numpy(self) -> np.ndarray:  # type: ignore[override]
        """The value as a NumPy array (a copy; works while the variable requires grad)."""
        return self.detach().cpu().numpy().copy()

    def assign(self, value: Any) -> Variable:
        with torch.no_grad():
            self.copy_(torch.as_tensor(np.asarray(value) if not isinstance(value, torch.Tensor) else value,
                                       dtype=self.dtype, device=self.device))
        return self

    def assign_add(self, value: Any) -> Variable:
        return self.assign(self.detach() + torch.as_tensor(value, dtype=self.dtype, device=self.device))

    def assign_sub(self, value: Any) -> Variable:
        return self.assign(self.detach() - torch.as_tensor(value, dtype=self.dtype, device=self.device))


def weight_arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Normalise ``add_weight``'s two call forms to keyword arguments.

    - Keras 3: ``add_weight(shape=None, initializer=None, dtype=None, trainable=True, autocast=True,
      regularizer=None, constraint=None, aggregation="none", name=None)``, where up to three
      positionals are ``shape, initializer, dtype``;
    - lstmkit's earlier form (a name first): ``add_weight(name, shape, initializer="glorot_uniform",
      regularizer=None, constraint=None, trainable=True)``.
    """
    out = dict(kwargs)
    if args and isinstance(args[0], str):
        names = ("name", "shape", "initializer", "regularizer", "constraint", "trainable")
        if len(args) > len(names):
            raise TypeError(f"add_weight() takes at most {len(names)} positional arguments in the form "
                            f"add_weight(name, shape, ...), got {len(args)}")
        for key, value in zip(names, args):
            if key in out:
                raise TypeError(f"add_weight() got `{key}` both positionally and as a keyword argument")
            out[key] = value
        out.setdefault("initializer", "glorot_uniform")
        return out
    if len(args) > 3:
        raise TypeError(f"add_weight() takes at most 3 positional arguments (shape, initializer, dtype) but "
                        f"{len(args)} were given")
    for key, value in zip(("shape", "initializer", "dtype"), args):
        if key in out:
            raise ValueError(f"`{key}` was passed both positionally and as a keyword argument.")
        out[key] = value
    return out


def weight_shape(shape: Any) -> tuple[int, ...]:
    """``shape`` (None for a scalar, an int, or a sequence of ints) as a tuple; None entries are refused."""
    if shape is None:
        return ()
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    if not isinstance(shape, (Sequence, torch.Size)) or isinstance(shape, str):
        raise TypeError(f"add_weight(shape=...) must be a tuple of ints, got {shape!r}")
    if any(d is None for d in shape):
        raise ValueError(f"add_weight(shape=...) must be fully defined (no None entries), got {tuple(shape)}")
    return tuple(int(d) for d in shape)
