"""Saving and loading models: ``model.save(path)`` / ``load_model(path)`` and weights only.

Which format ``model.save("x.keras")`` writes (the documented rule):

- **Keras 3's own archive** (``config.json`` + ``metadata.json`` + ``model.weights.h5``, see
  ``keras3_format``) for every Sequential or functional model made only of Keras layers with Keras
  arguments: real Keras 3 ``keras.models.load_model`` reads it. lstmkit adds ``lstmkit.json`` (its
  exact compile arguments) and ``optimizer.json`` + ``optimizer.safetensors`` (its optimizer state),
  members Keras ignores, so an lstmkit round trip still resumes training exactly.
- **lstmkit's own archive** for a model Keras 3 could not rebuild (lstmkit-only arguments such as
  ``variant``, ``peepholes``, ``zoneout``, ``backend``; Lambda or custom layers), with a warning
  saying so and why, or always with ``save_format="lstmkit"``. It holds ``config.json`` (format and
  lstmkit versions, architecture, compile arguments), ``model.safetensors`` (every weight in Keras'
  layout, keyed ``"<layer name>/<weight index>"``) and the optimizer files above.

``load_model`` reads both, and ``.keras`` files saved by Keras 3 (with their optimizer state, see
``keras3_optimizer``). ``save_weights("x.weights.h5")`` (any ``.h5`` name) writes Keras
3's HDF5 weights layout; other names get one safetensors file. ``load_weights`` tells the two apart
by their first bytes (and reads the weights of both kinds of ``.keras`` archive).

Only JSON, safetensors and numeric HDF5 datasets are read: loading a file never runs or imports code
named in it (no pickle). Zip members are checked before inflating (declared size and ratio). Files
are written atomically (temporary file in the same folder, fsync, rename), so an interrupted save
never leaves a truncated model behind.
"""

from __future__ import annotations

import io
import json
import os
import struct
import warnings
import zipfile
from typing import Any

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from lstmkit.io import atomic_write_bytes
from lstmkit.keras.models.saving_json import decode, encode

FORMAT = "lstmkit.keras"
WEIGHTS_FORMAT = "lstmkit.keras.weights"
FORMAT_VERSION = 1
#: the only zip members a model file is read for; weights are stored uncompressed, JSON deflated
MEMBERS = ("config.json", "model.safetensors", "optimizer.json", "optimizer.safetensors", "metadata.json",
           "model.weights.h5", "lstmkit.json")
MAX_COMPRESSION_RATIO = 200
MAX_JSON_BYTES = 64 << 20


