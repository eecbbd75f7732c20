"""The character vocabulary of a text-generation model, stored in its checkpoint.

Why a class: the model's output layer has one unit per character, in a fixed order, so the same
order must come back when a checkpoint is loaded, and a priming text with a character the model
never saw must be refused with a message that lists the characters (rather than silently mapped
to something else: the model would continue from a context it was never given).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from lstmkit.errors import AppError


class Vocab:
    """An ordered set of characters: ``chars[i]`` is the character of id ``i`` (sorted by code point)."""

    def __init__(self, chars: Iterable[str]):
        self.chars: tuple[str, ...] = tuple(sorted(set(chars)))
        if not self.chars:
            raise AppError("the text is empty: expected some characters to build a vocabulary from")
        if any(len(c) != 1 for c in self.chars):
            raise ValueError("a vocabulary holds single characters")
        self.index = {c: i for i, c in enumerate(self.chars)}
        self._lookup = np.full(max(map(ord, self.chars)) + 1, -1, dtype=np.int64)
        self._lookup[[ord(c) for c in self.chars]] = np.arange(len(self.chars))

    @classmethod
    def from_text(cls, *texts: str) -> Vocab:
        """The characters of all ``texts`` (give the held-out text too, so it can be scored)."""
        return cls("".join(texts))

    def __len__(self) -> int:
        return len(self.chars)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.chars == other.chars

    def __repr__(self) -> str:
        return f"Vocab({len(self)} characters: {''.join(self.chars)!r})"

    def unknown(self, text: str) -> list[str]:
        """The characters of ``text`` that are not in the vocabulary, sorted."""
        return sorted(set(text) - set(self.index))

    def encode(self, text: str, *, what: str = "text") -> np.ndarray:
        """Ids (int64) of the characters of ``text``; unknown characters raise an AppError naming them."""
        missing = self.unknown(text)
        if missing:
            shown = ", ".join(repr(c) for c in missing[:20]) + (", ..." if len(missing) > 20 else "")
            raise AppError(f"the {what} has {len(missing)} character(s) the model does not know: {shown}; "
                           "use only characters from the training text")
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        return self._lookup[codes]

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        """The text of a sequence of ids."""
        return "".join(self.chars[int(i)] for i in ids)

    def to_state(self) -> dict[str, Any]:
        """A JSON-serialisable form for the checkpoint."""
        return {"chars": "".join(self.chars)}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Vocab:
        chars = state.get("chars") if isinstance(state, dict) else None
        if not isinstance(chars, str) or not chars:
            raise AppError("the checkpoint's vocabulary is missing or empty: retrain with `lstmkit textgen train`")
        return cls(chars)
