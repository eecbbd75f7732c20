"""lstmkit.viz.history: a real fit's History, its CSVLogger file, a dict and a JSON dump all load
to the same values; CSV details (placeholders, separators, NaN) and malformed files are
reported; plot_history writes a PNG."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from lstmkit.keras import Sequential, callbacks, layers
from lstmkit.viz.history import load_history, plot_history

PNG = b"\x89PNG\r\n\x1a\n"


def _fit(tmp_path, *, validation: bool = True, separator: str = ",", epochs: int = 3):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 4, 2)).astype("float32")
    y = x[:, -1, :1]
    model = Sequential([layers.Input((4, 2)), layers.LSTM(3), layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    log = tmp_path / "log.csv"
    history = model.fit(x, y, epochs=epochs, batch_size=8, verbose=0,
                        validation_data=(x[:8], y[:8]) if validation else None,
                        callbacks=[callbacks.CSVLogger(log, separator=separator)])
    return history, log


def test_history_csv_dict_and_json_load_to_the_same_values(tmp_path) -> None:
    history, log = _fit(tmp_path)
    from_history = load_history(history)
    assert set(from_history) == {"loss", "mae", "val_loss", "val_mae"}
    assert all(len(v) == 3 and all(isinstance(f, float) for f in v) for v in from_history.values())
    assert load_history(log) == from_history
    assert load_history(str(log)) == from_history
    assert load_history(dict(history.history)) == from_history
    dumped = tmp_path / "history.json"
    dumped.write_text(json.dumps(history.history))
    assert load_history(dumped) == from_history
    wrapped = tmp_path / "run.json"
    wrapped.write_text(json.dumps({"history": history.history, "params": {"epochs": 3}}))
    assert load_history(wrapped) == from_history


def test_csv_without_validation_drops_placeholder_columns_and_reads_other_separators(tmp_path) -> None:
    history, log = _fit(tmp_path, validation=False, separator=";")
    assert "val_loss,".replace(",", ";") in log.read_text()  # CSVLogger's "NA" columns are there
    assert load_history(log) == load_history(history)
    assert set(load_history(log)) == {"loss", "mae"}


def test_missing_values_become_nan(tmp_path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("epoch,loss,val_loss\n0,1.5,NA\n1,1.0,0.9\n2,nan,0.8\n")
    got = load_history(path)
    assert got["loss"][:2] == [1.5, 1.0] and math.isnan(got["loss"][2])
    assert math.isnan(got["val_loss"][0]) and got["val_loss"][1:] == [0.9, 0.8]
    assert math.isnan(load_history({"loss": [None, 1.0]})["loss"][0])
    assert load_history({"loss": np.array([1.0, 2.0], dtype=np.float32)}) == {"loss": [1.0, 2.0]}


@pytest.mark.parametrize(("text", "pattern"), [
    ("", "is empty"),
    ("  \n\n", "is empty"),
    ("epoch,loss,val_loss\n", "no epoch rows"),
    ("epoch,loss\n0,1.0\n1\n", "line 3 has 1 fields, expected 2"),
    ("epoch,loss,acc\n0,1.0,high\n", "column 'acc' must be numeric, line 2 has 'high'"),
    ("epoch,loss,loss\n0,1,2\n", "name each column once"),
    ("epoch,val_loss\n0,NA\n", "no metric column with values"),
])
def test_malformed_csv_files_are_reported(tmp_path, text: str, pattern: str) -> None:
    path = tmp_path / "log.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=pattern):
        load_history(path)


@pytest.mark.parametrize(("text", "pattern"), [
    ('{"loss": [1.0, ', "not valid JSON"),
    ("[1, 2]", "must hold a JSON object"),
    ('{"loss": [1.0, "x"]}', r"\['loss'\]\[1\] must be a number, got 'x'"),
    ('{"loss": 1.0}', r"\['loss'\] must be a list with one value per epoch"),
    ("{}", "records no metric"),
    ('{"loss": []}', "records no epoch"),
])
def test_malformed_json_files_are_reported(tmp_path, text: str, pattern: str) -> None:
    path = tmp_path / "history.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=pattern):
        load_history(path)


def test_bad_sources(tmp_path) -> None:
    with pytest.raises(TypeError, match="source must be a History"):
        load_history(42)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_history(tmp_path / "missing.csv")
    with pytest.raises(ValueError, match=r"history\['acc'\]\[0\] must be a number, got True"):
        load_history({"acc": [True]})
    with pytest.raises(ValueError, match=r"must be a number \(one value per epoch\)"):
        load_history({"auc": [np.array([0.1, 0.2])]})
    binary = tmp_path / "weights.bin"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(ValueError, match="not a text"):
        load_history(binary)


def test_plot_history_writes_png_from_history_and_csv(tmp_path) -> None:
    history, log = _fit(tmp_path)
    path = plot_history(tmp_path / "curves.png", history, title="tiny fit")
    assert path == tmp_path / "curves.png" and path.read_bytes().startswith(PNG)
    assert plot_history(tmp_path / "from_csv.png", log).read_bytes().startswith(PNG)
    wide = {"loss": list(np.geomspace(10, 0.01, 40)), "val_loss": list(np.geomspace(12, 0.05, 40)),
            "acc": list(np.linspace(0.1, 0.9, 40)), "val_acc": list(np.linspace(0.1, 0.8, 40)),
            "learning_rate": [1e-3] * 40, "val_auc": list(np.linspace(0.5, 0.9, 40))}
    assert plot_history(tmp_path / "wide.png", wide).read_bytes().startswith(PNG)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.png", "from_csv.png", "log.csv", "wide.png"]