def atomic_write(path: Any, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder, fsync, rename)."""
    atomic_write_bytes(path, data)


def _is_model(obj: Any) -> bool:
    """Whether ``obj`` is an lstmkit.keras Model. Asked through ``SavingMixin``, which only ``Model``
    mixes in, because this module must not import ``model.py``: ``Model`` inherits from this module,
    and the two importing each other would be a cycle (tests/test_architecture.py forbids it)."""
    return isinstance(obj, SavingMixin)


def _version() -> str:
    import lstmkit

    return getattr(lstmkit, "__version__", "unknown")


# ---------------------------------------------------------------------- weights
def weight_groups(model: Any) -> list[tuple[Any, list[tuple[str, torch.Tensor]]]]:
    """Per weight owner (the model itself, then each layer in model order): the keys
    ``"<layer>/<k>"`` and current values of its weights, in Keras order."""
    groups = []
    for owner, weights in model._weight_groups():
        name = "__model__" if owner is None else owner.name
        groups.append((owner, [(f"{name}/{k}", w) for k, w in enumerate(weights)]))
    return groups


def weights_bytes(model: Any) -> bytes:
    entries = [e for _, group in weight_groups(model) for e in group]
    tensors = {key: w.detach().cpu().contiguous().clone() for key, w in entries}
    meta = {"format": WEIGHTS_FORMAT, "format_version": str(FORMAT_VERSION),
            "order": json.dumps([k for k, _ in entries])}
    return st_save(tensors, metadata=meta)


def _safetensors_metadata(data: bytes, what: str) -> dict[str, str]:
    try:
        (size,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8:8 + size])
    except (struct.error, ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{what} is not a valid safetensors file ({e})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{what} is not a valid safetensors file")
    return header.get("__metadata__") or {}


def _load_tensors(data: bytes, what: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    meta = _safetensors_metadata(data, what)
    try:
        tensors = st_load(data)
    except Exception as e:  # safetensors raises its own error type on corrupt data
        raise ValueError(f"{what} is corrupt: {e}") from None
    return tensors, meta


def assign_weights(model: Any, tensors: dict[str, torch.Tensor], meta: dict[str, str], what: str,
                   skip_mismatch: bool = False) -> None:
    """Load saved tensors into the model: by key when the layer names match, else by position
    (the same architecture built with other layer names). Each layer loads through its own
    ``set_weights`` (LSTM/GRU convert from Keras' layout there)."""
    if not model.built:
        raise ValueError(f"model {model.name!r} is not built, so it has no weights to load into yet: build it "
                         "first (Input(...), input_shape=..., model.build(shape) or one call on data)")
    groups = weight_groups(model)
    entries = [e for _, group in groups for e in group]
    keys = [k for k, _ in entries]
    try:
        order = json.loads(meta["order"]) if "order" in meta else sorted(tensors)
    except ValueError:
        raise ValueError(f"{what} has corrupt metadata") from None
    if set(keys) == set(tensors):
        source = {k: tensors[k] for k in keys}
    elif len(order) == len(entries) and set(order) == set(tensors) and all(
            tuple(tensors[s].shape) == tuple(w.shape) for s, (_, w) in zip(order, entries)):
        source = {k: tensors[s] for s, k in zip(order, keys)}  # same architecture, other layer names
    else:
        missing = [k for k in keys if k not in tensors]
        unexpected = [k for k in tensors if k not in keys]
        raise ValueError(f"the weights in {what} do not fit model {model.name!r}: it needs {len(keys)} arrays, the "
                         f"file has {len(tensors)}; missing {missing[:10]}, unexpected {unexpected[:10]}")
    for owner, group in groups:
        if not group:
            continue
        values, bad = [], None
        for key, w in group:
            value = source[key]
            if tuple(value.shape) != tuple(w.shape):
                bad = f"weight {key} has shape {tuple(w.shape)} in the model but {tuple(value.shape)} in {what}"
            values.append(value)
        if bad is not None:
            if skip_mismatch:
                warnings.warn(f"skipping the weights of {group[0][0].split('/')[0]!r}: {bad}", stacklevel=3)
                continue
            raise ValueError(bad)
        if owner is not None:
            owner.set_weights([v.numpy() for v in values])
        else:
            with torch.no_grad():
                for (_, w), value in zip(group, values):
                    w.copy_(value.to(device=w.device, dtype=w.dtype))


# ---------------------------------------------------------------------- whole models
def model_bytes(model: Any, include_optimizer: bool = True, keras_format: bool = True) -> bytes:
    """The saved file's bytes: Keras 3's archive when Keras could read the model (and
    ``keras_format``), else lstmkit's own (see the module docstring)."""
    from lstmkit.keras.engine.registry import serialize

    config: dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION, "lstmkit_version": _version(),
                              "model": serialize(model), "compile_config": None}
    opt_files: dict[str, bytes] = {}
    if model.compiled and model._compile_args is not None:
        try:
            compile_config = {k: encode(v) for k, v in model._compile_args.items()}
            compile_config["optimizer"] = encode(model.optimizer)
            config["compile_config"] = compile_config
        except TypeError as e:
            warnings.warn(f"the compile arguments cannot be saved ({e}); load_model() will return an uncompiled "
                          "model", stacklevel=3)
        if include_optimizer and config["compile_config"] is not None and model.optimizer.built:
            tensors: dict[str, torch.Tensor] = {}
            state = encode(model.optimizer.state_dict(), tensors)
            opt_files["optimizer.json"] = json.dumps(state).encode()
            opt_files["optimizer.safetensors"] = st_save(tensors, metadata={"format": FORMAT})
    if keras_format:
        from lstmkit.keras.models.keras3_io import keras_archive

        data = keras_archive(model, opt_files, config["compile_config"], include_optimizer=include_optimizer)
        if data is not None:
            return data
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("config.json", json.dumps(config, indent=1), compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("model.safetensors", weights_bytes(model))
        for name, data in opt_files.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def save_model(model: Any, filepath: Any, overwrite: bool = True, include_optimizer: bool = True,
               **kwargs: Any) -> None:
    """Save architecture, weights, compile arguments and optimizer state in one zip file."""
    if not _is_model(model):
        raise TypeError(f"save_model() saves lstmkit.keras models, got {type(model).__name__}")
    fmt = kwargs.pop("save_format", None)
    if kwargs:
        raise TypeError(f"save() got unexpected keyword argument(s): {sorted(kwargs)}")
    if fmt not in (None, "keras", "lstmkit"):
        warnings.warn(f"save_format={fmt!r} is ignored: lstmkit writes .keras zip files", stacklevel=3)
    if not overwrite and os.path.exists(os.fspath(filepath)):
        raise FileExistsError(f"{os.fspath(filepath)!r} exists and overwrite=False")
    atomic_write(filepath, model_bytes(model, include_optimizer=include_optimizer, keras_format=fmt != "lstmkit"))


def _read_zip(filepath: Any) -> dict[str, bytes]:
    path = os.fspath(filepath)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path!r}")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path!r} is not a lstmkit.keras model file (not a zip archive)")
    try:
        with zipfile.ZipFile(path) as zf:
            members = [info for info in zf.infolist() if info.filename in MEMBERS]  # others are never inflated
            for info in members:
                if info.filename.endswith(".json") and info.file_size > MAX_JSON_BYTES:
                    raise ValueError(f"{path!r}: {info.filename} declares {info.file_size:,} bytes, more than a "
                                     f"model config can need ({MAX_JSON_BYTES:,})")
                if (info.compress_type != zipfile.ZIP_STORED and info.file_size > 1 << 20
                        and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1)):
                    raise ValueError(f"{path!r} is not a model file lstmkit wrote: {info.filename} would inflate "
                                     f"{info.compress_size:,} bytes to {info.file_size:,} (a zip bomb?)")
            return {info.filename: zf.read(info) for info in members}
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise ValueError(f"{path!r} is a corrupt model file: {e}") from None


