"""``Embedding``: integer token ids -> dense vectors, with an optional padding mask (id 0).

Bad ids are the commonest error in text models, so they are checked: an id below 0 or at least
``input_dim`` raises a ValueError naming the id and ``input_dim`` (torch would raise an opaque
IndexError, or a device-side assert on a GPU).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from lstmkit.keras import regularizers
from lstmkit.keras.engine import layer as layer_module
from lstmkit.keras.engine.keras_tensor import KerasTensor
from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.common import check_tensor, positive_int, serialize_options, set_weight_options


@register("layer")
class Embedding(Layer):
    """Looks up row ``i`` of an ``(input_dim, output_dim)`` matrix for every id ``i``.

    Args:
        input_dim: vocabulary size: ids must be in ``[0, input_dim)``.
        output_dim: size of each vector.
        embeddings_initializer: initializer of the matrix (Keras: uniform on [-0.05, 0.05]).
        embeddings_regularizer: penalty on the matrix.
        embeddings_constraint: projection applied to the matrix after each update.
        mask_zero: if True, id 0 is padding: the output mask is ``inputs != 0`` (then id 0 must
            not be a real token, so ``input_dim`` should be vocabulary size + 1).
        weights: optional initial matrix (``[matrix]`` or ``matrix``), e.g. pretrained vectors.
        input_length: legacy (Keras 2) fixed sequence length: it also gives a Sequential model its
            input shape, and a call with another length raises ValueError.
        activity_regularizer: penalty on the output.
    """

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer: Any = "uniform",
                 embeddings_regularizer: Any = None, embeddings_constraint: Any = None, mask_zero: bool = False,
                 weights: Any = None, input_length: int | None = None, activity_regularizer: Any = None,
                 **kwargs: Any):
        input_dim = positive_int(input_dim, "Embedding input_dim")
        output_dim = positive_int(output_dim, "Embedding output_dim")
        if input_length is not None:
            input_length = positive_int(input_length, "Embedding input_length")
            if all(kwargs.get(k) is None for k in ("input_shape", "batch_input_shape")):
                kwargs["input_shape"] = (input_length,)
        super().__init__(**kwargs)
        self.input_dim, self.output_dim = input_dim, output_dim
        self.input_length = input_length
        set_weight_options(self, embeddings_initializer=embeddings_initializer,
                           embeddings_regularizer=embeddings_regularizer,
                           embeddings_constraint=embeddings_constraint)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        if weights is not None:
            self._maybe_build(None)
            if not (isinstance(weights, list) and len(weights) == 1):
                weights = [weights]
            self.set_weights([np.asarray(w) for w in weights])

    def build(self, input_shape: Any = None) -> None:
        self.add_weight("embeddings", (self.input_dim, self.output_dim), self.embeddings_initializer,
                        self.embeddings_regularizer, self.embeddings_constraint)
        self.built = True  # also when build() is called directly, as in Keras

    def _check_length(self, length: int | None) -> None:
        if self.input_length is not None and length is not None and length != self.input_length:
            raise ValueError(f"Embedding {self.name!r} was declared with input_length={self.input_length}, got "
                             f"sequences of length {length}")

    def _symbolic_call(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(inputs, KerasTensor) and len(inputs.shape) >= 2:
            self._check_length(inputs.shape[1])
        return super()._symbolic_call(inputs, *args, **kwargs)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        ids = check_tensor(self, inputs)
        if ids.dtype == torch.bool or ids.is_complex():
            raise TypeError(f"Embedding {self.name!r} expects integer ids, got a tensor of dtype {ids.dtype}")
        if ids.dim() >= 2 and not layer_module.TRACING:
            self._check_length(ids.shape[1])
        if ids.is_floating_point():
            if not bool(torch.isfinite(ids).all()):
                raise ValueError(f"Embedding {self.name!r} got non-finite ids (NaN or inf)")
            ids = ids.long()  # as Keras: float ids are cast (truncated) to integers
        elif ids.dtype not in (torch.int64, torch.int32):
            ids = ids.long()
        bad = (ids < 0) | (ids >= self.input_dim)
        if bool(bad.any()):
            value = int(ids[bad][0])
            raise ValueError(f"Embedding {self.name!r}: id {value} is out of range for input_dim={self.input_dim} "
                             f"(valid ids are 0..{self.input_dim - 1}); increase input_dim or fix the data")
        return F.embedding(ids, self.embeddings)

    def compute_mask(self, inputs: torch.Tensor, mask: Any = None) -> torch.Tensor | None:
        if not self.mask_zero:
            return None
        return inputs != 0

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                  **serialize_options(self, "embeddings_initializer", "embeddings_regularizer",
                                      "activity_regularizer", "embeddings_constraint"),
                  "mask_zero": self.mask_zero}
        if self.input_length is not None:
            config["input_length"] = self.input_length
        return config
