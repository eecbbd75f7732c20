"""The hyper-parameters of a text-generation model, stored in its checkpoint's ``app.json``.

Why a module of its own, free of torch: the command line takes its defaults from here
(``lstmkit textgen train --help`` must stay fast), so the CLI, the Python API and the
documented long run can never disagree on what "the default model" is.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from lstmkit.apps.textgen.schedule import SCHEDULES
from lstmkit.errors import AppError

#: The documented long run: ``lstmkit textgen train --steps LONG_RUN_STEPS --eval-chars 0`` with every
#: other setting its default. Measured per step of 64 x 50 characters for 1x512: 67 ms on 2 idle
#: cores of an Intel Xeon with AMX (torch's bf16 LSTM; 20 minutes for the run), 87 ms on AMD Zen 4
#: (lstmkit's fused bf16 kernels; 26 minutes). There 1x256 at batch 32 is 17 ms/step, 1x384 31 ms,
#: 2x256 41 ms.
LONG_RUN_STEPS = 18_000


@dataclass
class TextGenConfig:
    """Model size and training hyper-parameters (stored in the checkpoint).

    ``embed_dim=0`` feeds one-hot characters to the LSTM instead of a learned embedding.
    ``dropout`` acts between stacked layers, ``output_dropout`` on the last layer's output
    before the linear head (training only; both 0 by default).
    ``backend`` and ``precision`` are the training kernels (``"torch"`` / ``"fp32"`` reproduce
    the older runs); ``schedule``, ``warmup_steps``, ``learning_rate`` and ``final_learning_rate``
    the learning-rate schedule (``lstmkit.apps.textgen.schedule``). Checkpoints written before a
    field existed load with its default: none of them changes the weights' shapes.
    """

    layers: int = 1
    units: int = 512
    embed_dim: int = 64
    dropout: float = 0.0
    output_dropout: float = 0.0
    seq_len: int = 50
    batch_size: int = 64
    learning_rate: float = 5e-3
    final_learning_rate: float = 3e-4
    clip_norm: float = 5.0
    schedule: str = "cosine"
    warmup_steps: int = 0
    backend: str = "auto"
    precision: str = "bf16"

    def __post_init__(self) -> None:
        """Refuse settings the kernels or the schedule cannot run, naming what would work (AppError)."""
        if self.schedule not in SCHEDULES:
            raise AppError(f"unknown learning-rate schedule {self.schedule!r}: expected one of "
                           f"{', '.join(SCHEDULES)}")
        if self.precision not in ("fp32", "bf16"):
            raise AppError(f"unknown precision {self.precision!r}: expected 'fp32' or 'bf16'")
        if self.precision == "bf16" and self.backend not in ("fused", "auto"):
            raise AppError(f"precision 'bf16' runs on backend 'auto' or 'fused', got "
                           f"{self.backend!r} (use --precision fp32 with it)")
        for name in ("dropout", "output_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise AppError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.warmup_steps < 0:
            raise AppError(f"warmup_steps must be >= 0, got {self.warmup_steps}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TextGenConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
