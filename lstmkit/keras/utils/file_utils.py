"""``get_file``: a file from Keras' local cache folder (``$KERAS_HOME`` or ``~/.keras``, then
``cache_subdir``), the way ``keras.utils.get_file`` finds it, but never downloaded: lstmkit has no
network access by design, so a missing file is one clear error saying where to put it.

Hash checks (``file_hash``/``md5_hash``) and archive extraction (``extract``/``untar``) work on the
cached file; archives are extracted with Python's safe "data" filter (no absolute paths, links
out of the folder or device files), into ``<cache>/<fname>_extracted`` as Keras 3 does.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import urllib.parse
import zipfile
from typing import Any

__all__ = ["get_file", "keras_home"]


def keras_home() -> str:
    """Keras' cache root: ``$KERAS_HOME``, else ``~/.keras``."""
    return os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")


def _hash(path: str, algorithm: str) -> str:
    hasher = hashlib.md5() if algorithm == "md5" else hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def _extract(archive: str, target: str, archive_format: str | list[str] | None) -> None:
    formats = ["tar", "zip"] if archive_format in ("auto", None) else (
        [archive_format] if isinstance(archive_format, str) else list(archive_format))
    os.makedirs(target, exist_ok=True)
    if "tar" in formats and tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tar:
            tar.extractall(target, filter="data")
        return
    if "zip" in formats and zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for member in zf.namelist():
                dest = os.path.realpath(os.path.join(target, member))
                if not dest.startswith(os.path.realpath(target) + os.sep):
                    raise ValueError(f"get_file: the archive {archive} has a member outside its folder: {member!r}")
            zf.extractall(target)
        return
    raise ValueError(f"get_file: {archive} is not a {' or '.join(formats)} archive, so it cannot be extracted")


def get_file(fname: str | os.PathLike | None = None, origin: str | None = None, untar: bool = False,
             md5_hash: str | None = None, file_hash: str | None = None, cache_subdir: str = "datasets",
             hash_algorithm: str = "auto", extract: bool = False, archive_format: str = "auto",
             cache_dir: str | os.PathLike | None = None, force_download: bool = False, **kwargs: Any) -> str:
    """The path of ``fname`` in Keras' cache (``<cache_dir>/<cache_subdir>/<fname>``).

    Args:
        fname: the file's name in the cache (default: the last part of ``origin``'s path); an
            absolute path is used as is.
        origin: Keras' download URL; only used for the name and the error message.
        untar, extract: return the extracted folder of the archive (extracting it if needed).
        md5_hash, file_hash, hash_algorithm: check the cached file (sha256 or md5; "auto" picks by
            the hash's length).
        cache_subdir: sub-folder of the cache root.
        cache_dir: the cache root (default ``$KERAS_HOME`` or ``~/.keras``).
        force_download: refused: there is no download.
    """
    if force_download:
        raise ValueError("get_file(force_download=True): lstmkit never downloads; put the file in Keras' cache folder")
    if origin is None and fname is None:
        raise ValueError('Please specify the "origin" argument (URL of the file to download).')
    fname = os.fspath(fname) if fname is not None else ""
    if not fname:
        fname = os.path.basename(urllib.parse.urlsplit(origin).path)
        if not fname:
            raise ValueError(f"Can't parse the file name from the origin provided: '{origin}'.")
    datadir = os.path.join(os.path.expanduser(os.fspath(cache_dir) if cache_dir else keras_home()), cache_subdir)
    path = fname if os.path.isabs(fname) else os.path.join(datadir, fname)
    if untar:
        extract = True
        archive = path if path.endswith((".tar.gz", ".tgz", ".tar")) else path + ".tar.gz"
    else:
        archive = path
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    extracted = f"{path}_extracted"
    if extract and os.path.isdir(extracted) and not os.path.exists(archive):
        return extracted
    if not os.path.isfile(archive):
        where = f" (Keras downloads it from {origin})" if origin else ""
        raise FileNotFoundError(f"{os.path.basename(archive)} is not in the Keras cache and lstmkit never downloads: "
                                f"put the file at {archive}{where}")
    if file_hash is not None:
        algorithm = hash_algorithm if hash_algorithm in ("md5", "sha256") else (
            "sha256" if len(file_hash) == 64 else "md5")
        if _hash(archive, algorithm) != file_hash:
            raise ValueError(f"get_file: {archive} does not match the expected {algorithm} hash {file_hash}; "
                             "replace it with the right file")
    if extract:
        if not os.path.isdir(extracted):
            _extract(archive, extracted, archive_format)
        return extracted
    return archive
