"""bench/quality.py without training anything: merging earlier rows, the README section, errors."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"


def _load():
    name = "lstmkit_bench_quality"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, BENCH_DIR / "quality.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


Q = _load()


def _row(app: str, metric: str, lstm: float, met: bool) -> dict:
    return {"app": app, "metric": metric, "floor": "< 1", "lstm_mean": lstm, "lstm_std": 0.1,
            "per_seed": {"0": lstm - 0.1, "1": lstm + 0.1}, "baselines": {"naive": 2.0}, "best_baseline": "naive",
            "met": met}


def test_merge_keeps_rows_not_rerun_and_replaces_the_rest():
    previous = {"rows": [_row("forecast", "MAE", 1.0, True), _row("textgen", "long bpc", 1.9, True),
                         _row("textgen", "demo bpc", 2.3, False)], "commands": ["python bench/quality.py --long"]}
    fresh = [_row("textgen", "demo bpc", 2.1, True)]
    merged = Q.merge(previous, fresh, "python bench/quality.py --apps textgen")
    by_key = {(r["app"], r["metric"]): r for r in merged["rows"]}
    assert set(by_key) == {("forecast", "MAE"), ("textgen", "long bpc"), ("textgen", "demo bpc")}
    assert by_key[("textgen", "demo bpc")]["lstm_mean"] == 2.1
    assert merged["commands"] == ["python bench/quality.py --long", "python bench/quality.py --apps textgen"]


def test_merge_replaces_a_keyed_row_whose_metric_text_changed():
    """The long run's metric names its step count: a rerun with other steps replaces it by key."""
    old = {**_row("textgen", "long run (--steps 13000)", 2.03, False), "key": "long run"}
    new = {**_row("textgen", "long run (--steps 18000)", 2.02, False), "key": "long run"}
    merged = Q.merge({"rows": [old, _row("forecast", "MAE", 1.0, True)], "commands": ["a"]}, [new], "b")
    assert [r["metric"] for r in merged["rows"]] == ["MAE", "long run (--steps 18000)"]


def test_merge_without_previous_rows_has_only_this_command():
    merged = Q.merge(None, [_row("forecast", "MAE", 1.0, True)], "cmd")
    assert merged["commands"] == ["cmd"] and len(merged["rows"]) == 1


def test_render_counts_floors_and_marks_the_losses():
    demo = {"app": "demo", "metric": "demo time", "floor": "<= 180 s, all won", "seconds": 170.0, "met": False,
            "verdicts": {"textgen": [{"metric": "bpc", "lstm": 2.3, "best_baseline": "7-gram", "best_value": 2.1,
                                      "won": False}]}}
    result = Q.merge(None, [_row("forecast", "MAE", 1.0, True), _row("sentiment", "acc", 0.7, False), demo], "cmd")
    text = Q.render(result)
    assert text.startswith(Q.BEGIN) and text.endswith(Q.END)
    assert "1 of 3 floors met." in text
    assert "NOT met" in text and "lost: textgen bpc" in text
    assert "1 ± 0.1" in text and "naive 2 (best: naive)" in text


def test_render_goes_into_the_readme_between_its_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# title\n\n" + Q.BEGIN + "\nold\n" + Q.END + "\n\nafter\n")
    section = Q.render(Q.merge(None, [_row("forecast", "MAE", 1.0, True)], "cmd"))
    Q.R.update_markdown(readme, section, Q.BEGIN, Q.END)
    text = readme.read_text()
    assert text.startswith("# title\n\n") and text.endswith("\n\nafter\n") and "old" not in text


@pytest.mark.parametrize("argv", [["--apps", "poetry"], ["--seeds", "a,b"]])
def test_bad_arguments_are_refused(argv, capsys):
    with pytest.raises(SystemExit):
        Q.main(argv)
    err = capsys.readouterr().err
    assert ("--apps takes" in err) if argv[0] == "--apps" else ("integers" in err)
