"""lstmkit.io.atomic_write_bytes: keeps the replaced file's permissions, honours the umask for new
files, clears temporary files that killed saves left behind (only stale ones), never tears."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from lstmkit.io import STALE_PART_S, atomic_write_bytes, atomic_write_json


def test_replacing_keeps_the_permissions(tmp_path) -> None:
    target = tmp_path / "model.bin"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new" and (target.stat().st_mode & 0o777) == 0o640


def test_new_files_follow_the_umask(tmp_path) -> None:
    old = os.umask(0o027)
    try:
        atomic_write_bytes(tmp_path / "fresh.bin", b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "fresh.bin").stat().st_mode & 0o777 == 0o640


def test_stale_part_files_are_removed_recent_ones_kept(tmp_path) -> None:
    stale, recent = tmp_path / ".model.bin.abc.part", tmp_path / ".model.bin.def.part"
    other = tmp_path / ".other.bin.ghi.part"
    for f in (stale, recent, other):
        f.write_bytes(b"partial")
    old_time = time.time() - 2 * STALE_PART_S
    os.utime(stale, (old_time, old_time))
    os.utime(other, (old_time, old_time))
    atomic_write_bytes(tmp_path / "model.bin", b"data")
    assert not stale.exists() and recent.exists() and other.exists()  # only this file's leftovers


def test_missing_folder_names_it(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        atomic_write_bytes(tmp_path / "nope" / "x.bin", b"x")


def test_json_is_indented_sorted_and_ends_with_a_newline(tmp_path) -> None:
    path = atomic_write_json(tmp_path / "new" / "metrics.json", {"b": 1, "a": [1, 2]}, create_dirs=True)
    assert path.read_text() == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1\n}\n'
    with pytest.raises(FileNotFoundError, match="does not exist"):
        atomic_write_json(tmp_path / "nope" / "x.json", {})


def test_a_save_killed_midway_leaves_the_old_file_whole(tmp_path) -> None:
    """SIGKILL a writer of 64 MiB at several points: the target always reads as old or new, whole."""
    target = tmp_path / "big.bin"
    old, new = b"A" * (1 << 20), b"B" * (64 << 20)
    target.write_bytes(old)
    code = ("import sys\nfrom lstmkit.io import atomic_write_bytes\n"
            f"atomic_write_bytes({str(target)!r}, b'B' * (64 << 20))\n")
    for delay in (0.05, 0.2, 0.4, 0.8):
        proc = subprocess.Popen([sys.executable, "-c", code])
        time.sleep(delay)
        proc.kill()
        proc.wait()
        data = target.read_bytes()
        assert data in (old, new)
