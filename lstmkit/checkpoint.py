"""Application checkpoints: one folder per trained model, written atomically, loaded without
unpickling anything.

A checkpoint folder holds ``app.json`` (format version, which app wrote it, the app's config and
preprocessing state: scaler, vocabulary, ...), the model (``model.keras`` for an lstmkit.keras
model, or ``model.safetensors`` for a torch module's state_dict) and optionally
``arrays.safetensors`` (extra arrays of preprocessing state). Each file is written to a temporary
file in the same folder, fsynced, then renamed, so a crash never leaves a half-written file.

At the package root because it is shared by every app (``lstmkit.apps.*``) and by their tests; it
sits on the keras floor (it loads ``lstmkit.keras`` models), see docs/architecture.md.

Why a manifest: the folder is several files, and a kill between two renames (while overwriting an
older checkpoint) would leave the old ``app.json`` beside the new model. ``app.json`` is written
last and lists the SHA-256 of every file it belongs with; loading verifies them, so a torn folder
is refused with a message instead of loading a model with another model's preprocessing state.
Only the known file names are ever opened: a ``model_file`` such as ``../elsewhere`` is refused.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from lstmkit.errors import AppError
from lstmkit.io import atomic_write_bytes, atomic_write_json

FORMAT = 1
APP_FILE = "app.json"
MODEL_FILES = ("model.keras", "model.safetensors")
ARRAYS_FILE = "arrays.safetensors"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_checkpoint(out_dir: str | Path, app: str, state: dict[str, Any], *, keras_model: Any = None,
                    module: Any = None, arrays: dict[str, np.ndarray] | None = None) -> Path:
    """Write a checkpoint folder for ``app`` ("forecast", "sentiment", "textgen").

    Give exactly one of ``keras_model`` (an lstmkit.keras Model, saved with ``model.save``) or
    ``module`` (a torch module; its state_dict goes to ``model.safetensors``). ``state`` must be
    JSON-serialisable; ``arrays`` holds any NumPy arrays of state. Returns the folder.
    """
    from lstmkit import __version__

    if (keras_model is None) == (module is None):
        raise ValueError("save_checkpoint needs exactly one of keras_model= or module=")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model_file = MODEL_FILES[0] if keras_model is not None else MODEL_FILES[1]
    if keras_model is not None:
        keras_model.save(out / model_file)
    else:
        from safetensors.torch import save

        tensors = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
        atomic_write_bytes(out / "model.safetensors", save(tensors), create_dirs=True)
    if arrays:
        from safetensors.numpy import save as save_np

        atomic_write_bytes(out / ARRAYS_FILE, save_np({k: np.ascontiguousarray(v) for k, v in arrays.items()}),
                           create_dirs=True)
    files = [model_file] + ([ARRAYS_FILE] if arrays else [])
    meta = {"format": FORMAT, "app": app, "lstmkit_version": __version__, "model_file": model_file,
            "sha256": {name: _sha256(out / name) for name in files}, "state": state}
    atomic_write_json(out / APP_FILE, meta, create_dirs=True)  # written last: its presence marks a complete checkpoint
    return out


def load_checkpoint(path: str | Path, app: str) -> tuple[dict[str, Any], Any, dict[str, np.ndarray]]:
    """Read a checkpoint folder written by ``save_checkpoint`` for ``app``.

    Returns ``(state, model, arrays)`` where ``model`` is the loaded lstmkit.keras model, or the
    torch state_dict (a dict of tensors) for ``model.safetensors`` checkpoints. Raises AppError
    for a missing folder, a file that is not an lstmkit checkpoint, or another app's checkpoint.
    """
    folder = Path(path)
    if folder.is_file() and folder.name == APP_FILE:
        folder = folder.parent
    meta_path = folder / APP_FILE
    if not meta_path.is_file():
        raise AppError(f"no checkpoint at {path}: expected a folder with {APP_FILE}, written by `lstmkit {app} train`")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AppError(f"{meta_path} is not a valid lstmkit checkpoint file ({exc})") from None
    if not isinstance(meta, dict) or "app" not in meta or "state" not in meta:
        raise AppError(f"{meta_path} is not an lstmkit checkpoint (no 'app'/'state' entries)")
    if meta["app"] != app:
        raise AppError(f"{folder} is a {meta['app']!r} checkpoint, not a {app!r} one: "
                       f"use `lstmkit {meta['app']} ...` with it, or train a {app} model first")
    if meta.get("format") != FORMAT:
        raise AppError(f"{folder} has checkpoint format {meta.get('format')!r}; this lstmkit reads format {FORMAT}")
    model_file = meta.get("model_file")
    if model_file not in MODEL_FILES:
        raise AppError(f"{meta_path} names the model file {model_file!r}; expected one of {', '.join(MODEL_FILES)} "
                       "inside the checkpoint folder")
    model_path = folder / model_file
    if not model_path.is_file():
        raise AppError(f"checkpoint {folder} is incomplete: {model_path.name} is missing")
    sums = meta.get("sha256")  # absent in checkpoints written before the manifest
    if sums is not None:
        if not isinstance(sums, dict) or model_file not in sums or set(sums) - {model_file, ARRAYS_FILE}:
            raise AppError(f"{meta_path} has a damaged file list: {sums!r}")
        for name, expected in sums.items():
            if not (folder / name).is_file() or _sha256(folder / name) != expected:
                raise AppError(f"checkpoint {folder} is torn: {name} does not match {APP_FILE} (a save was "
                               "interrupted, or the files come from different runs); retrain or restore the folder")
    from safetensors import SafetensorError

    try:
        if model_path.suffix == ".keras":
            from lstmkit.keras.models import load_model

            model = load_model(model_path)
        else:
            from safetensors.torch import load

            model = load(model_path.read_bytes())
    except (ValueError, OSError, KeyError, SafetensorError) as exc:  # SafetensorError is not a ValueError
        raise AppError(f"{model_path} could not be read: {exc}") from None
    arrays: dict[str, np.ndarray] = {}
    has_arrays = ARRAYS_FILE in sums if sums is not None else (folder / ARRAYS_FILE).is_file()
    if has_arrays:
        from safetensors.numpy import load as load_np

        arrays = load_np((folder / ARRAYS_FILE).read_bytes())
    return meta["state"], model, arrays
