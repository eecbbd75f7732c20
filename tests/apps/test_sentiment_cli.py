"""``lstmkit sentiment train | evaluate | predict`` through ``lstmkit.cli.main``, with tiny models on
small subsets, and its errors: exit status 2 and one line on stderr, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lstmkit.cli import main

TINY = ["--epochs", "1", "--embed-dim", "4", "--units", "4", "--vocab", "300", "--quiet"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sentiment") / "run"
    assert main(["sentiment", "train", "--limit", "300", "--no-baseline", "--out", str(out), *TINY]) == 0
    return out


def _one_line_error(capsys, argv: list[str], *mentions: str) -> str:
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 2
    message = captured.err.strip()
    assert "\n" not in message and "Traceback" not in message, message
    for text in mentions:
        assert text in message, message
    return message


def test_train_writes_checkpoint_metrics_and_plots(model_dir) -> None:
    names = {p.name for p in model_dir.iterdir()}
    assert {"app.json", "model.safetensors", "metrics.json", "confusion_matrix.png", "roc.png"} <= names
    report = json.loads((model_dir / "metrics.json").read_text())
    assert report["split"] == {"seed": 0, "train": 240, "val": 30, "test": 30}
    assert set(report["metrics"]) == {"lstm"}
    assert (model_dir / "roc.png").read_bytes()[:4] == b"\x89PNG"


def test_train_with_baseline_on_a_user_csv(tmp_path, capsys) -> None:
    rows = [("a truly great film", "pos"), ("great acting and a great story", "pos"),
            ("boring and far too long", "neg"), ("a dull, boring mess", "neg")]
    lines = ["text,label"] + [f'"{t} {k}",{y}' for k in range(15) for t, y in rows] + ['" ",pos']
    (tmp_path / "r.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "run"
    assert main(["sentiment", "train", "--csv", str(tmp_path / "r.csv"), "--out", str(out), "--no-plots", *TINY]) == 0
    printed = capsys.readouterr().out
    assert "tfidf_logreg" in printed and "LSTM minus baseline" in printed and "1 empty" in printed
    report = json.loads((out / "metrics.json").read_text())
    assert report["data"]["classes"] == ["neg", "pos"] and report["data"]["dropped"]["empty"] == 1
    assert main(["sentiment", "evaluate", "--model", str(out)]) == 0  # rebuilds the CSV's test split
    assert "test split it was trained with" in capsys.readouterr().out


def test_evaluate_on_the_training_split_and_on_a_csv(model_dir, tmp_path, capsys) -> None:
    assert main(["sentiment", "evaluate", "--model", str(model_dir), "--out", str(tmp_path / "ev")]) == 0
    printed = capsys.readouterr().out
    assert "test split it was trained with" in printed and "accuracy" in printed
    stored = json.loads((model_dir / "metrics.json").read_text())["metrics"]["lstm"]
    again = json.loads((tmp_path / "ev" / "evaluation.json").read_text())["lstm"]
    assert again == stored  # the same test texts, the same predictions
    csv = tmp_path / "e.csv"
    csv.write_text("review,verdict\nwonderful,fresh\nterrible,rotten\nfine,fresh\n")
    assert main(["sentiment", "evaluate", "--model", str(model_dir), "--csv", str(csv), "--text-col", "review",
                 "--label-col", "verdict"]) == 0
    assert "3 texts" in capsys.readouterr().out


def test_predict_texts_and_file(model_dir, tmp_path, capsys) -> None:
    assert main(["sentiment", "predict", "--model", str(model_dir), "a moving film", "zzqxv unknownword"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    for line, text in zip(lines, ["a moving film", "zzqxv unknownword"]):
        label, prob, shown = line.split("\t")
        assert label in ("fresh", "rotten") and 0.5 <= float(prob) <= 1 and shown == text
    (tmp_path / "t.txt").write_text("first text\n\nsecond text\n")
    assert main(["sentiment", "predict", "--model", str(model_dir), "--file", str(tmp_path / "t.txt"), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [r["text"] for r in rows] == ["first text", "second text"]
    assert all(set(r) == {"text", "label", "probability", "p_fresh"} for r in rows)


def test_predict_errors(model_dir, tmp_path, capsys) -> None:
    _one_line_error(capsys, ["sentiment", "predict", "--model", str(model_dir), "  "], "text 1 is empty")
    _one_line_error(capsys, ["sentiment", "predict", "--model", str(model_dir)], "nothing to classify")
    (tmp_path / "blank.txt").write_text("\n \n")
    _one_line_error(capsys, ["sentiment", "predict", "--model", str(model_dir), "--file", str(tmp_path / "blank.txt")],
                    "no non-empty line")
    _one_line_error(capsys, ["sentiment", "predict", "--model", str(tmp_path / "none"), "good"], "no checkpoint")


def test_checkpoint_of_another_app_exits_2(tmp_path, capsys) -> None:
    import torch

    from lstmkit.checkpoint import save_checkpoint

    save_checkpoint(tmp_path / "fc", "forecast", {"lookback": 3}, module=torch.nn.Linear(1, 1))
    _one_line_error(capsys, ["sentiment", "predict", "--model", str(tmp_path / "fc"), "good"], "'forecast' checkpoint")
    _one_line_error(capsys, ["sentiment", "evaluate", "--model", str(tmp_path / "fc")], "'forecast' checkpoint")


def test_data_errors_exit_2(model_dir, tmp_path, capsys) -> None:
    three = tmp_path / "three.csv"
    three.write_text("text,label\na,x\nb,y\nc,z\n")
    _one_line_error(capsys, ["sentiment", "train", "--csv", str(three), "--out", str(tmp_path / "o")],
                    "3 distinct value")
    _one_line_error(capsys, ["sentiment", "train", "--csv", str(three), "--label-col", "stars"], "no column 'stars'")
    _one_line_error(capsys, ["sentiment", "train", "--csv", str(tmp_path / "missing.csv")], "no such CSV file")
    other = tmp_path / "other.csv"
    other.write_text("text,label\ngood,yes\nbad,no\n")
    _one_line_error(capsys, ["sentiment", "evaluate", "--model", str(model_dir), "--csv", str(other)],
                    "trained on ['fresh', 'rotten']")


@pytest.mark.parametrize("argv", [
    ["sentiment", "train", "--epochs", "0"],
    ["sentiment", "train", "--limit", "5"],
    ["sentiment", "train", "--dropout", "1"],
    ["sentiment", "train", "--val-frac", "0.7"],
    ["sentiment", "predict", "--threshold", "2", "x"],
    ["sentiment"],
    ["sentiment", "fly"],
])
def test_bad_options_exit_2_with_one_line(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    message = capsys.readouterr().err.strip()
    assert message and "\n" not in message, message


def test_every_option_has_help(capsys) -> None:
    for action in ("train", "evaluate", "predict"):
        with pytest.raises(SystemExit):
            main(["sentiment", action, "--help"])
        text = capsys.readouterr().out
        assert "--model" in text or "--out" in text
    from lstmkit.cli import build_parser

    parser = build_parser()
    sentiment = parser._subparsers._group_actions[0].choices["sentiment"]
    for name, sub in sentiment._subparsers._group_actions[0].choices.items():
        for option in sub._actions:
            assert option.help, f"sentiment {name} {option.option_strings or option.dest} has no help"
