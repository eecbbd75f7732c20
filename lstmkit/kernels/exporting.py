"""Whether an ONNX export is in progress: asked on every forward call (``choose_path``,
``traced.capturing``, the ONNX Loop body).

Why not ``torch.onnx.is_in_onnx_export`` directly: it runs two imports on every call (a few
microseconds, more than the rest of a batch-1 ``step()``'s path choice). This reads the same two
flags, found once. Should a torch release move them, it falls back to torch's function.
Under torch.compile / torch.export tracing it asks torch's function, which dynamo traces
(reading the flags' module directly would be a graph break).
"""

from __future__ import annotations

import torch

_flags: tuple | None = None


def in_onnx_export() -> bool:
    """``torch.onnx.is_in_onnx_export()``, without the imports per call."""
    global _flags
    if torch.compiler.is_compiling():  # dynamo skips torch.onnx internals; torch's own function it knows
        return torch.onnx.is_in_onnx_export()
    if _flags is None:
        try:
            from torch.onnx._internal.exporter import _flags as dynamo_flags
            from torch.onnx._internal.torchscript_exporter._globals import GLOBALS

            dynamo_flags._is_onnx_exporting, GLOBALS.in_onnx_export  # noqa: B018 - both flags exist
            _flags = (dynamo_flags, GLOBALS)
        except (ImportError, AttributeError):
            _flags = ()
    if not _flags:
        return torch.onnx.is_in_onnx_export()
    dynamo_flags, torchscript = _flags
    return bool(torchscript.in_onnx_export or dynamo_flags._is_onnx_exporting)
