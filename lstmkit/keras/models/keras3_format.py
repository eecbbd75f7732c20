"""Keras 3's own files: the ``.keras`` archive and the ``.weights.h5`` HDF5 weights file.

A Keras 3 ``.keras`` file is a zip of ``metadata.json`` (Keras version, date), ``config.json``
(the model entry with its ``compile_config``; see ``keras3_config``) and ``model.weights.h5``.
The HDF5 file stores each object's own variables as datasets ``"0"``, ``"1"``... of a ``vars``
group at the object's path: ``layers/<snake_case class name>[_<n>]`` for a model's layers (``_n``
counts earlier layers of the same class, never their names), then attribute names for sublayers:
``layers/lstm/cell/vars``, ``layers/bidirectional/forward_layer/cell/vars``,
``layers/time_distributed/layer/vars``, ``layers/multi_head_attention/query_dense/vars``,
``layers/rnn/cell/cells/lstm_cell_1/vars`` (StackedRNNCells), ``layers/sequential/layers/lstm/cell/vars``
(a nested model: its own layers named the same way); the
optimizer's variables go under ``optimizer/vars``. Our layers' ``get_weights()`` already return
Keras' arrays in Keras' order, so ``weight_paths`` only says which group each slice lives in.

Optimizer state crosses both ways through ``optimizer/vars`` (``keras3_optimizer`` has the
layout): a compiled Keras-written model loads with Keras' iteration count, learning rate and
slots (moments in Keras' layout, converted like the weights) for SGD, Adam, AdamW, RMSprop,
Adagrad, Adadelta and Nadam, and lstmkit writes its state in that layout, so Keras 3 loads it
without skipping anything and one more step matches. Variables that do not fit the model or the
optimizer are skipped with a warning (the optimizer starts fresh, as in Keras); so is a class
Keras has no match for. A schedule that is one of Keras' own goes into the ``compile_config``.

What lstmkit writes besides Keras' members (Keras ignores them): ``lstmkit.json`` (lstmkit's exact
compile arguments) and ``optimizer.json`` / ``optimizer.safetensors`` (lstmkit's optimizer state
in torch's own form); lstmkit reads these rather than ``optimizer/vars`` when they are there, so
an lstmkit round trip also keeps what Keras' format has no place for.

Safety: only numeric, contiguous datasets are read (no object/string dtypes, no external or
virtual storage that would make HDF5 open other files), each after its shape was checked against
the model's; nothing in the file is imported or run.
"""

from __future__ import annotations

import datetime
import io
import json
from typing import Any

import numpy as np

from lstmkit.keras.engine.registry import snake_case

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
KERAS_MEMBERS = ("config.json", "metadata.json", "model.weights.h5", "lstmkit.json")


def is_hdf5(data: bytes) -> bool:
    return data[:8] == HDF5_MAGIC


# ---------------------------------------------------------------------- where each weight lives
def _is_model(layer: Any) -> bool:
    return hasattr(layer, "_weight_groups") and hasattr(layer, "layers")


