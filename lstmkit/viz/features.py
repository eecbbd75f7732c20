"""Per-character features of a text, and the cells whose activations track them.

Karpathy, Johnson & Fei-Fei 2015 ("Visualizing and Understanding Recurrent Networks", Sec. 4.1)
found character-level LSTM cells that turn on inside quotes or count the position in a line. They
found them by eye; here each such property of the text is a feature (one float per character), and
`rank_cells` lists the (feature, unit) pairs with the largest Pearson correlation between the
feature and a unit's activation, so the interpretable cells can be found without scrolling through
hundreds of units.

A feature's value at position t describes the text *after reading character t* (the state a
recurrent cell could hold at step t): an opening quote is already inside the quotes, a closing one
is already outside. NaN means "not defined here" (e.g. `vowel` on a space); such steps are left out
of the correlation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "FEATURES",
    "CellMatch",
    "after_newline",
    "best_cell_per_feature",
    "compute_features",
    "correlation_matrix",
    "in_parens",
    "in_quotes",
    "position_in_line",
    "rank_cells",
    "speaker_line",
    "vowel",
    "word_position",
]

_VOWELS = frozenset("aeiouAEIOU")
_ASCII_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
# A speaker line in play format ("ROMEO:", "SIR HUGH EVANS:", "KING RICHARD III."): upper-case
# words (apostrophes and hyphens allowed), ending with ':' or '.', nothing else on the line.
_SPEAKER = re.compile(r"[A-Z][A-Z'\-]*(?: [A-Z][A-Z'\-]*)*[:.][ \t]*")


def _check_text(text: str) -> None:
    if not isinstance(text, str):
        raise ValueError(f"text: expected a str, got {type(text).__name__}")


def in_quotes(text: str) -> np.ndarray:
    """1.0 inside a pair of double quotes (the opening quote included, the closing one not)."""
    _check_text(text)
    out = np.zeros(len(text))
    inside = False
    for t, ch in enumerate(text):
        if ch == '"':
            inside = not inside
        out[t] = inside
    return out


def in_parens(text: str) -> np.ndarray:
    """1.0 while the nesting depth of () and [] is above 0 (unmatched closers are ignored)."""
    _check_text(text)
    out = np.zeros(len(text))
    depth = 0
    for t, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]" and depth > 0:
            depth -= 1
        out[t] = depth > 0
    return out


def position_in_line(text: str) -> np.ndarray:
    """Characters since the last newline: 0 for a line's first character; a newline gets the
    line's length (it is the character after the line's last one)."""
    _check_text(text)
    out = np.zeros(len(text))
    pos = 0
    for t, ch in enumerate(text):
        out[t] = pos
        pos = 0 if ch == "\n" else pos + 1
    return out


def after_newline(text: str) -> np.ndarray:
    """1.0 on the first character of each line (the text's first character included)."""
    _check_text(text)
    out = np.zeros(len(text))
    for t in range(len(text)):
        out[t] = t == 0 or text[t - 1] == "\n"
    return out


def speaker_line(text: str) -> np.ndarray:
    """1.0 on the characters of a speaker-name line in play format ("ROMEO:"); newlines are 0."""
    _check_text(text)
    out = np.zeros(len(text))
    start = 0
    for line in text.split("\n"):
        if _SPEAKER.fullmatch(line):
            out[start : start + len(line)] = 1.0
        start += len(line) + 1
    return out


def vowel(text: str) -> np.ndarray:
    """1.0 on an ASCII vowel (aeiou, either case), 0.0 on another ASCII letter, NaN elsewhere."""
    _check_text(text)
    out = np.full(len(text), np.nan)
    for t, ch in enumerate(text):
        if ch in _ASCII_LETTERS:
            out[t] = ch in _VOWELS
    return out


def word_position(text: str) -> np.ndarray:
    """Position inside the current word (0 on its first character); NaN outside words. A word is
    a run of letters, digits and apostrophes."""
    _check_text(text)
    out = np.full(len(text), np.nan)
    pos = 0
    for t, ch in enumerate(text):
        if ch.isalnum() or ch == "'":
            out[t] = pos
            pos += 1
        else:
            pos = 0
    return out


FeatureFunction = Callable[[str], np.ndarray]

#: name -> (function of the text, one-line description), in display order.
FEATURES: dict[str, tuple[FeatureFunction, str]] = {
    "in_quotes": (in_quotes, 'inside "double quotes"'),
    "in_parens": (in_parens, "inside (parentheses) or [brackets]"),
    "position_in_line": (position_in_line, "characters since the last newline"),
    "after_newline": (after_newline, "first character of a line"),
    "speaker_line": (speaker_line, 'on a speaker-name line such as "ROMEO:"'),
    "vowel": (vowel, "vowel (1) or consonant (0); undefined on non-letters"),
    "word_position": (word_position, "position inside the current word; undefined between words"),
}


def compute_features(text: str, names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """The named registry features of `text` (all of FEATURES when `names` is None)."""
    _check_text(text)
    names = list(FEATURES) if names is None else list(names)
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise ValueError(f"names: expected feature names from {sorted(FEATURES)}, got unknown {unknown}")
    return {n: FEATURES[n][0](text) for n in names}


@dataclass(frozen=True)
class CellMatch:
    """One unit's Pearson correlation with one feature (0.0 when either side is constant)."""

    feature: str
    unit: int
    correlation: float


def _correlations(values: np.ndarray, feature: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Pearson r of `feature` with each column of `values` over the steps where all are finite.

    Masked sums (not np.corrcoef) because each column may have NaNs at different steps, and a
    constant column gives 0 rather than NaN: a unit that never moves tracks nothing.
    """
    m = valid[:, None] & np.isfinite(values) & np.isfinite(feature)[:, None]
    n = m.sum(axis=0)
    x = np.where(m, feature[:, None], 0.0)
    y = np.where(m, values, 0.0)
    safe_n = np.maximum(n, 1)
    xc = np.where(m, x - x.sum(axis=0) / safe_n, 0.0)
    yc = np.where(m, y - y.sum(axis=0) / safe_n, 0.0)
    sxx = (xc * xc).sum(axis=0)
    syy = (yc * yc).sum(axis=0)
    sxy = (xc * yc).sum(axis=0)
    # "Constant" relative to the column's magnitude: rounding leaves ~1e-32 of spurious variance.
    x_scale = np.max(np.abs(x), axis=0, initial=0.0)
    y_scale = np.max(np.abs(y), axis=0, initial=0.0)
    tiny_x = sxx <= (1e-9 * np.maximum(x_scale, 1e-300)) ** 2 * safe_n
    tiny_y = syy <= (1e-9 * np.maximum(y_scale, 1e-300)) ** 2 * safe_n
    ok = (n >= 2) & ~tiny_x & ~tiny_y
    r = np.zeros(values.shape[1])
    r[ok] = sxy[ok] / np.sqrt(sxx[ok] * syy[ok])
    return np.clip(r, -1.0, 1.0)


def _check_inputs(
    values: np.ndarray, features: Mapping[str, np.ndarray], valid: np.ndarray | None
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"values: expected a (time, units) array, got shape {values.shape}")
    steps = values.shape[0]
    if not isinstance(features, Mapping):
        raise ValueError(f"features: expected a mapping name -> array, got {type(features).__name__}")
    checked = {}
    for name, column in features.items():
        column = np.asarray(column, dtype=np.float64)
        if column.shape != (steps,):
            raise ValueError(f"features[{name!r}]: expected shape ({steps},) as values' time axis, got {column.shape}")
        checked[str(name)] = column
    if valid is None:
        valid = np.ones(steps, dtype=bool)
    else:
        valid = np.asarray(valid)
        if valid.shape != (steps,) or valid.dtype != bool:
            raise ValueError(f"valid: expected a bool array of shape ({steps},), got {valid.dtype} {valid.shape}")
    return values, checked, valid


def correlation_matrix(
    values: np.ndarray, features: Mapping[str, np.ndarray], *, valid: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """feature name -> Pearson r with each unit (shape (units,)), NaN steps left out, never NaN."""
    values, features, valid = _check_inputs(values, features, valid)
    return {name: _correlations(values, column, valid) for name, column in features.items()}


def rank_cells(
    values: np.ndarray,
    features: Mapping[str, np.ndarray],
    *,
    top: int = 10,
    valid: np.ndarray | None = None,
    per_feature: int | None = None,
) -> list[CellMatch]:
    """The `top` (feature, unit) pairs with the largest |Pearson r|, best first.

    values: (time, units) activations of one layer's quantity for one sequence. features: name ->
    (time,) array (e.g. from `compute_features`). valid: optional (time,) bool, the steps to use
    (NaN steps are skipped anyway). per_feature: at most this many units per feature, so that one
    feature many units follow (position_in_line, say) does not crowd out the others. Ties keep
    feature order, then unit order, so the ranking is deterministic.
    """
    if not isinstance(top, int) or isinstance(top, bool) or top < 1:
        raise ValueError(f"top: expected a positive int, got {top!r}")
    if per_feature is not None and (not isinstance(per_feature, int) or per_feature < 1):
        raise ValueError(f"per_feature: expected None or a positive int, got {per_feature!r}")
    matches = []
    for f_index, (name, r) in enumerate(correlation_matrix(values, features, valid=valid).items()):
        order = np.argsort(-np.abs(r), kind="stable")
        if per_feature is not None:
            order = order[:per_feature]
        matches.extend((-abs(float(r[u])), f_index, int(u), name, float(r[u])) for u in order)
    matches.sort(key=lambda m: m[:3])
    return [CellMatch(feature=name, unit=u, correlation=r) for _, _, u, name, r in matches[:top]]


def best_cell_per_feature(
    values: np.ndarray, features: Mapping[str, np.ndarray], *, valid: np.ndarray | None = None
) -> dict[str, CellMatch]:
    """feature name -> the unit with the largest |Pearson r| with it (the lowest index on ties)."""
    out = {}
    for name, r in correlation_matrix(values, features, valid=valid).items():
        if r.size == 0:
            raise ValueError("values: expected at least one unit, got 0 columns")
        u = int(np.argmax(np.abs(r)))
        out[name] = CellMatch(feature=name, unit=u, correlation=float(r[u]))
    return out
