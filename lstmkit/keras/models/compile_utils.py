"""What ``compile(loss=..., metrics=..., loss_weights=...)`` turns into: one loss (or none) and a
list of metrics per model output, resolved as Keras 3 does.

- a single loss applies to every output; a list gives one per output; a dict maps output
  (layer) names to losses (outputs left out get none);
- for one output every metric applies to it and keeps its own name; for several outputs a list
  with one entry per output or a dict by output name assigns them, and logs are named
  ``"<output>_<metric>"``; a flat list of names whose length is not the number of outputs applies
  to every output (tf.keras 2 behaviour, where Keras 3 would refuse it);
- ``"accuracy"``/``"acc"`` become binary, sparse-categorical or categorical accuracy from the
  output's loss and shape (metrics.get does that), and keep the name the user wrote;
- with several losses, each output's unweighted loss is tracked as ``"<output>_loss"``.

Trackers accumulate in tensors: nothing is read back to Python per batch.
"""

from __future__ import annotations

import copy
from typing import Any

import torch


class RunningMean:
    """Mean of per-batch values weighted by batch size (Keras' loss tracker). Tensor values are
    accumulated as tensors (no sync per batch); values already read back to Python (the training
    loss, read for the NaN check anyway) are accumulated as floats, costing no tensor op."""

    def __init__(self, name: str):
        self.name = name
        self.reset_state()

    def update(self, value: torch.Tensor, n: int) -> None:
        if self.total is None:
            self.total = value.detach() * n
        else:
            self.total.add_(value.detach(), alpha=n)  # one kernel per batch
        self.count += n

    def update_float(self, value: float, n: int) -> None:
        self.float_total += value * n
        self.count += n

    def result(self) -> torch.Tensor:
        if self.count == 0:
            return torch.tensor(0.0)
        total = self.float_total if self.total is None else self.total.double().cpu() + self.float_total
        return torch.as_tensor(total / self.count, dtype=torch.float32)

    def reset_state(self) -> None:
        self.total: torch.Tensor | None = None
        self.float_total = 0.0
        self.count = 0


def _is_nested(x: Any) -> bool:
    return isinstance(x, (list, tuple, dict))


def per_output(spec: Any, names: list[str], what: str, broadcast_flat: bool) -> list[Any]:
    """Assign a compile argument to the outputs: one entry per output (None where unset)."""
    n = len(names)
    if isinstance(spec, dict):
        unknown = [k for k in spec if k not in names]
        if unknown:
            raise ValueError(f"{what} names {unknown}, which are not outputs of the model; the outputs are {names}")
        return [spec.get(name) for name in names]
    if isinstance(spec, (list, tuple)):
        if n == 1:
            return [list(spec)] if what != "loss" or len(spec) != 1 else [spec[0]]
        if len(spec) == n:
            return list(spec)
        if broadcast_flat and not any(_is_nested(s) for s in spec):
            return [list(spec) for _ in names]
        raise ValueError(f"{what} has {len(spec)} entries but the model has {n} outputs {names}; pass one entry per "
                         "output (a list) or a dict by output name")
    return [spec] * n


class CompiledLoss:
    """The per-output losses and weights; ``__call__`` gives the weighted total and the parts."""

    def __init__(self, loss: Any, loss_weights: Any, output_names: list[str]):
        from lstmkit.keras import losses as losses_module

        self.output_names = output_names
        self.identifiers = per_output(loss, output_names, "loss", broadcast_flat=False)
        # no loss at all is allowed: a model that add_loss()es its own (a VAE) trains on those alone
        self.losses = [None if ident is None else losses_module.get(ident) for ident in self.identifiers]
        if loss_weights is None:
            weights = [None] * len(output_names)
        elif isinstance(loss_weights, (int, float)) and not isinstance(loss_weights, bool):
            weights = [float(loss_weights)] * len(output_names)
        elif isinstance(loss_weights, dict):
            unknown = [k for k in loss_weights if k not in output_names]
            if unknown:
                raise ValueError(f"loss_weights names {unknown}, which are not outputs of the model {output_names}")
            weights = [loss_weights.get(name) for name in output_names]
        elif isinstance(loss_weights, (list, tuple)):
            if len(loss_weights) != len(output_names):
                raise ValueError(f"loss_weights has {len(loss_weights)} entries but the model has "
                                 f"{len(output_names)} outputs {output_names}")
            weights = list(loss_weights)
        else:
            raise TypeError(f"loss_weights must be a number, a list or a dict, got {type(loss_weights).__name__}")
        for w in weights:
            if w is not None and (isinstance(w, bool) or not isinstance(w, (int, float))):
                raise TypeError(f"loss_weights entries must be numbers, got {w!r}")
        self.weights = [None if w is None else float(w) for w in weights]
        active = [k for k, fn in enumerate(self.losses) if fn is not None]
        self.active = active
        self.trackers = ([RunningMean(f"{output_names[k]}_loss") for k in active] if len(active) > 1 else [])

    def __call__(self, y_true: list[Any], y_pred: list[torch.Tensor], sample_weight: list[Any]) -> tuple[
            torch.Tensor | None, list[torch.Tensor]]:
        """The weighted total (None when no output has a loss) and each output's loss."""
        total = None
        parts = []
        for k in self.active:
            yt = y_true[k]
            if yt is None:
                raise ValueError(f"no target (y) given for output {self.output_names[k]!r}, which has a loss")
            value = self.losses[k](yt, y_pred[k], sample_weight[k])
            parts.append(value)
            weighted = value if self.weights[k] is None else value * self.weights[k]
            total = weighted if total is None else total + weighted
        return total, parts

    def track(self, parts: list[torch.Tensor], n: int) -> None:
        for tracker, value in zip(self.trackers, parts):
            tracker.update(value, n)


