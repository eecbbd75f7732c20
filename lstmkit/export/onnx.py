"""``to_onnx``: an lstmkit.nn module (or any torch module holding them) or an lstmkit.keras model
as an ONNX file that ONNX Runtime runs.

How: torch.onnx's TorchScript exporter (``dynamo=False``). While it runs,
``lstmkit.kernels.choose_path`` sends the plain LSTM/GRU/RNN to torch's own kernels, which the
exporter maps to ONNX's ``LSTM`` / ``GRU`` / ``RNN`` operators. Every other configuration of the
lstmkit.nn stacks -- the LSTM variants (peepholes, CIFG, NIG/NFG/NOG/NIAF/NOAF, FGR), the GRU
variants (Cho's reset-before, MUT1-3), other activations, layer norm, projections (ONNX's LSTM
has none), zoneout (eval: its expectation), recurrent dropout (eval: off), ``go_backwards``,
``mask=`` / ``lengths=`` and ``masked_output="carry"`` -- runs the plain-torch loop, whose time
loop ``lstmkit.kernels.loop_script`` writes as one ONNX ``Loop`` over a dynamic number of steps:
each step is the very ``loop.advance`` (gate math of ``lstmkit.kernels.steps``) traced once, the
loop around it scripted. lstmkit's fused C++ kernels never enter the graph.

Why TorchScript and not the dynamo exporter: a scripted loop called inside the exporter's trace
is recorded as a loop, which it writes as ``Loop`` (torch 2.13); the dynamo exporter would need
the step rewritten for ``torch.cond`` / private scan operators and unrolls the Python loop.

What is still unrolled over the example's time steps: Python loops above lstmkit.nn, i.e. an
lstmkit.keras ``RNN`` over a user's own cell and the ConvLSTM layers (their loop is the Keras
layer's, not ``run_sequence``), and a module exported in training mode with zoneout (its sampled
masks). For those the time axis keeps the example's length, with a warning.

Why the exported model is run before the file is written: an unrolled graph accepts a longer
sequence and silently returns the example's length, and a Keras model with a fixed input length
refuses another one. So with ``dynamic=True`` the batch and time axes are exported dynamic, and
the graph is checked with ONNX Runtime against the eager model at a larger batch and a longer
sequence, within the issue's 1e-5; an axis that does not hold is exported fixed instead (with a
warning), never wrong.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from lstmkit.io import atomic_write_bytes

INSTALL_HINT = "pip install 'lstmkit[onnx]'"
#: eager vs ONNX Runtime agreement the export must reach on the probe inputs (float32)
CHECK_RTOL, CHECK_ATOL = 1e-5, 1e-5


def require_onnx() -> tuple[Any, Any]:
    """``(onnx, onnxruntime)``, imported on first use; one ImportError naming the extra if missing."""
    try:
        import onnx
        import onnxruntime
    except ImportError as exc:
        raise ImportError(f"exporting to ONNX needs the onnx and onnxruntime packages ({exc.name} is missing): "
                          f"{INSTALL_HINT}") from None
    return onnx, onnxruntime


class _KerasModule(nn.Module):
    """An lstmkit.keras model as a plain torch module: tensors in, tensors out, inference mode."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, *inputs: torch.Tensor) -> Any:
        return self.model(inputs[0] if len(inputs) == 1 else list(inputs), training=False)


def _is_keras(model: Any) -> bool:
    from lstmkit.keras.engine.layer import Layer

    return isinstance(model, Layer)


def _time_major(model: nn.Module) -> bool:
    """A bare lstmkit.nn (or torch.nn) recurrent stack without ``batch_first``: (T, B, ...) input."""
    from lstmkit.nn.rnn import RecurrentStack

    return isinstance(model, (RecurrentStack, nn.RNNBase)) and not model.batch_first


def _axes(x: torch.Tensor, time_major: bool, time: bool) -> dict[int, str]:
    """The dynamic axes of one input: batch (and time, for inputs of rank >= 2)."""
    if x.dim() == 0:
        return {}
    if x.dim() == 1:
        return {0: "batch"}
    batch, seq = (1, 0) if time_major else (0, 1)
    return {batch: "batch", seq: "time"} if time else {batch: "batch"}


def _grow(x: torch.Tensor, axes: dict[int, str]) -> torch.Tensor:
    """A probe input one larger on each dynamic axis: the first batch item and the last time step
    repeated (still valid token ids, lengths and windows)."""
    for axis, name in axes.items():
        pick = 0 if name == "batch" else x.shape[axis] - 1
        x = torch.cat([x, x.narrow(axis, pick, 1)], dim=axis)
    return x


