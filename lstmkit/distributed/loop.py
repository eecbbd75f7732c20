"""The data-parallel versions of the ``fit``/``evaluate``/``predict`` loops (lstmkit.keras), used
when a strategy is given. The one-process loops in ``lstmkit.keras.models.fit_loop`` are left
untouched (and as fast as before).

One training step on every rank:

1. forward its share of the global batch through the DDP-wrapped model (a rank with no share of
   a last, partial batch runs a dummy sample with weight 0, so DDP still hears from every rank);
2. one all-reduce of ``[loss * n, n, has data, stop requested, per-output losses * n]``: every
   rank now knows the global batch's mean loss, its size, whether the epoch is over, whether a
   callback asked to stop, and whether the loss is NaN/inf: the decisions below are identical on
   all ranks, so no rank is left waiting in a collective;
3. backward of ``loss * N * n_rank / n_global``: DDP averages the gradients over the N ranks,
   which gives exactly the gradient of the mean loss over the global batch, partial or not;
4. the optimizer step (identical on every rank, as the gradients are).

Logs: the loss tracker records the global per-step losses; the metrics accumulate locally and
are summed over the ranks when logs are read (end of epoch, per-batch callbacks), see
``DistributedStrategy.reduced_logs``.
"""

from __future__ import annotations

import math
from typing import Any

from lstmkit.distributed.sampler import ShardedArrays, contiguous_range, contiguous_subset, strided_subset
from lstmkit.keras.models import data as data_lib
from lstmkit.keras.models.fit_loop import (
    _ALL,
    _prepare,
    _should_validate,
    _stop_on_nan,
    _weights_ready,
    callback_list,
    run_evaluate,
    run_predict,
)
from lstmkit.keras.models.progbar import Progbar
from lstmkit.keras.models.training import _batch_size

_END = object()


def _place(model: Any, strategy: Any, *datasets: Any) -> None:
    """Build the model if needed and put it and the data on this rank's device."""
    _prepare(model, datasets[0])
    if not _weights_ready(model):
        raise ValueError("distributed training needs a built model (DDP wraps its weights before the first batch): "
                         "give it an Input(...) layer or call model.build(input_shape) first")
    device = strategy.device(model)
    if model._device() != device:
        model.to(device)
    for d in datasets:
        if d is not None:
            d.to(device)
    if model.optimizer is not None:
        model._build_optimizer()  # a no-op once built; moves the optimizer state after model.to(device)


def train_step(model: Any, forward: Any, strategy: Any, batch: tuple[Any, Any, Any], has_data: bool,
               may_stop: bool = True) -> str | float | None:
    """One synchronised update (see the module docstring). Returns None when applied, "done"
    when no rank had data (the epoch is over), "stop" when some rank asked to stop (its
    ``model.stop_training``, honoured when ``may_stop``), or the global loss when it is NaN/inf
    (nothing applied)."""
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
        return "done"
    if g[3] > 0:
        model.stop_training = True
        return "stop"
    loss = g[0] / n_global
    if not math.isfinite(loss):
        return loss
    opt = model.optimizer
    opt.zero_grad()
    if total.requires_grad:
        (total * (strategy.world_size * n / n_global)).backward()
        opt.step()
        if model._has_constraints:
            model.apply_constraints()
    model._loss_tracker.update_float(loss, int(n_global))
    for k, tracker in enumerate(trackers):
        tracker.update_float(g[4 + k] / n_global, int(n_global))
    if has_data:
        model._metric_set.update(ys, y_pred, sws)
    return None


def _run_epoch(model: Any, forward: Any, strategy: Any, data: Any, cbs: Any, hooks: set[str],
               bar: Progbar | None) -> tuple[float | None, int]:
    """The steps of one epoch; returns (the NaN/inf loss that stopped it or None, steps done)."""
    sharded = isinstance(data, ShardedArrays)
    bound = data.num_batches if sharded else data.steps
    it = data.epoch()
    last = None
    step = 0
    while bound is None or step < bound:
        item = next(it, _END)
        has_data = item is not _END and item is not None
        if has_data:
            last = item
        if step == 0 and not sharded and not strategy.any_rank(has_data):
            return None, 0  # every rank's dataset is exhausted (the caller stops training)
        batch = item if has_data else last
        if batch is None:
            if not sharded:
                raise ValueError(f"rank {strategy.rank} got no batch from its dataset while other ranks did: give "
                                 "every process at least one batch per epoch (e.g. a DistributedSampler)")
            batch = data.dummy_batch()
        if "on_train_batch_begin" in hooks:
            cbs.on_train_batch_begin(step)
        # as in the one-process loop, a stop asked for before the epoch still lets its first batch train
        status = train_step(model, forward, strategy, batch, has_data, may_stop=step > 0)
        if status is not None:
            return (status if isinstance(status, float) else None), step
        step += 1
        if "on_train_batch_end" in hooks:
            cbs.on_train_batch_end(step - 1, strategy.reduced_logs(model, trackers=False))
        if bar is not None and bar.due():
            bar.update(step, model._log_items)
    return None, step