def load_model(filepath: Any, custom_objects: dict[str, Any] | None = None, compile: bool = True,
               safe_mode: bool = True) -> Any:
    """Rebuild a model saved by ``model.save``: architecture, weights and (with ``compile=True``)
    the compile arguments and optimizer state. ``custom_objects`` maps the class/function names of
    your own layers, losses or metrics to them. ``safe_mode`` is accepted for Keras compatibility
    (loading never runs code from the file anyway)."""
    from lstmkit.keras.engine.registry import custom_object_scope, deserialize, register

    path = os.fspath(filepath)
    files = _read_zip(path)
    for name, obj in (custom_objects or {}).items():
        if isinstance(obj, type):
            for kind in ("layer", "loss", "metric"):
                register(kind, name)(obj)
    from lstmkit.keras.models.keras3_io import is_keras_archive, load_keras_archive

    if is_keras_archive(files):
        with custom_object_scope(custom_objects):
            return load_keras_archive(path, files, custom_objects, compile, _restore_compile)
    if "config.json" not in files or "model.safetensors" not in files:
        raise ValueError(f"{path!r} is not a lstmkit.keras model file (config.json or model.safetensors missing)")
    try:
        config = json.loads(files["config.json"])
    except ValueError as e:
        raise ValueError(f"{path!r} has a corrupt config.json: {e}") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ValueError(f"{path!r} is not a lstmkit.keras model file (unknown format "
                         f"{config.get('format') if isinstance(config, dict) else None!r})")
    if int(config.get("format_version", 0)) > FORMAT_VERSION:
        raise ValueError(f"{path!r} was written by a newer lstmkit (format {config['format_version']}); upgrade")
    with custom_object_scope(custom_objects):  # functions (a Lambda's) are found by name there, never imported
        model = deserialize("layer", config["model"])
    if not _is_model(model):
        raise ValueError(f"{path!r} does not hold a model but a {type(model).__name__}")
    tensors, meta = _load_tensors(files["model.safetensors"], f"{path!r} (model.safetensors)")
    assign_weights(model, tensors, meta, repr(path))
    compile_config = config.get("compile_config")
    if compile and compile_config:
        _restore_compile(model, compile_config, files, path, custom_objects)
    return model


def _restore_compile(model: Any, cc: dict[str, Any], files: dict[str, bytes], path: str,
                     custom_objects: dict[str, Any] | None) -> None:
    from lstmkit.keras import optimizers

    try:
        optimizer = optimizers.deserialize(cc["optimizer"]["__object__"])
        loss = decode(cc.get("loss"), "loss", custom_objects=custom_objects)
        metrics = decode(cc.get("metrics"), "metric", custom_objects=custom_objects)
        weighted = decode(cc.get("weighted_metrics"), "metric", custom_objects=custom_objects)
    except (ValueError, KeyError, TypeError) as e:
        warnings.warn(f"{path!r}: the model is returned uncompiled because its compile arguments cannot be "
                      f"restored: {e}", stacklevel=3)
        return
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics, loss_weights=cc.get("loss_weights"),
                  weighted_metrics=weighted)
    if "optimizer.json" in files and "optimizer.safetensors" in files:
        tensors, _ = _load_tensors(files["optimizer.safetensors"], f"{path!r} (optimizer.safetensors)")
        try:
            state = decode(json.loads(files["optimizer.json"]), tensors=tensors)
        except ValueError as e:
            raise ValueError(f"{path!r} has a corrupt optimizer state: {e}") from None
        optimizer.load_state_dict(state)
        if model.built:
            model._build_optimizer()


