"""``lstmkit viz cells|gates|errors|attention|history`` through ``lstmkit.cli.main`` on tiny models
in tmp_path: each writes its page or plot, and bad input is one line with exit status 2."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from lstmkit.cli import main

TEXT = "".join(f'line {i}: "the quick (brown) fox" jumps over the lazy dog.\n' for i in range(80))
TINY = ["--layers", "2", "--units", "12", "--embed-dim", "6", "--seq-len", "10", "--batch-size", "4", "--verbose", "0"]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("viz")
    (folder / "corpus.txt").write_text(TEXT, encoding="utf-8")
    (folder / "sample.txt").write_text(TEXT[:600], encoding="utf-8")
    assert main(["textgen", "train", "--text", str(folder / "corpus.txt"), *TINY, "--steps", "5",
                 "--out", str(folder / "ckpt")]) == 0
    return folder


def _error(capsys: pytest.CaptureFixture[str], args: list[str]) -> str:
    with pytest.raises(SystemExit) as exc:  # argparse errors exit from inside the parser
        raise SystemExit(main(args))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    return err


def test_cells_writes_a_page_with_every_layer(run, capsys: pytest.CaptureFixture[str]) -> None:
    out = run / "cells.html"
    assert main(["viz", "cells", "--checkpoint", str(run / "ckpt"), "--text", str(run / "sample.txt"),
                 "--out", str(out), "--layer", "1", "--cell", "3"]) == 0
    html = out.read_text(encoding="utf-8")
    assert "lstm/l0" in html and "lstm/l1" in html
    assert "cell page (600 characters, 2 layer trace(s))" in capsys.readouterr().out
    assert main(["viz", "cells", "--checkpoint", str(run / "ckpt"), "--text", str(run / "sample.txt"),
                 "--out", str(out)]) == 0  # an existing page is replaced


def test_gates_writes_the_saturation_plot(run, capsys: pytest.CaptureFixture[str]) -> None:
    out = run / "gates.png"
    assert main(["viz", "gates", "--checkpoint", str(run / "ckpt"), "--text", str(run / "sample.txt"),
                 "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == PNG
    printed = capsys.readouterr().out
    assert "lstm/l0" in printed and "f: left" in printed


def test_errors_writes_plots_and_json(run, capsys: pytest.CaptureFixture[str]) -> None:
    out = run / "errors"
    assert main(["viz", "errors", "--checkpoint", str(run / "ckpt"), "--text", str(run / "sample.txt"),
                 "--train", str(run / "corpus.txt"), "--orders", "2,4", "--out", str(out)]) == 0
    assert (out / "errors.png").read_bytes()[:8] == PNG and (out / "closing.png").read_bytes()[:8] == PNG
    summary = json.loads((out / "errors.json").read_text())
    assert summary["chars"] == 600 and summary["orders"] == [2, 4]
    assert set(summary["closing"]) == {"LSTM", "4-gram"}
    assert "LSTM errors (p < 0.5) by kind" in capsys.readouterr().out


def test_history_plots_a_csvlogger_file(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "log.csv"
    csv.write_text("epoch,loss,val_loss\n0,1.0,1.2\n1,0.8,1.1\n2,0.7,1.05\n")
    assert main(["viz", "history", "--history", str(csv), "--out", str(tmp_path / "h.png")]) == 0
    assert (tmp_path / "h.png").read_bytes()[:8] == PNG


def test_attention_draws_a_saved_model(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    from lstmkit import keras
    from lstmkit.keras import layers

    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(6, 3))
    seq = layers.LSTM(4, return_sequences=True)(inputs)
    context = layers.Attention(name="attn")([seq, seq])
    model = keras.Model(inputs, layers.Dense(1)(layers.GlobalAveragePooling1D()(context)))
    model.save(tmp_path / "m.keras")
    np.save(tmp_path / "x.npy", np.random.default_rng(0).normal(size=(2, 6, 3)).astype("float32"))
    out = tmp_path / "att.html"
    assert main(["viz", "attention", "--model", str(tmp_path / "m.keras"), "--input", str(tmp_path / "x.npy"),
                 "--out", str(out)]) == 0
    assert out.is_file() and out.with_suffix(".png").read_bytes()[:8] == PNG
    err = _error(capsys, ["viz", "attention", "--model", str(tmp_path / "m.keras"), "--input",
                          str(tmp_path / "x.npy"), "--out", str(out), "--example", "5"])
    assert "--example 5 is out of range" in err
    np.save(tmp_path / "scalar.npy", np.float32(1.0))
    err = _error(capsys, ["viz", "attention", "--model", str(tmp_path / "m.keras"), "--input",
                          str(tmp_path / "scalar.npy"), "--out", str(out)])
    assert "expected (examples, steps, ...)" in err


@pytest.mark.parametrize(("args", "message"), [
    (["--layer", "2"], "--layer 2 is out of range"),
    (["--cell", "12"], "--cell 12 is out of range"),
    (["--quantity", "r"], "--quantity r"),
])
def test_cells_selection_out_of_range(run, capsys, args, message) -> None:
    err = _error(capsys, ["viz", "cells", "--checkpoint", str(run / "ckpt"), "--text", str(run / "sample.txt"),
                          "--out", str(run / "bad.html"), *args])
    assert message in err


def test_text_with_unknown_characters(run, tmp_path, capsys) -> None:
    (tmp_path / "odd.txt").write_text("Zebra § quiz", encoding="utf-8")
    err = _error(capsys, ["viz", "cells", "--checkpoint", str(run / "ckpt"), "--text", str(tmp_path / "odd.txt"),
                          "--out", str(tmp_path / "p.html")])
    assert "does not know" in err and "'§'" in err


def test_a_checkpoint_of_another_app_or_no_checkpoint(run, tmp_path, capsys) -> None:
    from lstmkit.checkpoint import save_checkpoint

    save_checkpoint(tmp_path / "fc", "forecast", {"x": 1}, module=torch.nn.Linear(2, 1))
    for view, out in (("cells", "p.html"), ("gates", "g.png"), ("errors", "e")):
        err = _error(capsys, ["viz", view, "--checkpoint", str(tmp_path / "fc"), "--out", str(tmp_path / out)])
        assert "is a 'forecast' checkpoint, not a 'textgen' one" in err
    err = _error(capsys, ["viz", "gates", "--checkpoint", str(tmp_path / "nothing"), "--out", str(tmp_path / "g.png")])
    assert "no checkpoint at" in err


@pytest.mark.parametrize(("view", "out", "message"), [
    ("cells", "page.png", "expected a file name ending in .html"),
    ("gates", "folder", "is a folder"),
])
def test_bad_out(run, tmp_path, capsys, view, out, message) -> None:
    (tmp_path / "folder").mkdir()
    err = _error(capsys, ["viz", view, "--checkpoint", str(run / "ckpt"), "--out", str(tmp_path / out)])
    assert message in err


def test_bad_orders_and_empty_text(run, tmp_path, capsys) -> None:
    err = _error(capsys, ["viz", "errors", "--checkpoint", str(run / "ckpt"), "--orders", "3,x",
                          "--out", str(tmp_path / "e")])
    assert "--orders takes comma-separated integers" in err
    (tmp_path / "one.txt").write_text("l", encoding="utf-8")
    err = _error(capsys, ["viz", "gates", "--checkpoint", str(run / "ckpt"), "--text", str(tmp_path / "one.txt"),
                          "--out", str(tmp_path / "g.png")])
    assert "expected at least 2" in err
