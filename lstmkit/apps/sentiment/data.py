"""Labelled texts for the sentiment app: the Rotten Tomatoes snippets or a user's CSV file, and
their stratified, seeded train/validation/test split.

Why the checks are strict: a sentiment model silently trained on a three-class column, on a
shifted column, or on blank rows gives numbers that look fine and mean nothing. So a CSV must
name existing columns, have exactly two label values, and every problem is one AppError line.
Rows with an empty text are dropped (and counted in ``dropped``), since a blank cell is a
common CSV artefact; repeats of a text are dropped too (a copy in both training and test data
would inflate the test score), and a text given with both labels is dropped entirely.
"""

from __future__ import annotations

import csv
import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lstmkit.errors import AppError

__all__ = ["LabelledTexts", "Split", "deduplicate", "load_csv", "load_rotten", "split_data", "subsample"]


@dataclass
class LabelledTexts:
    """Texts with 0/1 labels; ``classes[k]`` is the name of label ``k`` (e.g. ["rotten", "fresh"]).
    ``dropped`` counts what loading removed (empty texts, duplicates, conflicting labels)."""

    texts: list[str]
    labels: np.ndarray  # int64, 0 or 1
    classes: list[str]
    source: str
    dropped: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, index: np.ndarray) -> LabelledTexts:
        """The rows ``index`` (same classes and source)."""
        return LabelledTexts([self.texts[i] for i in index], self.labels[index], self.classes, self.source,
                             dict(self.dropped))

    def fingerprint(self) -> str:
        """A short hash of the texts and labels, to check later that a split is rebuilt identically."""
        digest = hashlib.sha256()
        for text, label in zip(self.texts, self.labels.tolist()):
            digest.update(f"{label}\t{text}\n".encode())
        return digest.hexdigest()[:16]


@dataclass
class Split:
    """The three disjoint parts: fit on ``train``, early-stop and tune on ``val``, report on ``test``."""

    train: LabelledTexts
    val: LabelledTexts
    test: LabelledTexts


def deduplicate(texts: list[str], labels: list[Any]) -> tuple[list[int], int, int]:
    """Indices of the rows to keep (the first copy of each text, texts with one label only), the
    number of repeated copies dropped and the number of texts dropped for conflicting labels."""
    first: dict[str, int] = {}
    conflicting: set[str] = set()
    duplicates = 0
    for i, (text, label) in enumerate(zip(texts, labels)):
        if text in first:
            duplicates += 1
            if labels[first[text]] != label:
                conflicting.add(text)
        else:
            first[text] = i
    keep = [i for text, i in first.items() if text not in conflicting]
    return keep, duplicates, len(conflicting)


def load_rotten() -> LabelledTexts:
    """The de-duplicated Rotten Tomatoes snippets (label 1 = fresh), or an AppError saying how to
    install the data package."""
    from lstmkit.data.rotten_tomatoes import load_rotten_tomatoes

    try:
        data = load_rotten_tomatoes()
    except FileNotFoundError as exc:
        raise AppError(str(exc)) from None
    dropped = {"plot": data.dropped_plot, "empty": data.dropped_empty, "duplicates": data.dropped_duplicates,
               "conflicting": data.dropped_conflicts}
    return LabelledTexts(list(data.texts), data.labels.copy(), ["rotten", "fresh"], "rotten_tomatoes", dropped)


def _class_order(values: list[str], positive: str | None) -> list[str]:
    """The two label values as [negative, positive]: ``positive`` if given; numbers in numeric order
    (so 0/1 and -1/1 keep their meaning); known words (negative/positive, neg/pos, ...) by meaning;
    anything else alphabetically."""
    if positive is not None:
        if positive not in values:
            raise AppError(f"--positive {positive!r} is not one of the label values {sorted(values)}")
        return [v for v in values if v != positive] + [positive]
    try:
        return sorted(values, key=float)
    except ValueError:
        pass
    known = {"negative": "positive", "neg": "pos", "rotten": "fresh", "bad": "good", "no": "yes", "false": "true"}
    low = {v.lower(): v for v in values}
    for neg, pos in known.items():
        if set(low) == {neg, pos}:
            return [low[neg], low[pos]]
    return sorted(values)


