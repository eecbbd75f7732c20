"""``Input(shape=...)``: the entry point of a functional model (and optionally of a Sequential)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from lstmkit.keras.engine.keras_tensor import KerasTensor
from lstmkit.keras.engine.layer import Layer, unique_name
from lstmkit.keras.engine.registry import register

_DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16, "bfloat16": torch.bfloat16,
           "int32": torch.int64, "int64": torch.int64, "int": torch.int64, "bool": torch.bool}


def to_dtype(dtype: Any) -> torch.dtype:
    """Keras dtype names (or torch dtypes) to torch; integer inputs are carried as int64."""
    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    name = str(dtype).removeprefix("torch.")
    if name not in _DTYPES:
        raise ValueError(f"dtype must be one of {sorted(_DTYPES)}, got {dtype!r}")
    return _DTYPES[name]


@register("layer")
class InputLayer(Layer):
    """Holds the shape and dtype of a model input; ``InputLayer(shape=...).output`` is the
    symbolic tensor. As the first element of a Sequential it fixes the input shape."""

    def __init__(self, shape: Sequence[int | None] | None = None, batch_size: int | None = None,
                 dtype: Any = None, name: str | None = None, batch_shape: Sequence[int | None] | None = None,
                 **kwargs: Any):
        if kwargs.get("batch_input_shape") is not None and batch_shape is None:
            batch_shape = kwargs.pop("batch_input_shape")
        if kwargs.get("input_shape") is not None and shape is None:
            shape = kwargs.pop("input_shape")
        kwargs.pop("trainable", None)
        super().__init__(name=name or unique_name("input_layer"), **kwargs)
        if batch_shape is None:
            if shape is None:
                raise ValueError("Input needs shape= (the shape of one sample, without the batch dimension)")
            if isinstance(shape, int):
                shape = (shape,)
            batch_shape = (batch_size, *tuple(shape))
        batch_shape = tuple(batch_shape)
        for d in batch_shape[1:]:
            if d is not None and (not isinstance(d, int) or d <= 0):
                raise ValueError(f"Input shape entries must be positive ints or None, got shape {batch_shape[1:]}")
        self.batch_shape = batch_shape
        self.input_dtype = to_dtype(dtype)
        self.built = True
        self.output = KerasTensor(batch_shape, self.input_dtype, name=self.name, input_layer=self)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs

    def get_config(self) -> dict[str, Any]:
        return {"batch_shape": list(self.batch_shape), "dtype": str(self.input_dtype).removeprefix("torch."),
                "name": self.name}


def Input(shape: Sequence[int | None] | int | None = None, batch_size: int | None = None, dtype: Any = None,
          name: str | None = None, batch_shape: Sequence[int | None] | None = None, **kwargs: Any) -> KerasTensor:
    """A symbolic model input: ``Input(shape=(timesteps, features))`` (batch size left out)."""
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name, batch_shape=batch_shape,
                      **kwargs).output
