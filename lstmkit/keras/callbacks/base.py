"""The Keras callback protocol: ``Callback`` (hooks that do nothing by default), ``CallbackList``
(dispatches each hook to every callback, in order) and ``History`` (records epoch logs).

The training loop calls the ``CallbackList`` hooks; callbacks see ``logs`` dicts of Python
floats (tensors are converted once per hook call, and all callbacks of one call share the dict,
so one callback can add a key for the next, as ``ReduceLROnPlateau`` adds "learning_rate" for
``History``). Batch hooks that no callback overrides are skipped without converting the logs,
so the default callbacks cost no host synchronisation per batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

from lstmkit.keras.engine.registry import register

__all__ = ["Callback", "CallbackList", "History", "pythonify_logs"]

_HOOKS = ("on_batch_begin", "on_batch_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
          "on_train_batch_end", "on_test_batch_begin", "on_test_batch_end", "on_predict_batch_begin",
          "on_predict_batch_end", "on_train_begin", "on_train_end", "on_test_begin", "on_test_end", "on_predict_begin",
          "on_predict_end")


def pythonify_logs(logs: dict[str, Any] | None) -> dict[str, Any]:
    """A new dict, keys sorted and nested dicts flattened (as Keras), with scalar tensors and
    NumPy scalars as Python floats; other tensors become NumPy arrays."""
    result: dict[str, Any] = {}
    for key, value in sorted((logs or {}).items()):
        if isinstance(value, dict):
            result.update(pythonify_logs(value))
            continue
        if isinstance(value, torch.Tensor):
            value = value.detach()
            value = float(value) if value.numel() == 1 else value.cpu().numpy()
        elif isinstance(value, (np.ndarray, np.generic)) and np.size(value) == 1:
            value = float(value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            value = float(value)
        result[key] = value
    return result


@register("callback")
class Callback:
    """Base class of callbacks: override the hooks you need. ``self.model`` is the model being
    trained (set by ``set_model``), ``self.params`` the training parameters (``epochs``,
    ``steps``, ``verbose``). ``on_train_batch_begin/end`` call ``on_batch_begin/end`` by default.
    """

    def __init__(self) -> None:
        self.params: dict[str, Any] | None = None
        self._model: Any = None

    @property
    def model(self) -> Any:
        return self._model

    @model.setter
    def model(self, model: Any) -> None:
        self._model = model

    def set_params(self, params: dict[str, Any] | None) -> None:
        self.params = params

    def set_model(self, model: Any) -> None:
        self._model = model

    def on_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Legacy alias of ``on_train_batch_begin``."""

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Legacy alias of ``on_train_batch_end``."""

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """At the start of an epoch (training only)."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """At the end of an epoch; ``logs`` holds the epoch's training and validation results."""

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Before an evaluation batch (``evaluate`` and validation)."""

    def on_test_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """After an evaluation batch."""

    def on_predict_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Before a prediction batch."""

    def on_predict_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """After a prediction batch."""

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        """At the start of ``fit``."""

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        """At the end of ``fit``."""

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        """At the start of ``evaluate`` (and of each validation run)."""

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        """At the end of ``evaluate``."""

    def on_predict_begin(self, logs: dict[str, Any] | None = None) -> None:
        """At the start of ``predict``."""

    def on_predict_end(self, logs: dict[str, Any] | None = None) -> None:
        """At the end of ``predict``."""


def _overrides(callback: Any, hook: str) -> bool:
    if hook in getattr(callback, "__dict__", {}):
        return True
    return getattr(type(callback), hook, None) is not getattr(Callback, hook)


@register("callback")
class History(Callback):
    """Records the logs of every epoch: ``history.history["loss"]`` is the list of epoch losses,
    ``history.epoch`` the epoch indices, ``history.params`` the training parameters. The training
    loop adds one to every ``fit`` and returns it; it is also ``model.history``."""

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[Any]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        if self.model is not None:
            self.model.history = self


