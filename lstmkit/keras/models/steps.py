"""Keras 3's overridable steps on a model: ``train_step(data)``, ``test_step(data)``,
``predict_step(data)``, with ``compute_loss``, ``compute_metrics``, ``get_metrics_result`` and the
Keras 3 ``metrics`` list (the loss tracker, the compiled metrics, then metrics held in attributes).

Why a mixin: the fit loop keeps its lean per-batch path (training.py ``_train_step``) for models
that do not override a step; a model whose class overrides ``train_step`` (as in the Keras guide
"Customizing what happens in fit() with PyTorch") gets it called with the batch as Keras gives it,
``(x, y)`` / ``(x, y, sample_weight)`` / ``(x,)``, and the dict it returns becomes the logs.
"""

from __future__ import annotations

from typing import Any

import torch

from lstmkit.keras.models import data as data_lib


def pack_batch(x: Any, y: Any, sample_weight: Any) -> tuple[Any, ...]:
    """A batch as Keras hands it to a step: trailing Nones dropped."""
    if sample_weight is not None:
        return x, y, sample_weight
    return (x,) if y is None else (x, y)


def _flat(y: Any) -> list[Any]:
    if isinstance(y, dict):
        return list(y.values())
    return list(y) if isinstance(y, (list, tuple)) else [y]


def _flatten_logs(logs: Any) -> dict[str, Any]:
    """Nested dicts (a ``compile_metrics`` entry) flattened, as Keras' ``pythonify_logs``."""
    out: dict[str, Any] = {}
    for key, value in sorted((logs or {}).items()):
        if isinstance(value, dict):
            out.update(_flatten_logs(value))
        else:
            out[key] = value
    return out


