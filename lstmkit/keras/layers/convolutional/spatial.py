"""What the convolution, pooling and 1-D reshaping layers share: Keras' argument checks (same
wording as ``keras/src/utils/argument_validation.py``), Keras 3's torch-backend "same" padding
rule, the warning Keras gives when a layer that cannot mask drops a mask, and exact symbolic
shapes for inputs with unknown sizes.

Why the last one: the engine infers a symbolic output shape by running the layer on dummy
inputs whose unknown sizes are 2 and 3, and calls a size unknown when the two runs disagree. A
convolution with a wide kernel cannot run on 2 steps, and a strided one can map 2 and 3 steps to
the same length; ``SpatialShapes`` makes such layers say None for an unknown spatial size, as
Keras' ``compute_output_shape`` does, and checks the known sizes as Keras does.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import torch

from lstmkit.keras.engine import layer as engine_layer
from lstmkit.keras.engine.keras_tensor import KerasTensor

__all__ = ["DATA_FORMATS", "SpatialShapes", "conv_output_size", "drop_mask", "same_padding",
           "standardize_data_format", "standardize_padding", "standardize_tuple"]

DATA_FORMATS = ("channels_last", "channels_first")


def standardize_tuple(value: Any, n: int, name: str, allow_zero: bool = False) -> tuple[int, ...]:
    """An int or ``n`` ints as a tuple of ``n`` ints > 0 (>= 0 with ``allow_zero``), else a
    ValueError in Keras' words."""
    message = f"The `{name}` argument must be a tuple of {n} integers. Received {name}={value}"
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        values = (int(value),) * n
    else:
        if isinstance(value, (str, bytes)):
            raise ValueError(message)
        try:
            values = tuple(value)
        except TypeError:
            raise ValueError(message) from None
        if len(values) != n:
            raise ValueError(message)
        for v in values:
            if isinstance(v, bool) or not isinstance(v, numbers.Integral):
                raise ValueError(f"{message}, including element {v!r} of type {type(v)}")
        values = tuple(int(v) for v in values)
    bad = {v for v in values if (v < 0 if allow_zero else v <= 0)}
    if bad:
        rule = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{message}, including values {bad} that do not satisfy `value {rule}`")
    return values


def standardize_data_format(value: Any) -> str:
    """None means "channels_last" (Keras' default image_data_format); case does not matter."""
    if value is None:
        return "channels_last"
    fmt = str(value).lower()
    if fmt not in DATA_FORMATS:
        raise ValueError(f"The `data_format` argument must be one of {{'channels_first', 'channels_last'}}. "
                         f"Received: data_format={value}")
    return fmt


def standardize_padding(value: Any, allow_causal: bool = False) -> str:
    """"valid" or "same" (or "causal" where allowed), any case."""
    allowed = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    if not isinstance(value, str) or value.lower() not in allowed:
        raise ValueError(f"The `padding` argument must be one of {set(allowed)}. Received: {value!r}")
    return value.lower()


def same_padding(length: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """(left, right) zeros for "same" padding, by Keras 3's torch backend
    (``_compute_padding_length``): ``effective_kernel - 1`` in all at stride 1, else TensorFlow's
    rule; split evenly, the odd one at the end."""
    effective = (kernel - 1) * dilation + 1
    if stride == 1:
        total = effective - 1
    else:
        out = (length + stride - 1) // stride
        total = max(0, (out - 1) * stride + effective - length)
    return total // 2, total - total // 2


def conv_output_size(length: int, kernel: int, stride: int, padding: str, dilation: int = 1) -> int:
    """Positions along one axis of a convolution's output (Keras' ``compute_conv_output_shape``):
    ``ceil(length / stride)`` for "same" (and "causal"), else the positions a dilated kernel fits."""
    if padding in ("same", "causal"):
        return (length - 1) // stride + 1
    return (length - dilation * (kernel - 1) - 1) // stride + 1


def drop_mask(layer: Any, mask: Any) -> None:
    """Keras' warning when a layer that does not support masking is given a mask (the mask is
    then dropped: downstream layers see none)."""
    if mask is not None and not (isinstance(mask, (list, tuple)) and all(m is None for m in mask)):
        warnings.warn(f"Layer '{layer.name}' (of type {type(layer).__name__}) was passed an input with a mask "
                      "attached to it. However, this layer does not support masking and will therefore destroy "
                      "the mask information. Downstream layers will not see the mask.", UserWarning, stacklevel=4)


class SpatialShapes:
    """Mixin (before ``Layer`` in the bases) for layers with ``compute_output_shape(shape)``:
    a symbolic call checks the declared shape with it (Keras' errors for kernels or crops larger
    than a known length), and during the engine's shape pass ``traced_output(x)`` gives zeros of
    the output shape in which each unknown size is the dummy's, so the engine sees it change
    between its two passes and reports None. Masks are not supported (Keras' warning, dropped)."""

    _symbolic_shape: tuple | None = None
    #: the engine's shape pass runs the layer (so the mask warning and the dummy-size rule above apply)
    _shapes_from_dummy_runs = True

    def compute_output_shape(self, input_shape: Any) -> tuple:  # pragma: no cover - each layer defines it
        raise NotImplementedError

    def _symbolic_call(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        shape = tuple(inputs.shape) if isinstance(inputs, KerasTensor) else None
        if shape is not None:
            self.compute_output_shape(shape)
        previous, self._symbolic_shape = self._symbolic_shape, shape
        try:
            return super()._symbolic_call(inputs, *args, **kwargs)
        finally:
            self._symbolic_shape = previous

    @property
    def _channel_axis(self) -> int:
        return 1 if getattr(self, "data_format", "channels_last") == "channels_first" else -1

    @property
    def _spatial_axes(self) -> tuple[int, ...]:
        """The axes whose sizes the layer changes: ``rank`` of them (1, the steps axis, for layers
        without a ``rank``), after the batch axis, or after the channels with channels_first."""
        start = 2 if getattr(self, "data_format", "channels_last") == "channels_first" else 1
        return tuple(range(start, start + getattr(self, "rank", 1)))

    def traced_output(self, x: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor | None:
        """Zeros shaped like the output for the engine's shape pass when the symbolic input had an
        unknown non-batch size; None otherwise (then the layer computes for real). Inside another
        layer's shape pass (TimeDistributed, a nested model) the declared shape is not known here:
        if the dummy does not fit, its spatial sizes are taken as unknown (so a too-short known
        length is reported at run time there, not when the model is built)."""
        if not engine_layer.TRACING:
            return None
        shape = self._symbolic_shape
        if shape is None or len(shape) != x.dim():
            try:
                self.compute_output_shape(tuple(x.shape))
                return None
            except ValueError:
                shape = tuple(None if k in self._spatial_axes else d for k, d in enumerate(x.shape))
        if None not in shape[1:]:
            return None
        out = self.compute_output_shape(shape)
        size = [x.shape[0]] + [x.shape[k] if d is None else d for k, d in enumerate(out) if k > 0]
        return torch.zeros(size, dtype=dtype or x.dtype, device=x.device)

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        drop_mask(self, mask)
        return None
