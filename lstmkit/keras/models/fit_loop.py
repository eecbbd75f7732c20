"""The epoch/batch loops behind ``fit``, ``evaluate`` and ``predict`` (Keras 3 semantics).

Kept apart from training.py so the hot loop is easy to read and profile: per batch it slices
the data, runs the train step, and only touches callbacks or the progress bar when they need it.

This is the only loop: a ``Strategy`` (strategy.py) decides what depends on other processes
(the device, the model wrapper, each process's data, the sums over processes, who prints and
who writes files), so one process and a data-parallel job run the same epochs. With a
synchronized strategy the train step is the one of synced.py.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch

from lstmkit.keras.models import data as data_lib
from lstmkit.keras.models.loop_callbacks import callback_list, has_progbar_logger, start_epoch, verbosity
from lstmkit.keras.models.strategy import LOCAL, Strategy
from lstmkit.keras.models.synced import reduced_logs, synced_train_step, train_logs
from lstmkit.keras.utils.progbar import Progbar


def _place(model: Any, strategy: Strategy, *datasets: Any) -> None:
    """Build an unbuilt model on a couple of samples (so callbacks see its weights), then put the
    model and the data where the strategy runs them."""
    data = datasets[0]
    if isinstance(data, data_lib.ArrayData) and not _weights_ready(model):
        sample = data_lib.map_struct(lambda t: t[:2], data.x)
        was = model.training
        model.eval()
        with torch.no_grad():
            model(sample)
        model.train(was)
    if strategy.needs_built_model and not _weights_ready(model):
        raise ValueError(f"training with {type(strategy).__name__} needs a built model (it wraps the weights before "
                         "the first batch): give it an Input(...) layer or call model.build(input_shape) first")
    device = strategy.device(model)
    if model._device() != device:
        model.to(device)
        model._sync_optimizer_device()
    for d in datasets:
        if d is not None:
            d.to(device)


def _weights_ready(model: Any) -> bool:
    return bool(model.built) and not any(
        not m.built for m in model.modules() if hasattr(m, "built") and m is not model)


def _should_validate(epoch: int, freq: Any) -> bool:
    if isinstance(freq, int) and not isinstance(freq, bool):
        if freq < 1:
            raise ValueError(f"validation_freq must be >= 1, got {freq}")
        return (epoch + 1) % freq == 0
    if isinstance(freq, (list, tuple, set)):
        return (epoch + 1) in freq
    raise ValueError(f"validation_freq must be an int or a list of epochs, got {freq!r}")


def run_fit(model: Any, *, x: Any, y: Any, batch_size: Any, epochs: int, verbose: Any, callbacks: Any,
            validation_split: float, validation_data: Any, shuffle: Any, class_weight: Any, sample_weight: Any,
            initial_epoch: int, steps_per_epoch: Any, validation_steps: Any, validation_batch_size: Any,
            validation_freq: Any, strategy: Strategy = LOCAL) -> Any:
    """``fit``: check the arguments, make the data adapters, run the epochs the way ``strategy``
    says (strategy.py: in this process alone, or data-parallel across processes)."""
    verbosity(verbose)
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"epochs must be an int >= 0, got {epochs!r}")
    if isinstance(initial_epoch, bool) or not isinstance(initial_epoch, (int, np.integer)) or initial_epoch < 0:
        raise ValueError(f"initial_epoch must be an int >= 0, got {initial_epoch!r}")
    if validation_split and validation_data is None:
        if not data_lib.is_array_data(x):
            raise ValueError(f"validation_split needs arrays or tensors, not a {type(x).__name__}; pass "
                             "validation_data instead")
        x, y, sample_weight = data_lib.to_tensors(x), data_lib.to_tensors(y), data_lib.to_tensors(sample_weight)
        data_lib.num_samples(x, y, sample_weight, "fit")
        (x, y, sample_weight), validation_data = data_lib.split_validation(x, y, sample_weight, validation_split)
    data = data_lib.make_data(x, y, sample_weight, batch_size=batch_size, steps=steps_per_epoch, shuffle=shuffle,
                              class_weight=class_weight, what="fit")
    val = None
    if validation_data is not None:
        if isinstance(validation_data, (tuple, list)):
            if not 2 <= len(validation_data) <= 3:
                raise ValueError("validation_data must be (x_val, y_val) or (x_val, y_val, sample_weight), or a "
                                 f"dataset; got a {type(validation_data).__name__} of {len(validation_data)} items")
            vx, vy, vsw = data_lib.unpack(tuple(validation_data))
        else:
            vx, vy, vsw = validation_data, None, None
        val = data_lib.make_data(vx, vy, vsw, batch_size=validation_batch_size or batch_size, steps=validation_steps,
                                 what="fit")
    try:
        return _fit(model, strategy, data, val, epochs=epochs, verbose=verbose, callbacks=callbacks,
                    initial_epoch=initial_epoch, validation_freq=validation_freq)
    except Exception as exc:
        strategy.on_failure(exc)
        raise


def _fit(model: Any, strategy: Strategy, data: Any, val: Any, *, epochs: int, verbose: Any, callbacks: Any,
         initial_epoch: int, validation_freq: Any) -> Any:
    """The epochs of ``fit`` (the data already converted by run_fit)."""
    _place(model, strategy, data, val)
    if _weights_ready(model):
        model._build_optimizer()  # a no-op once built; moves the optimizer state after model.to(device)
    wrapped = strategy.wrap_model(model)  # a DDP wrapper broadcasts rank 0's weights when it is built
    forward = None if wrapped is model else wrapped
    shard = strategy.train_data(data)
    val, val_reduce = strategy.eval_data(val) if val is not None else (None, False)
    chief = strategy.is_chief
    params = {"verbose": verbose if chief else 0, "epochs": epochs, "steps": shard.num_batches}
    verbose = verbosity(verbose)
    cbs, history, hooks = callback_list(model, callbacks, params, add_history=True, strategy=strategy)
    own_bar = not has_progbar_logger(cbs)
    model.stop_training = False
    cbs.on_train_begin()
    logs: dict[str, Any] = {}
    for epoch in range(start_epoch(model, initial_epoch), epochs):
        model.reset_metrics()
        cbs.on_epoch_begin(epoch)
        bar = None
        if verbose and chief and own_bar:
            if epochs > 1:
                print(f"Epoch {epoch + 1}/{epochs}", flush=True)
            bar = Progbar(shard.num_batches, verbose=verbose, stateful_metrics=_ALL)
        model.train()
        model._guard.reset()
        try:
            bad, steps = _run_epoch(model, strategy, forward, shard, cbs, hooks, bar)
        finally:
            model.eval()
        if bad is not None:
            _stop_on_nan(model, epoch, *bad)
        elif steps == 0:
            # a synchronized strategy also ends training when no process has data left in its source
            source_ended = strategy.synchronized and not isinstance(data, data_lib.ArrayData)
            if getattr(data, "exhausted", False) or source_ended:
                break
            raise ValueError("fit() ran an epoch with no batches: the data is empty")
        logs = train_logs(model, strategy)
        if val is not None and bad is None and _should_validate(epoch, validation_freq):
            val_logs = run_evaluate(model, val, verbose=0, callbacks=cbs, hooks=hooks, strategy=strategy,
                                    reduce=val_reduce)
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


def _run_epoch(model: Any, strategy: Strategy, forward: Any, data: Any, cbs: Any, hooks: set[str],
               bar: Progbar | None) -> tuple[tuple[int, float, int] | None, int]:
    """The steps of one epoch. Returns ``(bad, steps)``: ``bad`` is ``(batch index, loss, lag)``
    for a NaN/inf loss that stopped it (see _stop_on_nan), else None; ``steps`` counts the steps
    run, a refused one included."""
    begin_hook = "on_train_batch_begin" in hooks
    end_hook = "on_train_batch_end" in hooks
    synced = strategy.synchronized
    steps = 0
    for step, (batch, has_data) in enumerate(strategy.train_batches(data)):
        if begin_hook:
            cbs.on_train_batch_begin(step)
        if synced:
            # a stop asked for before the epoch still lets its first batch train, as below
            status = synced_train_step(model, strategy, forward, batch, has_data, may_stop=step > 0)
            if isinstance(status, str):  # DONE (no process had data) or STOP (some process asked)
                return None, steps
            bad = None if status is None else (status, 0)
        else:
            bad = model._dispatch_train_step(batch, forward)
        steps = step + 1
        if bad is not None:
            return (step, *bad), steps
        if end_hook:
            cbs.on_train_batch_end(step, train_logs(model, strategy))
        if bar is not None and bar.due():
            bar.update(steps, model._log_items)
        if model.stop_training and not synced:
            break  # synchronized: the request travels with the next step's sums, so all processes stop together
    late = model._guard.previous()  # the last batch's check, on an accelerator
    return (None if late is None else (steps, late, 1)), steps


def _stop_on_nan(model: Any, epoch: int, step: int, value: float, lag: int) -> None:
    model.stop_training = True
    kept = ("The weights are kept from before this batch." if lag == 0 else
            "The update of that batch was applied (the check runs one batch behind on an accelerator), so the "
            "weights may contain NaN/inf: reload a checkpoint.")
    warnings.warn(f"Epoch {epoch + 1}, batch {step - lag}: the loss is {value} (NaN/inf); training stops. {kept} "
                  "Common causes: a learning rate that is too high, NaN/inf in the data, or log(0) in a custom loss.",
                  RuntimeWarning, stacklevel=5)  # the caller of fit()


class _AllNames:
    """``stateful_metrics`` that contains every name: the bar shows values as given."""

    def __contains__(self, name: object) -> bool:
        return True

    def __iter__(self):
        return iter(())


_ALL = _AllNames()


def run_evaluate(model: Any, data: Any, verbose: Any, callbacks: Any, hooks: set[str] | None = None,
                 strategy: Strategy = LOCAL, reduce: bool = False) -> dict:
    """One pass over ``data`` in inference mode; returns the logs (loss and metrics, floats).
    Called by ``evaluate`` (``hooks`` None: the data is placed and split by the strategy here) or
    inside ``fit`` (``data`` is this process's part already, ``reduce`` says whether the logs
    must be summed over the processes)."""
    in_fit = hooks is not None
    if not in_fit:
        _place(model, strategy, data)
        data, reduce = strategy.eval_data(data)
        verbose = verbose if strategy.is_chief else 0
        params = {"verbose": verbose, "epochs": 1, "steps": data.num_batches}
        verbose = verbosity(verbose)
        callbacks, _, hooks = callback_list(model, callbacks, params, add_history=False, strategy=strategy)
        verbose = verbose if not has_progbar_logger(callbacks) else 0
    begin_hook = "on_test_batch_begin" in hooks
    end_hook = "on_test_batch_end" in hooks
    bar = Progbar(data.num_batches, verbose=verbose, stateful_metrics=_ALL) if verbose and not in_fit else None
    model.eval()
    model.stop_evaluating = False
    callbacks.on_test_begin()
    model.reset_metrics()
    steps = 0
    with torch.no_grad():
        for step, (bx, by, bsw) in enumerate(data.epoch()):
            if begin_hook:
                callbacks.on_test_batch_begin(step)
            model._dispatch_test_step(bx, by, bsw)
            steps = step + 1
            if end_hook:
                callbacks.on_test_batch_end(step, model._logs())
            if bar is not None and bar.due():
                bar.update(steps, model._log_items)
            if model.stop_evaluating:
                break
    if steps == 0:
        raise ValueError("evaluate() got no batches: the data is empty")
    logs = reduced_logs(model, strategy) if reduce else model._logs()
    if bar is not None:
        bar.target = bar.target or steps
        bar.update(steps, list(logs.items()), finalize=True)
    callbacks.on_test_end(logs)
    return logs


def run_predict(model: Any, data: Any, verbose: Any, callbacks: Any, strategy: Strategy = LOCAL) -> Any:
    """Outputs over all batches, concatenated, as NumPy (list/dict for several outputs). With a
    strategy that splits the data, each process predicts its part and all get every row."""
    whole = data
    data, gather = strategy.predict_data(whole)
    _place(model, strategy if gather else LOCAL, data)  # unsplit data is predicted as by one process
    verbose = verbose if strategy.is_chief else 0
    params = {"verbose": verbose, "epochs": 1, "steps": data.num_batches}
    verbose = verbosity(verbose)
    cbs, _, hooks = callback_list(model, callbacks, params, add_history=False, strategy=strategy)
    bar = Progbar(data.num_batches, verbose=verbose) if verbose and not has_progbar_logger(cbs) else None
    model.eval()
    model.stop_predicting = False
    cbs.on_predict_begin()
    outputs: list[Any] = []
    with torch.no_grad():
        for step, (bx, _, _) in enumerate(data.epoch()):
            if "on_predict_batch_begin" in hooks:
                cbs.on_predict_batch_begin(step)
            out = model._dispatch_predict_step(bx)
            outputs.append(out)
            if "on_predict_batch_end" in hooks:
                cbs.on_predict_batch_end(step, {"outputs": out})
            if bar is not None and bar.due():
                bar.update(step + 1)
            if model.stop_predicting:
                break
    if not outputs:
        raise ValueError("predict() got no batches: the data is empty")
    if bar is not None:
        bar.target = bar.target or len(outputs)
        bar.update(len(outputs), finalize=True)
    cbs.on_predict_end()
    first = outputs[0]

    def cat(parts: list[torch.Tensor]) -> np.ndarray:
        rows = torch.cat([p.detach() for p in parts]).cpu().numpy()
        return strategy.gather_predictions(rows, whole.n) if gather else rows

    if isinstance(first, dict):
        return {k: cat([o[k] for o in outputs]) for k in first}
    if isinstance(first, (list, tuple)):
        return [cat([o[k] for o in outputs]) for k in range(len(first))]
    return cat(outputs)
