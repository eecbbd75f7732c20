"""``in_onnx_export`` reads the same flags as ``torch.onnx.is_in_onnx_export`` (without its imports)."""

from __future__ import annotations

import pytest
import torch
from torch.onnx._internal.exporter import _flags
from torch.onnx._internal.torchscript_exporter._globals import GLOBALS

from lstmkit.kernels.exporting import in_onnx_export


@pytest.mark.parametrize("flag", ["torchscript", "dynamo"])
def test_agrees_with_torch_on_both_exporters(flag, monkeypatch):
    assert in_onnx_export() is torch.onnx.is_in_onnx_export() is False
    if flag == "torchscript":
        monkeypatch.setattr(GLOBALS, "in_onnx_export", True)
    else:
        monkeypatch.setattr(_flags, "_is_onnx_exporting", True)
    assert in_onnx_export() is torch.onnx.is_in_onnx_export() is True