class CompiledMetrics:
    """Per-output metric objects, built on the first batch (when output shapes are known)."""

    def __init__(self, metrics: Any, weighted_metrics: Any, output_names: list[str], loss_identifiers: list[Any]):
        self.output_names = output_names
        self.loss_identifiers = loss_identifiers
        self._specs = (metrics, weighted_metrics)
        self.built = False
        self.plain: list[list[Any]] = []  # per output
        self.weighted: list[list[Any]] = []
        self.names: list[tuple[str, Any]] = []  # (log name, metric) in Keras' order
        _validate(metrics)
        _validate(weighted_metrics)

    def build(self, y_pred: list[torch.Tensor]) -> None:
        names = self.output_names
        multi = len(names) > 1
        used: set[int] = set()
        taken: dict[str, int] = {}
        for slot, spec in enumerate(self._specs):
            table = []
            assigned = per_output(spec, names, "metrics" if slot == 0 else "weighted_metrics",
                                  broadcast_flat=True) if spec else [None] * len(names)
            for k, entry in enumerate(assigned):
                objs = []
                for ident in _as_list(entry):
                    metric = _resolve(ident, self.loss_identifiers[k], tuple(y_pred[k].shape), used)
                    base = metric.name
                    log = f"{names[k]}_{base}" if multi else base
                    if log in taken:
                        if slot == 1:
                            log = f"{names[k]}_weighted_{base}" if multi else f"weighted_{base}"
                        if log in taken:
                            taken[log] += 1
                            log = f"{log}_{taken[log] - 1}"
                    taken.setdefault(log, 1)
                    objs.append(metric)
                    self.names.append((log, metric))
                table.append(objs)
            if slot == 0:
                self.plain = table
            else:
                self.weighted = table
        self.built = True

    @property
    def metrics(self) -> list[Any]:
        return [m for _, m in self.names]

    def update(self, y_true: list[Any], y_pred: list[torch.Tensor], sample_weight: list[Any]) -> None:
        for k, objs in enumerate(self.plain):
            for m in objs:
                m.update_state(y_true[k], y_pred[k])
        for k, objs in enumerate(self.weighted):
            for m in objs:
                m.update_state(y_true[k], y_pred[k], sample_weight=sample_weight[k])

    def reset_state(self) -> None:
        for m in self.metrics:
            m.reset_state()


def _as_list(entry: Any) -> list[Any]:
    if entry is None:
        return []
    if isinstance(entry, (list, tuple)):
        return [e for item in entry for e in _as_list(item)]
    if isinstance(entry, dict):
        return [e for item in entry.values() for e in _as_list(item)]
    return [entry]


def _validate(spec: Any) -> None:
    """Fail at compile() on unknown metric names (accuracy is resolved later, from the output)."""
    from lstmkit.keras import metrics as metrics_module

    if spec is not None and not isinstance(spec, (list, tuple, dict)):
        raise TypeError(f"metrics must be a list (or a dict by output name), got {type(spec).__name__}: {spec!r}")
    for ident in _as_list(spec):
        if isinstance(ident, str) and ident.lower() not in ("accuracy", "acc"):
            metrics_module.get(ident)


def _resolve(ident: Any, loss: Any, output_shape: tuple, used: set[int]) -> Any:
    """A fresh metric object for one output (an instance given for several outputs is copied)."""
    from lstmkit.keras import metrics as metrics_module

    metric = metrics_module.get(ident, loss=loss, output_shape=output_shape)
    if id(metric) in used:
        metric = copy.deepcopy(metric)
        metric.reset_state()
    used.add(id(metric))
    return metric
