"""Keras' LSTM, GRU and SimpleRNN layers on ``lstmkit.nn`` modules: torch's parameters inside,
Keras' weights outside.

The layer owns one ``lstmkit.nn.LSTM`` / ``GRU`` / ``RNN`` (one layer, batch_first) as ``self.rnn``, so
every call runs on torch's fused kernels whenever the configuration allows (also with the masks
that pre/post padding make) and the optimizer trains torch's own parameter tensors. Everything
Keras-facing sees Keras' layout instead, converted by ``lstmkit.keras.layout``: ``weights`` /
``get_weights()`` / ``set_weights()`` / ``count_params()``, the ``kernel`` /
``recurrent_kernel`` / ``bias`` attributes, initializers, regularizers and constraints.

Keras has one bias where torch has two (LSTM, SimpleRNN; GRU with reset_after=False). There torch's
``bias_hh`` becomes a zero buffer (not a parameter: nothing trains it, nothing counts it), so
the Keras bias is exactly ``bias_ih``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from lstmkit.keras import activations
from lstmkit.keras.layers.rnn.rnn_base import RecurrentBase
from lstmkit.nn.rnn import RecurrentStack

_CORE = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
_KERAS_NAMES = ("kernel", "recurrent_kernel", "bias")


def spec_activation(layer: str, argument: str, value: Any) -> str:
    """The ``lstmkit.cells.spec`` name of a Keras activation argument (None -> "linear"), or a
    ValueError naming what the fused cells support."""
    from lstmkit.cells.spec import ACTIVATIONS

    fn = activations.get(value)
    try:
        name = activations.serialize(fn)
    except ValueError:
        name = None
    if name not in ACTIVATIONS:
        raise ValueError(f"{layer}: {argument} must be one of {list(ACTIVATIONS)} (or None for linear), got {value!r}")
    return name


class TorchRecurrent(RecurrentBase):
    """Base of ``LSTM``, ``GRU`` and ``SimpleRNN``: the layer owns one ``lstmkit.nn`` module
    (``self.rnn``, made in ``build``) and shows its weights in Keras' layout. See
    ``RecurrentBase`` for the common arguments; one more (keyword-only):

    Args:
        backend: "auto" (torch's fused kernels whenever they can run the configuration),
            "torch" (only those; error otherwise) or "reference" (always the plain-torch loop).
    """

    def __init__(self, units: int, *, backend: str = "auto", **kwargs: Any):
        super().__init__(units, **kwargs)
        from lstmkit import kernels

        self.backend = kernels.check_backend(backend)

    # ------------------------------------------------------------------ subclass hooks
    def _make_module(self, input_dim: int) -> RecurrentStack:
        raise NotImplementedError

    def _folded(self) -> bool:
        """Whether Keras' one bias stands for torch's two (then ``bias_hh`` is a zero buffer)."""
        raise NotImplementedError

    def _to_keras(self, p: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        raise NotImplementedError

    def _from_keras(self, arrays: list[torch.Tensor]) -> list[torch.Tensor]:
        raise NotImplementedError

    def _init_bias(self, bias: torch.Tensor) -> None:
        """Initialise the Keras-layout bias in place (LSTM adds unit_forget_bias)."""
        self.bias_initializer(bias)

    # ------------------------------------------------------------------ build
    def build(self, input_shape: Any) -> None:
        input_dim = self._check_build_shape(input_shape)
        rnn = self._make_module(input_dim)
        if self.use_bias and self._folded():
            zeros = torch.zeros_like(rnn.bias_hh_l0, requires_grad=False)
            delattr(rnn, "bias_hh_l0")
            rnn.register_buffer("bias_hh_l0", zeros, persistent=False)
        rnn.train(self.training)  # a module made in build() takes the layer's mode and trainability
        if not self.trainable:
            rnn.requires_grad_(False)
        self.rnn = rnn
        with torch.no_grad():
            core = [torch.empty(w.shape, dtype=self.compute_dtype) for w in self._keras_core()]
            self.kernel_initializer(core[0])
            self.recurrent_initializer(core[1])
            if self.use_bias:
                self._init_bias(core[2])
            self._write_core(core)
        self.built = True  # as Keras: a direct build() call builds the layer

    # ------------------------------------------------------------------ Keras weights
    def _params(self) -> dict[str, torch.Tensor]:
        if "rnn" not in self._modules:
            raise AttributeError(f"layer {self.name!r} has no weights yet: call it on data or build() it first")
        return self.rnn.layer_params(0)

    def _keras_core(self) -> list[torch.Tensor]:
        """kernel, recurrent_kernel[, bias] in Keras' layout, differentiable views where possible."""
        p = self._params()
        if self.use_bias and self._folded():
            p = {k: v for k, v in p.items() if k != "bias_hh"}
        return self._to_keras(p)

    def _extras(self) -> list[torch.Tensor]:
        """The weights Keras has no name for (peepholes, layer-norm gains...), torch layout."""
        return [w for k, w in self._params().items() if k not in _CORE]

    @property
    def weights(self) -> list[torch.Tensor]:
        """Keras' weights in Keras' layout and order (kernel, recurrent_kernel, bias), then the
        extras in torch's layout. Read them freely; write with ``set_weights``."""
        return self._keras_core() + self._extras()

    @property
    def kernel(self) -> torch.Tensor:
        return self._keras_core()[0]

    @property
    def recurrent_kernel(self) -> torch.Tensor:
        return self._keras_core()[1]

    @property
    def bias(self) -> torch.Tensor | None:
        return self._keras_core()[2] if self.use_bias else None

    def _write_core(self, core: list[torch.Tensor]) -> None:
        p = self._params()
        with torch.no_grad():
            for key, value in zip(_CORE, self._from_keras(core)):
                p[key].copy_(value)

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Load weights in Keras' layout and order (as ``get_weights()`` gives them, or a Keras
        layer's ``get_weights()``); shapes are checked."""
        current = self.weights
        if len(weights) != len(current):
            raise ValueError(f"layer {self.name!r} expects {len(current)} weight arrays, got {len(weights)}")
        values = []
        for k, (w, value) in enumerate(zip(current, weights)):
            value = torch.as_tensor(np.asarray(value), dtype=w.dtype, device=w.device)
            if tuple(value.shape) != tuple(w.shape):
                raise ValueError(f"layer {self.name!r} weight {k} has shape {tuple(w.shape)}, "
                                 f"got an array of shape {tuple(value.shape)}")
            values.append(value)
        n = len(self._keras_core())
        self._write_core(values[:n])
        with torch.no_grad():
            for w, value in zip(self._extras(), values[n:]):
                w.copy_(value)

    def apply_constraints(self) -> None:
        """Project constrained weights, in Keras' layout, back onto their constraints."""
        if not self._constraints:
            return
        with torch.no_grad():
            core = [w.detach().clone() for w in self._keras_core()]
            for attr, constraint in self._constraints.items():
                k = _KERAS_NAMES.index(attr)
                core[k] = constraint(core[k])
            self._write_core(core)

    # ------------------------------------------------------------------ running
    def _run(self, x, states, mask):
        self.rnn.masked_output = "zero" if self.zero_output_for_mask else "carry"
        hx = None
        if states is not None:
            hx = tuple(s.unsqueeze(0) for s in states) if len(states) > 1 else states[0].unsqueeze(0)
        rnn = self.rnn
        # cuDNN only keeps what its backward pass needs when run in training mode, and Keras layers
        # run in inference mode outside fit(): a gradient through an inference call would fail.
        # Where nothing random depends on the mode (no recurrent dropout or zoneout), run it as training.
        as_training = (x.is_cuda and not rnn.training and torch.is_grad_enabled()
                       and not rnn.recurrent_dropout and not any(rnn.zoneout))
        if as_training:
            rnn.training = True
        backend = rnn.backend
        if self.unroll:  # the step-by-step loop: Keras' unrolled graph, on torch
            rnn.backend = "reference"
        try:
            out, final = rnn(x, hx, mask=mask)
        finally:
            rnn.backend = backend
            if as_training:
                rnn.training = False
        final = final if isinstance(final, tuple) else (final,)
        return out, [s[0] for s in final]

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        if self.backend != "auto":
            config["backend"] = self.backend
        return config


class GatedRecurrent(TorchRecurrent):
    """Base of ``LSTM`` and ``GRU``: see ``TorchRecurrent`` and ``RecurrentBase`` for the common
    arguments. Extra arguments (both layers):

    Args:
        recurrent_activation: the gate activation (default "sigmoid").
        use_cudnn: accepted for Keras compatibility ("auto", True or False); ``backend``
            decides how the layer runs.
        variant: the member of the cell family (see ``lstmkit.cells.spec``).
        layer_norm: layer-normalise the projections (Ba et al. 2016), with learned gains and
            shifts that come after Keras' weights in ``weights``.
        zoneout: zoneout rate(s) (Krueger et al. 2016): in training a unit keeps its previous
            value with this probability; in inference the expectation.
    """

    def __init__(self, units: int, recurrent_activation: Any = "sigmoid", use_cudnn: Any = "auto", *,
                 layer_norm: bool = False, zoneout: float | Sequence[float] = 0.0, backend: str = "auto",
                 **kwargs: Any):
        super().__init__(units, backend=backend, **kwargs)
        kind = type(self).__name__
        if use_cudnn not in ("auto", True, False):
            raise ValueError(f"{kind}: use_cudnn must be 'auto', True or False, got {use_cudnn!r}")
        self.use_cudnn = use_cudnn
        self.recurrent_activation = activations.get(recurrent_activation)
        self._activation_name = spec_activation(kind, "activation", self.activation)
        self._recurrent_activation_name = spec_activation(kind, "recurrent_activation", recurrent_activation)
        self.layer_norm = bool(layer_norm)
        self.zoneout = zoneout

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        if self.use_cudnn != "auto":
            config["use_cudnn"] = self.use_cudnn
        for key, default in (("layer_norm", False), ("zoneout", 0.0)):
            value = getattr(self, key)
            if value != default:
                config[key] = list(value) if isinstance(value, tuple) else value
        return config
