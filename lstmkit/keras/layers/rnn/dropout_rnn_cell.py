"""Keras' ``DropoutRNNCell`` mixin: one dropout mask per sequence for a recurrent cell.

Why a mixin: a cell sees one time step at a time, yet variational dropout (Gal & Ghahramani
2016) needs the *same* mask at every step of a sequence. The cell asks for its mask at each
step (``get_dropout_mask(x_t)``); the first ask draws it, later asks return the cached one, and
``RNN`` calls ``reset_dropout_mask()`` / ``reset_recurrent_dropout_mask()`` after each sequence.

A class that mixes it in has ``dropout``, ``recurrent_dropout`` and ``seed`` attributes (as
Keras' cells); ``dropout_mask_count = n`` (optional) makes each mask a list of ``n``
independent masks, as Keras' ``implementation=1`` cells use.
"""

from __future__ import annotations

from typing import Any

import torch


class DropoutRNNCell:
    """Mixin for cells with ``dropout`` / ``recurrent_dropout`` (see the module docstring).

    Masks hold 0 or ``1 / (1 - rate)`` (inverted dropout, as ``keras.random.dropout``), have the
    shape of the tensor they were drawn for, and come from a ``torch.Generator`` seeded with
    ``seed`` when it is set (else from torch's global generator).
    """

    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    seed: int | None = None

    def _mask_generator(self) -> torch.Generator | None:
        if getattr(self, "seed", None) is None:
            return None
        gen = self.__dict__.get("_dropout_generator")
        if gen is None:
            gen = torch.Generator().manual_seed(int(self.seed))
            self.__dict__["_dropout_generator"] = gen
        return gen

    def _create_dropout_mask(self, step_input: torch.Tensor, rate: float) -> Any:
        count = getattr(self, "dropout_mask_count", None)
        masks = [self._one_mask(step_input, rate) for _ in range(count or 1)]
        return masks if count is not None else masks[0]

    def _one_mask(self, like: torch.Tensor, rate: float) -> torch.Tensor:
        keep = 1.0 - rate
        gen = self._mask_generator()
        if gen is None:
            bits = torch.bernoulli(torch.full(like.shape, keep, dtype=like.dtype, device=like.device))
        else:  # a CPU generator: draw on the CPU, then move
            bits = torch.bernoulli(torch.full(like.shape, keep, dtype=like.dtype), generator=gen).to(like.device)
        return bits / keep

    def get_dropout_mask(self, step_input: torch.Tensor) -> Any:
        """The input-dropout mask of the current sequence (drawn on first use), or None without dropout."""
        if self.__dict__.get("_dropout_mask") is None and self.dropout > 0:
            self.__dict__["_dropout_mask"] = self._create_dropout_mask(step_input, self.dropout)
        return self.__dict__.get("_dropout_mask")

    def get_recurrent_dropout_mask(self, step_input: torch.Tensor) -> Any:
        """The recurrent-dropout mask of the current sequence (drawn on first use), or None."""
        if self.__dict__.get("_recurrent_dropout_mask") is None and self.recurrent_dropout > 0:
            self.__dict__["_recurrent_dropout_mask"] = self._create_dropout_mask(step_input, self.recurrent_dropout)
        return self.__dict__.get("_recurrent_dropout_mask")

    def reset_dropout_mask(self) -> None:
        """Forget the cached input mask: the next sequence draws a new one (``RNN`` calls this)."""
        self.__dict__["_dropout_mask"] = None

    def reset_recurrent_dropout_mask(self) -> None:
        """Forget the cached recurrent mask."""
        self.__dict__["_recurrent_dropout_mask"] = None
