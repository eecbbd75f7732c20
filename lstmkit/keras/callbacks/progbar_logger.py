"""``ProgbarLogger``: the progress bar as a callback (Keras 3's ``keras.callbacks.ProgbarLogger``).

``fit``/``evaluate``/``predict`` draw their bar themselves (lstmkit/keras/utils/progbar.py),
reading the metrics only when the bar redraws; this callback is for code that builds its own
``CallbackList`` or wants Keras' callback in the list. When the callbacks given to ``fit`` hold
one, the loop draws no bar of its own, so there is never a second bar. Being a per-batch
callback, it makes the loop read the logs every batch (one host synchronisation per batch on an
accelerator), as Keras does.
"""

from __future__ import annotations

from typing import Any

from lstmkit.keras.callbacks.base import Callback
from lstmkit.keras.engine.registry import register
from lstmkit.keras.utils.progbar import Progbar

__all__ = ["ProgbarLogger"]


class _AllNames:
    """``stateful_metrics`` holding every name: values are shown as logged (Keras 3's logs are
    running means already)."""

    def __contains__(self, name: object) -> bool:
        return True


@register("callback")
class ProgbarLogger(Callback):
    """Print a progress bar with the logs to stdout: one bar per epoch of ``fit`` (validation
    silent), one for ``evaluate`` called alone, one for ``predict``. The verbosity, the number of
    epochs and of steps come from ``params`` (``"verbose"``: ``"auto"`` means 1)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen = 0
        self.progbar: Progbar | None = None
        self.target: int | None = None
        self.verbose: int = 1
        self.epochs = 1
        self._called_in_fit = False

    def set_params(self, params: dict[str, Any] | None) -> None:
        super().set_params(params)
        if not params:
            return
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else int(verbose)
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._called_in_fit = True  # validation inside fit is silent

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._called_in_fit = False  # so a later evaluate() of the same callback shows its bar

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        if not self._called_in_fit:
            self._reset()
            self._maybe_init()

    def on_predict_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._reset()
        self._maybe_init()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._reset()
        self._maybe_init()
        if self.verbose and self.epochs > 1:
            print(f"Epoch {epoch + 1}/{self.epochs}", flush=True)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._update(batch, logs)

    def on_test_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if not self._called_in_fit:
            self._update(batch, logs)

    def on_predict_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._update(batch, None)  # the predictions are not shown

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._finalize(logs)

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        if not self._called_in_fit:
            self._finalize(logs)

    def on_predict_end(self, logs: dict[str, Any] | None = None) -> None:
        self._finalize(logs)

    def _reset(self) -> None:
        self.seen = 0
        self.progbar = None

    def _maybe_init(self) -> None:
        if self.progbar is None:
            self.progbar = Progbar(self.target, verbose=self.verbose, stateful_metrics=_AllNames(), unit_name="step")

    def _update(self, batch: int, logs: dict[str, Any] | None) -> None:
        self._maybe_init()
        self.seen = batch + 1  # one-based
        if self.verbose == 1:
            self.progbar.update(self.seen, list((logs or {}).items()), finalize=False)

    def _finalize(self, logs: dict[str, Any] | None) -> None:
        self._maybe_init()
        if self.target is None:
            self.target = self.seen
            self.progbar.target = self.target
        self.progbar.update(self.target, list((logs or {}).items()), finalize=True)