def eval_view(data: Any, strategy: Any) -> tuple[Any, bool]:
    """This rank's part of evaluation data and whether the results must be summed over ranks.
    Arrays are split into strided subsets (``batch_size`` is global); with fewer samples than
    ranks every rank evaluates everything; a dataset/generator is taken as this rank's part."""
    world = strategy.world_size
    if not isinstance(data, data_lib.ArrayData):
        return data, strategy.active
    if not strategy.active or data.n < world:
        return data, False
    return strided_subset(data, strategy.rank, world, max(1, data.batch_size // world)), True


def fit_distributed(model: Any, strategy: Any, data: Any, val: Any, **kwargs: Any) -> Any:
    """``fit``'s epoch loop across the ranks of ``strategy`` (data already converted by run_fit).
    A failure is also written to torchrun's error file, so the launcher can report it."""
    try:
        return _fit(model, strategy, data, val, **kwargs)
    except Exception as exc:
        if strategy.active:
            from lstmkit.distributed.launch import record_failure

            record_failure(exc)
        raise


def _fit(model: Any, strategy: Any, data: Any, val: Any, *, epochs: int, verbose: int, callbacks: Any,
         initial_epoch: int, validation_freq: Any) -> Any:
    world, main = strategy.world_size, strategy.is_main
    if isinstance(data, data_lib.ArrayData):
        if data.n < world:
            raise ValueError(f"fit() with {world} processes needs at least {world} training samples, got {data.n}")
    _place(model, strategy, data, val)
    forward = strategy.forward_for(model)  # building DDP broadcasts rank 0's weights
    seed = strategy.shared_seed()
    shard = ShardedArrays(data, strategy.rank, world, seed) if isinstance(data, data_lib.ArrayData) else data
    val_view, val_reduce = eval_view(val, strategy) if val is not None else (None, False)

    params = {"verbose": verbose if main else 0, "epochs": epochs, "steps": shard.num_batches}
    cbs, history, hooks = callback_list(model, callbacks, params, add_history=True)
    if not main:
        from lstmkit.keras.callbacks import CallbackList

        cbs = CallbackList(strategy.rank_callbacks(cbs.callbacks), model=model, params=params)
    model.stop_training = False
    cbs.on_train_begin()
    logs: dict[str, Any] = {}
    for epoch in range(initial_epoch, epochs):
        model.reset_metrics()
        cbs.on_epoch_begin(epoch)
        bar = None
        if verbose and main:
            if epochs > 1:
                print(f"Epoch {epoch + 1}/{epochs}", flush=True)
            bar = Progbar(shard.num_batches, verbose=verbose, stateful_metrics=_ALL)
        model.train()
        try:
            bad, steps = _run_epoch(model, forward, strategy, shard, cbs, hooks, bar)
        finally:
            model.eval()
        if bad is not None:
            _stop_on_nan(model, epoch, steps, bad, 0)  # steps: the index of the refused batch
        if steps == 0 and bad is None:
            if getattr(data, "exhausted", False) or not isinstance(data, data_lib.ArrayData):
                break
            raise ValueError("fit() ran an epoch with no batches: the data is empty")
        logs = strategy.reduced_logs(model, trackers=False)
        if val_view is not None and bad is None and _should_validate(epoch, validation_freq):
            val_logs = run_evaluate(model, val_view, verbose=0, callbacks=cbs, hooks=hooks,
                                    strategy=strategy if val_reduce else None)
            logs.update({f"val_{k}": v for k, v in val_logs.items()})
        if bar is not None:
            bar.target = bar.target or steps
            bar.update(steps, list(logs.items()), finalize=True)
        cbs.on_epoch_end(epoch, logs)
        if strategy.any_rank(model.stop_training):
            model.stop_training = True
            break
    cbs.on_train_end(logs)
    model.eval()
    if history is not None:
        model.history = history
    return model.history


def _rank_callbacks(strategy: Any, callbacks: Any) -> Any:
    if strategy.is_main or not callbacks:
        return callbacks
    items = callbacks.callbacks if hasattr(callbacks, "callbacks") else list(callbacks)
    return strategy.rank_callbacks(items)


def evaluate_distributed(model: Any, strategy: Any, data: Any, verbose: int, callbacks: Any) -> dict[str, Any]:
    """``evaluate`` across the ranks: each evaluates its strided part, the sums are all-reduced,
    every rank returns the same (exact, whole-data) results."""
    _place(model, strategy, data)
    view, reduce = eval_view(data, strategy)
    return run_evaluate(model, view, verbose=verbose if strategy.is_main else 0,
                        callbacks=_rank_callbacks(strategy, callbacks), strategy=strategy if reduce else None)


def predict_distributed(model: Any, strategy: Any, data: Any, verbose: int, callbacks: Any) -> Any:
    """``predict`` across the ranks: each predicts a contiguous block of the arrays, the blocks are
    all-gathered, and every rank returns all the predictions in order. A dataset/generator is
    predicted by each rank as it is (no gathering)."""
    import torch

    world = strategy.world_size
    verbose = verbose if strategy.is_main else 0
    callbacks = _rank_callbacks(strategy, callbacks)
    if not strategy.active or not isinstance(data, data_lib.ArrayData) or data.n < world:
        return run_predict(model, data, verbose=verbose, callbacks=callbacks)
    _place(model, strategy, data)
    view = contiguous_subset(data, strategy.rank, world, max(1, data.batch_size // world))
    local = run_predict(model, view, verbose=verbose, callbacks=callbacks)
    counts = [b - a for a, b in (contiguous_range(data.n, r, world) for r in range(world))]

    def gather(arr: Any) -> Any:
        return strategy.gather_rows(torch.from_numpy(arr), counts).numpy()

    if isinstance(local, dict):
        return {k: gather(v) for k, v in local.items()}
    if isinstance(local, list):
        return [gather(v) for v in local]
    return gather(local)
