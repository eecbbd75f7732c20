"""The views of a character model (``lstmkit textgen`` checkpoints): its traces over a text, and
its per-character predictions beside the n-gram baselines', ready for ``lstmkit.viz``.

Why a module in the apps layer: loading a checkpoint, its vocabulary and its training corpus is
the apps' business; ``lstmkit.viz`` only ever sees arrays and traces, so it works for any model.
Why inside ``textgen``: both ``lstmkit viz`` (``lstmkit.apps.views``) and the text demo
(``textgen.demo``) use it; in ``views`` it made ``textgen`` and ``views`` import each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lstmkit.errors import AppError

#: Characters of held-out Shakespeare the views read when no --text is given (a scene or two).
DEFAULT_CHARS = 3000


@dataclass
class Predictions:
    """Per character of a text (index t = the prediction of text[t]; t = 0 has no history: NaN / False).

    ``prob`` is the probability given to the character that came, ``top1`` whether it was the
    most probable one.
    """

    prob: np.ndarray
    top1: np.ndarray


def load_text_model(path: str | Path) -> tuple[Any, dict[str, Any]]:
    """A ``TextGenerator`` from a ``lstmkit textgen train`` checkpoint folder, or an AppError that
    says what the folder holds instead."""
    from lstmkit.apps.textgen.model import TextGenerator

    return TextGenerator.load(path)


def read_text(path: str | Path | None, generator: Any, *, max_chars: int | None = DEFAULT_CHARS,
              heldout: bool = True) -> str:
    """The text to look at: a UTF-8 file, or (None) the start of the held-out Shakespeare plays.

    Every character must be in the model's vocabulary (an AppError names the unknown ones); a
    text needs at least 2 characters. ``max_chars`` keeps the first characters only.
    """
    if path is None:
        from lstmkit.apps.textgen.experiment import load_corpus

        corpus = load_corpus("shakespeare", eval_chars=None)
        text = corpus.heldout if heldout else corpus.train
    else:
        from lstmkit.data.shakespeare import load_text_file

        text = load_text_file(path)  # one-line AppErrors: missing, not UTF-8, empty, too short
    if max_chars is not None:
        text = text[:max_chars]
    if len(text) < 2:
        raise AppError(f"--text {path}: needs at least 2 characters, got {len(text)}")
    generator.vocab.encode(text, what=f"text {path}" if path else "text")  # unknown characters: AppError
    return text


def trace_text(generator: Any, text: str) -> list[Any]:
    """``lstmkit.viz.record`` of the generator's LSTM reading ``text`` from a zero state (batch 1)."""
    import torch

    from lstmkit.viz import record

    ids = torch.from_numpy(generator.vocab.encode(text, what="text"))[None]  # (1, T)
    with generator.model.score_kernels():
        return record(generator.model, ids)


def lstm_predictions(generator: Any, text: str, *, chunk: int = 2000) -> Predictions:
    """The LSTM's prediction of every character of ``text`` in one pass from a zero state."""
    import torch

    ids = torch.from_numpy(generator.vocab.encode(text, what="text"))
    prob, top1 = np.full(len(ids), np.nan), np.zeros(len(ids), dtype=bool)
    state = None
    with torch.inference_mode(), generator.model.score_kernels():
        generator.model.eval()
        for start in range(0, len(ids) - 1, chunk):
            x = ids[start:start + chunk][None]  # (1, C): predicts ids[start + 1 : start + C + 1]
            target = ids[start + 1:start + 1 + chunk]
            logits, state = generator.model(x[:, :len(target)], state)
            p = torch.softmax(logits[0].double(), dim=-1)  # (C, V)
            rows = torch.arange(len(target))
            prob[start + 1:start + 1 + len(target)] = p[rows, target].numpy()
            top1[start + 1:start + 1 + len(target)] = (p.argmax(-1) == target).numpy()
    return Predictions(prob, top1)


def ngram_predictions(generator: Any, text: str, train_text: str, orders: tuple[int, ...]) -> dict[int, Predictions]:
    """Interpolated Kneser-Ney models of each order, fitted on ``train_text``, predicting ``text``."""
    from lstmkit.apps.textgen.ngram import NGramModel

    ids = generator.vocab.encode(text, what="text")
    out = {}
    for order in orders:
        rows = NGramModel(order, generator.vocab).fit(train_text).distributions(text)  # (T, V)
        prob = rows[np.arange(len(ids)), ids]
        top1 = rows.argmax(axis=1) == ids
        prob[0], top1[0] = np.nan, False
        out[order] = Predictions(prob, top1)
    return out


def check_selection(traces: list[Any], layer: int, cell: int | None) -> None:
    """A --layer / --cell that names no trace or unit gets an AppError listing what there is."""
    if not 0 <= layer < len(traces):
        raise AppError(f"--layer {layer} is out of range: the model has {len(traces)} recurrent layer trace(s), "
                       f"0..{len(traces) - 1} ({', '.join(t.name for t in traces)})")
    units = traces[layer]["h"].shape[-1] if "c" not in traces[layer] else traces[layer]["c"].shape[-1]
    if cell is not None and not 0 <= cell < units:
        raise AppError(f"--cell {cell} is out of range: layer {traces[layer].name} has {units} cells, 0..{units - 1}")


def write_cell_views(generator: Any, text: str, out_dir: str | Path, *, title: str) -> dict[str, str]:
    """The cell page (``cells.html``) and the gate-saturation plot (``gates.png``) of ``generator``
    reading ``text``, in ``out_dir``; returns their paths. Used by ``lstmkit demo``."""
    from lstmkit.viz.cells_page import write_cell_page
    from lstmkit.viz.saturation import gate_saturation, plot_saturation

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    traces = trace_text(generator, text)
    saturation = gate_saturation(traces)
    page = write_cell_page(out / "cells.html", text, traces, title=title, saturation=saturation)
    plot = plot_saturation(out / "gates.png", saturation, title=f"gate saturation: {title}")
    return {"cells_page": str(page), "gates_plot": str(plot)}
