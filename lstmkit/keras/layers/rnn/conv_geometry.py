"""Convolution geometry for the ConvLSTM layers: Keras 3's argument checks (``kernel_size``,
``strides``, ``dilation_rate``, ``padding``, ``data_format``), output sizes, and a torch
convolution with Keras' "same" padding.

Keras' "same" is TensorFlow's: the output has ``ceil(size / stride)`` positions and when the
total padding is odd the extra zero goes at the end. torch's ``padding=`` is symmetric only, so
an asymmetric case (an even kernel, or a stride) pads explicitly first. The padding rule itself
is ``lstmkit.cells.conv_lstm.same_padding``, the reference's.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from lstmkit.cells.conv_lstm import same_padding

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
DATA_FORMATS = ("channels_last", "channels_first")


def conv_tuple(value: Any, rank: int, name: str) -> tuple[int, ...]:
    """An int or ``rank`` ints as a tuple of positive ints, or Keras' ValueError naming ``name``."""
    message = f"The `{name}` argument must be a tuple of {rank} integers. Received {name}={value!r}"
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        values: tuple = (value,) * rank
    elif isinstance(value, (list, tuple)) and len(value) == rank:
        values = tuple(value)
    else:
        raise ValueError(message)
    if any(isinstance(v, bool) or not isinstance(v, numbers.Integral) for v in values):
        raise ValueError(message)
    if any(v <= 0 for v in values):
        raise ValueError(f"{message}, including values {sorted({int(v) for v in values if v <= 0})} that do not "
                         "satisfy `value > 0`")
    return tuple(int(v) for v in values)


def check_padding(value: Any) -> str:
    """``"valid"`` or ``"same"`` (any case), or Keras' ValueError."""
    padding = value.lower() if isinstance(value, str) else value
    if padding not in ("valid", "same"):
        raise ValueError(f"The `padding` argument must be one of {{'valid', 'same'}}. Received: {value!r}")
    return padding


def check_data_format(value: Any) -> str:
    """``"channels_last"`` (the default, for None) or ``"channels_first"``, or Keras' ValueError."""
    if value is None:
        return "channels_last"
    data_format = str(value).lower()
    if data_format not in DATA_FORMATS:
        raise ValueError(f"The `data_format` argument must be one of {{'channels_first', 'channels_last'}}. "
                         f"Received: data_format={value!r}")
    return data_format


def output_size(size: int, kernel: int, stride: int, padding: str, dilation: int) -> int:
    """Positions along one axis of a convolution's output (Keras' ``compute_conv_output_shape``)."""
    if padding == "same":
        return -(-size // stride)
    return (size - dilation * (kernel - 1) - 1) // stride + 1


class Conv:
    """One torch convolution, channels_first, with Keras' geometry for a fixed input shape.

    ``Conv(spatial, kernel_size, strides, padding, dilation_rate)(x, weight, bias, groups)`` with
    ``x`` (N, C, *spatial) and ``weight`` in torch's layout (out, C / groups, *kernel_size).
    """

    def __init__(self, spatial: Sequence[int], kernel_size: Sequence[int], strides: Sequence[int], padding: str,
                 dilation_rate: Sequence[int]):
        self.rank = len(spatial)
        self.strides, self.dilation = tuple(strides), tuple(dilation_rate)
        self.out_spatial = tuple(output_size(n, k, s, padding, d)
                                 for n, k, s, d in zip(spatial, kernel_size, strides, dilation_rate))
        pads = [(0, 0)] * self.rank
        if padding == "same":
            pads = [same_padding(n, k, s, d) for n, k, s, d in zip(spatial, kernel_size, strides, dilation_rate)]
        if all(before == after for before, after in pads):
            self.padding, self.explicit = tuple(before for before, _ in pads), None
        else:  # F.pad takes (before, after) pairs from the last axis backwards
            self.padding, self.explicit = (0,) * self.rank, tuple(p for pair in reversed(pads) for p in pair)

    def __call__(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                 groups: int = 1) -> torch.Tensor:
        if self.explicit is not None:
            x = F.pad(x, self.explicit)
        return _CONV[self.rank](x, weight, bias, self.strides, self.padding, self.dilation, groups)
