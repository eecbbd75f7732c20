"""The implementations ``bench/suite.py`` times, each wrapped as a ``_harness.Bench``: lstmkit's
modules (fused kernels or plain-torch loop), torch.nn.LSTM / GRU and Keras 3 on the torch backend;
the same input and output gradient for all of them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import torch

import lstmkit.nn

try:  # imported as part of a package (tests load it by path) or run as `python bench/suite.py`
    from . import _harness as H
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import _harness as H  # type: ignore[no-redef]


class Shape(NamedTuple):
    """(T, B, input, hidden); time-major for lstmkit and torch.nn, batch-first for Keras."""

    T: int
    B: int
    I: int
    H: int


def fused_status() -> tuple[bool, str]:
    """Whether ``lstmkit.kernels.fused`` is built, and if not why. A half-written or unbuilt module
    must not stop the suite: it reports the column as "not built" instead."""
    try:
        from lstmkit.kernels import fused  # type: ignore[attr-defined]

        ok = bool(fused.available())
    except (ImportError, AttributeError) as exc:
        return False, f"not built ({type(exc).__name__}: {exc})"
    except Exception as exc:  # noqa: BLE001 - a broken extension is reported, not fatal
        return False, f"not built (lstmkit.kernels.fused raised {type(exc).__name__}: {exc})"
    if ok:
        info = getattr(fused, "info", None)
        return True, f"available ({info()})" if callable(info) else "available"
    why = getattr(fused, "unavailable_reason", None)
    return False, f"not built ({why() if callable(why) else 'lstmkit.kernels.fused.available() is False'})"


def load_keras() -> tuple[Any, str]:
    """Keras 3 on the torch backend, or None and the reason (the backend is fixed at first import)."""
    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = "torch"
    try:
        import keras
    except Exception as exc:  # noqa: BLE001 - any import failure just drops the column
        return None, f"not importable ({type(exc).__name__}: {exc})"
    if keras.backend.backend() != "torch":
        return None, f"keras already imported with backend {keras.backend.backend()!r}"
    return keras, f"keras {keras.__version__} (torch backend)"


class Grads:
    """A fixed random output gradient per output shape (same for every implementation)."""

    def __init__(self, seed: int = 1) -> None:
        self.seed, self.cache = seed, {}

    def __call__(self, shape: torch.Size) -> torch.Tensor:
        if shape not in self.cache:
            self.cache[shape] = torch.randn(shape, generator=torch.Generator().manual_seed(self.seed))
        return self.cache[shape]


def lstmkit_module(family: str, shape: Shape, backend: str, **kwargs: Any) -> torch.nn.Module:
    cls = lstmkit.nn.LSTM if family == "LSTM" else lstmkit.nn.GRU
    return cls(shape.I, shape.H, backend=backend, **kwargs)


def make_bench(forward: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, params: Sequence[torch.Tensor],
               mode: str, grads: Grads, **limits: float) -> H.Bench:
    """Training: forward + backward of (out * fixed grad).sum() to x and all ``params`` (their .grad cleared,
    untimed, before each run); inference: forward under torch.inference_mode()."""
    if mode == "inference":

        def infer() -> None:
            with torch.inference_mode():
                forward(x)

        return H.Bench(infer, **limits)

    def prepare() -> None:
        for t in (x, *params):
            t.grad = None

    def train() -> None:
        out = forward(x)
        (out * grads(out.shape)).sum().backward()

    return H.Bench(train, prepare, **limits)


def torch_bench(module: torch.nn.Module, x: torch.Tensor, mode: str, grads: Grads, **call: Any) -> H.Bench:
    """An lstmkit or torch.nn module (train mode for training: recurrent dropout / zoneout are active)."""
    module.train(mode == "training")
    return make_bench(lambda inp: module(inp, **call)[0], x, list(module.parameters()), mode, grads)


# Keras is slow on the big shapes: 5 repeats where one call takes > 0.3 s, skipped where it takes > 3 s.
KERAS_LIMITS = {"few_repeats_ms": 300.0, "skip_ms": 3000.0}


def keras_bench(keras: Any, family: str, shape: Shape, x: torch.Tensor, mode: str, grads: Grads) -> H.Bench:
    """keras.layers.LSTM/GRU(H, return_sequences=True), built on (B, T, I), called on a batch-first copy of
    the same input; training differentiates to that input and the layer's torch parameters."""
    layer = (keras.layers.LSTM if family == "LSTM" else keras.layers.GRU)(shape.H, return_sequences=True)
    layer.build((shape.B, shape.T, shape.I))
    xb = x.detach().transpose(0, 1).contiguous().requires_grad_(mode == "training")
    weights = [v.value for v in layer.trainable_weights]
    return make_bench(lambda inp: layer(inp, training=mode == "training"), xb, weights, mode, grads, **KERAS_LIMITS)
