"""The train step and the logs of a synchronized strategy (``Strategy.synchronized``): every
process takes the same decisions because it takes them from sums over all the processes.

One training step on every process:

1. forward its share of the global batch through the wrapped model (a process with no share of
   a last, partial batch runs a stand-in batch with weight 0, so a DDP wrapper still hears from
   every process);
2. one sum over the processes of ``[loss * n, n, has data, stop requested, per-output losses * n]``:
   every process now knows the global batch's mean loss, its size, whether the epoch is over,
   whether a callback asked to stop, and whether the loss is NaN/inf, so no process is left
   waiting alone in a collective;
3. backward of ``loss * N * n_rank / n_global``: DDP averages the gradients over the N
   processes, which gives exactly the gradient of the mean loss over the global batch, partial
   or not;
4. the optimizer step (identical on every process, as the gradients are).

Logs: the loss trackers record the global per-step losses; the metrics accumulate locally and
are summed over the processes when logs are read (``reduced_logs``). Every Keras metric here is
additive (sums and counts), so an epoch's ``accuracy`` or ``AUC`` is exactly the one-process value.

This is keras code on purpose: it reads the model's private training state, which a strategy
(in another package) only sees through the sums it computes.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from lstmkit.keras.models.strategy import Batch, Strategy
from lstmkit.keras.models.training import _batch_size

#: Results of ``synced_train_step`` that end the epoch before the step is applied.
DONE, STOP = "done", "stop"


def synced_train_step(model: Any, strategy: Strategy, forward: Any, batch: Batch, has_data: bool,
                      may_stop: bool = True) -> str | float | None:
    """One update taken together by all processes (see the module docstring). Returns None when
    applied, ``DONE`` when no process had data (the epoch is over), ``STOP`` when some process
    asked to stop (its ``model.stop_training``, honoured when ``may_stop``), or the global loss
    when it is NaN/inf (nothing is applied then)."""
    x, y, sw = batch
    total, parts, ys, y_pred, sws = model._forward_loss(x, y, sw, forward=forward)
    n = _batch_size(x) if has_data else 0
    trackers = model._loss_fn.trackers
    vec = [float(total.detach()) * n if n else 0.0, float(n), 1.0 if has_data else 0.0,
           1.0 if model.stop_training and may_stop else 0.0]
    if trackers:
        vec += [float(p.detach()) * n if n else 0.0 for p in parts]
    g = strategy.sum_floats(vec)
    n_global = g[1]
    if g[2] == 0:
        return DONE
    if g[3] > 0:
        model.stop_training = True
        return STOP
    loss = g[0] / n_global
    if not math.isfinite(loss):
        return loss
    model._apply_gradients(total * (strategy.world_size * n / n_global))
    model._loss_tracker.update_float(loss, int(n_global))
    for k, tracker in enumerate(trackers):
        tracker.update_float(g[4 + k] / n_global, int(n_global))
    if has_data:
        model._metric_set.update(ys, y_pred, sws)
    return None


def train_logs(model: Any, strategy: Strategy) -> dict[str, Any]:
    """The training logs every process shares: with synchronized steps the loss trackers already
    hold global values and only the metrics are summed; otherwise everything is."""
    return reduced_logs(model, strategy, trackers=not strategy.synchronized)


def reduced_logs(model: Any, strategy: Strategy, trackers: bool = True) -> dict[str, Any]:
    """The model's logs computed from its accumulators summed over all processes.

    Args:
        model: a compiled lstmkit.keras model.
        strategy: gives the sums (``sum_tensor``); with one process the logs are read directly.
        trackers: also sum the loss trackers (evaluation, or steps that are not synchronized).
    """
    if strategy.world_size == 1:
        return model._logs()
    track = []
    if trackers:
        track = [model._loss_tracker] + (list(model._loss_fn.trackers) if model._loss_fn is not None else [])
    variables = [(m, name) for m in model._compiled_metric_objects() for name in m._variable_names]
    pieces = [torch.tensor([_tracker_sum(t), float(t.count)], dtype=torch.float64) for t in track]
    pieces += [getattr(m, name).detach().reshape(-1).to("cpu", torch.float64) for m, name in variables]
    flat = torch.cat(pieces) if pieces else torch.zeros(0, dtype=torch.float64)
    flat = strategy.sum_tensor(flat, "the metric accumulators")
    if flat.numel() == 0:
        return model._logs()
    saved_trackers = [(t.total, t.float_total, t.count) for t in track]
    saved_vars = [getattr(m, name) for m, name in variables]
    try:
        at = 0
        for t in track:
            t.total, t.float_total, t.count = None, float(flat[at]), int(round(float(flat[at + 1])))
            at += 2
        for (m, name), old in zip(variables, saved_vars):
            size = old.numel()
            setattr(m, name, flat[at:at + size].reshape(old.shape).to(old.device, old.dtype))
            at += size
        return model._logs()
    finally:
        for t, (total, float_total, count) in zip(track, saved_trackers):
            t.total, t.float_total, t.count = total, float_total, count
        for (m, name), old in zip(variables, saved_vars):
            setattr(m, name, old)


def _tracker_sum(tracker: Any) -> float:
    total = tracker.float_total
    if tracker.total is not None:
        total += float(tracker.total.double().cpu())
    return total
