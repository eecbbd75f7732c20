"""Convolution geometry for the ConvLSTM layers: a torch convolution with Keras' "same" padding
for a fixed input shape. The argument checks, output sizes and padding rule are the
convolutional layers' (``lstmkit.keras.layers.convolutional.spatial``), defined once there.

Keras' "same" is TensorFlow's: the output has ``ceil(size / stride)`` positions and when the
total padding is odd the extra zero goes at the end. torch's ``padding=`` is symmetric only, so
an asymmetric case (an even kernel, or a stride) pads explicitly first.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from lstmkit.keras.layers.convolutional.spatial import conv_output_size, same_padding

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


class Conv:
    """One torch convolution, channels_first, with Keras' geometry for a fixed input shape.

    ``Conv(spatial, kernel_size, strides, padding, dilation_rate)(x, weight, bias, groups)`` with
    ``x`` (N, C, *spatial) and ``weight`` in torch's layout (out, C / groups, *kernel_size).
    """

    def __init__(self, spatial: Sequence[int], kernel_size: Sequence[int], strides: Sequence[int], padding: str,
                 dilation_rate: Sequence[int]):
        self.rank = len(spatial)
        self.strides, self.dilation = tuple(strides), tuple(dilation_rate)
        self.out_spatial = tuple(conv_output_size(n, k, s, padding, d)
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
