"""The einsum projections and attention equations inside ``MultiHeadAttention``.

Keras 3 projects query, key and value with ``EinsumDense`` sub-layers named "query", "key",
"value" (and "gate") and "attention_output"; their kernels keep the head axis separate, e.g.
``(dim, num_heads, key_dim)`` and ``(num_heads, value_dim, dim)``. ``EinsumProjection`` is that
sub-layer reduced to what the attention layer needs (a fixed equation, kernel and bias shapes), so
``get_weights()`` lines up with Keras' arrays one to one. The equation builders produce the same
einsum strings as Keras' ``_build_proj_equation`` / ``_build_attention_equation`` so that
``attention_axes`` means the same thing.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any

import torch

from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.layers.common import add_kernel_and_bias

_LETTERS = string.ascii_lowercase


def projection_equation(free_dims: int, bound_dims: int, output_dims: int) -> tuple[str, str]:
    """``(equation, bias_letters)`` of a projection that keeps ``free_dims`` leading axes,
    contracts ``bound_dims`` axes with the kernel and adds ``output_dims`` new ones:
    ``projection_equation(2, 1, 2) == ("abc,cde->abde", "de")``."""
    free = _LETTERS[:free_dims]
    bound = _LETTERS[free_dims:free_dims + bound_dims]
    out = _LETTERS[free_dims + bound_dims:free_dims + bound_dims + output_dims]
    return f"{free}{bound},{bound}{out}->{free}{out}", out


def attention_equations(rank: int, attn_axes: Sequence[int]) -> tuple[str, str, int]:
    """Keras' dot-product and combine equations for projected tensors of ``rank`` axes
    ``(batch, <other axes>, <attention axes>, heads, channels)``, and the scores' rank.

    The scores are ``(<batch axes incl. heads>, <query attention axes>, <key attention axes>)``:
    ``(B, N, T, S)`` for the default 3-D inputs."""
    target = _LETTERS[:rank]
    batch_dims = [i for i in range(rank) if i not in attn_axes and i != rank - 1]
    source, offset = "", rank
    for i in range(rank):
        if i in batch_dims or i == rank - 1:
            source += target[i]
        else:
            source += _LETTERS[offset]
            offset += 1
    product = ("".join(target[i] for i in batch_dims) + "".join(target[i] for i in attn_axes)
               + "".join(source[i] for i in attn_axes))
    return f"{source},{target}->{product}", f"{product},{source}->{target}", len(product)


class EinsumProjection(Layer):
    """``einsum(equation, x, kernel) + bias``, the Keras ``EinsumDense`` of an attention layer.

    Args:
        equation: the einsum string, input first, kernel second.
        kernel_shape: the kernel's shape (Keras' layout).
        bias_shape: the bias' shape (the output's trailing axes), or None for no bias.
        options: ``kernel_initializer``, ``bias_initializer``, ``*_regularizer``,
            ``*_constraint`` (resolved objects) and ``activity_regularizer``.
        activation: an optional elementwise function (the gate's sigmoid).
    """

    def __init__(self, equation: str, kernel_shape: Sequence[int], bias_shape: Sequence[int] | None,
                 options: dict[str, Any], activation: Any = None, name: str | None = None, dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        self.equation = equation
        self.activation = activation
        add_kernel_and_bias(self, kernel_shape, bias_shape, options)
        self.activity_regularizer = options.get("activity_regularizer")
        self.built = True

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        y = torch.einsum(self.equation, inputs, self.kernel)
        if self.bias is not None:
            y = y + self.bias
        return y if self.activation is None else self.activation(y)
