"""Several worker processes on one study (`lstmkit tune worker`), and `lstmkit tune summary`."""

import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

REPO = Path(__file__).resolve().parents[2]

SPEC = '''
import numpy as np

import lstmkit.tune as kt
from lstmkit.keras.layers import LSTM, Dense
from lstmkit.keras.models import Sequential

rng = np.random.default_rng(0)
x = rng.normal(size=(48, 5, 1)).astype("float32")
y = x.sum(axis=1)


def build_model(hp):
    model = Sequential([LSTM(hp.Int("units", 2, 6, step=2), input_shape=(5, 1)), Dense(1)])
    model.compile(optimizer=hp.Choice("optimizer", ["adam", "sgd"]), loss="mse")
    return model


# the worker command replaces storage, study name and max_trials; this folder only holds the models
tuner = kt.RandomSearch(build_model, objective="val_loss", max_trials=100, directory=r"{models}")
search_kwargs = dict(x=x[:32], y=y[:32], validation_data=(x[32:], y[32:]), epochs=2, verbose=0)
'''


def run_cli(*args, **popen):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "lstmkit", *args], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **popen)


def finish(process):
    out, err = process.communicate(timeout=300)
    return process.returncode, out, err


@pytest.fixture(scope="module")
def shared_study(tmp_path_factory):
    """Two worker processes started together on one SQLite study with max_trials=6."""
    folder = tmp_path_factory.mktemp("workers")
    spec = folder / "spec.py"
    spec.write_text(SPEC.format(models=folder / "models"))
    url = f"sqlite:///{folder / 'shared.db'}"
    workers = [run_cli("tune", "worker", str(spec), "--storage", url, "--study", "shared", "--max-trials", "6")
               for _ in range(2)]
    results = [finish(w) for w in workers]
    return url, results


def test_two_workers_share_one_study_and_run_each_trial_once(shared_study):
    url, results = shared_study
    for code, out, err in results:
        assert code == 0, err
        assert "ran " in out.splitlines()[-1], out
    # last line: "worker HOST:PID: ran N trial(s) of study 'shared' in URL"
    ran = {out.splitlines()[-1].split()[1].rstrip(":"): int(out.splitlines()[-1].split("ran ")[1].split()[0])
           for _, out, _ in results}
    assert len(ran) == 2 and sum(ran.values()) == 6
    study = optuna.load_study(study_name="shared", storage=url)
    trials = study.get_trials()
    assert sorted(t.number for t in trials) == list(range(6))
    assert all(t.state == TrialState.COMPLETE and not t.user_attrs.get("discarded") for t in trials)
    combos = {tuple(sorted(t.user_attrs["hyperparameters"].items())) for t in trials}
    assert len(combos) == 6  # each of the 3 x 2 combinations once: none ran twice
    assert {w: sum(t.user_attrs["worker"] == w for t in trials) for w in ran} == ran
    assert all(Path(t.user_attrs["model_path"]).is_file() for t in trials)


def test_summary_command_prints_and_plots_the_study(shared_study, tmp_path):
    url, _ = shared_study
    code, out, err = finish(run_cli("tune", "summary", "--storage", url, "--num-trials", "2", "--plot",
                                    str(tmp_path / "trials.png")))
    assert code == 0, err
    assert "Showing 2 best trials" in out and "Trials: 6 complete" in out and "Score: " in out
    assert (tmp_path / "trials.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(("args", "mentions"), [
    (["tune", "worker", "no-such-spec.py"], "no such spec file"),
    (["tune", "summary", "--project-dir", "no/such/folder"], "no study database"),
    (["tune", "summary"], "--storage"),
    (["tune", "worker", "x.py", "--max-trials", "0"], "--max-trials"),
])
def test_bad_input_is_one_line_and_exit_2(args, mentions):
    code, out, err = finish(run_cli(*args))
    assert code == 2 and out == ""
    assert "\n" not in err.strip() and mentions in err, err


def test_a_spec_that_starts_no_search_is_explained(tmp_path):
    spec = tmp_path / "empty.py"
    spec.write_text("x = 1\n")
    code, _, err = finish(run_cli("tune", "worker", str(spec)))
    assert code == 2 and "started no search" in err and "\n" not in err.strip()


def test_a_spec_that_searches_itself_gets_the_worker_settings(tmp_path):
    from lstmkit.tune.worker import WorkerSettings, run_spec

    spec = tmp_path / "own.py"
    body = SPEC.format(models=tmp_path / "models").replace("max_trials=100,", "max_trials=100, overwrite=True,")
    spec.write_text(body + "\ntuner.search(**search_kwargs)\n")
    url = f"sqlite:///{tmp_path / 'own.db'}"
    settings = WorkerSettings(storage=url, study_name="own", max_trials=2)
    (tuner,) = run_spec(str(spec), settings)
    assert tuner.storage == url and tuner.study_name == "own" and tuner.max_trials == 2
    assert len(tuner.study.trials) == 2
    (again,) = run_spec(str(spec), WorkerSettings(storage=url, study_name="own", max_trials=3))
    assert [t.number for t in again.study.trials] == [0, 1, 2]  # overwrite=True was ignored: the study went on
