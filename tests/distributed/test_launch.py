"""``--nproc`` and the torchrun command line it builds (no process is launched here)."""

from __future__ import annotations

import argparse
import sys
from types import SimpleNamespace

import pytest

from lstmkit.cliutil import Parser
from lstmkit.distributed import env, launch
from lstmkit.errors import AppError


@pytest.fixture(autouse=True)
def _not_a_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TORCHELASTIC_RUN_ID", "LOCAL_RANK", "WORLD_SIZE", "RANK", "TORCHELASTIC_ERROR_FILE"):
        monkeypatch.delenv(name, raising=False)


def parse(*argv: str) -> argparse.Namespace:
    parser = Parser(prog="lstmkit forecast train")
    parser.add_argument("--epochs", type=int, default=1)
    launch.add_nproc_argument(parser)
    return parser.parse_args(list(argv))


def relaunched(*argv: str, **kwargs) -> list[str] | None:
    calls: list[list[str]] = []

    def runner(torchrun_argv: list[str]) -> int:
        calls.append(torchrun_argv)
        return 0

    code = launch.relaunch_if_requested(parse(*argv), list(argv), runner=runner, **kwargs)
    if code is None:
        assert not calls
        return None
    assert code == 0 and len(calls) == 1
    return calls[0]


def test_one_process_is_not_relaunched():
    assert relaunched("--epochs", "2") is None
    assert relaunched("--nproc", "1") is None


def test_local_processes_use_a_standalone_rendezvous_and_repeat_the_command():
    cmd = relaunched("--epochs", "2", "--nproc", "3")
    assert cmd == ["--nproc-per-node=3", "--standalone", "--module", "--", "lstmkit", "--epochs", "2", "--nproc", "3"]


def test_script_instead_of_module():
    cmd = relaunched("--nproc", "2", script="/abs/train.py")
    assert cmd == ["--nproc-per-node=2", "--standalone", "--", "/abs/train.py", "--nproc", "2"]


def test_torchrun_accepts_the_built_arguments():
    from torch.distributed.run import parse_args

    cmd = relaunched("--nproc", "2", "--epochs", "5")
    parsed = parse_args(cmd)
    assert parsed.nproc_per_node == "2" and parsed.standalone and parsed.module
    assert parsed.training_script == "lstmkit"
    assert parsed.training_script_args == ["--nproc", "2", "--epochs", "5"]


def test_multi_node_static_rendezvous():
    args = parse("--nproc", "2", "--nnodes", "3", "--node-rank", "1", "--master-addr", "10.0.0.5",
                 "--master-port", "29600")
    assert launch.torchrun_args(args) == ["--nproc-per-node=2", "--nnodes=3", "--node-rank=1",
                                          "--master-addr=10.0.0.5", "--master-port=29600"]


def test_multi_node_c10d_rendezvous():
    args = parse("--nproc", "4", "--nnodes", "2", "--rdzv-endpoint", "head:29400", "--rdzv-id", "job7")
    assert launch.torchrun_args(args) == ["--nproc-per-node=4", "--nnodes=2", "--rdzv-backend=c10d",
                                          "--rdzv-endpoint=head:29400", "--rdzv-id=job7"]


def test_one_node_with_a_fixed_port_uses_it():
    args = parse("--nproc", "2", "--master-port", "29777")
    assert launch.torchrun_args(args)[-1] == "--master-port=29777"
    assert "--standalone" not in launch.torchrun_args(args)


def test_multi_node_also_relaunches_with_one_process_per_node():
    cmd = relaunched("--nnodes", "2", "--node-rank", "0", "--master-addr", "h0")
    assert cmd[:2] == ["--nproc-per-node=1", "--nnodes=2"]


@pytest.mark.parametrize("argv, message", [
    (("--nproc", "2", "--nnodes", "2"), "needs --node-rank and --master-addr"),
    (("--nnodes", "2", "--node-rank", "2", "--master-addr", "h"), "--node-rank must be between 0 and 1"),
    (("--nproc", "2", "--rdzv-endpoint", "head"), "HOST:PORT"),
    (("--nproc", "2", "--rdzv-endpoint", "h:1", "--master-addr", "h"), "not both"),
])
def test_inconsistent_rendezvous_options_are_one_line_errors(argv, message):
    with pytest.raises(AppError, match=message):
        launch.torchrun_args(parse(*argv))


def test_bad_nproc_is_a_parser_error(capsys):
    with pytest.raises(SystemExit) as info:
        parse("--nproc", "0")
    assert info.value.code == 2
    assert "--nproc: must be at least 1, got 0" in capsys.readouterr().err


def test_inside_a_worker_nothing_is_relaunched(monkeypatch):
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "abc")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert relaunched("--nproc", "2") is None
    assert env.in_torchrun_worker()


def test_argv_defaults_to_the_one_the_cli_stored(monkeypatch):
    args = parse("--nproc", "2")
    args.argv = ["forecast", "train", "--nproc", "2"]
    seen = []
    launch.relaunch_if_requested(args, runner=lambda cmd: seen.append(cmd) or 0)
    assert seen[0][-4:] == ["forecast", "train", "--nproc", "2"]
    monkeypatch.setattr(sys, "argv", ["lstmkit", "textgen", "train", "--nproc", "2"])
    del args.argv
    launch.relaunch_if_requested(args, runner=lambda cmd: seen.append(cmd) or 0)
    assert seen[1][-4:] == ["textgen", "train", "--nproc", "2"]


def test_command_line_for_display():
    cmd = launch.command_line(parse("--nproc", "2"), ["sentiment", "train"])
    assert cmd[:3] == [sys.executable, "-m", "torch.distributed.run"]
    assert cmd[3:] == ["--nproc-per-node=2", "--standalone", "--module", "--", "lstmkit", "sentiment", "train"]


def _failure(local_rank: int, exitcode: int, message: str, timestamp: int) -> SimpleNamespace:
    return SimpleNamespace(local_rank=local_rank, exitcode=exitcode, message=message, timestamp=timestamp,
                           signal_name=lambda: {-15: "SIGTERM", -6: "SIGABRT"}.get(exitcode, "?"))


def test_failure_names_the_rank_that_failed_first_not_the_ones_it_took_down():
    failures = {
        0: _failure(0, -15, {"message": "RuntimeError: [gloo] Connection closed by peer [127.0.0.1]:1234."}, 100),
        1: _failure(1, 1, {"message": "ValueError: bad batch\nsecond line"}, 100),
    }
    text = launch.describe_failure(failures)
    assert text.startswith("training process rank 1 (local rank 1) failed with exit code 1: ValueError: bad batch")
    assert "rank 0 stopped too" in text and "\n" not in text


def test_failure_without_an_error_file_still_names_the_rank():
    text = launch.describe_failure({3: _failure(1, -6, "To enable traceback see: https://...", 5)})
    assert text == "training process rank 3 (local rank 1) failed with signal SIGABRT"


def test_record_failure_writes_torchrun_error_file(tmp_path, monkeypatch):
    import json

    path = tmp_path / "error.json"
    monkeypatch.setenv("TORCHELASTIC_ERROR_FILE", str(path))
    try:
        raise KeyError("missing column")
    except KeyError as exc:
        launch.record_failure(exc)
    data = json.loads(path.read_text())
    assert data["message"]["message"] == "KeyError: 'missing column'"
    assert int(data["message"]["extraInfo"]["timestamp"]) > 0
