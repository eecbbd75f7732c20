"""What the viz modules share: matplotlib on demand, PNG files written atomically, and a snapshot
of everything a tracing call must leave as it found it."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from lstmkit.io import atomic_write_bytes


def pyplot() -> Any:
    """matplotlib.pyplot on the non-interactive Agg backend (imported only when a plot is drawn)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig: Any, path: str | os.PathLike, *, dpi: float | None = None) -> Path:
    """Render ``fig`` as PNG, close it, and write the bytes to ``path`` atomically."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=dpi)
    finally:
        plt.close(fig)
    return Path(atomic_write_bytes(path, buffer.getvalue()))


class ModelSnapshot:
    """Training flags, Keras stateful states and torch's RNG (CPU, and CUDA once started), put back
    by ``restore`` after a call that runs the model only to look at it."""

    def __init__(self, model: Any):
        import torch

        self.modes = [(m, m.training) for m in model.modules()]
        self.states = [(m, m._states) for m in model.modules()
                       if getattr(m, "stateful", False) and hasattr(m, "_states")]
        self.rng = torch.get_rng_state()
        self.cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None

    def restore(self) -> None:
        import torch

        for module, mode in self.modes:
            module.training = mode
        for module, states in self.states:
            module._states = states
        torch.set_rng_state(self.rng)
        if self.cuda_rng is not None:
            torch.cuda.set_rng_state_all(self.cuda_rng)
