"""Training curves: read a training history from wherever it was kept, plot train vs validation.

Why several sources: a history is on hand as the ``History`` that ``model.fit`` returns only in
the process that trained; later it survives as a ``CSVLogger`` file or as ``json.dump`` of
``history.history``. ``load_history`` turns each into the same ``{metric: [value per epoch]}``
so one plot function serves them all, and checks the file so that a truncated log is reported
as such instead of turning into a silently wrong curve.

    history = model.fit(x, y, validation_data=(xv, yv), epochs=20)
    plot_history("/tmp/curves.png", history)            # or "log.csv", "history.json", a dict
"""

from __future__ import annotations

import csv
import io
import json
import math
import numbers
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lstmkit.viz._common import pyplot, save_png

__all__ = ["load_history", "plot_history"]

#: What CSVLogger writes for a metric missing at an epoch (validation columns before validation logs).
_MISSING = ("NA", "")
_SEPARATORS = (",", ";", "\t", "|")


# --------------------------------------------------------------------------- loading
def load_history(source: Any) -> dict[str, list[float]]:
    """The per-epoch metrics of a training run, ``{"loss": [...], "val_loss": [...], ...}``.

    Args:
        source: a ``History`` (what ``model.fit`` returns; anything with a ``.history`` dict), a
            dict of per-epoch lists, or the path of a ``CSVLogger`` CSV file (any separator; the
            ``epoch`` column is dropped) or of a JSON file holding such a dict (or
            ``{"history": {...}}``).

    Missing values (CSVLogger's "NA", JSON null, None) become NaN, so epochs stay aligned; a CSV
    column that is "NA" throughout (CSVLogger's placeholder ``val_`` columns when there was no
    validation) is dropped.
    """
    if isinstance(source, (str, os.PathLike)):
        return _from_file(Path(source))
    if isinstance(source, Mapping):
        return _from_mapping(source, "history")
    history = getattr(source, "history", None)
    if isinstance(history, Mapping):
        return _from_mapping(history, f"{type(source).__name__}.history")
    raise TypeError(f"source must be a History, a dict of per-epoch lists or a CSV/JSON file path, got "
                    f"{type(source).__name__}")


def _number(value: Any, where: str) -> float:
    if value is None:
        return math.nan
    if isinstance(value, (bool, np.bool_)) or isinstance(value, (str, bytes)):
        raise ValueError(f"{where} must be a number, got {value!r}")
    if isinstance(value, numbers.Real):
        return float(value)
    try:
        arr = np.asarray(value.detach().cpu() if hasattr(value, "detach") else value)
    except Exception:  # noqa: BLE001 - any unconvertible object is reported the same way
        arr = None
    if arr is not None and arr.size == 1 and arr.dtype.kind in "fiu":
        return float(arr.reshape(()))
    raise ValueError(f"{where} must be a number (one value per epoch), got {type(value).__name__}: {value!r}"[:300])


def _from_mapping(history: Mapping, what: str) -> dict[str, list[float]]:
    if not history:
        raise ValueError(f"{what} is empty: it records no metric")
    out: dict[str, list[float]] = {}
    for key, values in history.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"{what} keys must be metric names (non-empty strings), got {key!r}")
        if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
            raise ValueError(f"{what}[{key!r}] must be a list with one value per epoch, got {type(values).__name__}")
        out[key] = [_number(v, f"{what}[{key!r}][{k}]") for k, v in enumerate(values)]
    if not any(out.values()):
        raise ValueError(f"{what} records no epoch: every metric list is empty ({sorted(out)})")
    return out


def _from_file(path: Path) -> dict[str, list[float]]:
    if not path.is_file():
        raise FileNotFoundError(f"history file {str(path)!r} does not exist (or is not a file)")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"history file {str(path)!r} is not a text (CSV or JSON) file: {exc}") from None
    if not text.strip():
        raise ValueError(f"history file {str(path)!r} is empty")
    if path.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        return _from_json(path, text)
    return _from_csv(path, text)


