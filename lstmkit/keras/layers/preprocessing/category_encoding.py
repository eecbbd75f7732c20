"""``CategoryEncoding``: integer category ids to one-hot, multi-hot or count vectors, and the
encoding function the lookup layers share (Keras' ``encode_categorical_inputs`` on torch).

Keras' rules, kept here exactly: a scalar is one sample; "one_hot" drops a trailing axis of size 1
and adds the category axis; "multi_hot" and "count" reduce axis 1 of inputs of rank >= 2 (axis 0 of
rank-1 inputs), so ``(batch, n)`` becomes ``(batch, num_tokens)``; negative ids encode as nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lstmkit.keras.engine.keras_tensor import is_symbolic
from lstmkit.keras.engine.layer import Layer, as_tensor
from lstmkit.keras.engine.registry import register

__all__ = ["CategoryEncoding", "encode_categorical"]

_MODES = ("one_hot", "multi_hot", "count")


def _one_hot(ids: torch.Tensor, depth: int, dtype: torch.dtype) -> torch.Tensor:
    valid = (ids >= 0) & (ids < depth)
    out = torch.nn.functional.one_hot(torch.where(valid, ids, 0), depth)  # (..., depth)
    return (out * valid.unsqueeze(-1)).to(dtype)


def encode_categorical(ids: torch.Tensor, output_mode: str, depth: int, dtype: torch.dtype,
                       count_weights: torch.Tensor | None = None) -> torch.Tensor:
    """Encode int64 category ids (ids outside ``[0, depth)`` count as nothing) as Keras does."""
    if ids.dim() == 0:
        ids = ids.unsqueeze(-1)
        count_weights = None if count_weights is None else count_weights.reshape(1)
    if output_mode == "one_hot":
        if ids.dim() > 1 and ids.shape[-1] == 1:
            ids = ids.squeeze(-1)
        return _one_hot(ids, depth, dtype)
    single = ids.dim() == 1
    if single:  # one sample: reduce its only axis
        ids = ids.unsqueeze(0)
        count_weights = None if count_weights is None else count_weights.unsqueeze(0)
    ids = ids.movedim(1, -1)  # Keras reduces axis 1: put it last, (B, ..., n)
    valid = (ids >= 0) & (ids < depth)
    index = torch.where(valid, ids, depth)  # invalid ids land in a spare slot that is cut off
    out_dtype = count_weights.dtype if count_weights is not None else dtype
    out = torch.zeros((*ids.shape[:-1], depth + 1), dtype=out_dtype, device=ids.device)
    if output_mode == "multi_hot":
        out.scatter_(-1, index, 1)
    else:
        weights = torch.ones_like(index, dtype=out_dtype) if count_weights is None else \
            count_weights.movedim(1, -1).to(out_dtype)
        out.scatter_add_(-1, index, weights)
    out = out[..., :depth]
    return out[0] if single else out


@register("layer")
class CategoryEncoding(Layer):
    """Encodes integer features (ids in ``[0, num_tokens)``) as dense vectors.

    Args:
        num_tokens: the number of categories (the output's last axis).
        output_mode: "multi_hot" (default; alias "binary"), "one_hot" or "count".
        sparse: Keras' sparse output; only False is supported (as Keras off TensorFlow).

    Call: ``layer(inputs, count_weights=None)``; inputs are ints (lists, NumPy or torch, floats are
    truncated as Keras casts them); ``count_weights`` (same shape) weights each id in "count"
    mode. The output is float32 (the layer's dtype). Ids >= ``num_tokens`` are an error.
    """

    def __init__(self, num_tokens: int | None = None, output_mode: str = "multi_hot", sparse: bool = False,
                 **kwargs: Any):
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode not in _MODES:
            raise ValueError(f"Unknown arg for output_mode: {output_mode}")
        if num_tokens is None:
            raise ValueError("num_tokens must be set to use this layer. If the number of tokens is not known "
                             "beforehand, use the IntegerLookup layer instead.")
        if isinstance(num_tokens, bool) or not isinstance(num_tokens, int) or num_tokens < 1:
            raise ValueError(f"`num_tokens` must be >= 1. Received: num_tokens={num_tokens}.")
        if sparse:
            raise ValueError("`sparse=True` can only be used with the TensorFlow backend.")
        self.num_tokens = num_tokens
        self.output_mode = output_mode
        self.sparse = False
        self.built = True

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        input_shape = tuple(input_shape)
        if not input_shape:
            return (self.num_tokens,)
        if self.output_mode == "one_hot":
            if input_shape[-1] != 1 or len(input_shape) == 1:
                return input_shape + (self.num_tokens,)
            return input_shape[:-1] + (self.num_tokens,)
        return input_shape[:-1] + (self.num_tokens,)

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        # A (nested) Python list is one array of values here, not a list of inputs.
        if isinstance(inputs, (list, tuple)) and not is_symbolic(inputs):
            inputs = torch.as_tensor(np.asarray(inputs))
        return super().__call__(inputs, *args, **kwargs)

    def call(self, inputs: torch.Tensor, count_weights: Any = None) -> torch.Tensor:
        if count_weights is not None:
            if self.output_mode != "count":
                raise ValueError("`count_weights` is not used when `output_mode` is not `'count'`. "
                                 f"Received `count_weights={count_weights}`.")
            count_weights = torch.as_tensor(count_weights, dtype=self.compute_dtype, device=inputs.device)
            if tuple(count_weights.shape) != tuple(inputs.shape):
                raise ValueError("CategoryEncoding: `count_weights` must have the inputs' shape "
                                 f"{tuple(inputs.shape)}, "
                                 f"got {tuple(count_weights.shape)}")
        ids = inputs.long() if inputs.dtype != torch.int64 else inputs
        if ids.numel() and int(ids.max()) >= self.num_tokens:
            raise ValueError(f"CategoryEncoding {self.name!r}: inputs must be ids in "
                             f"[0, num_tokens={self.num_tokens}), "
                             f"got the value {int(ids.max())}")
        return encode_categorical(ids, self.output_mode, self.num_tokens, self.compute_dtype, count_weights)

    def _encode(self, inputs: Any, count_weights: Any = None) -> torch.Tensor:
        """Keras' private helper: encode without the layer call machinery."""
        return self.call(as_tensor(inputs), count_weights)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_tokens": self.num_tokens, "output_mode": self.output_mode,
                "sparse": self.sparse}
