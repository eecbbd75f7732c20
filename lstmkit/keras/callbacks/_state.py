"""The whole training state of a model as ONE safetensors file, for ``BackupAndRestore``.

One file, because the state is several parts (weights, optimizer moments and step count, the
epoch reached, the random generators) and a kill between the writes of two files would leave
parts of two different moments on disk; a single file written atomically (lstmkit/io.py:
temporary file, fsync, rename) is always all old or all new.

Tensors (the weights in Keras' order as ``get_weights()`` gives them, the optimizer's tensors,
torch's CPU/CUDA generator states, NumPy's MT19937 key) are safetensors tensors; everything
else (epoch, batch, the optimizer's nested state, NumPy's and Python's generator positions) is
JSON in the safetensors metadata. Nothing is unpickled when it is read back.

It uses only the model's public API (``get_weights``/``set_weights``, ``optimizer.state_dict``/
``load_state_dict``), so the callbacks package does not import lstmkit.keras.models (which imports
the callbacks).
"""

from __future__ import annotations

import json
import random
from typing import Any

import numpy as np
import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

FORMAT = "lstmkit.keras.backup"
FORMAT_VERSION = 1


def _encode(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """JSON form of an optimizer state: tensors moved to ``tensors``, tuples and non-string keys tagged."""
    if obj is None or isinstance(obj, (str, bool, int, float)):
        return obj
    if isinstance(obj, torch.Tensor):
        key = f"optimizer/{len(tensors)}"
        tensors[key] = obj.detach().cpu().contiguous().clone()
        return {"__tensor__": key}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, tensors) for v in obj]}
    if isinstance(obj, list):
        return [_encode(v, tensors) for v in obj]
    if isinstance(obj, dict):
        return {"__items__": [[_encode(k, tensors), _encode(v, tensors)] for k, v in obj.items()]}
    raise TypeError(f"BackupAndRestore cannot store an optimizer state value of type {type(obj).__name__}")


def _decode(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, list):
        return [_decode(v, tensors) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__tensor__" in obj:
        if obj["__tensor__"] not in tensors:
            raise ValueError(f"missing tensor {obj['__tensor__']!r}")
        return tensors[obj["__tensor__"]]
    if "__tuple__" in obj:
        return tuple(_decode(v, tensors) for v in obj["__tuple__"])
    if "__items__" in obj:
        return {_decode(k, tensors): _decode(v, tensors) for k, v in obj["__items__"]}
    raise ValueError(f"unknown entry {sorted(obj)}")


def state_bytes(model: Any, epoch: int, batch: int) -> bytes:
    """The training state of ``model`` (plus the epoch and batch reached) as safetensors bytes."""
    tensors: dict[str, torch.Tensor] = {}
    weights = model.get_weights()
    for k, w in enumerate(weights):
        tensors[f"weights/{k}"] = torch.from_numpy(np.array(w, order="C", copy=True))  # 0-d stays 0-d
    optimizer = getattr(model, "optimizer", None)
    opt_state = None
    if optimizer is not None and getattr(optimizer, "built", False):
        opt_state = _encode(optimizer.state_dict(), tensors)
    tensors["rng/torch"] = torch.get_rng_state()
    cuda_states = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else []
    for k, s in enumerate(cuda_states):
        tensors[f"rng/cuda/{k}"] = s.cpu()
    name, key, pos, has_gauss, cached = np.random.get_state()
    tensors["rng/numpy"] = torch.from_numpy(np.asarray(key, dtype=np.int64))
    version, py_state, gauss_next = random.getstate()
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "epoch": int(epoch), "batch": int(batch),
            "n_weights": len(weights), "optimizer": opt_state, "n_cuda": len(cuda_states),
            "numpy": [name, int(pos), int(has_gauss), float(cached)], "python": [version, list(py_state), gauss_next]}
    return st_save(tensors, metadata={"format": FORMAT, "state": json.dumps(meta)})


def read_state(data: bytes, what: str) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Parse state bytes; a file that is not a complete backup is a ValueError naming ``what``."""
    try:
        tensors = st_load(data)
        (size,) = np.frombuffer(data[:8], dtype="<u8")
        header = json.loads(data[8:8 + int(size)])
        meta = json.loads(header["__metadata__"]["state"])
    except Exception as e:  # safetensors and json raise their own error types on corrupt data
        raise ValueError(f"{what} is not a readable backup ({type(e).__name__}: {e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{what} is not a lstmkit.keras backup")
    if int(meta.get("format_version", 0)) > FORMAT_VERSION:
        raise ValueError(f"{what} was written by a newer lstmkit (backup format {meta['format_version']})")
    return meta, tensors


def restore_state(model: Any, meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
    """Put weights, optimizer state and random generators back as ``state_bytes`` saw them."""
    weights = [tensors[f"weights/{k}"].numpy() for k in range(int(meta["n_weights"]))]
    model.set_weights(weights)  # checks count and shapes against the model
    optimizer = getattr(model, "optimizer", None)
    if meta.get("optimizer") is not None and optimizer is not None:
        if not optimizer.built and hasattr(model, "_build_optimizer"):
            model._build_optimizer()
        optimizer.load_state_dict(_decode(meta["optimizer"], tensors))
        if hasattr(model, "_sync_optimizer_device"):
            model._sync_optimizer_device()
    torch.set_rng_state(tensors["rng/torch"])
    n_cuda = int(meta.get("n_cuda", 0))
    if n_cuda and torch.cuda.is_available() and torch.cuda.device_count() == n_cuda:
        torch.cuda.set_rng_state_all([tensors[f"rng/cuda/{k}"] for k in range(n_cuda)])
    name, pos, has_gauss, cached = meta["numpy"]
    np.random.set_state((name, tensors["rng/numpy"].numpy().astype(np.uint32), pos, has_gauss, cached))
    version, py_state, gauss_next = meta["python"]
    random.setstate((version, tuple(py_state), gauss_next))
