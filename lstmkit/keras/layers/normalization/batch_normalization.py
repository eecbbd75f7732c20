"""``BatchNormalization``: normalise each feature over the batch (and every other axis) while
training, over moving averages of those statistics in inference (Keras 3 semantics).

Why the moving statistics are torch *buffers*, not parameters: they are state that the forward
pass updates, never something the optimizer should see. As buffers they are left out of
``model.parameters()`` (so ``fit``'s optimizer and ``layer.trainable = ...`` never touch them),
yet they are listed in ``layer.weights`` / ``non_trainable_weights`` in Keras' order, so
``get_weights``, ``set_weights``, ``model.save`` and ``load_model`` carry them like any weight,
and ``model.to(device)`` moves them.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import torch

from lstmkit.keras import initializers
from lstmkit.keras.engine import layer as engine_layer
from lstmkit.keras.engine.layer import Layer
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.common import (
    add_configured_weight,
    as_bool_mask,
    check_single_shape,
    check_tensor,
    serialize_options,
    set_weight_options,
    to_float,
)

#: Keras' ``backend.epsilon()``: keeps the masked moments finite when every step is masked
_FUZZ = 1e-7
_CLIP_KEYS = ("rmax", "rmin", "dmax")


def _renorm_clipping(renorm: bool, clipping: Any) -> dict[str, float] | None:
    """Keras' checks of ``renorm_clipping`` (only looked at when ``renorm=True``)."""
    if not renorm:
        return clipping
    clipping = dict(clipping or {})
    if set(clipping) - set(_CLIP_KEYS):
        raise ValueError(f"Received invalid keys for `renorm_clipping` argument: {clipping}. Supported values: "
                         f"{list(_CLIP_KEYS)}.")
    rmax, rmin, dmax = (clipping.get(k) for k in _CLIP_KEYS)
    if rmax is not None and rmin is not None and rmax < rmin:
        raise ValueError(f"rmax should be greater than rmin in the `renorm_clipping` argument. Received: rmax={rmax}, "
                         f"rmin={rmin}.")
    if dmax is not None and dmax < 0:
        raise ValueError(f"dmax should be non-negative in the `renorm_clipping` argument. Received: dmax={dmax}.")
    return clipping


