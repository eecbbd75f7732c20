"""``TensorBoard``: training curves, weight histograms and images as TensorBoard event files
(Keras 3's ``keras.callbacks.TensorBoard``: the same folders, tags and steps), without TensorFlow.

The events are written by ``torch.utils.tensorboard.SummaryWriter``, which needs the
``tensorboard`` package (``pip install 'lstmkit[tb]'``); it is imported only when the callback is
made, and its absence is one ImportError that says so. What is written, as Keras writes it:

- ``<log_dir>/train``: ``epoch_<name>`` for each training log (loss, metrics), ``epoch_learning_rate``,
  ``epoch_steps_per_second`` (``write_steps_per_second``), at step = epoch; with ``update_freq``
  "batch" or N, ``batch_<name>`` (and ``batch_steps_per_second``) every N batches, at step = the
  batch count since ``fit`` started; with ``histogram_freq`` N, ``<model>/<layer>/<weight>/histogram``
  (and ``.../image`` with ``write_images``) every N epochs; with ``write_graph`` the model's
  config as the ``keras`` summary of TensorBoard's conceptual-graph plugin.
- ``<log_dir>/validation``: ``epoch_<name>`` of the validation logs (``val_`` dropped), and after
  every evaluation (validation or ``evaluate``) ``evaluation_<name>_vs_iterations`` at step =
  ``optimizer.iterations``.

Not available: ``profile_batch`` (Keras has no profiler on the torch backend either and raises the
same ValueError) and the op-level graph of a compiled train function (there is none: lstmkit runs
eagerly). Per-batch hooks exist only when ``update_freq`` asks for batch scalars, so the default
callback costs the training loop nothing per batch.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import time
from typing import Any

import numpy as np
import torch

from lstmkit.keras.callbacks.base import Callback
from lstmkit.keras.engine.registry import register

__all__ = ["TensorBoard"]

_MISSING = ("the TensorBoard callback writes its event files with the tensorboard package, which is not installed: "
            "pip install 'lstmkit[tb]' (or pip install tensorboard)")


def _summary_writer(log_dir: str) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as e:  # torch.utils.tensorboard imports tensorboard
        raise ImportError(_MISSING) from e
    return SummaryWriter(log_dir=log_dir)


def _scalar(value: Any) -> float | None:
    """A log value as a float, or None for what is not one number (per-class arrays...)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, (np.ndarray, np.generic)):
        return float(value) if np.size(value) == 1 else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _weight_names(layer: Any) -> list[str]:
    """Names for ``layer.weights`` in order: the names given to ``add_weight`` (sub-layers' prefixed
    with their names), else Keras' kernel / recurrent_kernel / bias for recurrent layers, else
    ``weight_<k>``."""
    def named(owner: Any, prefix: str) -> list[str]:
        names = [prefix + n for n in getattr(owner, "_weight_names", [])]
        for sub in owner._sublayers() if hasattr(owner, "_sublayers") else []:
            names += named(sub, f"{prefix}{sub.name}/")
        return names

    n = len(layer.weights)
    names = named(layer, "")
    if len(names) == n:
        return names
    if hasattr(layer, "recurrent_kernel"):
        core = ["kernel", "recurrent_kernel"] + (["bias"] if getattr(layer, "use_bias", False) else [])
        return (core + [f"weight_{k}" for k in range(len(core), n)])[:n]
    return [f"weight_{k}" for k in range(n)]


def _as_image(weight: torch.Tensor) -> np.ndarray | None:
    """A weight as one grey image (H, W, 1), as Keras draws it: a bias as a column, a kernel with
    its longer side down; other ranks are not drawn."""
    w = weight.detach().cpu().float().squeeze().numpy()
    if w.ndim == 1:
        return w.reshape(w.shape[0], 1, 1)
    if w.ndim == 2:
        if w.shape[0] > w.shape[1]:
            w = w.T
        return w.reshape(w.shape[0], w.shape[1], 1)
    return None