def weight_paths(layer: Any) -> list[tuple[str, int]]:
    """``(group path below the layer's own path, number of weights)`` in ``get_weights()`` order."""
    name = type(layer).__name__
    if _is_model(layer):
        return [(f"layers/{sub}/{p}".rstrip("/"), n) for sub, owner in layer_groups(layer)
                for p, n in weight_paths(owner)]
    if name == "Bidirectional":
        return ([(f"forward_layer/{p}".rstrip("/"), n) for p, n in weight_paths(layer.forward_layer)]
                + [(f"backward_layer/{p}".rstrip("/"), n) for p, n in weight_paths(layer.backward_layer)])
    if name == "TimeDistributed":
        return [(f"layer/{p}".rstrip("/"), n) for p, n in weight_paths(layer.layer)]
    if name == "MultiHeadAttention":
        per = 2 if layer.get_config().get("use_bias", True) else 1
        if layer.get_config().get("use_gate"):
            raise ValueError("MultiHeadAttention(use_gate=True) has no Keras 3 weight layout lstmkit knows")
        return [(f"{part}_dense", per) for part in ("query", "key", "value", "output")]
    if name == "StackedRNNCells":
        return [(f"cells/{sub}/{p}".rstrip("/"), n) for sub, cell in unique_names(layer.cells)
                for p, n in weight_paths(cell)]
    if name == "RNN":
        return [(f"cell/{p}".rstrip("/"), n) for p, n in weight_paths(layer.cell)]
    if name in ("LSTM", "GRU", "SimpleRNN", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"):
        return [("cell", len(layer.get_weights()))]  # lstmkit's own layers: no cell object, Keras' cell weights
    return [("", len(layer.get_weights()))]


def unique_names(objects: Any) -> list[tuple[str, Any]]:
    """``(path name, object)`` as Keras names a list's members in the HDF5 file: the snake_case class
    name, ``_1``, ``_2``... for later ones of the same class (a functional model is ``functional``)."""
    used: dict[str, int] = {}
    out = []
    for obj in objects:
        cls = type(obj).__name__
        base = "functional" if _is_model(obj) and cls == "Model" else snake_case(cls)
        used[base] = used.get(base, -1) + 1
        out.append((base if used[base] == 0 else f"{base}_{used[base]}", obj))
    return out


def layer_groups(model: Any) -> list[tuple[str, Any]]:
    """``(path name, layer)`` for the model's layers, named as Keras names them in the HDF5 file."""
    return unique_names(model.layers)


# ---------------------------------------------------------------------- HDF5 weights
def _own_weights(model: Any) -> list[Any]:
    groups = model._weight_groups()
    return [w.detach().cpu().numpy() for owner, ws in groups if owner is None for w in ws]


def h5_bytes(model: Any, optimizer: bool = False) -> bytes:
    """The model's weights as Keras 3's ``model.weights.h5`` (with ``optimizer``, and a compiled
    model, also its optimizer state as Keras' ``optimizer/vars``; see ``keras3_optimizer``)."""
    import h5py

    from lstmkit.keras.models import keras3_optimizer

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        root = f.create_group("vars")
        root.attrs["name"] = model.name
        for k, value in enumerate(_own_weights(model)):
            root.create_dataset(str(k), data=value)
        for sub, layer in layer_groups(model):
            values = [np.asarray(v) for v in layer.get_weights()]
            start = 0
            for path, n in weight_paths(layer):
                group = f.require_group(f"layers/{sub}/{path}".rstrip("/") + "/vars")
                group.attrs["name"] = layer.name
                for k, value in enumerate(values[start:start + n]):
                    group.create_dataset(str(k), data=value)
                start += n
            if start != len(values):
                raise ValueError(f"layer {layer.name!r}: {len(values)} weights, but the Keras layout places {start}")
        if optimizer and getattr(model, "compiled", False) and model.built:
            keras3_optimizer.write_vars(f, model)
    return buffer.getvalue()


def _read_dataset(group: Any, key: str, expected: tuple[int, ...], what: str) -> np.ndarray:
    import h5py

    ds = group.get(key)
    if not isinstance(ds, h5py.Dataset):
        raise ValueError(f"{what}: weight {key} is missing")
    if ds.dtype.kind not in "fiub" or ds.is_virtual or ds.external:
        raise ValueError(f"{what}: weight {key} is not a plain numeric array (dtype {ds.dtype})")
    if tuple(ds.shape) != tuple(expected):
        raise ValueError(f"{what}: weight {key} has shape {tuple(ds.shape)} in the file but {tuple(expected)} in "
                         "the model")
    return np.asarray(ds[()])


def _vars_group(f: Any, path: str, what: str) -> Any:
    import h5py

    group = f.get(f"{path}/vars" if path else "vars")
    if not isinstance(group, h5py.Group):
        raise ValueError(f"{what}: the file has no group {path + '/vars' if path else 'vars'!r}")
    return group


def load_h5(model: Any, data: bytes, what: str, skip_mismatch: bool = False) -> None:
    """Set the model's weights from Keras 3's HDF5 layout, layer by layer in Keras' order."""
    import warnings

    import h5py

    if not model.built:
        raise ValueError(f"model {model.name!r} is not built, so it has no weights to load into yet: build it first")
    try:
        f = h5py.File(io.BytesIO(data), "r")
    except OSError as e:
        raise ValueError(f"{what} is not a valid HDF5 weights file ({e})") from None
    with f:
        own = _own_weights(model)
        if own:
            group = _vars_group(f, "", what)
            values = [_read_dataset(group, str(k), v.shape, f"{what} (model {model.name!r})")
                      for k, v in enumerate(own)]
            import torch

            targets = [w for owner, ws in model._weight_groups() if owner is None for w in ws]
            with torch.no_grad():
                for w, value in zip(targets, values):
                    w.copy_(torch.as_tensor(value).to(device=w.device, dtype=w.dtype))
        for sub, layer in layer_groups(model):
            current = layer.get_weights()
            if not current:
                continue
            values, start = [], 0
            try:
                for path, n in weight_paths(layer):
                    full = f"layers/{sub}/{path}".rstrip("/")
                    label = f"{what}: layer {layer.name!r} ({type(layer).__name__}, group {full!r})"
                    group = _vars_group(f, full, label)
                    if len([k for k in group if k.isdigit()]) != n:
                        raise ValueError(f"{label}: the file has {len(group)} weights, the layer needs {n}")
                    values += [_read_dataset(group, str(k), np.shape(current[start + k]), label) for k in range(n)]
                    start += n
            except ValueError as e:
                if skip_mismatch:
                    warnings.warn(f"skipping the weights of {layer.name!r}: {e}", stacklevel=3)
                    continue
                raise
            layer.set_weights(values)


# ---------------------------------------------------------------------- whole archive
def metadata_json() -> bytes:
    import lstmkit

    return json.dumps({"keras_version": "3.0.0", "lstmkit_version": getattr(lstmkit, "__version__", "unknown"),
                       "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}).encode()


def _builtin_schedule(optimizer: Any) -> bool:
    from lstmkit.keras.optimizers import schedules

    rate = getattr(optimizer, "_learning_rate", None)
    return type(rate) is getattr(schedules, type(rate).__name__, None)


def keras_compile_config(model: Any) -> dict[str, Any] | None:
    """Keras' ``compile_config`` when the compile arguments are plain names (else None: Keras
    then loads the model uncompiled; lstmkit still restores them from ``lstmkit.json``)."""
    from lstmkit.keras.engine.registry import serialize

    args = getattr(model, "_compile_args", None)
    if not getattr(model, "compiled", False) or args is None:
        return None

    def plain(v: Any) -> bool:
        if isinstance(v, (list, tuple)):
            return all(plain(x) for x in v)
        if isinstance(v, dict):
            return all(isinstance(k, str) and plain(x) for k, x in v.items())
        return v is None or isinstance(v, (str, int, float, bool))

    keys = ("loss", "loss_weights", "metrics", "weighted_metrics")
    if not all(plain(args.get(k)) for k in keys):
        return None
    try:
        opt = serialize(model.optimizer)
    except (TypeError, NotImplementedError):
        return None
    name = opt["class_name"]
    config = {k: v for k, v in opt["config"].items() if isinstance(v, (str, int, float, bool, type(None)))}
    rate = opt["config"].get("learning_rate")
    if isinstance(rate, dict) and plain(rate.get("config")) and _builtin_schedule(model.optimizer):
        # one of Keras' LearningRateSchedules (same class names in lstmkit), as Keras serializes it
        config["learning_rate"] = {"module": "keras.optimizers.schedules", "class_name": rate["class_name"],
                                   "config": rate["config"], "registered_name": None}
    if len(config) != len(opt["config"]):
        return None
    out: dict[str, Any] = {"optimizer": {"module": "keras.optimizers", "class_name": name, "config": config,
                                         "registered_name": None}}
    out.update({k: (list(args[k]) if isinstance(args.get(k), tuple) else args.get(k)) for k in keys})
    out.update(run_eagerly=False, steps_per_execution=1, jit_compile=False)
    return out


def restore_keras_compile(model: Any, cc: dict[str, Any], path: str) -> None:
    """Compile a model read from a Keras-written file from its Keras ``compile_config``."""
    import warnings

    from lstmkit.keras import optimizers
    from lstmkit.keras.models.keras3_config import _strip

    try:
        opt = _strip(cc["optimizer"], "optimizer") if isinstance(cc.get("optimizer"), dict) else cc.get("optimizer")
        optimizer = optimizers.deserialize(opt) if isinstance(opt, dict) else optimizers.get(opt)
        kwargs = {k: _strip(cc.get(k), k) for k in ("loss", "loss_weights", "metrics", "weighted_metrics")}
        model.compile(optimizer=optimizer, **kwargs)
    except (ValueError, KeyError, TypeError) as e:
        warnings.warn(f"{path!r}: the model is returned uncompiled because its Keras compile_config cannot be "
                      f"restored: {e}", stacklevel=4)
