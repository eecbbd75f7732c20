"""The command line, run the way a user runs it: ``python -m lstmkit ...`` in a subprocess."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lstmkit", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_demo_runs_an_app_and_reports_it_beside_its_baselines(tmp_path: Path) -> None:
    result = run_cli("demo", "--only", "forecast", "--budget-scale", "0.1", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("forecast   one-step MAE"))
    maes = dict(re.findall(r"(LSTM|naive|seasonal naive|ARIMA) ([\d.]+)", line))
    assert set(maes) == {"LSTM", "naive", "seasonal naive", "ARIMA"}, line
    assert (tmp_path / "forecast" / "app.json").is_file()
    assert (tmp_path / "forecast" / "forecast.png").is_file()


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["demo", "--budget-scale", "0"], "--budget-scale"),
        (["demo", "--budget-scale", "many"], "--budget-scale"),
        (["demo", "--only", "forecast,poetry"], "--only"),
        (["demo", "--seed", "-1"], "--seed"),
        (["fly"], "fly"),
        ([], "COMMAND"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(args: list[str], mentions: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    message = result.stderr.strip()
    assert "\n" not in message, message
    assert message.startswith("lstmkit") and "error:" in message and mentions in message


@pytest.mark.parametrize("args", [["--help"], ["demo", "--help"]])
def test_help(args: list[str]) -> None:
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: lstmkit")
    if "demo" in args:
        for option in ("--seed", "--out", "--only", "--budget-scale"):
            assert option in result.stdout


def test_out_that_is_a_file_is_refused_before_any_work(tmp_path, capsys, monkeypatch) -> None:
    import lstmkit.apps.forecast.cli as forecast_cli
    from lstmkit.cli import main

    ran = []
    monkeypatch.setattr(forecast_cli, "_train", lambda args: ran.append(args) or 0)
    target = tmp_path / "a_file"
    target.write_text("x")
    assert main(["forecast", "train", "--out", str(target)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is an existing file: expected a folder" in err[0] and not ran


@pytest.mark.parametrize("exc", [OSError("disk full"), ValueError("bad value"), KeyError("missing"),
                                 TypeError("wrong type")])
def test_library_errors_are_one_line_and_debug_shows_the_traceback(exc, capsys, monkeypatch) -> None:
    import lstmkit.apps.forecast.cli as forecast_cli
    from lstmkit.cli import main

    def boom(args):
        raise exc

    monkeypatch.setattr(forecast_cli, "_train", boom)
    assert main(["forecast", "train"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and type(exc).__name__ in err[0] and "--debug" in err[0]
    with pytest.raises(type(exc)):
        main(["--debug", "forecast", "train"])
