"""``lstmkit.keras.backend``: the few backend functions Keras code calls (``keras.device`` is here too)."""

from collections.abc import Iterator
from contextlib import contextmanager

import torch

from lstmkit.keras.engine.layer import clear_session

__all__ = ["clear_session", "backend", "device"]


def backend() -> str:
    """The numerical backend: always torch."""
    return "torch"


@contextmanager
def device(device_name: str) -> Iterator[None]:
    """``with keras.device("cpu:0"):`` -- tensors and weights made inside are on that device
    (Keras 3's device scope; "gpu" means CUDA, as Keras' torch backend)."""
    if not isinstance(device_name, str) or not device_name:
        raise ValueError(f"device: expected a device name such as 'cpu:0' or 'gpu:0', got {device_name!r}")
    name = device_name.lower()
    if name.startswith("gpu"):
        name = "cuda" + name[3:]
    with torch.device(name):
        yield