def _flat(out: Any) -> list[np.ndarray]:
    if isinstance(out, torch.Tensor):
        return [out.detach().cpu().numpy()]
    if isinstance(out, (list, tuple)):
        return [a for o in out for a in _flat(o)]
    if isinstance(out, dict):
        return [a for k in sorted(out) for a in _flat(out[k])]
    raise TypeError(f"the model returned a {type(out).__name__}; ONNX export needs tensors (or tuples of them)")


def _export(module: nn.Module, inputs: tuple[torch.Tensor, ...], names: list[str],
            axes: list[dict[int, str]], opset: int | None) -> bytes:
    buffer = io.BytesIO()
    dynamic = {n: a for n, a in zip(names, axes) if a} or None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings from validation code the trace folds away
        torch.onnx.export(module, inputs, buffer, input_names=names, dynamic_axes=dynamic, opset_version=opset,
                          dynamo=False)
    return buffer.getvalue()


def _agrees(data: bytes, module: nn.Module, probe: tuple[torch.Tensor, ...], names: list[str], ort: Any) -> bool:
    """Whether ONNX Runtime gives the eager outputs on ``probe`` (False if either refuses it)."""
    try:
        with torch.no_grad():
            want = _flat(module(*probe))
    except (ValueError, RuntimeError):
        return False  # the model itself refuses the shape (a Keras Input with a fixed length)
    try:
        session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
        got = session.run(None, {n: x.detach().cpu().numpy() for n, x in zip(names, probe)})
    except Exception:  # noqa: BLE001 -- onnxruntime raises its own Fail/InvalidArgument types
        return False
    return len(got) == len(want) and all(
        g.shape == w.shape and np.allclose(g, w, rtol=CHECK_RTOL, atol=CHECK_ATOL) for g, w in zip(got, want))


def to_onnx(model: nn.Module, example: torch.Tensor | np.ndarray | Sequence[Any], path: str | Path,
            dynamic: bool = True, *, input_names: Sequence[str] | None = None, opset: int | None = None) -> Path:
    """Export ``model`` (a torch module, e.g. an ``lstmkit.nn.LSTM``, or an lstmkit.keras model) to
    the ONNX file ``path`` (written atomically) and return the path.

    ``example``: one input or a tuple of them (tensors or arrays), batch first unless the model is
    a bare time-major recurrent stack. With ``dynamic`` the batch and time axes are dynamic where
    the exported graph was verified to hold there (see the module docstring; lstmkit.nn's
    variants and extras are an ONNX Loop over time); an unrolled model keeps the example's
    sequence length, with a warning. The model is exported in eval mode.
    """
    _, ort = require_onnx()
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module or an lstmkit.keras model, got {type(model).__name__}")
    items = tuple(example) if isinstance(example, (list, tuple)) else (example,)
    inputs = tuple(torch.as_tensor(x) for x in items)
    if not inputs:
        raise ValueError("example must hold at least one input tensor")
    names = list(input_names) if input_names is not None else \
        (["input"] if len(inputs) == 1 else [f"input_{k}" for k in range(len(inputs))])
    if len(names) != len(inputs):
        raise ValueError(f"input_names has {len(names)} names for {len(inputs)} inputs")
    module = _KerasModule(model) if _is_keras(model) else model
    time_major = _time_major(model)
    mode = model.training
    model.eval()
    try:
        data = None
        for time in ((True, False) if dynamic else ()):  # time and batch dynamic, then batch only
            axes = [_axes(x, time_major, time) for x in inputs]
            candidate = _export(module, inputs, names, axes, opset)
            if _agrees(candidate, module, tuple(_grow(x, a) for x, a in zip(inputs, axes)), names, ort):
                data = candidate
                if not time:
                    warnings.warn("the exported ONNX model keeps the example's sequence length: the model runs "
                                  "a Python loop over time above lstmkit.nn (unrolled when traced) or refuses "
                                  "other lengths", stacklevel=2)
                break
        if data is None:
            if dynamic:
                warnings.warn("the exported ONNX model has fixed input shapes (the example's)", stacklevel=2)
            data = _export(module, inputs, names, [{} for _ in inputs], opset)
            if not _agrees(data, module, inputs, names, ort):
                raise RuntimeError("the exported ONNX model does not reproduce the eager outputs on the example")
    finally:
        model.train(mode)
    return atomic_write_bytes(path, data)