def _from_json(path: Path, text: str) -> dict[str, list[float]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"history file {str(path)!r} is not valid JSON: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("history"), dict):
        data = data["history"]
    if not isinstance(data, dict):
        raise ValueError(f"history file {str(path)!r} must hold a JSON object {{metric: [values]}}, got "
                         f"{type(data).__name__}")
    return _from_mapping(data, f"history file {str(path)!r}")


def _from_csv(path: Path, text: str) -> dict[str, list[float]]:
    name = f"history file {str(path)!r}"
    first = text.splitlines()[0]
    sep = max(_SEPARATORS, key=first.count) if any(s in first for s in _SEPARATORS) else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=sep))
    header = [h.strip() for h in rows[0]]
    if not all(header) or len(set(header)) != len(header):
        raise ValueError(f"{name}: the header must name each column once, got {header}")
    body = [(n, row) for n, row in enumerate(rows[1:], start=2) if any(cell.strip() for cell in row)]
    if not body:
        raise ValueError(f"{name} has a header {header} but no epoch rows")
    columns: dict[str, list[float]] = {h: [] for h in header}
    placeholder = dict.fromkeys(header, True)
    for line, row in body:
        if len(row) != len(header):
            raise ValueError(f"{name}: line {line} has {len(row)} fields, expected {len(header)} for the columns "
                             f"{header} (a truncated or hand-edited file?)")
        for key, cell in zip(header, row):
            cell = cell.strip()
            if cell in _MISSING:
                columns[key].append(math.nan)
                continue
            placeholder[key] = False
            try:
                columns[key].append(float(cell))
            except ValueError:
                raise ValueError(f"{name}: column {key!r} must be numeric, line {line} has {cell!r}") from None
    out = {k: v for k, v in columns.items() if k != "epoch" and not placeholder[k]}
    if not out:
        raise ValueError(f"{name} has no metric column with values (columns {header})")
    return out


# --------------------------------------------------------------------------- plotting
def _panels(history: dict[str, list[float]]) -> list[str]:
    """Metric names in first-seen order, a ``val_x`` key going to the panel of ``x``."""
    names: list[str] = []
    for key in history:
        base = key[4:] if key.startswith("val_") and len(key) > 4 else key
        if base not in names:
            names.append(base)
    return names


def plot_history(path: str | os.PathLike, history: Any, *, title: str | None = None) -> Path:
    """Save training curves as a PNG: one panel per metric, train and validation (``val_``) by epoch.

    Args:
        path: the PNG file (written atomically).
        history: anything :func:`load_history` reads (a History, a dict, a CSV or JSON path).
        title: the figure title.

    A panel whose positive values span more than two decades gets a log scale: a loss falling
    from 10 to 0.01 is otherwise a flat line after the first epochs.
    """
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    data = load_history(history)
    names = _panels(data)
    ncols = min(3, len(names))
    nrows = -(-len(names) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.8 * ncols, 3.5 * nrows), squeeze=False)
    try:
        for ax in axes.flat[len(names):]:
            ax.remove()
        for ax, base in zip(axes.flat, names):
            for key, label, colour in ((base, "train", "tab:blue"), (f"val_{base}", "validation", "tab:orange")):
                values = data.get(key)
                if not values or not any(math.isfinite(v) for v in values):
                    continue
                epochs = np.arange(1, len(values) + 1)
                series = np.asarray(values, dtype=np.float64)
                keep = np.isfinite(series)  # missing epochs (validation_freq > 1) are bridged, not gaps
                ax.plot(epochs[keep], series[keep], label=label, color=colour,
                        marker="o" if len(values) <= 30 else None, markersize=3.5, linewidth=1.6)
            finite = np.array([v for k in (base, f"val_{base}") for v in data.get(k, []) if math.isfinite(v)])
            if finite.size and finite.min() > 0 and finite.max() / finite.min() > 100:
                ax.set_yscale("log")
            ax.set_title(base)
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(True, alpha=0.3)
            if ax.lines:
                ax.legend(fontsize=8)
            else:  # e.g. a loss that was NaN from the start: say so rather than show empty axes
                ax.text(0.5, 0.5, "no finite values", ha="center", va="center", transform=ax.transAxes, color="0.4")
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        return save_png(fig, path, dpi=110)
    finally:
        plt.close(fig)
