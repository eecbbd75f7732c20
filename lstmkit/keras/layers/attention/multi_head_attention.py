"""Keras 3's ``MultiHeadAttention`` (Vaswani et al. 2017) on torch, matching
``keras/src/layers/attention/multi_head_attention.py``: the same sub-layers, weight shapes and
order (query, key, [gate,] value, attention_output kernels and biases), the same masks, and the
same two computation paths.

Why two paths: Keras computes the attention with ``scaled_dot_product_attention`` (an additive
``-0.7 * 3.39e38`` mask, nothing zeroed) when it can (no dropout, no returned scores, 3-D inputs),
and otherwise with an explicit masked softmax that zeroes masked weights. The two differ for a
fully masked query row (a padded query step): the first averages the values uniformly, the
second gives zeros. We take the same path Keras takes so outputs agree in both cases.

Call: ``mha(query, value, key=None, attention_mask=None, return_attention_scores=False,
training=None, use_causal_mask=False, value_mask=None, key_mask=None)``. Masks carried on the
inputs (``Embedding(mask_zero=True)``) are used as Keras does: the query's as ``query_mask`` (an
explicit ``query_mask=`` is ignored, as in Keras), the value's and key's unless given explicitly;
the output carries the query's mask.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from lstmkit.keras import regularizers
from lstmkit.keras.engine.keras_tensor import is_symbolic
from lstmkit.keras.engine.layer import Layer, as_tensor
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.attention.einsum_projection import (
    EinsumProjection,
    attention_equations,
    projection_equation,
)
from lstmkit.keras.layers.common import as_bool_mask, serialize_options, set_weight_options

__all__ = ["MultiHeadAttention"]

_SDPA_NEGATIVE = -0.7 * 3.38953e38  # Keras' torch backend: the additive mask of dot_product_attention
_SOFTMAX_NEGATIVE = -1e9  # Keras' Softmax layer: masked logits


def _positive(value: Any, arg: str, allow_none: bool = False) -> Any:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        expected = "a positive integer or `None`" if allow_none else "a positive integer"
        raise ValueError(f"Received an invalid value for argument `{arg}`, expected {expected}. "
                         f"Received: {arg}={value!r}")
    return value


@register("layer")
class MultiHeadAttention(Layer):
    """Multi-head (scaled dot-product) attention with learned projections.

    Args:
        num_heads: number of attention heads.
        key_dim: size of each head for query and key.
        value_dim: size of each head for value (default ``key_dim``).
        dropout: dropout rate on the attention weights (training only).
        use_bias: whether the projections have biases.
        output_shape: trailing output shape (int or tuple); default the query's last dimension.
        attention_axes: axes attention runs over (default: all but batch, heads and features).
        sliding_window: optional band width: query i attends to keys j with ``|i - j| < window``.
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        activity_regularizer, kernel_constraint, bias_constraint: options of every projection.
        use_gate: gate the attention output with ``sigmoid(query projection)`` (Keras' gated
            attention).
        seed: integer seed of the dropout.
        flash_attention: accepted for compatibility (False/None only: there is no flash path here).
    """

    def __init__(self, num_heads: int, key_dim: int, value_dim: int | None = None, dropout: float = 0.0,
                 use_bias: bool = True, output_shape: int | Sequence[int] | None = None,
                 attention_axes: int | Sequence[int] | None = None, sliding_window: int | None = None,
                 flash_attention: bool | None = None, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None, bias_constraint: Any = None,
                 use_gate: bool = False, seed: int | None = None, **kwargs: Any):
        _positive(num_heads, "num_heads")
        _positive(key_dim, "key_dim")
        _positive(value_dim, "value_dim", allow_none=True)
        super().__init__(**kwargs)
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0 <= dropout <= 1:
            raise ValueError(f"MultiHeadAttention: `dropout` must be a float in [0, 1]. Received: dropout={dropout!r}")
        if flash_attention:
            raise ValueError("MultiHeadAttention: flash_attention=True is not available in lstmkit (no flash kernel); "
                             "pass None or False")
        if output_shape:
            if isinstance(output_shape, int):
                output_shape = (output_shape,)
            try:
                output_shape = tuple(int(d) for d in output_shape)
            except TypeError:
                raise ValueError(f"Invalid `output_shape`: {output_shape}. When specified, the `output_shape` should "
                                 "be of type tuple, list, or int.") from None
        else:
            output_shape = None
        if isinstance(attention_axes, int):
            attention_axes = (attention_axes,)
        elif attention_axes is not None and not isinstance(attention_axes, (list, tuple)):
            raise ValueError("`attention_axes` must be an int, list, or tuple. "
                             f"Received: attention_axes={attention_axes}")
        if sliding_window is not None:
            if isinstance(sliding_window, bool) or not isinstance(sliding_window, int) or sliding_window <= 0:
                raise ValueError("`sliding_window` must be `None` or a positive integer. "
                                 f"Received: sliding_window={sliding_window}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"MultiHeadAttention: `seed` must be an int or None. Received: seed={seed!r}")
        self.supports_masking = True
        self.num_heads, self.key_dim = num_heads, key_dim
        self.value_dim = value_dim or key_dim
        self.dropout, self.use_bias, self.use_gate = float(dropout), bool(use_bias), bool(use_gate)
        self._output_shape = output_shape
        self.attention_axes = None if attention_axes is None else tuple(attention_axes)
        self.sliding_window = sliding_window
        self.seed = seed
        set_weight_options(self, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                           kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                           kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
        self._projection_activity_regularizer = regularizers.get(activity_regularizer)
        self._generators: dict[str, torch.Generator] = {}
        self._returned_scores = False

    # ------------------------------------------------------------------ building
    def _options(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in (
            "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer", "kernel_constraint",
            "bias_constraint")} | {"activity_regularizer": self._projection_activity_regularizer}

    def _projection(self, name: str, in_rank: int, in_dim: int, out_dims: Sequence[int], bound: int = 1,
                    activation: Any = None) -> EinsumProjection:
        equation, _ = projection_equation(in_rank - bound, bound, len(out_dims))
        bound_shape = (in_dim,) if bound == 1 else (self.num_heads, self.value_dim)
        return EinsumProjection(equation, (*bound_shape, *out_dims), tuple(out_dims) if self.use_bias else None,
                                self._options(), activation=activation, name=name, dtype=self.dtype)

    def _build_from_shapes(self, query_shape: Sequence[Any], value_shape: Sequence[Any],
                           key_shape: Sequence[Any] | None = None) -> None:
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError("All dimensions of `value` and `key`, except the last one, must be equal. "
                             f"Received: value_shape={value_shape} and key_shape={key_shape}")
        for what, shape in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if len(shape) < 3 or shape[-1] is None:
                raise ValueError(f"MultiHeadAttention {self.name!r}: `{what}` needs shape (batch, ..., steps, dim) "
                                 f"with a known last dimension, got {what}_shape={shape}")
        heads = self.num_heads
        self._query_dense = self._projection("query", len(query_shape), query_shape[-1], (heads, self.key_dim))
        self._key_dense = self._projection("key", len(key_shape), key_shape[-1], (heads, self.key_dim))
        if self.use_gate:
            self._gate_dense = self._projection("gate", len(query_shape), query_shape[-1], (heads, self.value_dim),
                                               activation=torch.sigmoid)
        self._value_dense = self._projection("value", len(value_shape), value_shape[-1], (heads, self.value_dim))
        out = self._output_shape or (query_shape[-1],)
        self._output_dense = self._projection("attention_output", len(query_shape) + 1, 0, out, bound=2)
        rank = len(query_shape) + 1  # projected: (batch, ..., heads, channels)
        axes = tuple(range(1, rank - 2)) if self.attention_axes is None else tuple(
            a if a >= 0 else rank - 1 + a for a in self.attention_axes)
        self._axes = axes
        self._dot_equation, self._combine_equation, scores_rank = attention_equations(rank, axes)
        self._norm_axes = tuple(range(scores_rank - len(axes), scores_rank))
        self.built = True

    # ------------------------------------------------------------------ calling
    def __call__(self, query: Any, value: Any = None, key: Any = None, **kwargs: Any) -> Any:
        """Keras' call signature, ``mha(query, value, key=None, ...)``; value and key travel to the
        engine as keyword tensors so functional models record and replay them."""
        if value is None:
            raise TypeError(f"MultiHeadAttention {self.name!r} needs `value`: call it as layer(query, value) "
                            "(value=query for self-attention)")
        if not is_symbolic([query, value, key]):
            query, value = as_tensor(query), as_tensor(value)
            key = None if key is None else as_tensor(key)
        if not self.built:  # eager or symbolic: the engine's one-shape build cannot see value and key
            self._build_input_shape = tuple(query.shape)
            self._build_from_shapes(query.shape, value.shape, None if key is None else key.shape)
            self.built = True
            self.train(self.training)
            if not self.trainable:
                self.trainable = False
        return super().__call__(query, value=value, key=key, **kwargs)

    def call(self, query: torch.Tensor, value: torch.Tensor, key: torch.Tensor | None = None,
             query_mask: Any = None, value_mask: Any = None, key_mask: Any = None, attention_mask: Any = None,
             return_attention_scores: bool = False, training: bool | None = None,
             use_causal_mask: bool = False) -> Any:
        key_given = key is not None
        key = value if key is None else key
        query_mask = getattr(query, "_keras_mask", None)  # Keras reads the query's mask from the tensor only
        if value_mask is None:
            value_mask = getattr(value, "_keras_mask", None)
        if key_mask is None and key_given:
            key_mask = getattr(key, "_keras_mask", None)
        for what, t in (("query", query), ("value", value), ("key", key)):
            if not t.is_floating_point():
                raise TypeError(f"MultiHeadAttention {self.name!r}: `{what}` must be a float tensor, got {t.dtype}")
        causal_only = (use_causal_mask and query_mask is None and value_mask is None and key_mask is None
                       and attention_mask is None and self.sliding_window is None)
        mask = None if causal_only else self._attention_mask(query, value, query_mask, value_mask, key_mask,
                                                             attention_mask, use_causal_mask)
        gate = self._gate_dense(query) if self.use_gate else None
        q = self._query_dense(query)  # (B, T, N, key_dim)
        k = self._key_dense(key)  # (B, S, N, key_dim)
        v = self._value_dense(value)  # (B, S, N, value_dim)
        out, scores = self._compute_attention(q, k, v, mask, training, return_attention_scores,
                                              use_causal_mask=causal_only)
        if gate is not None:
            out = out * gate
        out = self._output_dense(out)
        self._returned_scores = bool(return_attention_scores)
        return (out, scores) if return_attention_scores else out

    def _attention_mask(self, query: torch.Tensor, value: torch.Tensor, query_mask: Any, value_mask: Any,
                        key_mask: Any, attention_mask: Any, use_causal_mask: bool) -> torch.Tensor | None:
        """Keras' ``_compute_attention_mask``: the AND of the query mask ``(B, T, 1)``, the value
        and key masks ``(B, 1, S)``, the causal and sliding-window masks ``(1, T, S)`` and the
        explicit ``attention_mask`` ``(B, T, S)``."""
        auto = None
        for m, axis in ((query_mask, -1), (value_mask, -2), (key_mask, -2)):
            if m is not None:
                m = as_bool_mask(m, query).unsqueeze(axis)
                auto = m if auto is None else auto & m
        if use_causal_mask:
            auto = self._causal(query, value) if auto is None else auto & self._causal(query, value)
        if self.sliding_window is not None:
            t, s = query.shape[1], value.shape[1]
            band = (torch.arange(t, device=query.device)[:, None] - torch.arange(s, device=query.device)).abs()
            band = (band < self.sliding_window).unsqueeze(0)
            auto = band if auto is None else auto & band
        if attention_mask is not None:
            attention_mask = as_bool_mask(attention_mask, query)
        if auto is not None:
            attention_mask = auto if attention_mask is None else attention_mask & auto
        return attention_mask

    @staticmethod
    def _causal(query: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
        t, s = query.shape[1], value.shape[1]
        return torch.ones(t, s, dtype=torch.bool, device=query.device).tril().unsqueeze(0)  # (1, T, S)

    def _expand_mask(self, mask: torch.Tensor, rank: int) -> torch.Tensor:
        axis = -len(self._axes) * 2 - 1  # insert the head axis (and missing batch axes) as Keras does
        while mask.dim() < rank:
            mask = mask.unsqueeze(axis)
        return mask

    def _compute_attention(self, query: Any, key: Any, value: Any, attention_mask: Any = None,
                           training: bool | None = None, return_attention_scores: bool = False,
                           use_causal_mask: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Attention over projected ``query (B, T, N, key_dim)``, ``key (B, S, N, key_dim)`` and
        ``value (B, S, N, value_dim)``: ``(output (B, T, N, value_dim), scores (B, N, T, S) or None)``.
        Keras' override point; ``use_causal_mask`` is ANDed with ``attention_mask``."""
        query, key, value = as_tensor(query), as_tensor(key), as_tensor(value)
        mask = None if attention_mask is None else as_bool_mask(attention_mask, query)
        explicit = self.dropout > 0 or return_attention_scores or query.dim() != 4
        if not explicit:
            return self._sdpa(query, key, value, mask, use_causal_mask), None
        if use_causal_mask:
            mask = self._causal(query, value) if mask is None else mask & self._causal(query, value)
        return self._explicit_attention(query, key, value, mask, training)

    def _sdpa(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None,
              causal: bool) -> torch.Tensor:
        bias = None
        if mask is not None:
            mask = self._expand_mask(mask, 4)
            if causal:  # Keras' torch backend folds is_causal into an explicit mask
                mask = mask & torch.ones(q.shape[1], k.shape[1], dtype=torch.bool, device=q.device).tril()
            bias = torch.where(mask, torch.zeros((), dtype=q.dtype, device=q.device),
                               torch.full((), _SDPA_NEGATIVE, dtype=q.dtype, device=q.device))
        out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=bias,
                                             is_causal=causal and bias is None, scale=1.0 / math.sqrt(self.key_dim))
        return out.transpose(1, 2)  # (B, T, N, value_dim)

    def _explicit_attention(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None,
                            training: bool | None) -> tuple[torch.Tensor, torch.Tensor]:
        q = q * (1.0 / math.sqrt(float(self.key_dim)))
        scores = torch.einsum(self._dot_equation, k, q)  # (B, N, T, S)
        if mask is not None:
            mask = self._expand_mask(mask, scores.dim())
            negative = -3e4 if scores.dtype == torch.float16 else _SOFTMAX_NEGATIVE
            scores = torch.where(mask, scores, torch.full((), negative, dtype=scores.dtype, device=scores.device))
        if len(self._norm_axes) == 1:
            weights = torch.softmax(scores, dim=-1)
        else:
            weights = torch.exp(scores - torch.logsumexp(scores, dim=self._norm_axes, keepdim=True))
        if mask is not None:
            weights = torch.where(mask, weights, torch.zeros((), dtype=weights.dtype, device=weights.device))
        dropped = self._dropout(weights) if training and self.dropout > 0 else weights
        return torch.einsum(self._combine_equation, dropped, v), weights

    def _dropout(self, weights: torch.Tensor) -> torch.Tensor:
        if self.dropout == 1.0:
            return torch.zeros_like(weights)
        if self.seed is None:
            return F.dropout(weights, self.dropout, training=True)
        device = str(weights.device)
        if device not in self._generators:
            self._generators[device] = torch.Generator(device=weights.device).manual_seed(int(self.seed))
        keep = 1.0 - self.dropout
        return weights * torch.empty_like(weights).bernoulli_(keep, generator=self._generators[device]) / keep

    @property
    def query_dense(self) -> EinsumProjection:
        return self._query_dense

    @property
    def key_dense(self) -> EinsumProjection:
        return self._key_dense

    @property
    def value_dense(self) -> EinsumProjection:
        return self._value_dense

    @property
    def output_dense(self) -> EinsumProjection:
        return self._output_dense

    def compute_output_shape(self, query_shape: Sequence[Any], value_shape: Sequence[Any],
                             key_shape: Sequence[Any] | None = None) -> tuple:
        """The output's shape: the query's, with its last axis replaced by ``output_shape``."""
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError("All dimensions of `value` and `key`, except the last one, must be equal. "
                             f"Received: value_shape={value_shape} and key_shape={key_shape}")
        return query_shape[:-1] + self._output_shape if self._output_shape else query_shape

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return [mask, None] if self._returned_scores else mask

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "value_dim": self.value_dim, "dropout": self.dropout, "use_bias": self.use_bias,
                "use_gate": self.use_gate, "output_shape": None if self._output_shape is None else list(
                    self._output_shape), "attention_axes": None if self.attention_axes is None else list(
                    self.attention_axes), "sliding_window": self.sliding_window,
                **serialize_options(self, "kernel_initializer", "bias_initializer", "kernel_regularizer",
                                    "bias_regularizer", "kernel_constraint", "bias_constraint"),
                "activity_regularizer": regularizers.serialize(self._projection_activity_regularizer),
                "seed": self.seed}


def _build(self: MultiHeadAttention, query_shape: Sequence[Any], value_shape: Sequence[Any],
           key_shape: Sequence[Any] | None = None) -> None:
    """Create the projections for these shapes (Keras' ``build(query_shape, value_shape, key_shape=None)``)."""
    self._build_from_shapes(query_shape, value_shape, key_shape)


# Assigned after the class body: Layer.__init_subclass__ wraps a ``build`` defined in the body into a
# one-argument ``build(input_shape)``, and Keras' MultiHeadAttention.build takes two or three shapes.
MultiHeadAttention.build = _build
