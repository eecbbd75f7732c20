"""The Keras ``Optimizer`` on torch: Keras' constructor, learning-rate handling (floats,
schedules, callables), gradient clipping and decoupled weight decay, around a ``torch.optim``
optimizer that does the update.

Why a wrapper and not torch.optim directly: Keras code sets ``clipnorm`` / ``weight_decay`` on the
optimizer, reads and writes ``optimizer.learning_rate`` from callbacks, evaluates schedules from
``optimizer.iterations`` and saves optimizers by config. The wrapper keeps that API while the
arithmetic runs in torch's (foreach / fused) kernels.

Order of one ``step()``, as Keras' ``apply_gradients``: clip gradients (``clipnorm`` per tensor,
or ``global_clipnorm``, or ``clipvalue``), apply weight decay ``w -= w * weight_decay * lr``, run the
update, ``iterations += 1``. Parameters whose ``.grad`` is None are skipped (Keras filters empty
gradients the same way).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch

from lstmkit.keras.engine.layer import snake_case, unique_name
from lstmkit.keras.optimizers import schedules

__all__ = ["Optimizer"]

_UNSUPPORTED = {"use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None, "loss_scale_factor": None,
                "gradient_accumulation_steps": None}


def _check_number(name: str, value: Any, *, allow_none: bool = True, minimum: float = 0.0) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"`{name}` must be a number{' or None' if allow_none else ''}, got {value!r}")
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, got {value!r}")
    return float(value)


class Optimizer:
    """Base of lstmkit.keras optimizers. Arguments shared by all of them:

    Args:
        learning_rate: a float, a ``LearningRateSchedule`` (evaluated at ``iterations`` each
            step) or a zero-argument callable returning the rate.
        weight_decay: if set, decoupled weight decay ``w -= w * weight_decay * lr`` before each
            update (Keras 3 semantics; not torch's L2-in-the-gradient ``weight_decay``).
        clipnorm: clip each gradient tensor to this L2 norm.
        clipvalue: clip each gradient element to ``[-clipvalue, clipvalue]``.
        global_clipnorm: clip all gradients together to this global L2 norm. At most one of
            the three clipping arguments may be set.
        name: optimizer name (default: the snake-case class name, numbered as Keras does).

    Keras' ``use_ema``, ``ema_momentum``, ``ema_overwrite_frequency``, ``loss_scale_factor`` and
    ``gradient_accumulation_steps`` are accepted at their defaults only. The legacy ``lr=`` is
    accepted (with a warning) for ``learning_rate``; ``decay=`` is ignored with a warning, as Keras 3.

    Subclasses implement ``_make_torch(params, lr)`` (the torch optimizer) and may override
    ``_before_step(lr)`` to adjust hyper-parameters the torch optimizer reads each step.
    """

    def __init__(self, learning_rate: float | schedules.LearningRateSchedule | Callable[[], float],
                 weight_decay: float | None = None, clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: int | None = None, loss_scale_factor: float | None = None,
                 gradient_accumulation_steps: int | None = None, name: str | None = None, **kwargs: Any):
        if "lr" in kwargs:
            warnings.warn("`lr` is deprecated in Keras optimizers, use `learning_rate` instead.", stacklevel=3)
            learning_rate = kwargs.pop("lr")
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.", stacklevel=3)
        if kwargs:
            raise ValueError(f"Argument(s) not recognized by {type(self).__name__}: {kwargs}")
        given = {"use_ema": use_ema, "ema_momentum": ema_momentum, "ema_overwrite_frequency": ema_overwrite_frequency,
                 "loss_scale_factor": loss_scale_factor, "gradient_accumulation_steps": gradient_accumulation_steps}
        for key, value in given.items():
            if value != _UNSUPPORTED[key]:
                raise ValueError(f"{type(self).__name__}: `{key}={value!r}` is not supported by lstmkit.keras "
                                 f"optimizers (only the default {key}={_UNSUPPORTED[key]!r})")
        clips = {"clipnorm": clipnorm, "clipvalue": clipvalue, "global_clipnorm": global_clipnorm}
        if sum(v is not None for v in clips.values()) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: "
                             + ", ".join(f"{k}={v}" for k, v in clips.items()))
        self.clipnorm = _check_number("clipnorm", clipnorm)
        self.clipvalue = _check_number("clipvalue", clipvalue)
        self.global_clipnorm = _check_number("global_clipnorm", global_clipnorm)
        self.weight_decay = _check_number("weight_decay", weight_decay)
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"name must be a non-empty string, got {name!r}")
        self.name = name or unique_name(snake_case(type(self).__name__))
        self._learning_rate = self._check_learning_rate(learning_rate)
        self._iterations = 0
        self._params: list[torch.Tensor] = []
        self._torch: torch.optim.Optimizer | None = None
        self.built = False
        self._pending_state: dict[str, Any] | None = None

    # ------------------------------------------------------------------ learning rate
    @staticmethod
    def _check_learning_rate(value: Any) -> Any:
        if isinstance(value, schedules.LearningRateSchedule) or (callable(value) and not isinstance(value, type)):
            return value
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = float(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError("Argument `learning_rate` should be a float, a LearningRateSchedule, or a callable "
                            f"returning the learning rate. Received: learning_rate={value!r}")
        if value < 0:
            raise ValueError(f"Argument `learning_rate` must be >= 0, got {value!r}")
        return float(value)

    def _current_learning_rate(self) -> float:
        lr = self._learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):
            return float(lr(self._iterations))
        if callable(lr):
            return float(lr())
        return lr

    @property
    def learning_rate(self) -> float:
        """The learning rate now (a schedule is evaluated at ``iterations``). Settable with a
        float (e.g. by ReduceLROnPlateau), unless the optimizer was built with a schedule."""
        return self._current_learning_rate()

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        value = self._check_learning_rate(value)
        if isinstance(self._learning_rate, schedules.LearningRateSchedule) and isinstance(value, float):
            raise TypeError("This optimizer was created with a `LearningRateSchedule` object as its `learning_rate` "
                            "constructor argument, hence its learning rate is not settable. If you need the learning "
                            "rate to be settable, you should instantiate the optimizer with a float `learning_rate`.")
        self._learning_rate = value
        self._set_group_lr(self._current_learning_rate())

    lr = learning_rate  # tf.keras 2 alias

    def _set_group_lr(self, lr: float) -> None:
        if self._torch is not None:
            for group in self._torch.param_groups:
                group["lr"] = lr

    @property
    def iterations(self) -> int:
        """Number of ``step()`` calls so far (what schedules are evaluated at)."""
        return self._iterations

    @iterations.setter
    def iterations(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"iterations must be an int >= 0, got {value!r}")
        self._iterations = value

    # ------------------------------------------------------------------ building
    def build(self, params: Iterable[torch.Tensor]) -> None:
        """Create the torch optimizer over ``params`` (the trainable weights). Built once: calling
        again with the same parameters is a no-op; different parameters are an error."""
        params = list(params)
        for k, p in enumerate(params):
            if not isinstance(p, torch.Tensor):
                raise TypeError(f"{type(self).__name__}.build expects torch tensors / Parameters, item {k} is "
                                f"{type(p).__name__}")
            if not p.requires_grad or not p.is_leaf:
                raise ValueError(f"{type(self).__name__}.build: parameter {k} (shape {tuple(p.shape)}) is not a "
                                 "trainable leaf tensor (requires_grad=False or computed from other tensors)")
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{type(self).__name__}.build: the same parameter is listed twice")
        if self.built:
            if [id(p) for p in params] == [id(p) for p in self._params]:
                return
            raise ValueError(f"optimizer {self.name!r} is already built for a different set of {len(self._params)} "
                             "parameters; create a new optimizer for another model")
        self._params = params
        if params:
            self._torch = self._make_torch(params, self._current_learning_rate())
        self.built = True
        if self._pending_state is not None:
            state, self._pending_state = self._pending_state, None
            self.load_state_dict(state)

    def _make_torch(self, params: list[torch.Tensor], lr: float) -> torch.optim.Optimizer:
        raise NotImplementedError(f"{type(self).__name__}._make_torch")

    @staticmethod
    def _fused_ok(params: list[torch.Tensor]) -> bool | None:
        """Use torch's fused kernels when every parameter is a float CUDA tensor, else torch's default."""
        return True if all(p.is_cuda and p.is_floating_point() for p in params) else None

    # ------------------------------------------------------------------ stepping
    def zero_grad(self) -> None:
        """Drop the gradients (set to None, as ``torch.optim`` does by default)."""
        for p in self._params:
            p.grad = None

    def _before_step(self, lr: float) -> None:
        """Hook: adjust torch hyper-parameters before the torch step (e.g. Adam's epsilon)."""

    @torch.no_grad()
    def step(self) -> None:
        """Clip, decay and update the parameters from their ``.grad``; then ``iterations += 1``."""
        if not self.built:
            raise RuntimeError(f"optimizer {self.name!r} is not built: call build(params) before step()")
        if self._torch is not None:
            lr = self._current_learning_rate()
            self._set_group_lr(lr)
            with_grad = [p for p in self._params if p.grad is not None]
            if with_grad:
                self._clip([p.grad for p in with_grad])
                if self.weight_decay:
                    torch._foreach_mul_(with_grad, 1.0 - self.weight_decay * lr)
                self._before_step(lr)
                self._torch.step()
        self._iterations += 1

    @torch.no_grad()
    def apply(self, grads: Sequence[torch.Tensor | None], trainable_variables: Sequence[torch.Tensor] | None = None
              ) -> None:
        """Keras 3's ``optimizer.apply(grads, trainable_variables)``: one update of the variables
        with these gradients (clipping, weight decay and ``iterations`` as ``step``).

        A variable that is a Keras-layout view rather than a torch parameter (an LSTM's ``kernel``)
        has no gradient of its own; when one is passed, the optimizer's parameters missing from
        the list (the torch parameters behind those views) are updated from the ``.grad`` that
        ``loss.backward()`` left on them."""
        variables = list(self._params if trainable_variables is None else trainable_variables)
        grads = list(grads)
        if len(grads) != len(variables):
            raise ValueError(f"apply() got {len(grads)} gradients for {len(variables)} variables")
        leaves = [v for v in variables if isinstance(v, torch.Tensor) and v.is_leaf and v.requires_grad]
        if not self.built:
            self.build(leaves)
        given = {id(v): g for v, g in zip(variables, grads) if isinstance(v, torch.Tensor) and v.is_leaf}
        views = len(leaves) < len(variables)
        kept = []
        for p in self._params:
            if id(p) in given:
                g = given[id(p)]
                p.grad = None if g is None else g.to(device=p.device, dtype=p.dtype)
            elif not views and p.grad is not None:
                kept.append((p, p.grad))
                p.grad = None  # not asked for: left as it is
        self.step()
        for p, g in kept:
            p.grad = g

    def apply_gradients(self, grads_and_vars: Iterable[tuple[torch.Tensor | None, torch.Tensor]]) -> None:
        """``apply`` on ``(gradient, variable)`` pairs (tf.keras' form)."""
        pairs = list(grads_and_vars)
        self.apply([g for g, _ in pairs], [v for _, v in pairs])

    def _clip(self, grads: list[torch.Tensor]) -> None:
        if self.clipnorm:
            norms = torch.stack(torch._foreach_norm(grads))
            torch._foreach_mul_(grads, (self.clipnorm / torch.clamp(norms, min=self.clipnorm)).unbind())
        elif self.global_clipnorm:
            norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
            # Keras: scale = clip * min(1/norm, 1/clip), and NaN when the norm is not finite
            scale = self.global_clipnorm * torch.clamp(1.0 / norm, max=1.0 / self.global_clipnorm) + (norm - norm)
            torch._foreach_mul_(grads, scale)
        elif self.clipvalue:
            torch._foreach_clamp_min_(grads, -self.clipvalue)
            torch._foreach_clamp_max_(grads, self.clipvalue)

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """``{"torch": torch state_dict, "iterations": int, "learning_rate": float}``."""
        if self._torch is None and self._pending_state is not None:
            return dict(self._pending_state)
        return {"torch": self._torch.state_dict() if self._torch is not None else {},
                "iterations": self._iterations, "learning_rate": self.learning_rate}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore ``state_dict()`` output. Before ``build`` it is kept and applied at build."""
        if not isinstance(state, dict) or not {"torch", "iterations", "learning_rate"} <= set(state):
            raise ValueError("expected an optimizer state dict with keys 'torch', 'iterations' and 'learning_rate', "
                             f"got {sorted(state) if isinstance(state, dict) else type(state).__name__}")
        if not self.built:
            self._pending_state = dict(state)
            return
        self._iterations = int(state["iterations"])
        if self._torch is not None and state["torch"]:
            try:
                self._torch.load_state_dict(state["torch"])
            except (ValueError, KeyError) as e:
                raise ValueError(f"optimizer {self.name!r}: saved state does not match the parameters: {e}") from e
        if not isinstance(self._learning_rate, schedules.LearningRateSchedule) and not callable(self._learning_rate):
            self._learning_rate = float(state["learning_rate"])
        self._set_group_lr(self._current_learning_rate())
        self._after_load()

    def _after_load(self) -> None:
        """Hook: resync subclass bookkeeping after a state load."""

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        lr = self._learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):
            lr = schedules.serialize(lr)
        elif callable(lr):
            lr = float(lr())
        return {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue, **_UNSUPPORTED}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Optimizer:
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, learning_rate={self.learning_rate:g}, built={self.built}>"