class CallbackList(Callback):
    """Calls each hook on every callback, in order.

    Args:
        callbacks: a callback or a (nested) list of callbacks.
        model: the model, given to every callback (and ``model.history`` is set to the list's
            ``History``, if any).
        params: the training parameters, given to every callback.
        add_history: append a ``History`` if the list has none.
        add_progbar: append a ``ProgbarLogger`` if the list has none (Keras' argument; the
            training loop draws its own bar unless the list holds a ``ProgbarLogger``).
        **kwargs: the parameters as keywords, as Keras' ``CallbackList(cbs, model=m, epochs=1,
            steps=10, verbose=0)`` (used when ``params`` is not given).
    """

    def __init__(self, callbacks: Callback | Iterable[Any] | None = None, model: Any = None,
                 params: dict[str, Any] | None = None, add_history: bool = False, add_progbar: bool = False,
                 **kwargs: Any):
        super().__init__()
        if params is None and kwargs:
            params = dict(kwargs)
        elif kwargs:
            raise TypeError(f"CallbackList got both params= and parameter keywords {sorted(kwargs)}")
        self.callbacks: list[Callback] = _flatten(callbacks)
        for k, cb in enumerate(self.callbacks):
            if not all(callable(getattr(cb, hook, None)) for hook in ("on_epoch_end", "set_model", "set_params")):
                raise TypeError(f"callbacks[{k}] is {type(cb).__name__}, not a Callback (subclass "
                                "lstmkit.keras.callbacks.Callback)")
        if add_history and self.history is None:
            self.callbacks.append(History())
        if add_progbar:
            from lstmkit.keras.callbacks.progbar_logger import ProgbarLogger

            if not any(isinstance(cb, ProgbarLogger) for cb in self.callbacks):
                self.callbacks.append(ProgbarLogger())
        self._refresh()
        self.set_model(model)
        self.set_params(params)

    @property
    def history(self) -> History | None:
        """The ``History`` in the list, if any."""
        return next((cb for cb in self.callbacks if isinstance(cb, History)), None)

    def append(self, callback: Callback) -> None:
        self.callbacks.append(callback)
        self._refresh()
        if self.model is not None:
            callback.set_model(self.model)
        if self.params:
            callback.set_params(self.params)

    def _refresh(self) -> None:
        """Which batch hooks some callback overrides (the others are skipped)."""
        def used(*hooks: str) -> bool:
            return any(_overrides(cb, h) for cb in self.callbacks for h in hooks)

        self._active = {
            "on_train_batch_begin": used("on_train_batch_begin", "on_batch_begin"),
            "on_train_batch_end": used("on_train_batch_end", "on_batch_end"),
            "on_batch_begin": used("on_batch_begin"),
            "on_batch_end": used("on_batch_end"),
            **{h: used(h) for h in ("on_test_batch_begin", "on_test_batch_end", "on_predict_batch_begin",
                                    "on_predict_batch_end")},
        }

    def uses(self, hook: str) -> bool:
        """Whether some callback implements this batch hook (by subclassing or, as
        ``LambdaCallback`` does, by an instance attribute); the list skips those none implements,
        so a training loop can skip computing their logs too. Epoch/train hooks: always True."""
        return self._active.get(hook, True)

    def set_model(self, model: Any) -> None:
        if model is None:
            return
        self._model = model
        history = self.history
        if history is not None:
            model.history = history
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params: dict[str, Any] | None) -> None:
        self.params = params
        if params:
            for cb in self.callbacks:
                cb.set_params(params)

    def _call(self, hook: str, *args: Any, logs: dict[str, Any] | None = None) -> None:
        logs = pythonify_logs(logs)
        for cb in self.callbacks:
            getattr(cb, hook)(*args, logs)

    def _batch(self, hook: str, batch: int, logs: dict[str, Any] | None) -> None:
        if self._active[hook]:
            self._call(hook, batch, logs=logs)

    def on_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._batch("on_batch_begin", batch, logs)

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._batch("on_batch_end", batch, logs)

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._batch("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._batch("on_train_batch_end", batch, logs)

    def on_test_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._batch("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._batch("on_test_batch_end", batch, logs)

    def on_predict_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._batch("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._batch("on_predict_batch_end", batch, logs)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._call("on_epoch_begin", epoch, logs=logs)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._call("on_epoch_end", epoch, logs=logs)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._call("on_train_begin", logs=logs)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._call("on_train_end", logs=logs)

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._call("on_test_begin", logs=logs)

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        self._call("on_test_end", logs=logs)

    def on_predict_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._call("on_predict_begin", logs=logs)

    def on_predict_end(self, logs: dict[str, Any] | None = None) -> None:
        self._call("on_predict_end", logs=logs)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self) -> int:
        return len(self.callbacks)


def _flatten(callbacks: Any) -> list[Any]:
    if callbacks is None:
        return []
    if isinstance(callbacks, (list, tuple)):
        return [cb for item in callbacks for cb in _flatten(item)]
    if isinstance(callbacks, CallbackList):
        return list(callbacks.callbacks)
    return [callbacks]
