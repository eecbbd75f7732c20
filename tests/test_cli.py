"""The command line, run the way a user runs it: ``python -m lstmkit ...`` in a subprocess."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EPOCH_LINE = re.compile(r"^epoch\s+(\d+)/(\d+)\s+train loss (\S+)\s+held-out MAE\s+(\S+)$", re.MULTILINE)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lstmkit", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_demo_trains_and_reports() -> None:
    result = run_cli("demo", "--epochs", "3", "--hidden", "16")
    assert result.returncode == 0, result.stderr
    epochs = EPOCH_LINE.findall(result.stdout)
    assert [(int(e), int(n)) for e, n, _, _ in epochs] == [(1, 3), (2, 3), (3, 3)], result.stdout
    losses = [float(loss) for _, _, loss, _ in epochs]
    maes = [float(mae) for _, _, _, mae in epochs]
    assert all(0 <= value < float("inf") for value in losses + maes)
    assert losses[-1] < losses[0], f"training loss did not fall: {losses}"
    summary = result.stdout.strip().splitlines()[-1]
    assert re.search(r"LSTM [\d.]+, naive last-value forecast [\d.]+$", summary), summary


def test_demo_is_deterministic_for_a_seed() -> None:
    first = run_cli("demo", "--epochs", "2", "--seed", "3", "--hidden", "8")
    second = run_cli("demo", "--epochs", "2", "--seed", "3", "--hidden", "8")
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert first.stdout == second.stdout


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["demo", "--epochs", "0"], "--epochs"),
        (["demo", "--epochs", "many"], "--epochs"),
        (["demo", "--hidden", "-4"], "--hidden"),
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
        for option in ("--epochs", "--seed", "--hidden"):
            assert option in result.stdout
