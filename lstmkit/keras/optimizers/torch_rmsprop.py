"""RMSprop with Keras' update rule as a ``torch.optim.Optimizer``.

torch.optim.RMSprop divides by ``sqrt(v) + eps``; Keras divides by ``sqrt(v + eps)`` (and, when
centred, ``sqrt(v - mean_g**2 + eps)``) and keeps the learning rate inside the momentum buffer.
For small gradients these differ by orders of magnitude, so this optimizer implements Keras' rule
with torch's foreach kernels (one kernel launch per operation for all parameters):

    v = rho * v + (1 - rho) * g**2
    mean_g = rho * mean_g + (1 - rho) * g                  (centered only)
    increment = lr * g / sqrt(v [- mean_g**2] + eps)
    m = momentum * m + increment; w -= m                   (momentum > 0)
    w -= increment                                         (otherwise)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

__all__ = ["KerasRMSprop"]


class KerasRMSprop(torch.optim.Optimizer):
    """Keras 3's RMSprop on torch tensors (see the module docstring for the rule).

    Args:
        params: the parameters (or parameter groups) to optimise.
        lr: learning rate.
        rho: decay of the squared-gradient average.
        momentum: momentum, 0 for none.
        epsilon: added to the average inside the square root.
        centered: subtract the squared mean gradient (variance normalisation).
    """

    def __init__(self, params: Iterable[torch.Tensor], lr: float = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False):
        defaults = {"lr": lr, "rho": rho, "momentum": momentum, "epsilon": epsilon, "centered": centered}
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params, grads, velocities, averages, momenta = [], [], [], [], []
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise ValueError("RMSprop does not support sparse gradients")
                state = self.state[p]
                if not state:
                    state["velocity"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    if group["centered"]:
                        state["average_gradient"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    if group["momentum"] > 0:
                        state["momentum"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                params.append(p)
                grads.append(p.grad)
                velocities.append(state["velocity"])
                if group["centered"]:
                    averages.append(state["average_gradient"])
                if group["momentum"] > 0:
                    momenta.append(state["momentum"])
            if not params:
                continue
            rho, lr, eps = group["rho"], group["lr"], group["epsilon"]
            torch._foreach_mul_(velocities, rho)
            torch._foreach_add_(velocities, torch._foreach_mul(grads, grads), alpha=1 - rho)
            denominators = torch._foreach_add(velocities, eps)
            if group["centered"]:
                torch._foreach_mul_(averages, rho)
                torch._foreach_add_(averages, grads, alpha=1 - rho)
                torch._foreach_add_(denominators, torch._foreach_mul(averages, averages), alpha=-1)
            torch._foreach_sqrt_(denominators)
            increments = torch._foreach_div(torch._foreach_mul(grads, lr), denominators)
            if group["momentum"] > 0:
                torch._foreach_mul_(momenta, group["momentum"])
                torch._foreach_add_(momenta, increments)
                torch._foreach_add_(params, momenta, alpha=-1)
            else:
                torch._foreach_add_(params, increments, alpha=-1)
        return loss
