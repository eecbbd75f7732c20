"""File writing shared by every part of lstmkit that saves something (models, checkpoints,
metrics, plots' data): atomically, so an interrupted save never leaves a half-written file."""

from __future__ import annotations

import glob
import json
import os
import stat
import tempfile
import time
from pathlib import Path
from typing import Any


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, create_dirs: bool = False) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder, fsync, then rename.

    With ``create_dirs`` the folder is created if needed; otherwise a missing folder is a
    FileNotFoundError that names it.
    """
    path = Path(path)
    folder = path.absolute().parent
    if create_dirs:
        folder.mkdir(parents=True, exist_ok=True)
    elif not folder.is_dir():
        raise FileNotFoundError(f"cannot save to {str(path)!r}: the folder {str(folder)!r} does not exist")
    _remove_stale_parts(folder, path.name)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".part")
    try:
        os.fchmod(fd, _mode_for(path))  # mkstemp's 0600 would silently tighten a replaced file's permissions
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_folder(folder)
    return path


def atomic_write_text(path: str | os.PathLike, text: str, *, encoding: str = "utf-8",
                      create_dirs: bool = False) -> Path:
    """``atomic_write_bytes`` of ``text`` encoded with ``encoding`` (newlines kept as given)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return atomic_write_bytes(path, text.encode(encoding), create_dirs=create_dirs)


def atomic_write_json(path: str | os.PathLike, obj: Any, *, create_dirs: bool = False) -> Path:
    """``obj`` as indented JSON with sorted keys (stable diffs between runs) and a final newline,
    written with ``atomic_write_text``: metrics and checkpoint manifests are read by other tools."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n", create_dirs=create_dirs)


#: a temporary file older than this was left by a save that was killed (SIGKILL, power loss)
STALE_PART_S = 60.0


def _mode_for(path: Path) -> int:
    """The permissions the written file gets: the replaced file's, else the umask's default."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _remove_stale_parts(folder: Path, name: str) -> None:
    """Delete ``.<name>.*.part`` files that earlier, killed saves of the same file left behind
    (recent ones may belong to a save running right now, and are kept)."""
    now = time.time()
    for part in folder.glob(f".{glob.escape(name)}.*.part"):
        try:
            if now - part.stat().st_mtime > STALE_PART_S:
                part.unlink()
        except OSError:
            pass  # another process removed or holds it: not ours to fight over


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
