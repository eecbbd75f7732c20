"""Gate saturation statistics and their scatter plot (Karpathy et al. 2015, Sec. 4.2, Fig. 3).

Why: a gate unit that is almost always below 0.1 (left-saturated) or above 0.9 (right-saturated)
acts as a switch rather than a soft multiplier. The paper's Fig. 3 places every gate unit of every
layer at (fraction of time left-saturated, fraction of time right-saturated): forget-gate units on
the right edge are "integrators" that remember for long spans, units near the origin are never
saturated, and no unit can lie beyond the diagonal x + y = 1. Comparing the layers shows how the
first layer's gates stay diffuse while deeper layers switch.

Only the sigmoid gates are analysed (LSTM ``i``, ``f``, ``o``; GRU ``r``, ``z``): the candidates
``g`` / ``n`` are tanh values in [-1, 1], for which "below 0.1" means nothing. Padded steps (the
trace's ``mask`` is False there) are excluded from every fraction.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lstmkit.viz._common import pyplot, save_png

if TYPE_CHECKING:
    from lstmkit.viz.trace import LayerTrace

#: the sigmoid gates of each family, in the order the panels are drawn
GATES: dict[str, tuple[str, ...]] = {"lstm": ("i", "f", "o"), "gru": ("r", "z")}

#: panel titles
GATE_NAMES: dict[str, str] = {"i": "input gate", "f": "forget gate", "o": "output gate",
                              "r": "reset gate", "z": "update gate"}


def gate_saturation(traces: Sequence[LayerTrace], *, low: float = 0.1, high: float = 0.9) -> list[dict[str, Any]]:
    """Per trace and sigmoid gate, the fraction of real steps each unit spends below ``low`` / above ``high``.

    A fraction counts the (batch, time) positions where the trace's ``mask`` is True (every
    position when a trace has no mask); the comparison is strict (``value < low``, ``value > high``).
    Returns one dict per trace, in the input order::

        {"name", "variant", "family", "layer", "direction", "low", "high",
         "gates": {gate: {"left": float64 array (units,), "right": float64 array (units,)}}}

    where ``gates`` holds only the sigmoid gates the trace has (LSTM ``i``, ``f``, ``o``; GRU ``r``, ``z``).
    Raises ValueError for thresholds outside ``0 < low < high < 1``, a trace of an unknown family,
    a mask of the wrong shape, a trace with no real step, or a non-finite gate value at a real step.
    """
    if not (isinstance(low, (int, float)) and isinstance(high, (int, float))) or isinstance(low, bool) \
            or isinstance(high, bool):
        raise ValueError(f"low and high must be numbers, got low={low!r}, high={high!r}")
    if not (0.0 < low < high < 1.0):
        raise ValueError(f"low and high must satisfy 0 < low < high < 1, got low={low!r}, high={high!r}")
    if isinstance(traces, Mapping):  # a single LayerTrace (a dict) would otherwise iterate over its keys
        traces = [traces]
    traces = list(traces)
    if not traces:
        raise ValueError("traces must hold at least one LayerTrace, got an empty sequence")
    return [_one_trace(k, trace, float(low), float(high)) for k, trace in enumerate(traces)]


def _one_trace(k: int, trace: Any, low: float, high: float) -> dict[str, Any]:
    """The saturation dict of trace number ``k`` (validated here, so messages can name it)."""
    family = getattr(trace, "family", None)
    if family not in GATES:
        raise ValueError(f"traces[{k}].family must be one of {sorted(GATES)}, got {family!r}")
    present = [gate for gate in GATES[family] if gate in trace]
    mask = getattr(trace, "mask", None)
    gates: dict[str, dict[str, np.ndarray]] = {}
    for gate in present:
        values = np.asarray(trace[gate], dtype=np.float64)
        if values.ndim != 3:
            raise ValueError(f"traces[{k}][{gate!r}] must have shape (batch, time, units), got shape {values.shape}")
        real = _real_steps(k, mask, values.shape[:2])
        n_real = int(real.sum())
        if n_real == 0:
            raise ValueError(f"traces[{k}] ({getattr(trace, 'name', '?')}) has no real step: its mask is all False")
        picked = values[real]  # (n_real, units)
        if not np.all(np.isfinite(picked)):
            raise ValueError(f"traces[{k}][{gate!r}] must be finite where the mask is True, got NaN or inf")
        gates[gate] = {"left": (picked < low).sum(axis=0) / n_real,
                       "right": (picked > high).sum(axis=0) / n_real}
    return {"name": getattr(trace, "name", f"trace{k}"), "variant": getattr(trace, "variant", ""),
            "family": family, "layer": int(getattr(trace, "layer", k)),
            "direction": getattr(trace, "direction", "forward"), "low": low, "high": high, "gates": gates}


def _real_steps(k: int, mask: Any, shape: tuple[int, int]) -> np.ndarray:
    """The boolean (batch, time) array of steps that ran; all True when the trace has no mask."""
    if mask is None:
        return np.ones(shape, dtype=bool)
    mask = np.asarray(mask)
    if mask.shape != shape:
        raise ValueError(f"traces[{k}].mask must have shape (batch, time) = {shape}, got {mask.shape}")
    if mask.dtype != bool:
        raise ValueError(f"traces[{k}].mask must be a boolean array, got dtype {mask.dtype}")
    return mask


def plot_saturation(path: str | os.PathLike, saturation: Sequence[Mapping[str, Any]], *,
                    title: str | None = None) -> Path:
    """Write the paper's Fig. 3 for ``saturation`` (the output of :func:`gate_saturation`) as a PNG.

    One panel per gate present (input, forget, output; reset, update); each unit is a dot at
    (fraction left-saturated, fraction right-saturated), one colour per layer (backward directions
    of a bidirectional model drawn with triangles), with the unreachable region beyond the dashed
    diagonal x + y = 1 marked. Returns ``path``; the file is written atomically.
    """
    entries = list(saturation)
    if not entries:
        raise ValueError("saturation must hold at least one entry (the output of gate_saturation), got none")
    order = GATES["lstm"] + GATES["gru"]
    panels = [gate for gate in order if any(gate in entry.get("gates", {}) for entry in entries)]
    if not panels:
        raise ValueError("saturation has no sigmoid gate (i, f, o, r or z) to plot")

    plt = pyplot()

    layers = sorted({int(entry["layer"]) for entry in entries})
    cmap = plt.get_cmap("viridis" if len(layers) > 10 else "tab10")
    colors = {layer: cmap(i / max(len(layers) - 1, 1) if len(layers) > 10 else i) for i, layer in enumerate(layers)}
    low, high = entries[0].get("low", "low"), entries[0].get("high", "high")  # absent in hand-made entries
    several_models = len({_model(entry) for entry in entries}) > 1  # then labels say which model

    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels) + 0.4, 4.1), dpi=100, squeeze=False)
    for ax, gate in zip(axes[0], panels):
        ax.fill_between([0, 1], [1, 0], [1, 1], color="0.93", zorder=0)
        ax.plot([0, 1], [1, 0], ls="--", color="0.4", lw=1.0, zorder=1)
        for entry in entries:
            stats = entry.get("gates", {}).get(gate)
            if stats is None:
                continue
            backward = entry.get("direction") == "backward"
            label = f"layer {entry['layer']}" + (" (backward)" if backward else "")
            if several_models:
                label = f"{_model(entry)}, {label}"
            ax.scatter(stats["left"], stats["right"], s=14, alpha=0.6, color=colors[int(entry["layer"])],
                       marker="^" if backward else "o", edgecolors="none", label=label, zorder=2)
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.set_aspect("equal")
        ax.set_xlabel(f"fraction left-saturated (< {low})")
        ax.set_title(GATE_NAMES[gate])
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"fraction right-saturated (> {high})")
    handles, labels = axes[0][0].get_legend_handles_labels()
    for ax in axes[0][1:]:  # a gate missing from the first panel's traces still gets its legend entry
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    legend = axes[0][-1].legend(handles, labels, fontsize=8, loc="upper right", markerscale=1.5)
    for handle in legend.legend_handles:
        handle.set_alpha(1.0)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save_png(fig, path)


def _model(entry: Mapping[str, Any]) -> str:
    """The model an entry belongs to, for legends: its variant, else its family."""
    return str(entry.get("variant") or entry.get("family", "?"))


__all__ = ["GATES", "GATE_NAMES", "gate_saturation", "plot_saturation"]