class SavingMixin:
    """``save``, ``save_weights``, ``load_weights``, ``to_json`` and ``summary`` for models."""

    def save(self, filepath: Any, overwrite: bool = True, include_optimizer: bool = True, **kwargs: Any) -> None:
        """Save the whole model (see lstmkit.keras.models.saving) to one file, e.g. ``model.keras``."""
        save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer, **kwargs)

    def save_weights(self, filepath: Any, overwrite: bool = True, **kwargs: Any) -> None:
        """Save the weights only: Keras 3's HDF5 layout for a ``.h5`` name (``x.weights.h5``),
        else one safetensors file."""
        if kwargs.pop("save_format", None) not in (None, "h5", "keras", "safetensors"):
            warnings.warn("save_format is ignored: weights are stored as safetensors", stacklevel=2)
        if kwargs:
            raise TypeError(f"save_weights() got unexpected keyword argument(s): {sorted(kwargs)}")
        if not self.built:
            raise ValueError(f"model {self.name!r} is not built yet, so it has no weights to save")
        if not overwrite and os.path.exists(os.fspath(filepath)):
            raise FileExistsError(f"{os.fspath(filepath)!r} exists and overwrite=False")
        if os.fspath(filepath).endswith(".h5"):
            from lstmkit.keras.models.keras3_format import h5_bytes

            atomic_write(filepath, h5_bytes(self))
        else:
            atomic_write(filepath, weights_bytes(self))

    def load_weights(self, filepath: Any, skip_mismatch: bool = False, **kwargs: Any) -> None:
        """Load weights saved by ``save_weights`` (HDF5 or safetensors, by Keras 3 or lstmkit) or
        from a whole-model ``.keras`` file."""
        from lstmkit.keras.models.keras3_format import is_hdf5, load_h5

        path = os.fspath(filepath)
        if not os.path.exists(path):
            raise FileNotFoundError(f"no such file: {path!r}")
        if zipfile.is_zipfile(path):
            files = _read_zip(path)
            if "model.weights.h5" in files:
                return load_h5(self, files["model.weights.h5"], f"{path!r} (model.weights.h5)", skip_mismatch)
            if "model.safetensors" not in files:
                raise ValueError(f"{path!r} is a zip file but not a lstmkit.keras model (no model.safetensors)")
            data = files["model.safetensors"]
        else:
            with open(path, "rb") as f:
                data = f.read()
            if is_hdf5(data):
                return load_h5(self, data, repr(path), skip_mismatch)
        tensors, meta = _load_tensors(data, repr(path))
        if meta.get("format") != WEIGHTS_FORMAT:
            raise ValueError(f"{path!r} is not a lstmkit.keras weights file (format {meta.get('format')!r})")
        assign_weights(self, tensors, meta, repr(path), skip_mismatch=skip_mismatch)

    def to_json(self, **kwargs: Any) -> str:
        """The architecture as a JSON string (``model_from_json`` rebuilds it, without weights)."""
        from lstmkit.keras.engine.registry import serialize

        return json.dumps({"format": FORMAT, "model": serialize(self)}, **kwargs)

    def summary(self, line_length: int | None = None, positions: Any = None, print_fn: Any = None,
                expand_nested: bool = False, show_trainable: bool = False, **kwargs: Any) -> None:
        """Print the table of layers, output shapes and parameter counts."""
        from lstmkit.keras.models.summary import print_summary

        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable)


def model_from_json(json_string: str, custom_objects: dict[str, Any] | None = None) -> Any:
    """Rebuild a model (new weights) from ``model.to_json()``."""
    from lstmkit.keras.engine.registry import custom_object_scope, deserialize, register

    try:
        data = json.loads(json_string)
    except ValueError as e:
        raise ValueError(f"model_from_json: not valid JSON ({e})") from None
    for name, obj in (custom_objects or {}).items():
        if isinstance(obj, type):
            register("layer", name)(obj)
    with custom_object_scope(custom_objects):
        return deserialize("layer", data.get("model", data) if isinstance(data, dict) else data)
