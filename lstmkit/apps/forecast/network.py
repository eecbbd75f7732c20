"""The forecasting network and its training loop, on lstmkit.keras.

``LSTM`` layers (stacked with ``return_sequences``), optional ``Dropout`` before a ``Dense`` head
with one output per (horizon step, quantile level); trained with Adam, the pinball loss (or MSE
for a plain point forecast), ``EarlyStopping`` on the validation loss with the best weights
restored, and one progress bar over the epochs (loss, val_loss, ETA) instead of a bar per epoch,
because these runs are hundreds of very short epochs.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from lstmkit.keras.callbacks import Callback, EarlyStopping, TimeBudget
from lstmkit.keras.models.progbar import Progbar


def build_network(lookback: int, features: int, outputs: int, units: int, layers: int, dropout: float,
                  members: int = 1, highway: bool = False) -> Any:
    """``layers`` LSTMs of ``units``, Dropout(``dropout``), Dense(``outputs``); with ``members`` > 1,
    that many such stacks side by side on the same input, their outputs concatenated
    ``(B, members * outputs)``, so a seed ensemble is one model (one checkpoint, one predict call).

    Trained against the target tiled ``members`` times, the mean loss is the average of the
    members' own losses: each member gets only its own gradient, as if trained alone, and the
    forecaster averages their outputs.

    ``highway`` adds, per member, a Dense(``outputs``) of the flattened input window to the head
    (LSTNet's autoregressive component): a linear autoregression the LSTM corrects, which keeps
    extrapolating where the tanh units saturate.
    """
    from lstmkit.keras.layers import LSTM, Add, Concatenate, Dense, Dropout, Flatten, Input
    from lstmkit.keras.models import Model, Sequential

    if members == 1 and not highway:
        stack: list[Any] = [Input(shape=(lookback, features))]
        for k in range(layers):
            stack.append(LSTM(units, return_sequences=k < layers - 1))
        if dropout > 0:
            stack.append(Dropout(dropout))
        stack.append(Dense(outputs))
        return Sequential(stack)
    inp = Input(shape=(lookback, features))  # (B, T, F)
    flat = Flatten()(inp) if highway else None  # (B, T * F)
    heads = []
    for _ in range(members):
        h = inp
        for k in range(layers):
            h = LSTM(units, return_sequences=k < layers - 1)(h)
        if dropout > 0:
            h = Dropout(dropout)(h)
        head = Dense(outputs)(h)  # (B, outputs)
        heads.append(Add()([head, Dense(outputs)(flat)]) if highway else head)
    return Model(inp, Concatenate()(heads) if members > 1 else heads[0])  # (B, members * outputs)


def compile_network(model: Any, quantiles: tuple[float, ...] | None, learning_rate: float) -> None:
    """Adam with the pinball loss over ``quantiles``, or MSE when there are none."""
    from lstmkit.apps.forecast.intervals import PinballLoss
    from lstmkit.keras.optimizers import Adam

    loss: Any = PinballLoss(quantiles) if quantiles else "mse"
    model.compile(optimizer=Adam(learning_rate=learning_rate), loss=loss)


class EpochBar(Callback):
    """One Keras progress bar whose steps are epochs: loss, val_loss and the ETA of the run."""

    def __init__(self, epochs: int, verbose: int = 1):
        super().__init__()
        self.bar = Progbar(epochs, verbose=verbose, stateful_metrics={"loss", "val_loss"}, unit_name="epoch")
        self.last = 0

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.last = epoch + 1
        values = [(k, v) for k, v in (logs or {}).items() if k in ("loss", "val_loss")]
        self.bar.update(self.last, values, finalize=self.last >= (self.bar.target or 0))

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.bar.target and 0 < self.last < self.bar.target:  # stopped early: close the bar where it stands
            self.bar.update(self.last, finalize=True)


def train_network(model: Any, x: np.ndarray, y: np.ndarray, validation: tuple[np.ndarray, np.ndarray] | None, *,
                  epochs: int, batch_size: int, patience: int, verbose: int,
                  time_limit_s: float | None = None) -> dict[str, Any]:
    """Fit ``model``; with ``validation``, stop when val_loss has not improved for ``patience``
    epochs and keep the best epoch's weights; ``time_limit_s`` stops a run that takes longer.
    Returns a summary for the checkpoint."""
    callbacks: list[Any] = []
    limit = TimeBudget(time_limit_s) if time_limit_s else None  # checked at epoch ends
    stopper = None
    if validation is not None and len(validation[0]):
        stopper = EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
        callbacks.append(stopper)
    else:
        validation = None
    if limit is not None:
        callbacks.append(limit)
    if verbose:
        callbacks.append(EpochBar(epochs, verbose=verbose))
    started = time.perf_counter()
    from lstmkit.distributed import in_torchrun_worker

    history = model.fit(x, y, batch_size=batch_size, epochs=epochs, validation_data=validation, shuffle=True,
                        callbacks=callbacks, verbose=0, distributed=in_torchrun_worker())
    losses = history.history.get("loss", [])
    val = history.history.get("val_loss", [])
    summary: dict[str, Any] = {"epochs_run": len(losses), "final_loss": float(losses[-1]) if losses else None,
                               "seconds": round(time.perf_counter() - started, 2),
                               "time_limit_hit": bool(limit is not None and limit.hit)}
    if stopper is not None and val:
        best = int(np.argmin(val))
        summary.update(best_epoch=best + 1, best_val_loss=float(val[best]),
                       stopped_early=len(losses) < epochs)
    return summary
