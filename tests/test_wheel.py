"""Packaging: a wheel built from this tree carries the fused kernels' C++ sources, and a
non-editable install of it, in a fresh virtual environment, finds its kernels and runs a fused
LSTM forward equal to torch.nn.LSTM's.

Building the wheel and the venv takes about 10 s and always runs. Compiling the kernels inside
the venv with ``python -m lstmkit.kernels.build`` takes 1-3 minutes on 2 cores (about 1 when
idle, 3 when shared), so that test is opt-in: ``LSTMKIT_WHEEL_BUILD_TEST=1``
(``make test-wheel``); the default run instead copies the checkout's own build into the installed
package (same sources, torch and Python, so the stamp matches) to check that an installed lstmkit
loads and runs it. Nothing is downloaded:
the wheel is built without isolation or dependencies, installed with ``--no-index --no-deps``,
and the venv sees this environment's torch through a ``.pth`` file (``--system-site-packages``
alone would show the base interpreter's packages, not this venv's).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import numpy
import pytest
import safetensors
import torch

import lstmkit

ROOT = Path(lstmkit.__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.skipif(not (ROOT / "pyproject.toml").exists(), reason="needs a source checkout"),
    pytest.mark.skipif(shutil.which("ninja") is None or shutil.which("c++") is None, reason="needs ninja and c++"),
]

# Not part of a source tree: the copy the wheel is built from leaves them out.
IGNORED = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "_lib", "__pycache__",
                                 ".pytest_cache", ".ruff_cache", ".hypothesis", "runs", "out")

FORWARD = """
import torch
import lstmkit, lstmkit.nn as lnn
from lstmkit.kernels import fused
assert lstmkit.__file__.startswith({venv!r}), lstmkit.__file__
assert fused.available(), fused.unavailable_reason()
torch.manual_seed(0)
ref = torch.nn.LSTM(3, 5, num_layers=2)
m = lnn.LSTM(3, 5, num_layers=2, backend="fused")
m.load_state_dict(ref.state_dict())
x = torch.randn(7, 4, 3)
calls = []
real = fused.lstm_layer
fused.lstm_layer = lambda *a, **k: calls.append(1) or real(*a, **k)
with torch.no_grad():
    out, (h, c) = m(x)
    out_ref, (h_ref, c_ref) = ref(x)
assert len(calls) == 2, calls
for a, b in ((out, out_ref), (h, h_ref), (c, c_ref)):
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
print("fused forward matches torch.nn.LSTM")
"""


def _run(cmd: list[str], env: dict, cwd: Path, timeout: int = 300) -> str:
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(python, its site-packages, env): the wheel of this tree installed into a fresh venv."""
    tmp = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LSTMKIT_KERNEL_DIR")}
    env.update(HOME=str(tmp / "home"), XDG_CACHE_HOME=str(tmp / "cache"), PIP_NO_INDEX="1",
               PIP_DISABLE_PIP_VERSION_CHECK="1",
               PATH=os.path.dirname(shutil.which("ninja")) + os.pathsep + env.get("PATH", ""))
    src, dist, venv = tmp / "src", tmp / "dist", tmp / "venv"
    shutil.copytree(ROOT, src, ignore=IGNORED)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", str(src),
          "-w", str(dist)], env, tmp)
    (wheel,) = dist.glob("lstmkit-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {"lstmkit/csrc/lstm.cpp", "lstmkit/csrc/common.h", "lstmkit/kernels/build.py"} <= set(names)
    assert not [n for n in names if n.endswith(".so")]  # sources only: the build happens on the target

    _run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], env, tmp)
    py = venv / "bin" / "python"
    site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], env, tmp).strip())
    ours = {Path(m.__file__).resolve().parents[1] for m in (torch, numpy, safetensors)}
    ours.add(Path(sysconfig.get_path("purelib")))  # pip, setuptools
    (site / "_parent_env.pth").write_text("".join(f"{p}\n" for p in sorted(ours)))
    _run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-index", "--no-deps",
          "--ignore-installed", str(wheel)], env, tmp)
    return py, site, env


def test_an_installed_wheel_without_a_build_says_how_to_build(installed):
    py, site, env = installed
    code = ("import lstmkit\nfrom lstmkit.kernels import build, fused\n"
            "print(lstmkit.__file__, build.CSRC.is_dir(), fused.unavailable_reason(), sep='\\n')")
    where, has_sources, reason = _run([str(py), "-c", code], env, site.parent).splitlines()[:3]
    assert where.startswith(str(site)) and has_sources == "True"
    assert "not built" in reason and "python -m lstmkit.kernels.build" in reason


def test_an_installed_wheel_loads_its_kernels(installed):
    from lstmkit.kernels import build, fused

    if not fused.available():
        pytest.skip(f"the checkout's kernels: {fused.unavailable_reason()}")
    py, site, env = installed
    lib = site / "lstmkit" / "kernels" / "_lib"
    lib.mkdir(exist_ok=True)
    path = build.locate()[0]
    for f in (path, path.with_suffix(".json")):
        shutil.copyfile(f, lib / f.name)
    try:
        out = _run([str(py), "-c", FORWARD.format(venv=str(site))], env, site.parent)
    finally:
        shutil.rmtree(lib)
    assert "fused forward matches torch.nn.LSTM" in out


@pytest.mark.skipif(os.environ.get("LSTMKIT_WHEEL_BUILD_TEST") != "1",
                    reason="compiles the kernels (1-3 min): set LSTMKIT_WHEEL_BUILD_TEST=1")
def test_an_installed_wheel_builds_its_kernels(installed):
    py, site, env = installed
    built = _run([str(py), "-m", "lstmkit.kernels.build"], env, site.parent, timeout=900)
    assert str(site / "lstmkit" / "kernels" / "_lib" / "lstmkit_cpu.so") in built, built
    out = _run([str(py), "-c", FORWARD.format(venv=str(site))], env, site.parent)
    assert "fused forward matches torch.nn.LSTM" in out
