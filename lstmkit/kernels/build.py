"""Build lstmkit's fused CPU kernels (the C++ sources in ``lstmkit/csrc/``, shipped inside the package).

Run by the set-up (``make``) or by hand after installing lstmkit, never at import time::

    python -m lstmkit.kernels.build [--force] [--verbose]

It compiles with ``torch.utils.cpp_extension`` (ninja, the system C++ compiler, torch's own
headers; no CUDA), then moves the library into place atomically beside a JSON stamp recording
the torch version and a hash of the sources. ``lstmkit.kernels.fused`` loads it only when the
stamp matches the running torch and sources; otherwise it warns once and the layers fall back
to the plain torch path. Exits non-zero with the compiler's message if the build fails.

Where the library goes (and is looked for), so that a non-editable install works too:

1. ``$LSTMKIT_KERNEL_DIR`` when set: only there.
2. ``lstmkit/kernels/_lib`` beside this file, when that is writable: a checkout, or an install
   into a virtual environment the user owns (``pip uninstall`` leaves this folder behind).
3. Otherwise (a read-only system or shared install) a per-user cache,
   ``$XDG_CACHE_HOME/lstmkit/kernels/<key>`` (default ``~/.cache``), one folder per
   torch/Python/source combination so that environments sharing a home folder do not
   overwrite each other's builds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
CSRC = PACKAGE / "csrc"
LIB_DIR = Path(__file__).resolve().parent / "_lib"
LIB_NAME = "lstmkit_cpu"
DIR_ENV = "LSTMKIT_KERNEL_DIR"
BUILD_COMMAND = "python -m lstmkit.kernels.build"
SOURCES = (
    "lstm.cpp", "lstm_backward.cpp", "lstm_team.cpp", "gru.cpp", "gemm.cpp", "microkernel.cpp",
    "microkernel_bf16.cpp", "pool.cpp", "masks.cpp", "rows.cpp", "ops.cpp", "stream.cpp", "peak.cpp",
)


def source_files() -> list[Path]:
    return [CSRC / name for name in SOURCES if (CSRC / name).exists()]


def source_hash() -> str:
    """Hash of every C++ source and header: a changed kernel invalidates the built library."""
    digest = hashlib.sha256()
    for path in sorted(CSRC.glob("*.*")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def expected_stamp() -> dict:
    import torch

    return {"torch": torch.__version__, "sources": source_hash(), "python": sys.version.split()[0]}


# ----------------------------------------------------------------------------- where


def user_lib_dir() -> Path:
    """The per-user cache folder for this torch, Python and these sources (see the module doc)."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    key = hashlib.sha256(json.dumps(expected_stamp(), sort_keys=True).encode()).hexdigest()[:16]
    return Path(cache) / "lstmkit" / "kernels" / key


def _writable(path: Path) -> bool:
    """Whether ``path`` can be written, or created in its nearest existing parent."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return os.access(path, os.W_OK)


def lib_dirs() -> list[Path]:
    """Where a built library is looked for, in order."""
    if os.environ.get(DIR_ENV):
        return [Path(os.environ[DIR_ENV])]
    return [LIB_DIR, user_lib_dir()]


def target_dir() -> Path:
    """Where ``build()`` puts the library: the first of ``lib_dirs()`` this user may write."""
    dirs = lib_dirs()
    return next((d for d in dirs if _writable(d)), dirs[-1])


def library_path(lib_dir: Path | None = None) -> Path:
    return (lib_dir or target_dir()) / f"{LIB_NAME}.so"


def stamp_path(lib_dir: Path | None = None) -> Path:
    return (lib_dir or target_dir()) / f"{LIB_NAME}.json"


def is_current(lib_dir: Path | None = None) -> bool:
    """Whether ``lib_dir`` (default: ``target_dir()``) holds a library built from these sources
    for this torch and Python."""
    try:
        stamp = json.loads(stamp_path(lib_dir).read_text())
    except (OSError, ValueError):
        return False
    return library_path(lib_dir).exists() and stamp == expected_stamp()


def locate() -> tuple[Path | None, str | None]:
    """(the up-to-date library to load, None), or (None, why there is none, in words)."""
    dirs = lib_dirs()
    for d in dirs:
        if is_current(d):
            return library_path(d), None
    if any(library_path(d).exists() for d in dirs):
        return None, ("the built fused CPU kernels do not match this torch version or these sources "
                      f"(rebuild with `{BUILD_COMMAND}`)")
    return None, (f"the fused CPU kernels are not built (run `{BUILD_COMMAND}`, or `make` in a checkout; "
                  "it needs a C++ compiler and ninja)")


# ----------------------------------------------------------------------------- build


def build(force: bool = False, verbose: bool = False) -> Path:
    """Compile the kernels into ``target_dir()`` unless an up-to-date build is there; return
    the library's path."""
    lib_dir = target_dir()
    if not force and is_current(lib_dir):
        return library_path(lib_dir)
    import torch
    from torch.utils import cpp_extension

    # ninja may come from this virtual environment (the dev extra) rather than the system.
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

    # -fopenmp: the threaded kernels share torch's OpenMP runtime (libgomp, already loaded by torch).
    flags = ["-O3", "-std=c++17", "-fno-math-errno", "-fopenmp"]
    if torch.backends.mkl.is_available():
        flags.append("-DLSTMKIT_USE_MKL")  # cblas_* come from libtorch_cpu
    lib_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lstmkit-build-") as tmp:
        cpp_extension.load(
            name=LIB_NAME,
            sources=[str(p) for p in source_files()],
            extra_cflags=flags,
            extra_include_paths=[str(CSRC)],
            extra_ldflags=["-fopenmp"],
            build_directory=tmp,
            is_python_module=False,
            verbose=verbose,
        )
        built = Path(tmp) / f"{LIB_NAME}.so"
        staged = lib_dir / f".{LIB_NAME}.so.tmp"
        shutil.copyfile(built, staged)
        with open(staged, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(staged, library_path(lib_dir))
    from lstmkit.io import atomic_write_bytes

    atomic_write_bytes(stamp_path(lib_dir), json.dumps(expected_stamp(), indent=1).encode())
    return library_path(lib_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=BUILD_COMMAND, description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if the library is up to date")
    parser.add_argument("--verbose", action="store_true", help="show the compiler's command lines")
    args = parser.parse_args(argv)
    try:
        path = build(force=args.force, verbose=args.verbose)
    except Exception as exc:  # the compiler's own message is the useful part
        print(f"lstmkit: building the fused CPU kernels failed: {exc}", file=sys.stderr)
        return 1
    print(f"lstmkit: fused CPU kernels ready at {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
