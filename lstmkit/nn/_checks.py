"""Argument and input validation for ``lstmkit.nn``: every error names the argument, what it
got and what was expected, so users never see a shape error from deep inside torch."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from lstmkit.validation import positive_int, rate  # noqa: F401  (re-exported for lstmkit.nn)


def hidden_sizes(hidden_size: int | Sequence[int], num_layers: int) -> list[int]:
    """Per-layer hidden sizes from an int (all layers alike) or a list (one per layer)."""
    positive_int("num_layers", num_layers)
    if isinstance(hidden_size, (list, tuple)):
        if not hidden_size:
            raise ValueError("hidden_size must be a positive int or a non-empty list of them, got []")
        sizes = [positive_int("hidden_size", h) for h in hidden_size]
        if num_layers not in (1, len(sizes)):
            raise ValueError(
                f"num_layers={num_layers} does not match hidden_size={list(sizes)} "
                f"({len(sizes)} layers); leave num_layers out or make them agree"
            )
        return sizes
    return [positive_int("hidden_size", hidden_size)] * num_layers


def zoneout_rates(value: float | Sequence[float], two: bool) -> tuple[float, ...]:
    """Zoneout as ``(hidden, cell)`` rates: one float for both, or a (cell, hidden) pair."""
    if isinstance(value, (list, tuple)):
        if not two or len(value) != 2:
            expected = "a float or a (cell, hidden) pair" if two else "a float"
            raise ValueError(f"zoneout must be {expected}, got {value!r}")
        cell, hidden = (rate("zoneout", v) for v in value)
        return (hidden, cell)
    z = rate("zoneout", value)
    return (z, z) if two else (z,)


def input_tensor(x: object, input_size: int, batch_first: bool) -> tuple[torch.Tensor, bool]:
    """Check the input and return it time-major (T, B, I), plus whether it was batched."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"input must be a torch.Tensor or PackedSequence, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"input must be a floating-point tensor, got dtype {x.dtype}")
    if x.dim() not in (2, 3):
        layout = "(batch, seq, feature)" if batch_first else "(seq, batch, feature)"
        raise ValueError(
            f"input must be 3-D {layout} or 2-D (seq, feature) for one sequence, "
            f"got {x.dim()}-D with shape {tuple(x.shape)}"
        )
    if x.shape[-1] != input_size:
        raise ValueError(f"input has {x.shape[-1]} features (last dim), expected input_size={input_size}")
    batched = x.dim() == 3
    if not batched:
        x = x.unsqueeze(1)
    elif batch_first:
        x = x.transpose(0, 1)
    if x.shape[0] == 0:
        raise ValueError(f"input has no time steps (shape {tuple(x.shape)})")
    return x, batched


def lengths_arg(lengths: object, T: int, B: int, check_values: bool = True) -> torch.Tensor:
    """Per-sequence lengths as a CPU int64 tensor with every value in [1, T]. ``check_values=False``
    (graph capture): the values are unknown while capturing, so only dtype and shape are checked;
    a captured graph given a length past T fails in ``gather``'s own bounds check, not silently."""
    lens = _as_tensor("lengths", lengths, f"a (batch,) = ({B},) tensor or list of ints")
    if lens.is_floating_point() or lens.is_complex() or lens.dtype == torch.bool:
        raise TypeError(f"lengths must hold integers, got dtype {lens.dtype}")
    lens = lens.to("cpu", torch.int64)
    if lens.shape != (B,):
        raise ValueError(f"lengths must have shape (batch,) = ({B},), got {tuple(lens.shape)}")
    if check_values and B and (int(lens.min()) < 1 or int(lens.max()) > T):
        raise ValueError(
            f"lengths must be in [1, {T}] (the sequence length), got min {int(lens.min())}, max {int(lens.max())}"
        )
    return lens


def mask_arg(mask: object, T: int, B: int, batch_first: bool, device: torch.device) -> torch.Tensor:
    """A Keras-style step mask as (T, B) bool on ``device``."""
    expected = (B, T) if batch_first else (T, B)
    m = _as_tensor("mask", mask, f"a bool tensor of shape {expected}").to(device)
    if m.is_floating_point() or m.is_complex():
        raise TypeError(f"mask must be bool (True = a real step) or 0/1 integers, got dtype {m.dtype}")
    if m.shape != expected:
        layout = "(batch, seq)" if batch_first else "(seq, batch)"
        raise ValueError(f"mask must have shape {layout} = {expected}, got {tuple(m.shape)}")
    m = m.bool()
    return m.transpose(0, 1) if batch_first else m


def state_tensor(
    name: str, value: object, expected: tuple[int, ...], ref: torch.Tensor, meaning: str
) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if tuple(value.shape) != expected:
        raise ValueError(f"{name} must have shape {meaning} = {expected}, got {tuple(value.shape)}")
    if value.dtype != ref.dtype or value.device != ref.device:
        raise ValueError(
            f"{name} must match the input's dtype/device ({ref.dtype}, {ref.device}), "
            f"got ({value.dtype}, {value.device})"
        )
    return value


def _as_tensor(name: str, value: object, expected: str) -> torch.Tensor:
    """``torch.as_tensor(value)``, or a TypeError naming the argument (not torch's ``new()``)."""
    try:
        return torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"{name} must be {expected}, got {type(value).__name__} {value!r:.60}") from None


def parameters(module: torch.nn.Module, shapes: dict[str, tuple[int, ...]], x: torch.Tensor) -> None:
    """Every parameter still has the shape it was created with and the input's dtype and device.

    Why here, before any kernel: the fused C++ kernels trust the shapes they are given, so a
    ``weight_hh_l0`` replaced by a wrong-shape tensor would read out of bounds instead of raising.
    """
    for name, param in module.named_parameters(recurse=False):
        expected = shapes.get(name)
        if expected is not None and tuple(param.shape) != expected:
            raise ValueError(f"parameter {name} has shape {tuple(param.shape)}, expected {expected} for this "
                             f"layer's sizes (was it replaced or loaded from another model?)")
        if param.dtype != x.dtype:
            raise TypeError(f"input dtype {x.dtype} does not match the layer's parameters ({name} is "
                            f"{param.dtype}): cast the input, or the layer with .to({x.dtype})")
        if param.device != x.device:
            raise ValueError(f"input is on {x.device} but parameter {name} is on {param.device}")
