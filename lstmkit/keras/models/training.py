"""Keras' training API on a torch model: ``compile``, ``fit``, ``evaluate``, ``predict`` and the
``*_on_batch`` methods.

The per-batch path is kept lean, since Keras users run many small batches: batches are slices of
tensors converted once (data.py); losses and metrics accumulate in tensors and are read back to
Python only at the end of an epoch, when the progress bar redraws (at most every 50 ms) or when a
callback actually implements a per-batch hook; callbacks that do not are never called per batch.
The loss is checked for NaN/inf every batch (loss_guard.py): a diverging run stops with a
message instead of training on with NaN weights.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import torch

from lstmkit.keras.models import data as data_lib
from lstmkit.keras.models.compile_utils import CompiledLoss, CompiledMetrics, RunningMean
from lstmkit.keras.models.loss_guard import LossGuard
from lstmkit.keras.models.strategy import LOCAL, Strategy, resolve_strategy


def _verbosity(verbose: Any) -> int:
    if verbose == "auto":
        return 1
    if isinstance(verbose, bool) or verbose in (0, 1, 2):
        return int(verbose)
    raise ValueError(f"verbose must be 'auto', 0, 1 or 2, got {verbose!r}")


def _flat(y: Any) -> list[Any]:
    if isinstance(y, dict):
        return list(y.values())
    if isinstance(y, (list, tuple)):
        return list(y)
    return [y]


class Trainer:
    """Mixin giving a ``Model`` Keras' compile/fit/evaluate/predict."""

    def __init__(self) -> None:
        self.optimizer: Any = None
        self.compiled = False
        self.stop_training = False
        self.history: Any = None
        self.loss: Any = None
        self._compile_args: dict[str, Any] | None = None
        self._loss_fn: CompiledLoss | None = None
        self._metric_set: CompiledMetrics | None = None
        self._loss_tracker = RunningMean("loss")
        self._guard = LossGuard()
        self._ready = False

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, metrics: Any = None, loss_weights: Any = None,
                weighted_metrics: Any = None, run_eagerly: Any = None, steps_per_execution: Any = None,
                jit_compile: Any = None, auto_scale_loss: Any = None) -> None:
        """Configure training.

        Args:
            optimizer: name ("adam", "sgd", "rmsprop", ...), serialized dict or Optimizer.
            loss: a loss name, Loss object or ``fn(y_true, y_pred)``; for several outputs a list
                (one per output) or a dict by output name.
            metrics: a list of metric names/objects/functions; for several outputs a list of lists
                or a dict by output name. Not weighted by sample_weight (Keras 3).
            loss_weights: per-output factors of the total loss (number, list or dict).
            weighted_metrics: like metrics, but weighted by sample_weight / class_weight.
            run_eagerly, steps_per_execution, jit_compile, auto_scale_loss: accepted for
                compatibility and ignored (lstmkit always runs eagerly on torch).
        """
        from lstmkit.keras import optimizers

        self.optimizer = optimizers.get(optimizer)
        from lstmkit.keras import losses as losses_module

        for ident in data_lib.flat_struct(loss):
            losses_module.get(ident)  # unknown names fail here, at compile()
        CompiledMetrics(metrics, weighted_metrics, ["output"], [None])  # validates the metric names
        self.loss = loss
        self._compile_args = {"loss": loss, "metrics": metrics, "loss_weights": loss_weights,
                              "weighted_metrics": weighted_metrics}
        self._loss_fn = None
        self._metric_set = None
        self._ready = False
        self.compiled = True

    def _require_compiled(self, method: str) -> None:
        if not self.compiled:
            raise ValueError(f"You must call compile() before {method}(): e.g. model.compile(optimizer='adam', "
                             "loss='mse')")

    def _output_names_for(self, y_pred: list[torch.Tensor]) -> list[str]:
        names = getattr(self, "output_names", None)
        if names and len(names) == len(y_pred):
            return list(names)
        return ["output"] if len(y_pred) == 1 else [f"output_{k + 1}" for k in range(len(y_pred))]

    def _setup(self, y_pred: list[torch.Tensor]) -> None:
        """First batch: resolve losses/metrics per output and build the optimizer."""
        args = self._compile_args
        names = self._output_names_for(y_pred)
        if len(set(names)) != len(names):
            names = [f"{n}_{k}" if names.count(n) > 1 else n for k, n in enumerate(names)]
        self._loss_fn = CompiledLoss(args["loss"], args["loss_weights"], names)
        self._metric_set = CompiledMetrics(args["metrics"], args["weighted_metrics"], names, self._loss_fn.identifiers)
        self._metric_set.build(y_pred)
        self._output_names_resolved = names
        self._build_optimizer()
        # add_loss() losses of the first forward (this runs right after it) count as penalties too
        self._has_penalties = any(m._regularizers or m.activity_regularizer is not None or m._added_losses
                                  for m in self._all_layers())
        self._has_constraints = any(m._constraints for m in self._all_layers())
        self._ready = True

    def _all_layers(self) -> list[Any]:
        from lstmkit.keras.engine.layer import Layer

        return [m for m in self.modules() if isinstance(m, Layer)]

    def _build_optimizer(self) -> None:
        params = [p for p in self.parameters() if p.requires_grad]  # torch's leaf tensors, not Keras views
        try:
            self.optimizer.build(params)
        except ValueError as e:
            raise ValueError(f"{e}. If the trainable weights changed (layer.trainable was set) after compile(), "
                             "call compile() again with a new optimizer") from e
        self._sync_optimizer_device()

    def _sync_optimizer_device(self) -> None:
        """After ``model.to(device)``, move the optimizer's state (moments...) next to the weights:
        reloading its own state dict makes torch cast every state tensor to its parameter's device."""
        opt = getattr(self.optimizer, "_torch", None)
        if opt is None or not opt.state:
            return
        for p, state in opt.state.items():
            if any(isinstance(v, torch.Tensor) and v.dim() > 0 and v.device != p.device for v in state.values()):
                opt.load_state_dict(opt.state_dict())
                return

    # ------------------------------------------------------------------ one step
    def _targets(self, y: Any, n_out: int) -> list[Any]:
        if n_out == 1:
            if isinstance(y, (list, tuple)) and len(y) == 1:
                return [y[0]]
            if isinstance(y, dict) and len(y) == 1:
                return list(y.values())
            return [y]
        if isinstance(y, dict):
            names = self._output_names_resolved
            unknown = [k for k in y if k not in names]
            if unknown:
                raise ValueError(f"y names {unknown}, which are not outputs of the model; the outputs are {names}")
            return [y.get(name) for name in names]
        if isinstance(y, (list, tuple)) and len(y) == n_out:
            return list(y)
        got = f"{len(y)} arrays" if isinstance(y, (list, tuple)) else "one array"
        raise ValueError(f"the model has {n_out} outputs {self._output_names_resolved}; y must be a list of "
                         f"{n_out} arrays or a dict by output name, got {got}")

    def _sample_weights(self, sw: Any, n_out: int) -> list[Any]:
        if sw is None:
            return [None] * n_out
        if isinstance(sw, torch.Tensor):
            return [sw] * n_out
        return self._targets(sw, n_out)

    def _forward_loss(self, x: Any, y: Any, sw: Any,
                      forward: Any = None) -> tuple[torch.Tensor, list, list, list, list]:
        """Loss of a batch; ``forward`` (a DDP wrapper) replaces ``self`` as the callable."""
        y_pred = _flat(self(x) if forward is None else forward(x))
        if not self._ready:
            self._setup(y_pred)
        n_out = len(y_pred)
        ys = self._targets(y, n_out) if n_out > 1 or not isinstance(y, torch.Tensor) else [y]
        sws = [sw] * n_out if sw is None or isinstance(sw, torch.Tensor) else self._sample_weights(sw, n_out)
        total, parts = self._loss_fn(ys, y_pred, sws)
        if self._has_penalties or total is None:
            penalties = self.losses
            if penalties:
                penalty = sum(p.sum() for p in penalties)
                total = penalty if total is None else total + penalty
        if total is None:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
        return total, parts, ys, y_pred, sws

    def _train_step(self, x: Any, y: Any, sw: Any, forward: Any = None) -> tuple[float, int] | None:
        """One update (the one-process step; synced.py has the one of a synchronized strategy).
        Returns ``(loss value, how many batches ago)`` when a NaN/inf loss is found (nothing of
        this batch is applied then), else None. See loss_guard.py."""
        total, parts, ys, y_pred, sws = self._forward_loss(x, y, sw, forward)
        n = _batch_size(x)
        if total.is_cuda:
            bad = self._guard.previous()
            if bad is not None:
                return bad, 1
            self._guard.push(total)
            self._loss_tracker.update(total, n)
        else:
            value = self._guard.check_now(total)
            self._loss_tracker.update_float(value, n)
            if not math.isfinite(value):
                return value, 0
        self._apply_gradients(total)
        with torch.no_grad():
            if self._loss_fn.trackers:
                self._loss_fn.track(parts, n)
            self._metric_set.update(ys, y_pred, sws)
        return None

    def _apply_gradients(self, loss: torch.Tensor) -> None:
        """Backward of ``loss`` and one optimizer step (none for a loss without gradient)."""
        opt = self.optimizer
        opt.zero_grad()
        if loss.requires_grad:
            loss.backward()
            opt.step()
            if self._has_constraints:
                self.apply_constraints()

    def _test_step(self, x: Any, y: Any, sw: Any) -> None:
        total, parts, ys, y_pred, sws = self._forward_loss(x, y, sw)
        n = _batch_size(x)
        self._loss_tracker.update(total, n)
        if self._loss_fn.trackers:
            self._loss_fn.track(parts, n)
        self._metric_set.update(ys, y_pred, sws)

    # ------------------------------------------------------------------ logs
    def _result_tensors(self) -> list[tuple[str, torch.Tensor]]:
        out = [("loss", self._loss_tracker.result())]
        if self._metric_set is not None:
            out += [(name, m.result()) for name, m in self._metric_set.names]
        if self._loss_fn is not None:
            out += [(t.name, t.result()) for t in self._loss_fn.trackers]
        return out

    def _logs(self) -> dict[str, Any]:
        """Current loss/metric values as Python floats (Keras' batch/epoch logs, keys sorted)."""
        return {k: _pythonify(v) for k, v in sorted(self._result_tensors())}

    def _log_items(self) -> list[tuple[str, float]]:
        return [(k, float(v)) for k, v in self._result_tensors() if v.numel() == 1]

    def reset_metrics(self) -> None:
        """Reset the loss tracker and every compiled metric."""
        self._loss_tracker.reset_state()
        if self._loss_fn is not None:
            for t in self._loss_fn.trackers:
                t.reset_state()
        if self._metric_set is not None:
            self._metric_set.reset_state()

    @property
    def metrics(self) -> list[Any]:
        """The compiled metric objects (built on the first batch)."""
        return self._metric_set.metrics if self._metric_set is not None else []

    @property
    def metrics_names(self) -> list[str]:
        return self._ordered_names(dict(self._result_tensors()))

    def _ordered_names(self, logs: dict[str, Any]) -> list[str]:
        """Keras' order for list results: loss, the single-output metrics, per-output losses, rest sorted."""
        first = ["loss"]
        if self._metric_set is not None:
            first += [m.name for m in self._metric_set.metrics]
        if self._loss_fn is not None:
            first += [t.name for t in self._loss_fn.trackers]
        names = [n for n in dict.fromkeys(first) if n in logs]
        return names + sorted(k for k in logs if k not in names)

    def _flatten_logs(self, logs: dict[str, float]) -> Any:
        values = [logs[k] for k in self._ordered_names(logs)]
        return values[0] if len(values) == 1 else values

    # ------------------------------------------------------------------ fit
    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = None, epochs: int = 1,
            verbose: Any = "auto", callbacks: Any = None, validation_split: float = 0.0,
            validation_data: Any = None, shuffle: bool | str = True, class_weight: dict | None = None,
            sample_weight: Any = None, initial_epoch: int = 0, steps_per_epoch: int | None = None,
            validation_steps: int | None = None, validation_batch_size: int | None = None,
            validation_freq: int | list[int] = 1, distributed: bool = False, strategy: Any = None) -> Any:
        """Train for ``epochs`` epochs (Keras' arguments and semantics); returns the History.

        ``validation_split`` holds out the LAST fraction of the samples (before shuffling);
        ``class_weight`` becomes per-sample weights; ``x`` may also be a DataLoader, a generator
        or a dataset yielding ``(x, y[, sample_weight])`` batches (then ``steps_per_epoch``
        bounds an epoch).

        ``distributed=True`` (or ``strategy=DistributedStrategy(...)``) trains data-parallel (DDP) across
        the processes of a torchrun job; ``batch_size`` is then the GLOBAL batch. See docs/distributed.md.
        ``strategy`` may be any ``lstmkit.keras.models.strategy.Strategy`` or a registered name.
        """
        from lstmkit.keras.models.fit_loop import run_fit

        self._require_compiled("fit")
        strategy = _strategy(distributed, strategy)
        return run_fit(self, x=x, y=y, batch_size=batch_size, epochs=epochs, verbose=verbose,
                       callbacks=callbacks, validation_split=validation_split, validation_data=validation_data,
                       shuffle=shuffle, class_weight=class_weight, sample_weight=sample_weight,
                       initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch,
                       validation_steps=validation_steps, validation_batch_size=validation_batch_size,
                       validation_freq=validation_freq, strategy=strategy)

    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None, verbose: Any = "auto",
                 sample_weight: Any = None, steps: int | None = None, callbacks: Any = None,
                 return_dict: bool = False, distributed: bool = False, strategy: Any = None) -> Any:
        """Loss (and metrics) on the data: a float, a list ``[loss, *metrics]`` or a dict.

        With ``distributed=True``/``strategy`` every process must call it (each evaluates a part, all
        return the whole-data results); without, it runs on this process alone.
        """
        from lstmkit.keras.models.fit_loop import run_evaluate

        self._require_compiled("evaluate")
        data = data_lib.make_data(x, y, sample_weight, batch_size=batch_size, steps=steps, what="evaluate")
        logs = run_evaluate(self, data, verbose=verbose, callbacks=callbacks,
                            strategy=_strategy(distributed, strategy))
        return logs if return_dict else self._flatten_logs(logs)

    def predict(self, x: Any, batch_size: int | None = None, verbose: Any = "auto", steps: int | None = None,
                callbacks: Any = None, distributed: bool = False, strategy: Any = None) -> Any:
        """Outputs for ``x`` as NumPy (a list for several outputs), computed in batches in inference mode.

        With ``distributed=True``/``strategy`` every process must call it (each predicts a block, all
        return all the predictions, in order).
        """
        from lstmkit.keras.models.fit_loop import run_predict

        data = data_lib.make_data(x, None, None, batch_size=batch_size, steps=steps, what="predict", check=False)
        return run_predict(self, data, verbose=verbose, callbacks=callbacks,
                           strategy=_strategy(distributed, strategy))

    # ------------------------------------------------------------------ single batches
    def train_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, class_weight: dict | None = None,
                       return_dict: bool = False) -> Any:
        """One gradient update on one batch; returns the loss/metrics of that batch."""
        self._require_compiled("train_on_batch")
        x, y, sample_weight = (data_lib.to_tensors(v) for v in (x, y, sample_weight))
        if class_weight is not None:
            if sample_weight is not None:
                raise ValueError("pass either class_weight or sample_weight, not both")
            sample_weight = data_lib.class_weight_to_sample_weight(y, class_weight)
        x, y, sample_weight = self._to_model_device(x, y, sample_weight)
        self.reset_metrics()
        self.train()
        try:
            # a class's own train_step runs as in fit() (steps.py); its logs are the result
            bad = self._dispatch_train_step((x, y, sample_weight)) or self._guard.previous()
        finally:
            self.eval()
        if bad is not None:
            warnings.warn(f"train_on_batch: the loss is NaN/inf ({bad if isinstance(bad, float) else bad[0]})",
                          RuntimeWarning, stacklevel=2)
        logs = self._logs()
        return logs if return_dict else self._flatten_logs(logs)

    def test_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, return_dict: bool = False) -> Any:
        """Loss/metrics on one batch, without updating anything."""
        self._require_compiled("test_on_batch")
        x, y, sample_weight = self._to_model_device(*(data_lib.to_tensors(v) for v in (x, y, sample_weight)))
        self.reset_metrics()
        self.eval()
        with torch.no_grad():
            self._dispatch_test_step(x, y, sample_weight)  # a class's own test_step, as in evaluate()
        logs = self._logs()
        return logs if return_dict else self._flatten_logs(logs)

    def predict_on_batch(self, x: Any) -> Any:
        """Outputs for one batch, as NumPy."""
        (x,) = self._to_model_device(data_lib.to_tensors(x))
        self.eval()
        with torch.no_grad():
            out = self(x)
        return data_lib.map_struct(lambda t: t.detach().cpu().numpy(), out)

    def _to_model_device(self, *structs: Any) -> tuple[Any, ...]:
        device = self._device()
        if device.type == "cpu":
            return structs
        return tuple(data_lib.map_struct(lambda t: t.to(device), s) for s in structs)

    def _device(self) -> torch.device:
        for p in self.parameters():
            return p.device
        return torch.device("cpu")


def _strategy(distributed: Any, strategy: Any) -> Strategy:
    """The strategy the arguments ask for (resolved by name through the registry of strategy.py,
    so ``distributed=True`` needs no import of lstmkit.distributed here), else the local one."""
    return resolve_strategy(distributed, strategy) or LOCAL


def _pythonify(value: torch.Tensor) -> Any:
    """A float for scalar results; a NumPy array for per-threshold / per-class metric results."""
    if value.numel() == 1:
        return float(value)
    return value.detach().cpu().numpy()


def _batch_size(x: Any) -> int:
    if isinstance(x, torch.Tensor):
        return x.shape[0]
    for t in data_lib.flat_struct(x):
        if isinstance(t, (torch.Tensor, np.ndarray)):
            return t.shape[0]
    return 1
