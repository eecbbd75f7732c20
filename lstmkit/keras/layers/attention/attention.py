"""Keras 3's dot-product ``Attention`` (Luong style, or "concat" scores) and
``AdditiveAttention`` (Bahdanau style), matching ``keras/src/layers/attention`` exactly.

Call on ``[query, value]`` or ``[query, value, key]`` (key defaults to value), shapes
``(batch, Tq, dim)``, ``(batch, Tv, dim_v)``, ``(batch, Tv, dim)``; the output is
``(batch, Tq, dim_v)``. Masks: ``mask=[query_mask, value_mask]`` (``(batch, Tq)``,
``(batch, Tv)``), or taken automatically from the inputs' ``_keras_mask`` (e.g. sequences from
an ``Embedding(mask_zero=True)`` through an LSTM). Padded values get no attention weight (their
scores are lowered by 1e9, as in Keras), padded queries give zero outputs, and the output's mask
is the query mask.
"""

from __future__ import annotations

import numbers
from typing import Any

import torch

from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.common import as_bool_mask

__all__ = ["Attention", "AdditiveAttention"]

_SCORE_MODES = ("dot", "concat")


@register("layer")
class Attention(Layer):
    """Dot-product attention: ``scores = query @ key^T`` ("dot") or
    ``concat_score_weight * sum(tanh(query_i + key_j))`` ("concat"), softmax over the values.

    Args:
        use_scale: learn a scalar ``scale`` multiplying the scores ("dot") or the tanh argument
            ("concat").
        score_mode: "dot" or "concat".
        dropout: fraction of the attention weights dropped while training.
        seed: integer seed for that dropout.

    Call arguments: ``inputs``, ``mask=None``, ``training=None``, ``return_attention_scores=False``
    (then the result is ``(output, weights)``, weights ``(batch, Tq, Tv)``),
    ``use_causal_mask=False`` (query step i attends to value steps <= i only).
    """

    def __init__(self, use_scale: bool = False, score_mode: str = "dot", dropout: float = 0.0,
                 seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if score_mode not in _SCORE_MODES:
            raise ValueError(f"Attention score_mode must be one of {list(_SCORE_MODES)}, got {score_mode!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0 <= dropout <= 1:
            raise ValueError(f"Attention dropout must be a float in [0, 1], got {dropout!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise ValueError(f"Attention seed must be an int or None, got {seed!r}")
        self.use_scale = bool(use_scale)
        self.score_mode = score_mode
        self.dropout = float(dropout)
        self.seed = seed
        self.supports_masking = True
        self._generators: dict[str, torch.Generator] = {}
        self._returned_scores = False

    # ------------------------------------------------------------------ checks
    def _check_inputs(self, inputs: Any, mask: Any = None) -> None:
        cls = type(self).__name__
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"{cls} layer {self.name!r} must be called on a list of inputs, [query, value] or "
                             f"[query, value, key]; got {type(inputs).__name__}")
        if not 2 <= len(inputs) <= 3:
            raise ValueError(f"{cls} layer {self.name!r} takes a list of 2 or 3 inputs ([query, value] or "
                             f"[query, value, key]), got {len(inputs)}")
        if mask is not None:
            if not isinstance(mask, (list, tuple)):
                raise ValueError(f"{cls} layer {self.name!r}: mask must be a list [query_mask, value_mask], got "
                                 f"{type(mask).__name__}")
            if not 2 <= len(mask) <= 3:
                raise ValueError(f"{cls} layer {self.name!r}: mask must be a list of 2 or 3 masks, got {len(mask)}")

    def build(self, input_shape: Any) -> None:
        self._check_inputs(input_shape)
        if self.use_scale:
            self.add_weight("scale", (), "ones")
        else:
            self.scale = None
        if self.score_mode == "concat":
            self.add_weight("concat_score_weight", (), "ones")
        else:
            self.concat_score_weight = None
        self.built = True  # also when build() is called directly, as in Keras

    # ------------------------------------------------------------------ computation
    def _calculate_scores(self, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
        if self.score_mode == "dot":
            scores = torch.matmul(query, key.transpose(-2, -1))
            return scores * self.scale if self.scale is not None else scores
        summed = query.unsqueeze(-2) + key.unsqueeze(-3)
        if self.scale is not None:
            summed = self.scale * summed
        return self.concat_score_weight * torch.tanh(summed).sum(dim=-1)

    def _dropout(self, weights: torch.Tensor) -> torch.Tensor:
        if self.dropout == 1.0:
            return torch.zeros_like(weights)
        if self.seed is None:
            return torch.nn.functional.dropout(weights, self.dropout, training=True)
        key = str(weights.device)
        if key not in self._generators:
            self._generators[key] = torch.Generator(device=weights.device).manual_seed(int(self.seed))
        keep = 1.0 - self.dropout
        drop = torch.empty_like(weights).bernoulli_(keep, generator=self._generators[key])
        return weights * drop / keep

    def call(self, inputs: list[torch.Tensor], mask: Any = None, training: bool | None = None,
             return_attention_scores: bool = False, use_causal_mask: bool = False) -> Any:
        self._check_inputs(inputs, mask)
        q, v = inputs[0], inputs[1]
        k = inputs[2] if len(inputs) > 2 else v
        for name, t in (("query", q), ("value", v), ("key", k)):
            if not t.is_floating_point():
                raise TypeError(f"{type(self).__name__} {self.name!r}: {name} must be a float tensor, got {t.dtype}")
        if not (q.dim() == v.dim() == k.dim() >= 3):
            raise ValueError(f"{type(self).__name__} {self.name!r} needs query, value and key of equal rank >= 3 "
                             f"(batch, steps, dim), got shapes {tuple(q.shape)}, {tuple(v.shape)}, {tuple(k.shape)}")
        if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
            raise ValueError(f"{type(self).__name__} {self.name!r}: query and key need the same last dimension and "
                             f"key and value the same number of steps; got query {tuple(q.shape)}, value "
                             f"{tuple(v.shape)}, key {tuple(k.shape)}")
        q_mask = self._as_mask(mask[0], q, "query") if mask else None
        v_mask = self._as_mask(mask[1], v, "value") if mask else None
        scores = self._calculate_scores(q, k)
        scores_mask = v_mask
        if use_causal_mask:
            tq, tv = scores.shape[-2], scores.shape[-1]
            causal = torch.ones(tq, tv, dtype=torch.bool, device=scores.device).tril().unsqueeze(0)
            scores_mask = causal if v_mask is None else v_mask.unsqueeze(-2) & causal
        if scores_mask is not None:
            if scores_mask.dim() == 2:
                scores_mask = scores_mask.unsqueeze(-2)
            max_value = 65504.0 if scores.dtype == torch.float16 else 1.0e9
            scores = torch.where(scores_mask, scores, scores - max_value)
        weights = torch.softmax(scores, dim=-1)
        if training and self.dropout > 0:
            weights = self._dropout(weights)
        output = torch.matmul(weights, v)
        if q_mask is not None:
            output = torch.where(q_mask.unsqueeze(-1), output, torch.zeros((), dtype=output.dtype,
                                                                            device=output.device))
        self._returned_scores = bool(return_attention_scores)
        return (output, weights) if return_attention_scores else output

    def _as_mask(self, m: Any, x: torch.Tensor, what: str) -> torch.Tensor | None:
        if m is None:
            return None
        m = as_bool_mask(m, x)
        if tuple(m.shape) != tuple(x.shape[:-1]):
            raise ValueError(f"{type(self).__name__} {self.name!r}: the {what} mask has shape {tuple(m.shape)}, "
                             f"expected {tuple(x.shape[:-1])} for a {what} of shape {tuple(x.shape)}")
        return m

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        self._check_inputs(inputs, mask)
        q_mask = None if not mask or mask[0] is None else as_bool_mask(mask[0], inputs[0])
        return [q_mask, None] if self._returned_scores else q_mask

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "use_scale": self.use_scale, "score_mode": self.score_mode,
                "dropout": self.dropout, "seed": self.seed}


@register("layer")
class AdditiveAttention(Attention):
    """Additive (Bahdanau) attention: ``scores = sum(scale * tanh(query_i + key_j))`` with a
    learned per-dimension ``scale`` of shape ``(dim,)`` (glorot_uniform) when ``use_scale``.

    Args:
        use_scale: learn the per-dimension ``scale`` (else 1).
        dropout: fraction of the attention weights dropped while training.
        seed: integer seed for that dropout (keyword argument, as in Keras).
    """

    def __init__(self, use_scale: bool = True, dropout: float = 0.0, **kwargs: Any):
        kwargs.pop("score_mode", None)
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape: Any) -> None:
        self._check_inputs(input_shape)
        dim = input_shape[0][-1]
        if self.use_scale:
            self.add_weight("scale", (dim,), "glorot_uniform")
        else:
            self.scale = None
        self.concat_score_weight = None
        self.built = True  # also when build() is called directly, as in Keras

    def _calculate_scores(self, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
        summed = torch.tanh(query.unsqueeze(-2) + key.unsqueeze(-3))
        if self.scale is not None:
            summed = self.scale * summed
        return summed.sum(dim=-1)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["score_mode"]
        return config