@register("layer")
class BatchNormalization(Layer):
    """``gamma * (x - mean) / sqrt(var + epsilon) + beta``, per feature of ``axis``.

    Training (``fit`` or ``training=True``): ``mean``/``var`` are the batch's (biased variance,
    over every axis but ``axis``; with a mask, over the unmasked steps only), and the moving
    statistics move towards them: ``moving = moving * momentum + batch * (1 - momentum)``.
    Inference: the moving statistics are used. ``layer.trainable = False`` means inference mode
    even when training (Keras 3), so a frozen layer's statistics stay as they are.

    Args:
        axis: the feature axis (an int; the last by default).
        momentum: momentum of the moving averages.
        epsilon: added to the variance for numerical stability.
        center: whether to add the learned offset ``beta``.
        scale: whether to multiply by the learned ``gamma``.
        beta_initializer, gamma_initializer: initializers of beta and gamma.
        moving_mean_initializer, moving_variance_initializer: initial moving statistics.
        beta_regularizer, gamma_regularizer: penalties on beta and gamma.
        beta_constraint, gamma_constraint: projections applied after each update.
        renorm: batch renormalization (Ioffe 2017): adds ``moving_stddev``, ``renorm_mean``
            and ``renorm_stddev`` (non-trainable); inference is unchanged.
        renorm_clipping: ``{"rmax", "rmin", "dmax"}`` clips of the renorm corrections.
        renorm_momentum: momentum of the renorm statistics.
        synchronized: accepted and ignored (noted once with a warning): with
            ``fit(distributed=True)`` each process normalises with its own batch's statistics.
            (Keras' torch backend refuses ``True``; lstmkit accepts TensorFlow-era configs.)
    """

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: Any = "zeros", gamma_initializer: Any = "ones",
                 moving_mean_initializer: Any = "zeros", moving_variance_initializer: Any = "ones",
                 beta_regularizer: Any = None, gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, renorm: bool = False, renorm_clipping: dict[str, float] | None = None,
                 renorm_momentum: float = 0.99, synchronized: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"BatchNormalization axis must be an int, got {axis!r}")
        for what, value in (("momentum", momentum), ("epsilon", epsilon), ("renorm_momentum", renorm_momentum)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"BatchNormalization {what} must be a float, got {value!r}")
        if epsilon < 0:
            raise ValueError(f"BatchNormalization epsilon must be a non-negative float, got {epsilon!r}")
        self.axis = int(axis)
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.synchronized = bool(synchronized)
        if self.synchronized:
            warnings.warn("BatchNormalization(synchronized=True) is ignored: each process uses its own batch "
                          "statistics", stacklevel=2)
        self.renorm = bool(renorm)
        self.renorm_clipping = _renorm_clipping(self.renorm, renorm_clipping)
        self.renorm_momentum = float(renorm_momentum)
        set_weight_options(self, beta_initializer=beta_initializer, gamma_initializer=gamma_initializer,
                           moving_mean_initializer=moving_mean_initializer,
                           moving_variance_initializer=moving_variance_initializer,
                           beta_regularizer=beta_regularizer, gamma_regularizer=gamma_regularizer,
                           beta_constraint=beta_constraint, gamma_constraint=gamma_constraint)
        self.supports_masking = True

    # ------------------------------------------------------------------ weights
    def _add_statistic(self, name: str, shape: tuple[int, ...], initializer: Any, sqrt: bool = False) -> None:
        """A non-trainable weight: a buffer listed in ``weights`` after the trainable ones made so far."""
        value = torch.empty(shape, dtype=self.compute_dtype)
        initializers.get(initializer)(value)
        self.register_buffer(name, value.sqrt() if sqrt else value)
        self._weight_names.append(name)

    def build(self, input_shape: Any) -> None:
        shape = check_single_shape(self, input_shape)
        ndim = len(shape)
        if not -ndim <= self.axis < ndim:
            raise ValueError(f"Axis {self.axis} is out of bounds for input shape {shape}. Received: axis={self.axis}")
        axis = self.axis % ndim
        if shape[axis] is None:
            raise ValueError(f"BatchNormalization {self.name!r} needs a known size on axis {self.axis}, got input "
                             f"shape {shape}")
        param_shape = (int(shape[axis]),)
        self._ndim, self._channel_axis = ndim, axis
        self._reduction_axes = [d for d in range(ndim) if d != axis]
        self._bshape = [param_shape[0] if d == axis else 1 for d in range(ndim)]
        add_configured_weight(self, "gamma", param_shape if self.scale else None)
        add_configured_weight(self, "beta", param_shape if self.center else None)
        self._add_statistic("moving_mean", param_shape, self.moving_mean_initializer)
        self._add_statistic("moving_variance", param_shape, self.moving_variance_initializer)
        if self.renorm:
            self._add_statistic("moving_stddev", param_shape, self.moving_variance_initializer, sqrt=True)
            self._add_statistic("renorm_mean", param_shape, self.moving_mean_initializer)
            self._add_statistic("renorm_stddev", param_shape, self.moving_variance_initializer, sqrt=True)

    # ------------------------------------------------------------------ calling
    def _moments(self, x: torch.Tensor, mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch mean and biased variance per feature, ``(C,)``; with a mask, over unmasked entries
        (Keras' formula: sums divided by ``count + 1e-7``)."""
        if mask is None:
            var, mean = torch.var_mean(x, dim=self._reduction_axes, correction=0)
            return mean, var
        keep = mask.unsqueeze(-1).expand(x.shape)  # (..., 1) -> the inputs' shape
        zero = torch.zeros((), dtype=x.dtype, device=x.device)
        count = keep.to(x.dtype).sum(dim=self._reduction_axes, keepdim=True) + _FUZZ
        mean = torch.where(keep, x, zero).sum(dim=self._reduction_axes, keepdim=True) / count
        var = torch.where(keep, x - mean, zero).square().sum(dim=self._reduction_axes, keepdim=True) / count
        return mean.reshape(-1), var.reshape(-1)

    def _renorm_transform(self, mean: torch.Tensor, var: torch.Tensor, gamma: torch.Tensor | None,
                          beta: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Batch renormalization's corrections folded into the scale and offset: returns
        ``(gamma', beta', batch stddev)`` with ``gamma' = r * gamma`` and ``beta' = d * gamma + beta``."""
        stddev = torch.sqrt(var + self.epsilon)
        floor = torch.sqrt(torch.tensor(self.epsilon, dtype=mean.dtype, device=mean.device))
        renorm_stddev = torch.maximum(self.renorm_stddev, floor)
        r = stddev / renorm_stddev
        d = (mean - self.renorm_mean) / renorm_stddev
        clip = self.renorm_clipping or {}
        if clip.get("rmin") is not None:
            r = r.clamp(min=clip["rmin"])
        if clip.get("rmax") is not None:
            r = r.clamp(max=clip["rmax"])
        if clip.get("dmax") is not None:
            d = d.clamp(-clip["dmax"], clip["dmax"])
        r, d = r.detach(), d.detach()
        new_gamma = r if gamma is None else r * gamma
        new_beta = d if gamma is None else d * gamma
        return new_gamma, new_beta if beta is None else new_beta + beta, stddev

    @torch.no_grad()
    def _update(self, mean: torch.Tensor, var: torch.Tensor, stddev: torch.Tensor | None) -> None:
        m = self.momentum
        if stddev is None:
            self.moving_mean.copy_(self.moving_mean * m + mean * (1.0 - m))
            self.moving_variance.copy_(self.moving_variance * m + var * (1.0 - m))
            return
        rm = self.renorm_momentum
        self.renorm_mean.copy_(self.renorm_mean * rm + mean * (1.0 - rm))
        self.renorm_stddev.copy_(self.renorm_stddev * rm + stddev * (1.0 - rm))
        self.moving_mean.copy_(self.moving_mean * m + mean * (1.0 - m))
        self.moving_stddev.copy_(self.moving_stddev * m + stddev * (1.0 - m))
        self.moving_variance.copy_(torch.relu(self.moving_stddev.square() - self.epsilon))

    def call(self, inputs: torch.Tensor, training: bool | None = None, mask: Any = None) -> torch.Tensor:
        x = check_tensor(self, inputs, ndim=self._ndim)
        mask = as_bool_mask(mask, x)
        if mask is not None and mask.dim() != x.dim() - 1:
            raise ValueError(f"The mask provided should be one dimension less than the inputs. Received: "
                             f"mask.shape={tuple(mask.shape)}, inputs.shape={tuple(x.shape)}")
        x = to_float(x, self.compute_dtype)
        gamma, beta = self.gamma, self.beta
        if training and self.trainable:
            mean, var = self._moments(x, mask)
            stddev = None
            if self.renorm:
                gamma, beta, stddev = self._renorm_transform(mean, var, gamma, beta)
            if not engine_layer.TRACING:  # no update from the dummy tensors of a symbolic shape pass
                self._update(mean.detach(), var.detach(), None if stddev is None else stddev.detach())
        else:
            mean, var = self.moving_mean, self.moving_variance
        inv = torch.rsqrt(var + self.epsilon)  # (C,)
        if gamma is not None:
            inv = inv * gamma
        out = (x - mean.reshape(self._bshape)) * inv.reshape(self._bshape)
        return out if beta is None else out + beta.reshape(self._bshape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                **serialize_options(self, "beta_initializer", "gamma_initializer", "moving_mean_initializer",
                                    "moving_variance_initializer", "beta_regularizer", "gamma_regularizer",
                                    "beta_constraint", "gamma_constraint"),
                "synchronized": self.synchronized, "renorm": self.renorm, "renorm_clipping": self.renorm_clipping,
                "renorm_momentum": self.renorm_momentum}
