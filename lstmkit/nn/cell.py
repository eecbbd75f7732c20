"""The single-step module shared by ``LSTMCell``, ``GRUCell`` and ``RNNCell``: one time step per
call, for users who write their own loop (decoders, custom unrolling). What differs between the
cell types comes from the module's ``family`` (``lstmkit.nn.family``)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from lstmkit import kernels
from lstmkit.kernels import native
from lstmkit.kernels.loop import advance
from lstmkit.nn import _checks
from lstmkit.nn.family import Spec, family_of
from lstmkit.nn.params import forget_rows, init_value


class RecurrentCell(nn.Module):
    """Base of ``lstmkit.nn.LSTMCell`` / ``GRUCell`` / ``RNNCell``; see those for the arguments.
    ``mode`` names the torch.nn class ("LSTMCell", ...), for messages."""

    def __init__(
        self,
        mode: str,
        spec: Spec,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device=None,
        dtype=None,
        *,
        forget_bias: float | None = None,
        layer_norm: bool = False,
        recurrent_dropout: float = 0.0,
        zoneout: float | Sequence[float] = 0.0,
        backend: str = "auto",
    ):
        super().__init__()
        self.mode, self.spec = mode, spec
        self.family = family = family_of(spec)
        self.input_size = _checks.positive_int("input_size", input_size)
        self.hidden_size = _checks.positive_int("hidden_size", hidden_size)
        self.bias = bool(bias)
        self.layer_norm = bool(layer_norm)
        self.recurrent_dropout = _checks.rate("recurrent_dropout", recurrent_dropout)
        self.zoneout = _checks.zoneout_rates(zoneout, two=family.n_states == 2)
        self.backend = kernels.check_backend(backend)
        if family.square_input(spec) and input_size != hidden_size:
            raise ValueError(
                f"variant {spec.name!r} adds the input to a hidden-size vector, so input_size must "
                f"equal hidden_size, got input_size={input_size} and hidden_size={hidden_size}"
            )
        shapes = family.shapes(spec, input_size, hidden_size, 0, self.bias, self.layer_norm)
        for key, shape in shapes.items():
            self.register_parameter(key, nn.Parameter(torch.empty(shape, device=device, dtype=dtype)))
        self._param_keys = list(shapes)
        if forget_bias is not None:
            if not family.forget_gate or not self.bias:
                raise ValueError("forget_bias needs an LSTMCell with bias=True (it initialises the forget-gate bias)")
            forget_rows(spec, hidden_size)  # raises if the variant has no forget gate
            forget_bias = float(forget_bias)
        self.forget_bias = forget_bias
        self._recurrent_mask: torch.Tensor | None = None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            for key in self._param_keys:
                init = init_value(key, self.hidden_size)
                if isinstance(init, tuple):
                    getattr(self, key).uniform_(*init)
                else:
                    getattr(self, key).fill_(init)
            if self.forget_bias is not None:
                rows = forget_rows(self.spec, self.hidden_size)
                self.bias_ih[rows] = self.forget_bias
                self.bias_hh[rows] = 0.0

    def reset_recurrent_dropout_mask(self) -> None:
        """Start a new sequence: the next training step samples a fresh recurrent-dropout mask
        (variational dropout keeps one mask for all steps of a sequence, so a cell, which
        cannot see where sequences end, keeps its mask until told)."""
        self._recurrent_mask = None

    def cell_params(self) -> dict[str, torch.Tensor]:
        """Parameters keyed as in the reference cells (``weight_ih``, ``bias_hh``, ...)."""
        return {key: getattr(self, key) for key in self._param_keys}

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if self.spec.name != self.family.name:
            s += f", variant={self.spec.name!r}"
        return s

    def _step(self, input: torch.Tensor, hx):
        """Validate, then run one step; returns the new state tuple (the family's states, plus
        FGR's gate activations), unbatched if input was."""
        if not isinstance(input, torch.Tensor) or not input.is_floating_point():
            raise TypeError(f"input must be a floating-point torch.Tensor, got {getattr(input, 'dtype', type(input))}")
        if input.dim() not in (1, 2) or input.shape[-1] != self.input_size:
            raise ValueError(
                f"input must have shape (batch, {self.input_size}) or ({self.input_size},), got {tuple(input.shape)}"
            )
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)
        B, H = x.shape[0], self.hidden_size
        family = self.family
        widths = [*family.state_widths(H, H), *family.extra_state_widths(self.spec, H)]
        if hx is None:
            state = tuple(x.new_zeros(B, w) for w in widths)
        else:
            parts = hx if isinstance(hx, (tuple, list)) else (hx,)
            if len(parts) != len(widths):
                raise TypeError(f"hx must be a tuple of {len(widths)} tensors for {self.mode}, got {len(parts)}")
            state = tuple(
                _checks.state_tensor(f"hx[{k}]", t, (B, w) if batched else (w,), x, "(batch, size)")
                for k, (t, w) in enumerate(zip(parts, widths))
            )
            state = state if batched else tuple(t.unsqueeze(0) for t in state)

        p = self.cell_params()
        request = kernels.PathRequest(
            self.backend, self.spec, x, single_step=True,
            extras={"layer_norm": self.layer_norm, "recurrent_dropout": self.recurrent_dropout > 0,
                    "zoneout": any(self.zoneout)},
        )
        if kernels.choose_path(request).path == "torch":
            new = native.cell(family.native_name(self.spec), x, state, p["weight_ih"], p["weight_hh"],
                              p.get("bias_ih"), p.get("bias_hh"))
        else:
            rec_mask = None
            if self.training and self.recurrent_dropout > 0:
                if self._recurrent_mask is None or self._recurrent_mask.shape != (B, H):
                    keep = 1.0 - self.recurrent_dropout
                    self._recurrent_mask = torch.bernoulli(x.new_full((B, H), keep)) / keep
                rec_mask = self._recurrent_mask
            gx, step = family.input_projection(self.spec, p, x), family.step(self.spec, p, rec_mask)
            keep = None
            if self.training and any(self.zoneout):
                keep = [torch.bernoulli(x.new_full((B, H), z)).bool() if z > 0 else None for z in self.zoneout]
            _, new = advance(step, gx, state, keep_t=keep, zoneout_rates=self.zoneout)
        return new if batched else tuple(t.squeeze(0) for t in new)