def load_csv(path: str | Path, text_col: str = "text", label_col: str = "label", positive: str | None = None,
             delimiter: str = ",") -> LabelledTexts:
    """Read a CSV with a header row, a text column and a two-valued label column.

    Label values may be any two strings or numbers; which is class 1 follows ``_class_order`` (or
    ``positive``). Raises AppError for a missing file, missing columns, a label column with fewer
    or more than two values, rows without a label, or no non-empty text at all.
    """
    path = Path(path)
    if not path.is_file():
        raise AppError(f"no such CSV file: {path}")
    if len(delimiter) != 1:
        raise AppError(f"the CSV delimiter must be one character, got {delimiter!r}")
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f, delimiter=delimiter)
            columns = list(reader.fieldnames or [])
            missing = [c for c in (text_col, label_col) if c not in columns]
            if missing:
                shown = ", ".join(repr(c) for c in columns) or "none (the file is empty)"
                raise AppError(f"{path} has no column {missing[0]!r}: its columns are {shown}; choose them "
                               "with --text-col and --label-col")
            rows = [(row.get(text_col), row.get(label_col), reader.line_num) for row in reader]
    except UnicodeDecodeError as exc:
        raise AppError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise AppError(f"{path} is not a readable CSV file: {exc}") from None
    texts: list[str] = []
    raw_labels: list[str] = []
    empty = 0
    for text, label, line in rows:
        label = (label or "").strip()
        text = (text or "").strip()
        if not label:
            raise AppError(f"{path}, line {line}: the {label_col!r} column is empty; every row needs a label")
        if not text:
            empty += 1
            continue
        texts.append(text)
        raw_labels.append(label)
    if not texts:
        raise AppError(f"{path} has no non-empty text in column {text_col!r} ({len(rows)} rows)")
    values = sorted(set(raw_labels))
    if len(values) != 2:
        shown = ", ".join(repr(v) for v in values[:6]) + (", ..." if len(values) > 6 else "")
        raise AppError(f"the label column {label_col!r} of {path} has {len(values)} distinct value(s) ({shown}); "
                       "sentiment classification needs exactly two classes")
    classes = _class_order(values, positive)
    keep, duplicates, conflicting = deduplicate(texts, raw_labels)
    if len(keep) < len(texts) and not keep:
        raise AppError(f"{path}: every text occurs with both labels; nothing is left to learn from")
    labels = np.asarray([classes.index(raw_labels[i]) for i in keep], dtype=np.int64)
    return LabelledTexts([texts[i] for i in keep], labels, classes, str(path),
                         {"empty": empty, "duplicates": duplicates, "conflicting": conflicting})


def subsample(data: LabelledTexts, limit: int, seed: int) -> LabelledTexts:
    """At most ``limit`` rows, drawn with ``seed`` keeping the class proportions (for quick runs)."""
    if limit >= len(data):
        return data
    picked = _stratified_parts(data.labels, [limit / len(data)], seed + 7919)[0]
    return data.take(np.sort(picked))


def _stratified_parts(labels: np.ndarray, fractions: list[float], seed: int) -> list[np.ndarray]:
    """Split row indices into ``len(fractions) + 1`` parts, each class shuffled with ``seed`` and cut
    by the fractions, so every part keeps the class proportions."""
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[] for _ in range(len(fractions) + 1)]
    for cls in (0, 1):
        rows = rng.permutation(np.flatnonzero(labels == cls))
        start = 0
        for k, frac in enumerate(fractions):
            size = int(math.floor(frac * len(rows) + 0.5))
            parts[k].append(rows[start:start + size])
            start += size
        parts[-1].append(rows[start:])
    return [np.sort(np.concatenate(p)) for p in parts]


def split_data(data: LabelledTexts, seed: int, val_frac: float = 0.1, test_frac: float = 0.1) -> Split:
    """Stratified train/validation/test split with ``seed`` (the same seed gives the same split).

    Raises AppError if a part would hold no example of a class (too little data for the fractions).
    """
    if not (0 < val_frac < 1 and 0 < test_frac < 1 and val_frac + test_frac < 1):
        raise AppError(f"validation and test fractions must be in (0, 1) with a sum below 1, got {val_frac} and "
                       f"{test_frac}")
    test, val, train = _stratified_parts(data.labels, [test_frac, val_frac], seed)
    for name, part in (("training", train), ("validation", val), ("test", test)):
        counts = np.bincount(data.labels[part], minlength=2)
        if counts.min() == 0:
            raise AppError(f"{len(data)} labelled texts are too few: the {name} split would have no "
                           f"{data.classes[int(counts.argmin())]!r} example (need at least ~{math.ceil(2 / test_frac)}"
                           " per class)")
    return Split(train=data.take(train), val=data.take(val), test=data.take(test))
