"""App checkpoint folders: the manifest in app.json (written last) catches a torn folder, a model
file outside the folder is never opened, damaged files give one AppError, old folders still load."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from lstmkit.checkpoint import APP_FILE, load_checkpoint, save_checkpoint
from lstmkit.errors import AppError


def _save(folder, scale: float = 1.0, arrays: bool = True):
    torch.manual_seed(0)
    module = torch.nn.Linear(3, 2)
    with torch.no_grad():
        module.weight.mul_(scale)
    extra = {"history": np.arange(4.0) * scale} if arrays else None
    return save_checkpoint(folder, "demoapp", {"scale": scale}, module=module, arrays=extra), module


def test_round_trip_and_manifest(tmp_path) -> None:
    folder, module = _save(tmp_path / "ck")
    state, weights, arrays = load_checkpoint(folder, "demoapp")
    assert state == {"scale": 1.0}
    torch.testing.assert_close(weights["weight"], module.weight.detach())
    np.testing.assert_array_equal(arrays["history"], np.arange(4.0))
    meta = json.loads((folder / APP_FILE).read_text())
    assert set(meta["sha256"]) == {"model.safetensors", "arrays.safetensors"}


def test_old_app_json_beside_a_new_model_is_refused(tmp_path) -> None:
    """What a kill between the model's rename and app.json's would leave when overwriting."""
    folder, _ = _save(tmp_path / "ck", scale=1.0)
    old_meta = (folder / APP_FILE).read_bytes()
    _save(folder, scale=2.0)
    (folder / APP_FILE).write_bytes(old_meta)
    with pytest.raises(AppError, match=r"is torn: (model|arrays).safetensors does not match app.json"):
        load_checkpoint(folder, "demoapp")


def test_stale_arrays_of_an_older_save_are_not_read(tmp_path) -> None:
    folder, _ = _save(tmp_path / "ck", arrays=True)
    _save(folder, scale=3.0, arrays=False)  # the old arrays.safetensors is still on disk
    _, _, arrays = load_checkpoint(folder, "demoapp")
    assert arrays == {}


@pytest.mark.parametrize("model_file", ["../elsewhere.safetensors", "/etc/passwd", "app.json", None, 3])
def test_model_file_outside_the_known_names_is_refused(tmp_path, model_file) -> None:
    folder, _ = _save(tmp_path / "ck")
    meta = json.loads((folder / APP_FILE).read_text())
    meta["model_file"] = model_file
    (folder / APP_FILE).write_text(json.dumps(meta))
    with pytest.raises(AppError, match="names the model file"):
        load_checkpoint(folder, "demoapp")


def test_damaged_model_file_without_manifest_gives_one_error(tmp_path) -> None:
    folder, _ = _save(tmp_path / "ck")
    meta = json.loads((folder / APP_FILE).read_text())
    del meta["sha256"]  # as written before the manifest existed
    (folder / APP_FILE).write_text(json.dumps(meta))
    assert load_checkpoint(folder, "demoapp")[0] == {"scale": 1.0}  # old folders still load
    (folder / "model.safetensors").write_bytes(b"\x00" * 40)
    with pytest.raises(AppError, match="model.safetensors"):
        load_checkpoint(folder, "demoapp")


def test_damaged_manifest_is_refused(tmp_path) -> None:
    folder, _ = _save(tmp_path / "ck")
    meta = json.loads((folder / APP_FILE).read_text())
    meta["sha256"] = {"model.safetensors": meta["sha256"]["model.safetensors"], "../x": "0"}
    (folder / APP_FILE).write_text(json.dumps(meta))
    with pytest.raises(AppError, match="damaged file list"):
        load_checkpoint(folder, "demoapp")
