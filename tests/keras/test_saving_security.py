"""Loading a ``.keras`` file never imports or runs what the file names: function entries resolve
only from the explicit registry (``lstmkit.keras.models._functions``) or ``custom_objects``."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import pytest

from lstmkit.keras import layers
from lstmkit.keras.losses import mean_squared_error
from lstmkit.keras.models import Sequential, load_model
from lstmkit.keras.models._functions import resolve_function, serialisable_functions


def _saved(tmp_path):
    model = Sequential([layers.Input((3,)), layers.Dense(1)])
    model.compile("sgd", loss=mean_squared_error)
    model.save(tmp_path / "ok.keras", save_format="lstmkit")  # test_keras3_files.py covers Keras 3's archive
    return tmp_path / "ok.keras"


def _with_function(src, dst, entry):
    """A copy of ``src`` whose compiled loss names ``entry`` ([module, name])."""
    with zipfile.ZipFile(src) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    config = json.loads(files["config.json"])
    assert config["compile_config"]["loss"] == {"__function__": list(entry_of(mean_squared_error))}
    config["compile_config"]["loss"] = {"__function__": entry}
    files["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(dst, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return dst


def entry_of(fn):
    return fn.__module__, fn.__name__


def test_registered_function_round_trips(tmp_path) -> None:
    model = load_model(_saved(tmp_path))
    assert model.compiled and model.loss is mean_squared_error


@pytest.mark.parametrize("entry", [["lstmkit.__main__", "main"], ["os", "system"], ["lstmkit.cli", "main"],
                                   ["lstmkit.keras.models.saving", "load_model"], ["builtins", "eval"],
                                   ["lstmkit.keras.activations", "get"]])
def test_unregistered_functions_are_refused_and_nothing_is_imported(tmp_path, entry) -> None:
    crafted = _with_function(_saved(tmp_path), tmp_path / "crafted.keras", entry)
    with pytest.raises(ValueError, match="not one of lstmkit's serialisable"):
        resolve_function(entry)
    with pytest.warns(UserWarning, match="uncompiled"):
        assert not load_model(crafted).compiled


def test_loading_a_crafted_file_does_not_import_the_module_it_names(tmp_path) -> None:
    """In a fresh interpreter: lstmkit.__main__ (which would run the CLI) is never imported."""
    crafted = _with_function(_saved(tmp_path), tmp_path / "crafted.keras", ["lstmkit.__main__", "main"])
    code = ("import sys, warnings\n"
            "from lstmkit.keras.models import load_model\n"
            "warnings.simplefilter('ignore')\n"
            f"m = load_model({str(crafted)!r})\n"
            "print('compiled', m.compiled, 'imported', 'lstmkit.__main__' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("compiled False imported False"), out.stdout


@pytest.mark.parametrize("entry", ["lstmkit.keras.losses.functions.mean_squared_error", ["a"], [1, 2], None])
def test_malformed_function_entries_are_corrupt_files(entry) -> None:
    with pytest.raises(ValueError, match="corrupt file"):
        resolve_function(entry)


def test_custom_objects_take_precedence_and_registry_holds_only_plain_functions() -> None:
    def my_loss(y_true, y_pred):
        return y_true

    assert resolve_function(["anything.at.all", "my_loss"], {"my_loss": my_loss}) is my_loss
    table = serialisable_functions()
    assert ("lstmkit.keras.losses.functions", "mean_squared_error") in table
    assert all(module.startswith("lstmkit.keras.") for module, _ in table)
    assert not any(name in ("get", "serialize", "deserialize") or name.startswith("_") for _, name in table)


def test_a_highly_compressed_member_is_refused_before_inflating(tmp_path) -> None:
    ok = _saved(tmp_path)
    with zipfile.ZipFile(ok) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    bomb = tmp_path / "bomb.keras"
    with zipfile.ZipFile(bomb, "w") as zf:
        zf.writestr("config.json", files["config.json"], compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("model.safetensors", b"\0" * (64 << 20), compress_type=zipfile.ZIP_DEFLATED)  # 64 MiB of zeros
    assert bomb.stat().st_size < 200_000
    with pytest.raises(ValueError, match="would inflate .* zip bomb"):
        load_model(bomb)


def test_unknown_members_are_never_read(tmp_path) -> None:
    ok = _saved(tmp_path)
    with zipfile.ZipFile(ok, "a") as zf:
        zf.writestr("junk.bin", b"\0" * (64 << 20), compress_type=zipfile.ZIP_DEFLATED)
    assert load_model(ok).compiled
