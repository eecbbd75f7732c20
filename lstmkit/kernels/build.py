"""Build lstmkit's fused CPU kernels (``csrc/``) into ``lstmkit/kernels/_lib``.

Run by the README set-up (``make``), never at import time::

    python -m lstmkit.kernels.build [--force] [--verbose]

It compiles with ``torch.utils.cpp_extension`` (ninja, the system C++ compiler, torch's own
headers; no CUDA), then moves the library into place atomically beside a JSON stamp recording
the torch version and a hash of the sources. ``lstmkit.kernels.fused`` loads it only when the
stamp matches the running torch and sources; otherwise it warns once and the layers fall back
to the plain torch path. Exits non-zero with the compiler's message if the build fails.
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

ROOT = Path(__file__).resolve().parents[2]
CSRC = ROOT / "csrc"
LIB_DIR = Path(__file__).resolve().parent / "_lib"
LIB_NAME = "lstmkit_cpu"
SOURCES = (
    "lstm.cpp", "lstm_backward.cpp", "lstm_team.cpp", "gru.cpp", "gemm.cpp", "microkernel.cpp",
    "microkernel_bf16.cpp", "pool.cpp", "masks.cpp", "rows.cpp", "ops.cpp",
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


def library_path() -> Path:
    return LIB_DIR / f"{LIB_NAME}.so"


def stamp_path() -> Path:
    return LIB_DIR / f"{LIB_NAME}.json"


def expected_stamp() -> dict:
    import torch

    return {"torch": torch.__version__, "sources": source_hash(), "python": sys.version.split()[0]}


def is_current() -> bool:
    try:
        stamp = json.loads(stamp_path().read_text())
    except (OSError, ValueError):
        return False
    return library_path().exists() and stamp == expected_stamp()


def build(force: bool = False, verbose: bool = False) -> Path:
    """Compile the kernels unless an up-to-date build exists; return the library's path."""
    if not force and is_current():
        return library_path()
    import torch
    from torch.utils import cpp_extension

    # ninja may come from this virtual environment (the dev extra) rather than the system.
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

    # -fopenmp: the threaded kernels share torch's OpenMP runtime (libgomp, already loaded by torch).
    flags = ["-O3", "-std=c++17", "-fno-math-errno", "-fopenmp"]
    if torch.backends.mkl.is_available():
        flags.append("-DLSTMKIT_USE_MKL")  # cblas_* come from libtorch_cpu
    LIB_DIR.mkdir(parents=True, exist_ok=True)
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
        staged = LIB_DIR / f".{LIB_NAME}.so.tmp"
        shutil.copyfile(built, staged)
        with open(staged, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(staged, library_path())
    from lstmkit.io import atomic_write_bytes

    atomic_write_bytes(stamp_path(), json.dumps(expected_stamp(), indent=1).encode())
    return library_path()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lstmkit.kernels.build", description=__doc__.splitlines()[0])
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
