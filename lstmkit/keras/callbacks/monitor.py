"""Callbacks that watch a logged quantity: ``EarlyStopping`` and ``ReduceLROnPlateau`` (Keras 3
semantics), on a shared ``MonitorCallback`` that decides what counts as an improvement.

In ``mode="auto"`` the direction comes from the name: losses and errors go down; for other
names the model's metrics (their ``_direction``) or the built-in metric names decide
("accuracy", "auc", "precision" ... go up); an unknown name is an error asking for ``mode``.
"""

from __future__ import annotations

import operator
import warnings
from typing import Any

import numpy as np

from lstmkit.keras.callbacks.base import Callback
from lstmkit.keras.engine.registry import register

__all__ = ["MonitorCallback", "EarlyStopping", "ReduceLROnPlateau"]

_UP_WORDS = ("acc", "auc", "precision", "recall", "f1", "fbeta", "r2", "iou", "true_positives", "true_negatives")
_DOWN_WORDS = ("loss", "error", "crossentropy", "hinge", "divergence", "poisson", "mse", "mae", "mape", "msle", "rmse",
               "logcosh", "false_positives", "false_negatives")


def _model_metrics(model: Any) -> list[Any]:
    found, stack = [], list(getattr(model, "metrics", None) or [])
    while stack:
        m = stack.pop()
        inner = getattr(m, "metrics", None)
        if isinstance(inner, (list, tuple)):
            stack.extend(inner)
        else:
            found.append(m)
    return found


def metric_direction(name: str, model: Any = None) -> str | None:
    """"up" / "down" for a logs key such as "val_accuracy", or None when unknown."""
    name = name.removeprefix("val_")
    if name == "loss" or name.endswith("_loss"):
        return "down"
    for m in _model_metrics(model):
        if getattr(m, "name", None) == name and getattr(m, "_direction", None) in ("up", "down"):
            return m._direction
    from lstmkit.keras.metrics import NAMES

    cls = NAMES.get(name)
    if cls is not None and cls._direction in ("up", "down"):
        return cls._direction
    if any(word in name for word in _UP_WORDS):
        return "up"
    if any(word in name for word in _DOWN_WORDS):
        return "down"
    return None


class MonitorCallback(Callback):
    """Base of callbacks that track the best value of ``monitor``.

    Args:
        monitor: the logs key to watch (e.g. "val_loss", "val_accuracy").
        mode: "min", "max" or "auto" (decide from the name).
        baseline: initial best value (or None).
        min_delta: smallest change that counts as an improvement.
    """

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", baseline: float | None = None,
                 min_delta: float = 0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto mode.", stacklevel=3)
            mode = "auto"
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"monitor must be a logs key such as 'val_loss', got {monitor!r}")
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op: Any = None

    def _set_monitor_op(self) -> None:
        if self.mode == "min":
            self.monitor_op = operator.lt
        elif self.mode == "max":
            self.monitor_op = operator.gt
        else:
            direction = metric_direction(self.monitor, self.model)
            if direction is None:
                raise ValueError(f"{type(self).__name__} callback received monitor={self.monitor}, but lstmkit isn't "
                                 "able to automatically determine whether that metric should be maximized or "
                                 "minimized. Pass `mode='max'` in order to monitor based on the highest metric "
                                 "value, or pass `mode='min'` in order to use the lowest value.")
            self.monitor_op = operator.lt if direction == "down" else operator.gt
        if self.monitor_op is operator.lt:
            self.min_delta = -abs(self.min_delta)

    def _is_improvement(self, monitor_value: float, reference_value: float | None) -> bool:
        if reference_value is None:
            return True
        return bool(self.monitor_op(monitor_value - self.min_delta, reference_value))

    def _missing(self, logs: dict[str, Any], what: str) -> None:
        warnings.warn(f"{what} conditioned on metric `{self.monitor}` which is not available. Available metrics are: "
                      f"{','.join(logs)}", stacklevel=3)


@register("callback")
class EarlyStopping(MonitorCallback):
    """Stop training when ``monitor`` has stopped improving.

    Args:
        monitor: the logs key to watch.
        min_delta: smallest change that counts as an improvement.
        patience: epochs without improvement before stopping.
        verbose: 1 prints when stopping / restoring.
        mode: "min", "max" or "auto".
        baseline: training stops if the model does not beat this within ``patience`` epochs.
        restore_best_weights: at the end, restore the weights of the best epoch (if an epoch
            was monitored).
        start_from_epoch: epochs to wait before monitoring starts (warm-up).
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0, patience: int = 0, verbose: int = 0,
                 mode: str = "auto", baseline: float | None = None, restore_best_weights: bool = False,
                 start_from_epoch: int = 0):
        super().__init__(monitor, mode, min_delta=min_delta)
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"patience must be an int >= 0, got {patience!r}")
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.wait = 0
        self.stopped_epoch = 0
        self.restore_best_weights = restore_best_weights
        self.best_weights: list[Any] | None = None
        self.best_epoch = 0
        self.start_from_epoch = start_from_epoch

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs: dict[str, Any] | None) -> Any:
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            self._missing(logs, "Early stopping")
        return value


@register("callback")
class ReduceLROnPlateau(MonitorCallback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has stopped improving.

    Args:
        monitor: the logs key to watch.
        factor: the factor (< 1) applied to the learning rate.
        patience: epochs without improvement before reducing.
        verbose: 1 prints each reduction.
        mode: "min", "max" or "auto".
        min_delta: smallest change that counts as an improvement.
        cooldown: epochs to wait after a reduction before counting again.
        min_lr: lower bound on the learning rate.
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, verbose: int = 0,
                 mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0, **kwargs: Any):
        if "epsilon" in kwargs:
            warnings.warn("`epsilon` argument is deprecated, use `min_delta` instead.", stacklevel=2)
            min_delta = kwargs.pop("epsilon")
        if kwargs:
            raise TypeError(f"ReduceLROnPlateau got unexpected keyword argument(s): {sorted(kwargs)}")
        super().__init__(monitor, mode, min_delta=min_delta)
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}")
        self.factor = factor
        self.min_lr = min_lr
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0

    def _reset(self) -> None:
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._reset()

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = logs if logs is not None else {}
        optimizer = self.model.optimizer
        logs["learning_rate"] = float(optimizer.learning_rate)
        current = logs.get(self.monitor)
        if current is None:
            self._missing(logs, "Learning rate reduction")
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = float(optimizer.learning_rate)
                if old_lr > np.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    optimizer.learning_rate = new_lr
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0
