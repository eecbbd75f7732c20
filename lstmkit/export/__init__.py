"""Exporting lstmkit models to other runtimes: ``to_onnx`` (ONNX, run by ONNX Runtime).

``onnx`` and ``onnxruntime`` are imported on first use (``pip install 'lstmkit[onnx]'``). The
app checkpoints' export (``lstmkit export onnx``) is in ``checkpoints.py`` and ``cli.py``, which
sit on the apps floor (docs/architecture.md); this package's other modules are a library.
"""

from lstmkit.export.onnx import to_onnx

__all__ = ["to_onnx"]
