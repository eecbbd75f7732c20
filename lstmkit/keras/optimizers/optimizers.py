"""The Keras optimizers, each on the torch optimizer whose update matches Keras 3's rule.

How close each is to Keras 3 (same weights, gradients and step count):
- SGD: torch.optim.SGD. Keras keeps ``m = momentum * m - lr * g`` (the rate inside the
  velocity); torch keeps ``b = momentum * b + g`` and steps ``-lr * b``. They agree while the rate
  is constant; when it changes (schedule, ReduceLROnPlateau) the torch buffers are rescaled by
  ``old_lr / new_lr`` before the step, which makes them agree exactly again.
- Adam / AdamW: torch.optim.Adam, whose epsilon enters as ``sqrt(v_hat) + eps`` while Keras
  uses ``sqrt(v) + eps`` with the bias correction folded into the step size. Setting torch's eps
  to ``epsilon / sqrt(1 - beta_2 ** t)`` each step makes the two identical.
- RMSprop: Keras puts epsilon inside the square root (``sqrt(v + eps)``), torch outside, which
  differs a lot for small gradients; it runs on ``KerasRMSprop``, a torch.optim optimizer
  with Keras' rule in foreach kernels.
- Adagrad: torch.optim.Adagrad; Keras' ``sqrt(acc + eps)`` vs torch's ``sqrt(acc) + eps`` differ
  by under 1e-7 relative with the default ``initial_accumulator_value=0.1`` (more if it is ~0).
- Nadam: torch.optim.NAdam with ``momentum_decay=1`` is Keras' rule exactly.
- Adadelta: torch.optim.Adadelta is Keras' rule exactly.
Weight decay is always Keras' decoupled form, applied by the base class.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from lstmkit.keras.engine.registry import register
from lstmkit.keras.optimizers.base import Optimizer
from lstmkit.keras.optimizers.schedules import LearningRateSchedule
from lstmkit.keras.optimizers.torch_rmsprop import KerasRMSprop

__all__ = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Nadam", "Adadelta"]


def _fraction(name: str, value: Any, *, closed_high: bool = True) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (
        0 <= value <= 1 if closed_high else 0 <= value < 1)
    if not ok:
        raise ValueError(f"`{name}` must be a float in [0, 1{']' if closed_high else ')'}, got {value!r}")
    return float(value)


def _positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"`{name}` must be a float >= 0, got {value!r}")
    return float(value)


@register("optimizer", "sgd")
class SGD(Optimizer):
    """Gradient descent with optional (Nesterov) momentum.

    Args:
        learning_rate: see ``Optimizer`` (default 0.01).
        momentum: float in [0, 1]; 0 is plain SGD.
        nesterov: use Nesterov momentum.
        **kwargs: the shared ``Optimizer`` arguments (weight_decay, clipnorm, clipvalue,
            global_clipnorm, name).
    """

    def __init__(self, learning_rate: Any = 0.01, momentum: float = 0.0, nesterov: bool = False, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.momentum = _fraction("momentum", momentum)
        self.nesterov = bool(nesterov)
        self._last_lr: float | None = None

    def _make_torch(self, params: list[torch.Tensor], lr: float) -> torch.optim.Optimizer:
        return torch.optim.SGD(params, lr=lr, momentum=self.momentum, nesterov=self.nesterov and self.momentum > 0)

    def _before_step(self, lr: float) -> None:
        last, self._last_lr = self._last_lr, lr
        if self.momentum == 0 or last is None or last == lr or lr == 0:
            return
        bufs = [s["momentum_buffer"] for s in self._torch.state.values() if s.get("momentum_buffer") is not None]
        if bufs:
            torch._foreach_mul_(bufs, last / lr)

    def _after_load(self) -> None:
        if not self._iterations:
            self._last_lr = None
        elif isinstance(self._learning_rate, LearningRateSchedule):
            self._last_lr = float(self._learning_rate(self._iterations - 1))
        else:
            self._last_lr = self.learning_rate

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


@register("optimizer", "adam")
class Adam(Optimizer):
    """Adam.

    Args:
        learning_rate: see ``Optimizer`` (default 0.001).
        beta_1: decay of the first-moment estimate.
        beta_2: decay of the second-moment estimate.
        epsilon: small constant for numerical stability (Keras' placement, see module doc).
        amsgrad: use the AMSGrad variant.
        **kwargs: the shared ``Optimizer`` arguments.
    """

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 amsgrad: bool = False, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = _fraction("beta_1", beta_1, closed_high=False)
        self.beta_2 = _fraction("beta_2", beta_2, closed_high=False)
        self.epsilon = _positive("epsilon", epsilon)
        self.amsgrad = bool(amsgrad)

    def _make_torch(self, params: list[torch.Tensor], lr: float) -> torch.optim.Optimizer:
        return torch.optim.Adam(params, lr=lr, betas=(self.beta_1, self.beta_2), eps=self.epsilon,
                                amsgrad=self.amsgrad, fused=self._fused_ok(params))

    def _before_step(self, lr: float) -> None:
        correction = math.sqrt(1.0 - self.beta_2 ** (self._iterations + 1))
        self._torch.param_groups[0]["eps"] = self.epsilon / correction

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "amsgrad": self.amsgrad}


@register("optimizer", "adamw")
class AdamW(Adam):
    """Adam with decoupled weight decay (``w -= w * weight_decay * lr`` each step).

    Args:
        learning_rate: see ``Optimizer`` (default 0.001).
        weight_decay: the decay rate (required: a float).
        beta_1: decay of the first-moment estimate.
        beta_2: decay of the second-moment estimate.
        epsilon: small constant for numerical stability.
        amsgrad: use the AMSGrad variant.
        **kwargs: the shared ``Optimizer`` arguments.
    """

    def __init__(self, learning_rate: Any = 0.001, weight_decay: float = 0.004, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False, **kwargs: Any):
        if weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, amsgrad=amsgrad,
                         weight_decay=weight_decay, **kwargs)


@register("optimizer", "rmsprop")
class RMSprop(Optimizer):
    """RMSprop, Keras' rule (epsilon inside the square root).

    Args:
        learning_rate: see ``Optimizer`` (default 0.001).
        rho: decay of the squared-gradient average.
        momentum: momentum (0 for none).
        epsilon: small constant added to the average before the square root.
        centered: normalise by the centred second moment (variance) instead.
        **kwargs: the shared ``Optimizer`` arguments.
    """

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.9, momentum: float = 0.0, epsilon: float = 1e-7,
                 centered: bool = False, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = _fraction("rho", rho)
        self.momentum = _fraction("momentum", momentum)
        self.epsilon = _positive("epsilon", epsilon)
        self.centered = bool(centered)

    def _make_torch(self, params: list[torch.Tensor], lr: float) -> torch.optim.Optimizer:
        return KerasRMSprop(params, lr=lr, rho=self.rho, momentum=self.momentum, epsilon=self.epsilon,
                            centered=self.centered)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}


@register("optimizer", "adagrad")
class Adagrad(Optimizer):
    """Adagrad.

    Args:
        learning_rate: see ``Optimizer`` (default 0.001).
        initial_accumulator_value: starting value of the squared-gradient sums.
        epsilon: small constant for numerical stability.
        **kwargs: the shared ``Optimizer`` arguments.
    """

    def __init__(self, learning_rate: Any = 0.001, initial_accumulator_value: float = 0.1, epsilon: float = 1e-7,
                 **kwargs: Any):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.initial_accumulator_value = _positive("initial_accumulator_value", initial_accumulator_value)
        self.epsilon = _positive("epsilon", epsilon)

    def _make_torch(self, params: list[torch.Tensor], lr: float) -> torch.optim.Optimizer:
        return torch.optim.Adagrad(params, lr=lr, initial_accumulator_value=self.initial_accumulator_value,
                                   eps=self.epsilon)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


@register("optimizer", "nadam")
class Nadam(Optimizer):
    """Adam with Nesterov momentum (Dozat 2016), Keras' momentum schedule.

    Args:
        learning_rate: see ``Optimizer`` (default 0.001).
        beta_1: decay of the first-moment estimate.
        beta_2: decay of the second-moment estimate.
        epsilon: small constant for numerical stability.
        **kwargs: the shared ``Optimizer`` arguments.
    """

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 **kwargs: Any):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = _fraction("beta_1", beta_1, closed_high=False)
        self.beta_2 = _fraction("beta_2", beta_2, closed_high=False)
        self.epsilon = _positive("epsilon", epsilon)

    def _make_torch(self, params: list[torch.Tensor], lr: float) -> torch.optim.Optimizer:
        return torch.optim.NAdam(params, lr=lr, betas=(self.beta_1, self.beta_2), eps=self.epsilon,
                                 momentum_decay=1.0)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


@register("optimizer", "adadelta")
class Adadelta(Optimizer):
    """Adadelta.

    Args:
        learning_rate: see ``Optimizer`` (default 0.001, as Keras; torch's default is 1.0).
        rho: decay rate of the running averages.
        epsilon: small constant for numerical stability.
        **kwargs: the shared ``Optimizer`` arguments.
    """

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.95, epsilon: float = 1e-7, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = _fraction("rho", rho)
        self.epsilon = _positive("epsilon", epsilon)

    def _make_torch(self, params: list[torch.Tensor], lr: float) -> torch.optim.Optimizer:
        return torch.optim.Adadelta(params, lr=lr, rho=self.rho, eps=self.epsilon)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}
