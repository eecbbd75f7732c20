"""Building and loading the fused kernels: the stamp that ties a built library to its sources
and torch, and the fallback to the torch path (one warning) when the library is unavailable.

Nothing here compiles or touches the real build: sources and stamps live in tmp dirs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

import lstmkit
import lstmkit.nn as lnn
from lstmkit.kernels import build, fused, native


@pytest.fixture
def tmp_csrc(tmp_path, monkeypatch):
    src = tmp_path / "csrc"
    shutil.copytree(build.CSRC, src)
    monkeypatch.setattr(build, "CSRC", src)
    return src


def test_source_hash_follows_every_source_file(tmp_csrc):
    before = build.source_hash()
    assert before == build.source_hash()  # deterministic
    lstm = tmp_csrc / "lstm.cpp"
    original = lstm.read_bytes()
    lstm.write_bytes(original + b"\n// a changed kernel\n")
    changed = build.source_hash()
    assert changed != before
    lstm.write_bytes(original)
    assert build.source_hash() == before
    header = tmp_csrc / "common.h"
    header.write_bytes(header.read_bytes() + b" ")
    assert build.source_hash() != before  # headers count too
    header.write_bytes(header.read_bytes()[:-1])
    (tmp_csrc / "extra.h").write_text("#pragma once\n")
    assert build.source_hash() != before  # so does a new file


def test_source_hash_covers_a_renamed_file(tmp_csrc):
    before = build.source_hash()
    (tmp_csrc / "ops.cpp").rename(tmp_csrc / "ops2.cpp")
    assert build.source_hash() != before


@pytest.fixture
def tmp_lib(tmp_path, monkeypatch):
    lib = tmp_path / "_lib"
    lib.mkdir()
    monkeypatch.setattr(build, "LIB_DIR", lib)
    monkeypatch.delenv(build.DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return lib


def _fake_build(lib_dir: Path, stamp: dict | None = None) -> None:
    lib_dir.mkdir(parents=True, exist_ok=True)
    build.library_path(lib_dir).write_bytes(b"not really a library")
    build.stamp_path(lib_dir).write_text(json.dumps(stamp or build.expected_stamp()))


def test_is_current_needs_the_library_and_the_exact_stamp(tmp_lib):
    assert build.library_path().parent == tmp_lib
    assert not build.is_current()  # nothing built
    build.library_path().write_bytes(b"not really a library")
    assert not build.is_current()  # no stamp
    good = build.expected_stamp()
    build.stamp_path().write_text(json.dumps(good))
    assert build.is_current()
    for key, wrong in (("torch", "0.0.0"), ("sources", "0" * 16), ("python", "2.7.18")):
        build.stamp_path().write_text(json.dumps({**good, key: wrong}))
        assert not build.is_current(), key
    build.stamp_path().write_text(json.dumps({k: v for k, v in good.items() if k != "python"}))
    assert not build.is_current()  # a missing field is a mismatch
    build.stamp_path().write_text("{ not json")
    assert not build.is_current()
    build.stamp_path().write_text(json.dumps(good))
    build.library_path().unlink()
    assert not build.is_current()  # a stamp without its library


def test_is_current_follows_source_changes(tmp_lib, tmp_csrc):
    build.library_path().write_bytes(b"")
    build.stamp_path().write_text(json.dumps(build.expected_stamp()))
    assert build.is_current()
    (tmp_csrc / "lstm.cpp").write_text("// edited after the build\n")
    assert not build.is_current()


def test_a_read_only_package_builds_into_the_user_cache(tmp_lib, tmp_path, monkeypatch):
    assert build.target_dir() == tmp_lib  # writable: beside the package, as in a checkout or a venv
    monkeypatch.setattr(build, "_writable", lambda path: path != tmp_lib)  # a system-wide install
    user = build.target_dir()
    assert user == build.user_lib_dir() and user.parent == tmp_path / "cache" / "lstmkit" / "kernels"
    assert build.library_path() == user / "lstmkit_cpu.so"
    monkeypatch.setattr(build, "expected_stamp", lambda: {"torch": "another", "sources": "x", "python": "3"})
    assert build.user_lib_dir() != user  # one cache folder per torch / Python / sources


def test_locate_looks_beside_the_package_then_in_the_cache(tmp_lib):
    path, reason = build.locate()
    assert path is None and "python -m lstmkit.kernels.build" in reason and "not built" in reason
    _fake_build(build.user_lib_dir())
    assert build.locate() == (build.library_path(build.user_lib_dir()), None)
    _fake_build(tmp_lib)
    assert build.locate() == (tmp_lib / "lstmkit_cpu.so", None)  # the package's own build first


def test_locate_names_a_stale_build(tmp_lib):
    _fake_build(tmp_lib, {**build.expected_stamp(), "torch": "0.0.0"})
    path, reason = build.locate()
    assert path is None and "do not match this torch version" in reason and "python -m lstmkit.kernels.build" in reason


def test_kernel_dir_variable_pins_build_and_lookup(tmp_lib, tmp_path, monkeypatch):
    pinned = tmp_path / "pinned"
    monkeypatch.setenv(build.DIR_ENV, str(pinned))
    assert build.lib_dirs() == [pinned] and build.target_dir() == pinned
    _fake_build(tmp_lib)
    assert build.locate()[0] is None  # only the pinned folder counts
    _fake_build(pinned)
    assert build.locate()[0] == pinned / "lstmkit_cpu.so"


def test_sources_are_package_data():
    assert build.CSRC == Path(lstmkit.__file__).resolve().parent / "csrc"
    assert {p.name for p in build.source_files()} == set(build.SOURCES)
    pyproject = Path(lstmkit.__file__).resolve().parents[1] / "pyproject.toml"
    if pyproject.exists():  # a checkout: the wheel must carry every source and header
        tomllib = pytest.importorskip("tomllib")  # Python 3.11+
        data = tomllib.loads(pyproject.read_text())["tool"]["setuptools"]["package-data"]["lstmkit"]
        shipped = {p.name for pattern in data for p in build.PACKAGE.glob(pattern)}
        assert shipped == {p.name for p in build.CSRC.iterdir() if p.is_file()}


# ----------------------------------------------------------------------------- fallback

REASON = "not built (test)"


@pytest.fixture
def unavailable(monkeypatch):
    monkeypatch.setattr(fused, "_state", {"tried": True, "reason": REASON, "warned": False})


def test_unavailable_state_is_reported(unavailable):
    assert not fused.available()
    assert fused.unavailable_reason() == REASON
    assert REASON in fused.info()
    assert any(REASON in b for b in fused.blockers(torch.zeros(1, 1, 1), lnn.LSTM(1, 1).spec))


def test_auto_falls_back_to_torch_with_one_warning(unavailable, monkeypatch):
    torch.manual_seed(0)
    m = lnn.LSTM(3, 4, num_layers=2, bidirectional=True)
    native_path = lnn.LSTM(3, 4, num_layers=2, bidirectional=True, backend="torch")
    native_path.load_state_dict(m.state_dict())
    x = torch.randn(5, 2, 3)
    calls: list[int] = []
    for name in ("lstm_layer",):  # the fused LSTM's one entry point
        real = getattr(fused, name)
        monkeypatch.setattr(fused, name, lambda *a, _real=real, **k: calls.append(1) or _real(*a, **k))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out1, (h1, c1) = m(x)
        out2, _ = m(x)
        lnn.LSTM(3, 4, variant="cifg")(x)  # another module, another config: still no second warning
    ours = [w for w in caught if "lstmkit" in str(w.message)]
    assert len(ours) == 1, [str(w.message) for w in caught]
    assert REASON in str(ours[0].message) and "slower torch path" in str(ours[0].message)
    assert not calls
    ref, (h_ref, c_ref) = native_path(x)
    torch.testing.assert_close(out1, ref, atol=0, rtol=0)
    torch.testing.assert_close(out2, ref, atol=0, rtol=0)
    torch.testing.assert_close(h1, h_ref, atol=0, rtol=0)
    torch.testing.assert_close(c1, c_ref, atol=0, rtol=0)


def test_auto_fallback_warns_with_pytest_warns(unavailable, recwarn):
    m = lnn.LSTM(3, 4)
    with pytest.warns(UserWarning, match=r"not built \(test\); using the slower torch path"):
        m(torch.randn(5, 2, 3))
    recwarn.clear()
    m(torch.randn(5, 2, 3))
    assert not [w for w in recwarn if "lstmkit" in str(w.message)]


def test_auto_fallback_runs_native_for_plain_and_loop_for_extras(unavailable, monkeypatch):
    calls: list[int] = []
    real = native.rnn
    monkeypatch.setattr(native, "rnn", lambda *a, **k: calls.append(1) or real(*a, **k))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lnn.LSTM(3, 4)(torch.randn(5, 2, 3))
        assert len(calls) == 1
        torch.manual_seed(0)
        m = lnn.LSTM(3, 4, variant="fgr", layer_norm=True)
        ref = lnn.LSTM(3, 4, variant="fgr", layer_norm=True, backend="reference")
        ref.load_state_dict(m.state_dict())
        x = torch.randn(5, 2, 3)
        torch.testing.assert_close(m(x)[0], ref(x)[0], atol=0, rtol=0)
    assert len(calls) == 1


def test_fallback_warning_points_at_the_caller(unavailable):
    with pytest.warns(UserWarning, match="slower torch path") as record:
        lnn.LSTM(3, 4)(torch.randn(5, 2, 3))
    assert record[0].filename == __file__


def test_backend_fused_names_the_reason(unavailable):
    m = lnn.LSTM(3, 4, backend="fused")
    with pytest.raises(ValueError, match=r"backend='fused'.*not built \(test\)"):
        m(torch.randn(5, 2, 3))
    assert not fused._state["warned"]  # an explicit request errors, it does not warn


@pytest.mark.skipif(not fused.available(), reason="lstmkit's fused CPU kernels are not built")
def test_lstm_layer_loads_the_library_itself():
    code = (
        "import torch, lstmkit.nn as lnn\n"
        "from lstmkit.kernels import fused\n"
        "m = lnn.LSTM(3, 4)\n"
        "out, h, c = fused.lstm_layer(m.spec, m.layer_params(0), torch.randn(5, 2, 3), "
        "torch.zeros(2, 4), torch.zeros(2, 4))\n"
        "assert out.shape == (5, 2, 4)\n"
    )
    root = Path(fused.__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