def _pythonify(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return float(value) if value.numel() == 1 else value.detach().cpu().numpy()
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


class LossMetric:
    """The model's loss tracker seen as a Keras ``Mean`` metric named "loss"."""

    def __init__(self, model: Any, tracker: Any):
        self._model, self._tracker = model, tracker
        self.name = tracker.name

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        value = torch.as_tensor(values).detach().float()
        n = 1 if sample_weight is None else sample_weight
        n = float(n.sum()) if isinstance(n, torch.Tensor) else float(n)
        self._tracker.update(value.mean(), n)

    def result(self) -> torch.Tensor:
        return self._tracker.result()

    def reset_state(self) -> None:
        self._tracker.reset_state()


class CompileMetrics:
    """The metrics given to ``compile`` seen as one Keras metric: ``update_state(y, y_pred,
    sample_weight)`` updates them all, ``result()`` is a dict by log name."""

    name = "compile_metrics"

    def __init__(self, model: Any):
        self._model = model

    @property
    def metrics(self) -> list[Any]:
        ms = self._model._metric_set
        return ms.metrics if ms is not None else []

    def update_state(self, y: Any, y_pred: Any, sample_weight: Any = None) -> None:
        model = self._model
        y_pred = _flat(y_pred)
        model._ensure_metric_set(y_pred)
        n = len(y_pred)
        ys = model._targets(data_lib.to_tensors(y), n)
        sws = model._sample_weights(data_lib.to_tensors(sample_weight), n)
        with torch.no_grad():
            model._metric_set.update(ys, y_pred, sws)

    def result(self) -> dict[str, torch.Tensor]:
        ms = self._model._metric_set
        return {name: m.result() for name, m in ms.names} if ms is not None else {}

    def reset_state(self) -> None:
        if self._model._metric_set is not None:
            self._model._metric_set.reset_state()


class StepsMixin:
    """Mixed into ``Model`` before ``Trainer``: the Keras 3 step API and its dispatch."""

    # ------------------------------------------------------------------ dispatch (called by fit_loop)
    def _overrides(self, step: str) -> bool:
        return getattr(type(self), step) is not getattr(StepsMixin, step)

    def _dispatch_train_step(self, batch: tuple[Any, Any, Any], forward: Any = None) -> Any:
        """The fit loop's step: the fast built-in one, or the class's own ``train_step``."""
        if not self._overrides("train_step"):
            return self._train_step(*batch, forward=forward)
        if not getattr(self, "_custom_step_ready", False):
            self._prepare_custom_step(batch[0])
        self._custom_logs = self.train_step(pack_batch(*batch))
        return None

    def _dispatch_test_step(self, x: Any, y: Any, sample_weight: Any) -> None:
        if not self._overrides("test_step"):
            self._test_step(x, y, sample_weight)
            return
        self._custom_logs = self.test_step(pack_batch(x, y, sample_weight))

    def _dispatch_predict_step(self, x: Any) -> Any:
        return self.predict_step((x,)) if self._overrides("predict_step") else self(x)

    def _prepare_custom_step(self, x: Any) -> None:
        """Before the first custom step: build the model on the batch and the optimizer on its weights."""
        if not self.built or any(not m.built for m in self.modules() if hasattr(m, "built") and m is not self):
            was = self.training
            self.eval()
            with torch.no_grad():
                self(x)
            self.train(was)
        if self.optimizer is not None:
            self._build_optimizer()
        self._custom_step_ready = True

    # ------------------------------------------------------------------ the default steps
    def train_step(self, data: Any) -> dict[str, Any]:
        """One update on ``data`` = ``(x, y)`` / ``(x, y, sample_weight)`` / ``(x,)``; returns the
        logs. Overriding it changes what ``fit`` does; ``super().train_step(data)`` runs this."""
        x, y, sw = data_lib.unpack(data)
        self._train_step(x, y, sw)
        return dict(self._result_tensors())

    def test_step(self, data: Any) -> dict[str, Any]:
        """Loss and metrics of one batch (no update); returns the logs."""
        x, y, sw = data_lib.unpack(data)
        with torch.no_grad():
            self._test_step(x, y, sw)
        return dict(self._result_tensors())

    def predict_step(self, data: Any) -> Any:
        """The model's outputs for one batch."""
        x, _, _ = data_lib.unpack(data)
        return self(x)

    # ------------------------------------------------------------------ helpers for custom steps
    def _ensure_metric_set(self, y_pred: list[torch.Tensor]) -> None:
        if self._metric_set is not None:
            return
        from lstmkit.keras.models.compile_utils import CompiledMetrics

        args = self._compile_args or {"metrics": None, "weighted_metrics": None, "loss": None}
        if args.get("loss") is not None:
            self._setup(y_pred)
            return
        names = self._output_names_for(y_pred)
        self._output_names_resolved = names
        self._metric_set = CompiledMetrics(args["metrics"], args["weighted_metrics"], names, [None] * len(names))
        self._metric_set.build(y_pred)

    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None, sample_weight: Any = None,
                     training: bool = True) -> torch.Tensor:
        """The compiled loss of ``y_pred`` against ``y`` plus the model's ``losses`` (weight
        regularisers, ``add_loss``), as Keras 3's ``Model.compute_loss``."""
        del x, training
        terms = []
        if self._compile_args is not None and self._compile_args.get("loss") is not None:
            preds = _flat(y_pred)
            if not self._ready:
                self._setup(preds)
            n = len(preds)
            ys = self._targets(data_lib.to_tensors(y), n)
            sws = self._sample_weights(data_lib.to_tensors(sample_weight), n)
            total, parts = self._loss_fn(ys, preds, sws)
            if self._loss_fn.trackers:
                with torch.no_grad():
                    self._loss_fn.track(parts, preds[0].shape[0] if preds[0].dim() else 1)
            terms.append(total)
        terms += [p.sum() for p in self.losses]
        if not terms:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
        return terms[0] if len(terms) == 1 else torch.stack([t.reshape(()) for t in terms]).sum()

    def compute_metrics(self, x: Any, y: Any, y_pred: Any, sample_weight: Any = None) -> dict[str, Any]:
        """Update the compiled metrics and return every metric's result (Keras 3)."""
        del x
        if self._compile_args is not None and (self._compile_args.get("metrics")
                                               or self._compile_args.get("weighted_metrics")):
            CompileMetrics(self).update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def get_metrics_result(self) -> dict[str, Any]:
        """``{name: result}`` of ``self.metrics``; a dict result (the compiled metrics) is merged in."""
        out: dict[str, Any] = {}
        for metric in self.metrics:
            result = metric.result()
            if isinstance(result, dict):
                out.update(result)
            else:
                out[metric.name] = result
        return out

    @property
    def metrics(self) -> list[Any]:
        """Keras 3's list: the loss tracker, the compiled metrics (one entry), the per-output loss
        trackers once compiled, then the metric objects held in the model's attributes."""
        out: list[Any] = []
        if self.compiled:
            out.append(LossMetric(self, self._loss_tracker))
            if self._compile_args and (self._compile_args.get("metrics") or self._compile_args.get("weighted_metrics")):
                out.append(CompileMetrics(self))
            if self._loss_fn is not None:
                out += [LossMetric(self, t) for t in self._loss_fn.trackers]
        out += [v for k, v in vars(self).items()
                if not k.startswith("_") and all(hasattr(v, a) for a in ("update_state", "result", "reset_state"))]
        return out

    def _compiled_metric_objects(self) -> list[Any]:
        """The Metric objects compile() made (the accumulators a distributed strategy sums)."""
        return self._metric_set.metrics if self._metric_set is not None else []

    def reset_metrics(self) -> None:
        """Reset the loss trackers, the compiled metrics and every metric in ``self.metrics``."""
        super().reset_metrics()
        self._custom_logs = None
        for m in self.metrics:
            if not isinstance(m, (LossMetric, CompileMetrics)):
                m.reset_state()

    def _logs(self) -> dict[str, Any]:
        custom = getattr(self, "_custom_logs", None)
        if custom is None:
            return super()._logs()
        return {k: _pythonify(v) for k, v in _flatten_logs(custom).items()}

    def _log_items(self) -> list[tuple[str, float]]:
        custom = getattr(self, "_custom_logs", None)
        if custom is None:
            return super()._log_items()
        return [(k, v) for k, v in self._logs().items() if isinstance(v, float)]
