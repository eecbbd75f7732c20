"""Where a character LSTM is right and wrong (Karpathy et al. 2015, Sec. 4.3, Figs. 4-6).

Pure NumPy analyses of per-character model outputs; no model runs here, the caller passes the
probabilities (or top-1 hits) its models gave to a held-out text. Why these three:

- :func:`compare_models`: on how many characters the LSTM beats another model (an n-gram), and by
  how many bits on average; the paper's Fig. 4 colours the text by this.
- :func:`error_breakdown`: the paper's "oracle peeling" (Fig. 5). Each LSTM error is given to the
  first of a fixed list of simple explanations ("an n-gram gets it", "it repeats earlier text",
  "a rare word", ...) that accounts for it, which shows how much of the remaining error is
  structure the LSTM could still learn versus plain unpredictability.
- :func:`closing_accuracy_by_distance`: the long-range test (Fig. 6): how often a closing bracket
  or quote is predicted, as a function of how far back its opening is; an n-gram of order n
  cannot know about an opening more than n characters back, an LSTM can.

ALIGNMENT (every per-character array here): an array has ``len(text)`` entries and index ``t``
is about predicting ``text[t]`` from ``text[:t]``; ``lstm_prob[t]`` is the probability the LSTM
gave to the character ``text[t]`` after reading ``text[:t]``. Index 0 (``text[0]``, which has no
context) is never scored: its value is ignored, NaN by convention. Outputs that come as
``len(text) - 1`` next-character values (entry k predicts ``text[k + 1]``, as
``NGramModel.log2_probs`` returns them) are brought to this alignment by :func:`align_to_text`.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lstmkit.viz._common import pyplot, save_png

#: the error categories of :func:`error_breakdown`, in the order they are tried
CATEGORIES: tuple[str, ...] = ("n-gram", "dynamic memory", "rare words", "word start",
                               "after newline/punctuation", "boost/other")
#: upper edges of the distance bins of :func:`closing_accuracy_by_distance`: 1-5, 6-10, ..., 81-160, >160
DEFAULT_BINS: tuple[int, ...] = (5, 10, 20, 40, 80, 160)
DEFAULT_PAIRS: tuple[tuple[str, str], ...] = (("(", ")"), ("[", "]"), ('"', '"'))
#: two probabilities closer than this are a tie in :func:`compare_models`
TIE_TOLERANCE = 1e-9

_WORD = re.compile(r"\w+")  # a word: a maximal run of Unicode letters, digits and underscores


def align_to_text(next_char_values: Any) -> np.ndarray:
    """Prepend the unscored NaN: ``len(text) - 1`` values (entry k predicts ``text[k + 1]``) -> ``len(text)``."""
    values = np.asarray(next_char_values, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"next_char_values must be 1-D, got shape {values.shape}")
    return np.concatenate([[np.nan], values])


def compare_models(text: str, lstm_prob: Any, other_prob: Any) -> dict[str, Any]:
    """Per scored character (t >= 1), which model gave the true character the higher probability.

    Two probabilities within ``TIE_TOLERANCE`` (1e-9, absolute) are a tie. Returns
    ``characters`` (len(text) - 1), the counts ``lstm_better``, ``other_better``, ``ties`` and their
    ``*_fraction``; ``mean_log2_diff``, the mean of log2(lstm) - log2(other) in bits per character
    (positive: the LSTM is better; equal to the other model's bpc minus the LSTM's; a probability
    of 0 counts as the smallest positive float so the mean stays finite); and ``winner``, an int8
    array aligned with ``text``: +1 LSTM better, -1 other better, 0 tie (and at index 0).
    """
    _check_text(text, "text", min_length=2)
    lstm = _check_probs("lstm_prob", lstm_prob, len(text))[1:]
    other = _check_probs("other_prob", other_prob, len(text))[1:]
    diff = lstm - other
    winner = np.where(np.abs(diff) <= TIE_TOLERANCE, 0, np.sign(diff)).astype(np.int8)
    tiny = np.finfo(np.float64).tiny
    log_diff = np.log2(np.maximum(lstm, tiny)) - np.log2(np.maximum(other, tiny))
    n = len(text) - 1
    counts = {"lstm_better": int((winner > 0).sum()), "other_better": int((winner < 0).sum()),
              "ties": int((winner == 0).sum())}
    return {"characters": n, **counts,
            "lstm_better_fraction": counts["lstm_better"] / n, "other_better_fraction": counts["other_better"] / n,
            "tie_fraction": counts["ties"] / n, "mean_log2_diff": float(log_diff.mean()),
            "winner": np.concatenate([[0], winner]).astype(np.int8)}


def error_categories(text: str, lstm_prob: Any, ngram_prob: Mapping[int, Any], train_text: str, *,
                     threshold: float = 0.5, rare_max_count: int = 5) -> list[str | None]:
    """The category of each character (aligned with ``text``): None where the LSTM is not wrong (and at 0).

    The rules are those of :func:`error_breakdown`; use this list to colour the text by category.
    """
    _check_text(text, "text", min_length=2)
    _check_text(train_text, "train_text", min_length=1)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be a probability in (0, 1], got {threshold!r}")
    if isinstance(rare_max_count, bool) or not isinstance(rare_max_count, (int, np.integer)) or rare_max_count < 0:
        raise ValueError(f"rare_max_count must be an int >= 0, got {rare_max_count!r}")
    lstm = _check_probs("lstm_prob", lstm_prob, len(text))
    if not isinstance(ngram_prob, Mapping):
        raise ValueError(f"ngram_prob must be a mapping order -> probabilities, got {type(ngram_prob).__name__}")
    ngrams = [_check_probs(f"ngram_prob[{order!r}]", probs, len(text)) for order, probs in ngram_prob.items()]
    ngram_ok = np.zeros(len(text), dtype=bool)
    for probs in ngrams:
        ngram_ok[1:] |= probs[1:] >= threshold

    word_start = np.full(len(text), -1, dtype=np.int64)  # start of the word holding text[t], -1 if none
    word_count = np.zeros(len(text), dtype=np.int64)  # that word's count in train_text
    train_counts = Counter(_WORD.findall(train_text))
    for match in _WORD.finditer(text):
        word_start[match.start():match.end()] = match.start()
        word_count[match.start():match.end()] = train_counts[match.group()]

    labels: list[str | None] = [None] * len(text)
    for t in range(1, len(text)):
        if lstm[t] >= threshold:
            continue
        s = int(word_start[t])
        previous = text[t - 1]
        if ngram_ok[t]:
            labels[t] = "n-gram"
        elif s >= 0 and t > s and text.find(text[s:t + 1], 0, t) != -1:
            labels[t] = "dynamic memory"
        elif s >= 0 and word_count[t] <= rare_max_count:
            labels[t] = "rare words"
        elif s == t:
            labels[t] = "word start"
        elif previous == "\n" or _is_punct(previous) or (previous == " " and t >= 2 and _is_punct(text[t - 2])):
            labels[t] = "after newline/punctuation"
        else:
            labels[t] = "boost/other"
    return labels


def error_breakdown(text: str, lstm_prob: Any, ngram_prob: Mapping[int, Any], train_text: str, *,
                    threshold: float = 0.5, rare_max_count: int = 5) -> dict[str, int]:
    """Count the LSTM's errors on ``text`` by the first explanation that accounts for each (oracle peeling).

    A scored character ``text[t]`` (t >= 1) is an LSTM error when ``lstm_prob[t] < threshold``.
    Words are maximal runs of ``\\w`` characters (letters, digits, underscore), in ``text`` and in
    ``train_text`` alike; punctuation is any character that is neither a word character nor
    whitespace. Each error goes to the first category whose rule holds, tried in this order:

    1. ``"n-gram"``: some order in ``ngram_prob`` gives ``text[t]`` probability >= ``threshold``.
    2. ``"dynamic memory"``: ``text[t]`` is inside a word but not its first character, and the
       word's prefix up to and including ``text[t]`` (``text[s:t+1]``, s the word's start) occurs
       as a substring of ``text[:t]``: a model that copies from earlier in the text would have it.
    3. ``"rare words"``: ``text[t]`` is in a word (its first character included) that occurs at
       most ``rare_max_count`` times in ``train_text`` (exact, case-sensitive match).
    4. ``"word start"``: ``text[t]`` is the first character of a word.
    5. ``"after newline/punctuation"``: ``text[t-1]`` is a newline or punctuation, or a space
       right after punctuation (``text[t-2]``).
    6. ``"boost/other"``: everything else.

    Returns the count per category in that order, then ``"errors"`` (their sum) and
    ``"characters"`` (the scored characters, len(text) - 1). ``ngram_prob`` maps each n-gram order
    to a probability array aligned like ``lstm_prob`` (see the module docstring); it may be empty.
    """
    labels = error_categories(text, lstm_prob, ngram_prob, train_text, threshold=threshold,
                              rare_max_count=rare_max_count)
    counts = Counter(label for label in labels if label is not None)
    result = {category: int(counts[category]) for category in CATEGORIES}
    result["errors"] = sum(counts.values())
    result["characters"] = len(text) - 1
    return result


def closing_accuracy_by_distance(text: str, correct: Any, *, pairs: Sequence[tuple[str, str]] = DEFAULT_PAIRS,
                                 bins: Sequence[int] = DEFAULT_BINS) -> dict[str, Any]:
    """Top-1 accuracy on closing brackets/quotes, binned by the distance back to their opening.

    Each pair is matched on its own stack, independently of the other pairs (a quote inside
    brackets, or an unbalanced bracket inside a quote, does not disturb the others). For an
    asymmetric pair an opening is pushed and a closing pops the latest opening (a closing with
    none open is counted in ``unmatched``); for a symmetric pair (``'"'``) occurrences alternate:
    open, close, open, ... The distance is ``t_close - t_open`` (``"()"`` is 1). ``correct`` is a
    bool array aligned with ``text``: ``correct[t]`` is True where the model's top-1 prediction of
    ``text[t]`` was ``text[t]``. ``bins`` are increasing upper edges: (5, 10) gives 1-5, 6-10, >10.

    Returns ``bins`` (one dict per bin: ``label``, ``low``, ``high`` (None for the last),
    ``count``, ``correct``, ``accuracy`` (None when the bin is empty)), the overall ``count`` and
    ``accuracy``, ``unmatched`` closings, ``unclosed`` openings, and per matched closing (in text
    order) the arrays ``positions``, ``distances`` and ``hits``.
    """
    _check_text(text, "text", min_length=1)
    hits_all = np.asarray(correct)
    if hits_all.shape != (len(text),):
        raise ValueError(f"correct must have shape (len(text),) = ({len(text)},), got {hits_all.shape}")
    if hits_all.dtype != bool:
        raise ValueError(f"correct must be a boolean array, got dtype {hits_all.dtype}")
    closer_of = _check_pairs(pairs)
    edges = _check_bins(bins)

    stacks: dict[str, list[int]] = {opening: [] for opening, _ in pairs}
    opening_of = {closing: opening for opening, closing in closer_of.items()}
    positions, distances = [], []
    unmatched = 0
    for t, ch in enumerate(text):
        if ch in closer_of and (closer_of[ch] != ch or not stacks[ch]):
            stacks[ch].append(t)  # an opening (a symmetric one opens when none is open)
        elif ch in opening_of:
            stack = stacks[opening_of[ch]]
            if stack:
                positions.append(t)
                distances.append(t - stack.pop())
            else:
                unmatched += 1
    positions_arr = np.asarray(positions, dtype=np.int64)
    distances_arr = np.asarray(distances, dtype=np.int64)
    hits = hits_all[positions_arr]
    which = np.searchsorted(np.asarray(edges), distances_arr, side="left")
    results = []
    lows = [1, *(edge + 1 for edge in edges)]
    for k, low in enumerate(lows):
        high = edges[k] if k < len(edges) else None
        in_bin = which == k
        count, right = int(in_bin.sum()), int(hits[in_bin].sum())
        results.append({"label": f">{edges[-1]}" if high is None else (f"{low}-{high}" if high > low else str(low)),
                        "low": low, "high": high, "count": count, "correct": right,
                        "accuracy": right / count if count else None})
    total = len(positions)
    return {"bins": results, "count": total, "accuracy": float(hits.mean()) if total else None,
            "unmatched": unmatched, "unclosed": sum(len(stack) for stack in stacks.values()),
            "positions": positions_arr, "distances": distances_arr, "hits": hits}


def plot_error_breakdown(path: str | os.PathLike, breakdown: Mapping[str, int], *, title: str | None = None) -> Path:
    """Write a bar chart PNG of ``breakdown`` (from :func:`error_breakdown`): the fraction of LSTM errors
    per category, in peeling order, each bar annotated with its count. Returns ``path`` (written atomically)."""
    missing = [key for key in (*CATEGORIES, "errors") if key not in breakdown]
    if missing:
        raise ValueError(f"breakdown must hold the keys of error_breakdown's result, missing {missing}")
    counts = [int(breakdown[category]) for category in CATEGORIES]
    errors = int(breakdown["errors"])
    fractions = [count / errors if errors else 0.0 for count in counts]

    plt = pyplot()

    fig, ax = plt.subplots(figsize=(7.6, 4.2), dpi=100)
    positions = np.arange(len(CATEGORIES))
    ax.bar(positions, fractions, color=plt.get_cmap("tab10")(positions), width=0.7)
    for x, fraction, count in zip(positions, fractions, counts):
        ax.annotate(f"{count}\n({100 * fraction:.1f}%)", (x, fraction), xytext=(0, 3), textcoords="offset points",
                    ha="center", va="bottom", fontsize=8)
    ax.set_xticks(positions, [category.replace(" ", "\n", 1) if len(category) > 12 else category
                              for category in CATEGORIES], fontsize=8)
    ax.set_ylim(0, min(1.0, max(fractions, default=0.0) * 1.25) + 0.05)
    ax.set_ylabel("fraction of LSTM errors")
    characters = breakdown.get("characters")
    default = f"LSTM errors by explanation: {errors} errors" + (f" in {characters} characters" if characters else "")
    ax.set_title(title or default)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return save_png(fig, path)


def plot_closing_accuracy(path: str | os.PathLike, curves: Mapping[str, Mapping[str, Any]], *,
                          title: str | None = None) -> Path:
    """Write a PNG of closing-character accuracy against distance, one line per model.

    ``curves`` maps a label ("LSTM", "5-gram", ...) to a :func:`closing_accuracy_by_distance`
    result; all must use the same bins. Empty bins get no point (the line joins the bins around
    them); when every curve has the same counts per bin (the same text), the tick labels show
    them. Returns ``path`` (written atomically).
    """
    if not curves:
        raise ValueError("curves must map at least one label to a closing_accuracy_by_distance result, got none")
    labels = None
    for name, curve in curves.items():
        if not isinstance(curve, Mapping) or "bins" not in curve:
            raise ValueError(f"curves[{name!r}] must be a closing_accuracy_by_distance result, "
                             f"got {type(curve).__name__}")
        these = [b["label"] for b in curve["bins"]]
        if labels is None:
            labels = these
        elif these != labels:
            raise ValueError(f"curves must share their bins: curves[{name!r}] has {these}, expected {labels}")
    counts = {tuple(b["count"] for b in curve["bins"]) for curve in curves.values()}

    plt = pyplot()

    fig, ax = plt.subplots(figsize=(8.0, 4.2), dpi=100)
    x = np.arange(len(labels))
    for name, curve in curves.items():
        kept = [(k, b["accuracy"]) for k, b in enumerate(curve["bins"]) if b["accuracy"] is not None]
        ax.plot([k for k, _ in kept], [a for _, a in kept], marker="o", lw=1.5, label=name)  # empty bins skipped
    ticks = labels if len(counts) != 1 else [f"{label}\nn={n}" for label, n in zip(labels, next(iter(counts)))]
    ax.set_xticks(x, ticks, fontsize=8)
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlabel("distance from the opening character (characters)")
    ax.set_ylabel("top-1 accuracy on the closing character")
    ax.set_title(title or "closing brackets and quotes: accuracy by distance")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)  # off the data
    fig.tight_layout()
    return save_png(fig, path)


def _is_punct(ch: str) -> bool:
    """Punctuation here: neither a word character nor whitespace."""
    return not ch.isspace() and _WORD.fullmatch(ch) is None


def _check_text(text: Any, name: str, *, min_length: int) -> None:
    """ValueError unless ``text`` is a str of at least ``min_length`` characters."""
    if not isinstance(text, str):
        raise ValueError(f"{name} must be a str, got {type(text).__name__}")
    if len(text) < min_length:
        need = "non-empty" if min_length == 1 else f"at least {min_length} characters long (text[0] is never scored)"
        raise ValueError(f"{name} must be {need}, got {len(text)} characters")


def _check_probs(name: str, probs: Any, n: int) -> np.ndarray:
    """The float64 array ``probs`` aligned with a text of ``n`` characters, checked in [0, 1] from index 1."""
    try:
        values = np.asarray(probs, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of probabilities, got {type(probs).__name__}") from exc
    if values.shape != (n,):
        hint = " (one per character of text, index 0 unscored: see align_to_text)" if values.shape == (n - 1,) else ""
        raise ValueError(f"{name} must have shape (len(text),) = ({n},){hint}, got {values.shape}")
    scored = values[1:]
    if np.isnan(scored).any():
        k = int(np.argmax(np.isnan(scored))) + 1
        raise ValueError(f"{name} must not be NaN after index 0 (only text[0] is unscored), got NaN at index {k}")
    outside = (scored < 0) | (scored > 1)
    if outside.any():
        k = int(np.argmax(outside)) + 1
        raise ValueError(f"{name} must hold probabilities in [0, 1], got {values[k]!r} at index {k}")
    return values


def _check_pairs(pairs: Any) -> dict[str, str]:
    """opening -> closing for valid ``pairs`` (single characters, no character in two pairs)."""
    try:
        pairs = [tuple(pair) for pair in pairs]
    except TypeError as exc:
        raise ValueError(f"pairs must be a sequence of (opening, closing) characters, got {pairs!r}") from exc
    if not pairs:
        raise ValueError("pairs must hold at least one (opening, closing) pair, got none")
    seen: set[str] = set()
    for pair in pairs:
        if len(pair) != 2 or not all(isinstance(ch, str) and len(ch) == 1 for ch in pair):
            raise ValueError(f"pairs must hold (opening, closing) pairs of single characters, got {pair!r}")
        chars = set(pair)
        if chars & seen:
            raise ValueError(f"pairs must not share characters, got {sorted(chars & seen)} in more than one pair")
        seen |= chars
    return dict(pairs)


def _check_bins(bins: Any) -> list[int]:
    """The bin edges as ints, checked positive and strictly increasing."""
    try:
        edges = list(bins)
    except TypeError as exc:
        raise ValueError(f"bins must be a sequence of strictly increasing ints >= 1, got {bins!r}") from exc
    if not edges or not all(isinstance(e, (int, np.integer)) and not isinstance(e, bool) for e in edges) or \
            edges[0] < 1 or any(b <= a for a, b in zip(edges, edges[1:])):
        raise ValueError(f"bins must be a non-empty sequence of strictly increasing ints >= 1, got {edges!r}")
    return [int(edge) for edge in edges]


__all__ = ["CATEGORIES", "DEFAULT_BINS", "DEFAULT_PAIRS", "TIE_TOLERANCE", "align_to_text",
           "closing_accuracy_by_distance", "compare_models", "error_breakdown", "error_categories",
           "plot_closing_accuracy", "plot_error_breakdown"]
