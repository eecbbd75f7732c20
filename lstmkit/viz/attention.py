"""Attention heat maps: which time steps an ``Attention`` layer looked at (slide 11 of the deck,
``Attention()([lstm_output, lstm_output])`` on top of an LSTM).

Why capture instead of asking the user to rebuild the model with ``return_attention_scores=True``:
the weights only exist inside the layer's call, and a rebuilt graph would be a second model that
can drift from the trained one. ``attention_scores`` runs the trained model itself (through
``predict``, so batching, devices and inference mode are the model's own) with each Attention
layer's ``call`` temporarily wrapped to also keep its weights. The model returns exactly what it
would have; the wrapper, training flags, stateful RNN states and torch's RNG are put back in a
``finally``.

    items = attention_scores(model, x)            # [{"name": "attention", "call": 0, "scores": (B, Tq, Tv)}]
    plot_attention("/tmp/att.png", items[0]["scores"][0], key_labels=tokens)
    write_attention_page("/tmp/att.html", items)  # pick example and layer, hover for weights
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lstmkit.viz._attention_page import write_attention_page
from lstmkit.viz._common import ModelSnapshot, pyplot, save_png

__all__ = ["attention_scores", "plot_attention", "write_attention_page"]

#: Above this many labels on an axis only every k-th one is shown, so they stay readable.
_MAX_TICKS = 40
#: Up to this many cells per axis each cell also shows its weight as text.
_MAX_ANNOTATED = 12


# --------------------------------------------------------------------------- capture
def attention_scores(model: Any, x: Any, *, layer: str | None = None,
                     batch_size: int | None = None) -> list[dict[str, Any]]:
    """The attention weights of every ``Attention``/``AdditiveAttention`` layer of ``model`` on ``x``.

    Args:
        model: a built ``lstmkit.keras`` model (functional, Sequential or subclassed; nested
            models are searched too).
        x: the model's input, anything ``model.predict`` takes.
        layer: only this Attention layer (by name).
        batch_size: the ``predict`` batch size (default: predict's, 32).

    Returns:
        One dict per call of an Attention layer, in the order the calls ran:
        ``{"name": layer name, "call": 0 for the first call of that layer in a forward pass
        (1, 2 ... when a shared layer is called again), "scores": float ndarray (batch, Tq, Tv)}``.
        Each row ``scores[b, i]`` sums to 1; masked (padded) keys get ~0 weight, as in the layer.
    """
    from lstmkit.keras.layers.attention.attention import Attention
    from lstmkit.keras.models.model import Model

    if not isinstance(model, Model):
        raise TypeError(f"model must be an lstmkit.keras model (Model or Sequential), got {type(model).__name__}")
    if not model.built:
        raise ValueError(f"model {model.name!r} is not built: call it on data, build() it or start it with an Input "
                         "before asking for its attention scores")
    found = [m for m in model.modules() if isinstance(m, Attention)]
    if not found:
        names = [m.name for m in model.modules() if m is not model and isinstance(getattr(m, "name", None), str)]
        raise ValueError(f"model {model.name!r} has no Attention layer to read scores from; its layers are {names}")
    if layer is not None:
        chosen = [m for m in found if m.name == layer]
        if not chosen:
            raise ValueError(f"layer must name an Attention layer of model {model.name!r}, one of "
                             f"{[m.name for m in found]}; got {layer!r}")
        found = chosen
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int)
                                   or batch_size < 1):
        raise ValueError(f"batch_size must be a positive int or None, got {batch_size!r}")
    return _capture(model, found, x, batch_size)


def _capture(model: Any, layers: list[Any], x: Any, batch_size: int | None) -> list[dict[str, Any]]:
    """Run ``model.predict`` once with each layer's call wrapped; group the weights by call."""
    from lstmkit.keras.callbacks.base import Callback

    state = {"active": False, "batch": -1}
    # per batch: the (layer, weights) pairs in the order the layers ran
    batches: list[list[tuple[Any, np.ndarray]]] = []

    class _Batches(Callback):
        def on_predict_begin(self, logs: dict[str, Any] | None = None) -> None:
            state["active"] = True

        def on_predict_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
            batches.append([])

        def on_predict_end(self, logs: dict[str, Any] | None = None) -> None:
            state["active"] = False

    def wrap(target: Any) -> Any:
        original = target.call

        @functools.wraps(original)  # keeps the signature that Layer.__call__ inspects
        def call(inputs: Any, *args: Any, **kwargs: Any) -> Any:
            wanted = bool(kwargs.get("return_attention_scores", False))
            kwargs["return_attention_scores"] = True
            output, weights = original(inputs, *args, **kwargs)
            # compute_mask reads this flag: the output mask must be what the model's own call gives
            target._returned_scores = wanted
            if state["active"] and batches:
                batches[-1].append((target, weights.detach().float().cpu().numpy()))
            return (output, weights) if wanted else output

        return call

    snapshot = ModelSnapshot(model)
    patched: list[tuple[Any, Any]] = []  # (layer, the instance-level call it had before, if any)
    try:
        for target in layers:
            target._call_params()  # cache the real call's parameters before the wrapper is seen
            patched.append((target, target.__dict__.get("call")))
            target.call = wrap(target)
        model.predict(x, batch_size=batch_size, verbose=0, callbacks=[_Batches()])
    finally:
        for target, before in reversed(patched):
            if before is None:
                del target.call  # the instance attribute only: the class's call shows through again
            else:
                target.call = before
        snapshot.restore()
    return _group(batches)


def _group(batches: list[list[tuple[Any, np.ndarray]]]) -> list[dict[str, Any]]:
    """Concatenate over batches the k-th call of each layer (calls keep their first-batch order)."""
    order: list[tuple[Any, int]] = []
    parts: dict[tuple[int, int], list[np.ndarray]] = {}
    for calls in batches:
        seen: dict[int, int] = {}
        for target, weights in calls:
            k = seen.get(id(target), 0)
            seen[id(target)] = k + 1
            key = (id(target), k)
            if key not in parts:
                parts[key] = []
                order.append((target, k))
            parts[key].append(weights)
    return [{"name": target.name, "call": k, "scores": np.concatenate(parts[(id(target), k)], axis=0)}
            for target, k in order]


# --------------------------------------------------------------------------- static heat map
def _check_matrix(scores: Any) -> np.ndarray:
    arr = np.asarray(scores, dtype=np.float64)
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(f"scores must be one non-empty (Tq, Tv) matrix (e.g. items[0]['scores'][example]), got "
                         f"shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("scores must be finite, got NaN or infinite weights")
    return arr


def _check_labels(labels: Sequence[Any] | None, n: int, what: str) -> list[str] | None:
    if labels is None:
        return None
    if isinstance(labels, str):
        raise ValueError(f"{what} must be a sequence of {n} labels, got the single string {labels!r}")
    out = [str(v) for v in labels]
    if len(out) != n:
        raise ValueError(f"{what} must have one label per step: expected {n}, got {len(out)}")
    return out


def _ticks(ax: Any, axis: str, labels: list[str] | None, n: int) -> None:
    step = max(1, -(-n // _MAX_TICKS))
    positions = list(range(0, n, step))
    names = labels if labels is not None else [str(i) for i in range(n)]
    if axis == "x":
        ax.set_xticks(positions)
        long = max(len(names[i]) for i in positions) > 2
        ax.set_xticklabels([names[i] for i in positions], rotation=60 if long else 0, ha="right" if long else "center",
                           rotation_mode="anchor")
    else:
        ax.set_yticks(positions)
        ax.set_yticklabels([names[i] for i in positions])


def plot_attention(path: str | os.PathLike, scores: Any, *, query_labels: Sequence[Any] | None = None,
                   key_labels: Sequence[Any] | None = None, title: str | None = None) -> Path:
    """Save one attention matrix as a heat-map PNG: queries down, keys across, with a colour bar.

    Args:
        path: the PNG file (written atomically).
        scores: a ``(Tq, Tv)`` matrix, e.g. ``attention_scores(model, x)[0]["scores"][0]``.
        query_labels, key_labels: one label per query / key step (tokens, times); default the
            step indices.
        title: the figure title.

    The colour scale runs from 0 to the largest weight, not to 1: over long sequences the weights
    are small and a fixed 0..1 scale would show a uniform dark square.
    """
    plt = pyplot()

    arr = _check_matrix(scores)
    tq, tv = arr.shape
    q_labels = _check_labels(query_labels, tq, "query_labels")
    k_labels = _check_labels(key_labels, tv, "key_labels")
    vmax = float(arr.max()) if arr.max() > 0 else 1.0
    width = min(12.0, max(4.5, 1.6 + 0.38 * tv))
    height = min(10.0, max(3.5, 1.4 + 0.34 * tq))
    fig, ax = plt.subplots(figsize=(width, height))
    try:
        image = ax.imshow(arr, cmap="viridis", vmin=0.0, vmax=vmax, aspect="auto", interpolation="nearest")
        _ticks(ax, "x", k_labels, tv)
        _ticks(ax, "y", q_labels, tq)
        ax.set_xlabel("key step (attended to)")
        ax.set_ylabel("query step")
        if tq <= _MAX_ANNOTATED and tv <= _MAX_ANNOTATED:
            for i in range(tq):
                for j in range(tv):
                    value = arr[i, j]
                    ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8,
                            color="black" if value > 0.6 * vmax else "white")
        fig.colorbar(image, ax=ax, label="attention weight", fraction=0.046, pad=0.04)
        if title:
            ax.set_title(title)
        fig.tight_layout()
        return save_png(fig, path, dpi=110)
    finally:
        plt.close(fig)