@register("callback")
class TensorBoard(Callback):
    """Write TensorBoard logs during ``fit`` and ``evaluate``.

    Args:
        log_dir: the run's folder (``train/`` and ``validation/`` are made inside).
        histogram_freq: every how many epochs to write weight histograms (0: never).
        write_graph: write the model's config for TensorBoard's graph view.
        write_images: with ``histogram_freq``, also write each weight as an image.
        write_steps_per_second: also log the training speed (steps per second).
        update_freq: ``"epoch"``, or ``"batch"`` / an int N: also write ``batch_*`` scalars every N batches.
        profile_batch: 0 only (profiling is not available on torch, as in Keras' torch backend).
        embeddings_freq: every how many epochs to save the weights for the projector (0: never).
        embeddings_metadata: a metadata file for the embeddings: a path, or ``{layer name: path}``.
    """

    rank0_only = True  # in a data-parallel run only the chief writes

    def __init__(self, log_dir: str | os.PathLike = "logs", histogram_freq: int = 0, write_graph: bool = True,
                 write_images: bool = False, write_steps_per_second: bool = False, update_freq: str | int = "epoch",
                 profile_batch: int = 0, embeddings_freq: int = 0, embeddings_metadata: Any = None):
        super().__init__()
        if importlib.util.find_spec("tensorboard") is None:
            raise ImportError(_MISSING)
        for name, value in (("histogram_freq", histogram_freq), ("embeddings_freq", embeddings_freq)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"{name} must be an int >= 0 (0: never), got {value!r}")
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and (isinstance(update_freq, bool) or not isinstance(update_freq, (int, np.integer))
                                       or update_freq < 1):
            raise ValueError(f"update_freq must be 'epoch', 'batch' or an int >= 1, got {update_freq!r}")
        if profile_batch:
            raise ValueError("Profiling is not yet available with the torch backend. Received: "
                             f"profile_batch={profile_batch} (must be 0)")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = int(histogram_freq)
        self.write_graph = bool(write_graph)
        self.write_images = bool(write_images)
        self.write_steps_per_second = bool(write_steps_per_second)
        self.update_freq = update_freq if update_freq == "epoch" else int(update_freq)
        self.embeddings_freq = int(embeddings_freq)
        self.embeddings_metadata = embeddings_metadata
        self._train_dir = os.path.join(self.log_dir, "train")
        self._val_dir = os.path.join(self.log_dir, "validation")
        self._writers: dict[str, Any] = {}
        self._global_train_batch = 0
        self._batch_start_time = 0.0
        self._epoch_start_time = 0.0
        self._previous_epoch_iterations = 0
        if self.update_freq != "epoch":  # per-batch hooks only then: the loop skips hooks nobody has
            self.on_train_batch_begin = self._batch_begin
            self.on_train_batch_end = self._batch_end

    # ------------------------------------------------------------------ writers
    def _writer(self, which: str) -> Any:
        if which not in self._writers:
            self._writers[which] = _summary_writer(self._train_dir if which == "train" else self._val_dir)
        return self._writers[which]

    def _close_writers(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def set_model(self, model: Any) -> None:
        super().set_model(model)
        self._close_writers()
        if model is None:
            return
        if self.write_graph:
            self._write_model_config()
        if self.embeddings_freq:
            self._configure_embeddings()

    def _write_model_config(self) -> None:
        """The model's config as the summary TensorBoard's graph plugin draws ("keras", plugin
        graph_keras_model), at step 0; subclassed models have no config and are left out."""
        try:
            config = json.loads(self.model.to_json()).get("model")
        except (AttributeError, NotImplementedError, TypeError, ValueError):
            return
        from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
        from tensorboard.compat.proto.tensor_pb2 import TensorProto
        from tensorboard.compat.proto.types_pb2 import DT_STRING

        metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="graph_keras_model",
                                                                          content=b"1"))
        tensor = TensorProto(dtype=DT_STRING, string_val=[json.dumps(config).encode()])
        summary = Summary(value=[Summary.Value(tag="keras", tensor=tensor, metadata=metadata)])
        writer = self._writer("train")
        writer._get_file_writer().add_summary(summary, 0)
        writer.flush()

    def _configure_embeddings(self) -> None:
        """projector_config.pbtxt for the Embedding layers (Keras' text)."""
        metadata = self.embeddings_metadata
        remaining = dict(metadata) if isinstance(metadata, dict) else None
        lines = []
        for layer in getattr(self.model, "layers", []):
            if type(layer).__name__ != "Embedding":
                continue
            lines += ["embeddings {", '  tensor_name: "layer_with_weights-0/embeddings/.ATTRIBUTES/VARIABLE_VALUE"']
            path = metadata if isinstance(metadata, str) else (remaining or {}).pop(layer.name, None)
            if path is not None:
                lines.append(f'  metadata_path: "{path}"')
            lines.append("}")
        if remaining:
            raise ValueError("Unrecognized `Embedding` layer names passed to `keras.callbacks.TensorBoard` "
                             f"`embeddings_metadata` argument: {remaining.keys()}")
        os.makedirs(self.log_dir, exist_ok=True)
        with open(os.path.join(self.log_dir, "projector_config.pbtxt"), "w") as f:
            f.write("".join(line + "\n" for line in lines))

    # ------------------------------------------------------------------ training
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._global_train_batch = 0
        self._previous_epoch_iterations = 0

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._close_writers()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.write_steps_per_second:
            self._previous_epoch_iterations = self._iterations()
            self._epoch_start_time = time.time()

    def _batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._global_train_batch += 1
        if self.write_steps_per_second:
            self._batch_start_time = time.time()

    def _batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        step = self._global_train_batch
        if step % self.update_freq:
            return
        writer = self._writer("train")
        if self.write_steps_per_second:
            writer.add_scalar("batch_steps_per_second", 1.0 / max(time.time() - self._batch_start_time, 1e-9), step)
        for name, value in (logs or {}).items():
            value = _scalar(value)
            if value is not None:
                writer.add_scalar(f"batch_{name}", value, step)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._log_epoch_metrics(epoch, logs or {})
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        if self.embeddings_freq and epoch % self.embeddings_freq == 0:
            self.model.save_weights(os.path.join(self._train_dir, f"keras_embedding.ckpt-{epoch}.weights.h5"))
        for writer in self._writers.values():
            writer.flush()

    def _iterations(self) -> int:
        return int(getattr(getattr(self.model, "optimizer", None), "iterations", 0) or 0)

    def _log_epoch_metrics(self, epoch: int, logs: dict[str, Any]) -> None:
        if not logs:
            return
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and hasattr(optimizer, "learning_rate"):
            train["learning_rate"] = float(optimizer.learning_rate)
        if self.write_steps_per_second:
            seconds = max(time.time() - self._epoch_start_time, 1e-9)
            train["steps_per_second"] = (self._iterations() - self._previous_epoch_iterations) / seconds
        for which, values in (("train", train), ("val", val)):
            values = {k: _scalar(v) for k, v in values.items()}
            values = {k: v for k, v in values.items() if v is not None}
            if values:
                writer = self._writer(which)
                for name, value in values.items():
                    writer.add_scalar(f"epoch_{name}", value, epoch)

    def _log_weights(self, epoch: int) -> None:
        writer = self._writer("train")
        model_name = getattr(self.model, "name", "model")
        for layer in getattr(self.model, "layers", []):
            weights = layer.weights
            for name, weight in zip(_weight_names(layer), weights):
                tag = f"{model_name}/{layer.name}/{name}".replace(":", "_")
                values = weight.detach().cpu().float()
                if values.numel() == 0:
                    continue
                writer.add_histogram(f"{tag}/histogram", values, epoch)
                if self.write_images:
                    image = _as_image(weight)
                    if image is not None:
                        writer.add_image(f"{tag}/image", image, epoch, dataformats="HWC")

    # ------------------------------------------------------------------ evaluation
    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        if getattr(self.model, "optimizer", None) is None or not hasattr(self.model.optimizer, "iterations"):
            return
        values = {k: _scalar(v) for k, v in (logs or {}).items()}
        values = {k: v for k, v in values.items() if v is not None}
        if not values:
            return
        writer = self._writer("val")
        step = self._iterations()
        for name, value in values.items():
            writer.add_scalar(f"evaluation_{name}_vs_iterations", value, step)
        writer.flush()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at interpreter exit the writers' threads may be gone already
            self._close_writers()
