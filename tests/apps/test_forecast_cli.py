"""``lstmkit forecast train|evaluate|predict`` run in-process through ``lstmkit.cli.main``, with
tiny models: exit codes, files written, and one-line errors (exit 2) for bad input."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from lstmkit.cli import main

TINY = ["--epochs", "2", "--units", "4", "--quiet"]


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(args)
    except SystemExit as exc:  # argparse errors exit from parse_args
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("forecast") / "run"
    assert main(["forecast", "train", "--data", "sunspots", *TINY, "--seed", "3", "--out", str(out)]) == 0
    return out


def test_train_writes_checkpoint_metrics_and_plot(trained: Path) -> None:
    assert {"app.json", "model.keras", "metrics.json", "forecast.png"} <= {p.name for p in trained.iterdir()}
    result = json.loads((trained / "metrics.json").read_text())
    assert set(result["one_step"]) == {"lstm", "naive", "seasonal_naive", "arima", "sarima", "mlp"}
    assert result["data"]["test"] == ["1979", "2008", 30]
    assert result["one_step"]["naive"]["mae"] == pytest.approx(24.4)  # the same 30 held-out years for everyone
    assert result["multi_step"]["horizon"] == 11 and result["multi_step"]["origins"] == 20
    assert (trained / "forecast.png").read_bytes()[:4] == b"\x89PNG"


def test_evaluate_recomputes_the_same_metrics(trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["forecast", "evaluate", "--checkpoint", str(trained), "--no-arima",
                          "--json", str(trained / "again.json")], capsys)
    assert code == 0, err
    assert "one-step" in out and "seasonal naive" in out
    before = json.loads((trained / "metrics.json").read_text())
    after = json.loads((trained / "again.json").read_text())
    assert after["one_step"]["lstm"] == before["one_step"]["lstm"]
    assert after["multi_step"]["lstm"] == before["multi_step"]["lstm"]


def test_predict_prints_and_writes_the_next_values(trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target, png = trained / "next.csv", trained / "next.png"
    code, out, err = run(["forecast", "predict", "--checkpoint", str(trained), "--horizon", "5",
                          "--output", str(target), "--plot", str(png)], capsys)
    assert code == 0, err
    assert "next 5 values after 2008" in out
    rows = list(csv.reader(target.open()))
    assert rows[0] == ["time", "forecast", "lower_0.1", "upper_0.9"]
    assert [r[0] for r in rows[1:]] == ["2009", "2010", "2011", "2012", "2013"]
    assert all(float(r[2]) <= float(r[1]) <= float(r[3]) for r in rows[1:])
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_train_on_a_csv_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t = np.arange(60)
    path = tmp_path / "sales.csv"
    path.write_text("month,sales\n" + "".join(f"{k},{10 + np.sin(k / 2):.3f}\n" for k in t))
    code, out, err = run(["forecast", "train", "--csv", str(path), "--target", "sales", "--time", "month",
                          "--lookback", "5", "--horizon", "3", "--strategy", "direct", "--no-arima",
                          *TINY, "--out", str(tmp_path / "run")], capsys)
    assert code == 0, err
    assert "sales: 60 values" in out and "3-step" in out
    code, out, err = run(["forecast", "predict", "--checkpoint", str(tmp_path / "run")], capsys)
    assert code == 0, err
    assert "next 3 values after 59" in out


CSV_CASES = {
    "empty.csv": "",
    "short.csv": "y\n" + "".join(f"{k}\n" for k in range(12)),
    "gap.csv": "y\n1\n2\nNA\nNA\nNA\nNA\n" + "".join(f"{k}\n" for k in range(60)),
    "text.csv": "y\n1\n2\nmany\n" + "".join(f"{k}\n" for k in range(60)),
    "ok.csv": "y\n" + "".join(f"{k}\n" for k in range(60)),
}


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["--csv", "{dir}/empty.csv", "--target", "y"], "is empty"),
        (["--csv", "{dir}/short.csv", "--target", "y"], "too short"),
        (["--csv", "{dir}/gap.csv", "--target", "y"], "4 missing values in a row"),
        (["--csv", "{dir}/text.csv", "--target", "y"], "holds 'many', expected a number"),
        (["--csv", "{dir}/ok.csv", "--target", "sales"], "no column 'sales'"),
        (["--csv", "{dir}/missing.csv", "--target", "y"], "no such CSV file"),
        (["--csv", "{dir}/ok.csv"], "--target"),
        (["--target", "y"], "--csv"),
        (["--quantiles", "low,high"], "--quantiles"),
        (["--lookback", "0"], "--lookback"),
        (["--strategy", "sideways"], "--strategy"),
    ],
)
def test_train_errors_are_one_line_with_exit_2(args: list[str], mentions: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    for name, text in CSV_CASES.items():
        (tmp_path / name).write_text(text)
    args = [a.replace("{dir}", str(tmp_path)) for a in args]
    code, out, err = run(["forecast", "train", *args, *TINY, "--out", str(tmp_path / "run")], capsys)
    assert code == 2
    message = err.strip()
    assert "\n" not in message and message.startswith("lstmkit forecast") and "error:" in message
    assert mentions in message
    assert not (tmp_path / "run" / "app.json").exists()


def test_missing_and_foreign_checkpoints_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    from lstmkit.checkpoint import save_checkpoint

    code, _, err = run(["forecast", "evaluate", "--checkpoint", str(tmp_path / "nothing")], capsys)
    assert code == 2 and "no checkpoint" in err and err.count("\n") == 1
    save_checkpoint(tmp_path / "other", "sentiment", {"vocab": []}, module=torch.nn.Linear(1, 1))
    for action in ("evaluate", "predict"):
        code, _, err = run(["forecast", action, "--checkpoint", str(tmp_path / "other")], capsys)
        assert code == 2 and "'sentiment' checkpoint" in err and err.count("\n") == 1


def test_help_explains_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    for action in ("train", "evaluate", "predict"):
        code, out, _ = run(["forecast", action, "--help"], capsys)
        assert code == 0 and out.startswith(f"usage: lstmkit forecast {action}")
        assert "--csv" in out and "--data" in out
    code, out, _ = run(["forecast", "train", "--help"], capsys)
    for option in ("--lookback", "--horizon", "--strategy", "--epochs", "--seed", "--out", "--quantiles", "--test"):
        assert option in out
