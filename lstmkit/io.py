"""File writing shared by every part of lstmkit that saves something (models, checkpoints,
metrics, plots' data): atomically, so an interrupted save never leaves a half-written file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


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
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
