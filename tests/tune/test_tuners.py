"""The tuners on tiny models: budgets, objective directions, executions, pruning, best models,
summaries, failures, resuming and determinism."""

import math
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
from optuna.trial import TrialState

import lstmkit.tune as kt
from lstmkit.keras.layers import LSTM, Dense
from lstmkit.keras.models import Sequential, load_model

from .conftest import build_model


def states(tuner):
    return [t.state for t in tuner.study.trials]


def values_of(tuner):
    return [t.user_attrs["hyperparameters"] for t in tuner.study.trials]


def test_random_search_runs_max_trials_without_repeats(tmp_path, data, capsys):
    tuner = kt.RandomSearch(build_model, objective="val_loss", max_trials=4, seed=1, directory=tmp_path)
    tuner.search(**data, epochs=1, verbose=0)
    assert states(tuner) == [TrialState.COMPLETE] * 4
    assert tuner.study.direction.name == "MINIMIZE"
    keys = [tuple(sorted(v.items())) for v in values_of(tuner)]
    assert len(set(keys)) == 4
    assert all(v["units"] in (2, 4, 6) and v["optimizer"] in ("adam", "sgd") for v in values_of(tuner))
    capsys.readouterr()
    tuner.search(**data, epochs=1, verbose=1)  # the budget is spent: nothing runs
    assert len(tuner.study.trials) == 4
    assert "the study has 4 of max_trials=4 trials" in capsys.readouterr().out


def test_random_search_stops_when_every_combination_was_tried(tmp_path, data):
    tuner = kt.RandomSearch(build_model, objective="val_loss", max_trials=10, seed=0, directory=tmp_path)
    tuner.search(**data, epochs=1, verbose=0)
    assert len(tuner.study.trials) == 6  # 3 widths x 2 optimizers
    assert len({tuple(sorted(v.items())) for v in values_of(tuner)}) == 6


def build_classifier(hp):
    model = Sequential([LSTM(hp.Int("units", 2, 4, step=2), input_shape=(5, 1)), Dense(1, activation="sigmoid")])
    model.compile(optimizer=kt.HyperParameters.Choice(hp, "optimizer", ["adam", "sgd"]), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model


def test_grid_search_walks_the_grid_and_maximises_accuracy(tmp_path, data):
    labels = (data["y"] > 0).astype(np.float32)
    x_val, y_val = data["validation_data"]
    tuner = kt.GridSearch(build_classifier, objective="val_accuracy", directory=tmp_path)
    assert tuner.grid == [{"units": 2, "optimizer": "adam"}, {"units": 2, "optimizer": "sgd"},
                          {"units": 4, "optimizer": "adam"}, {"units": 4, "optimizer": "sgd"}]
    tuner.search(data["x"], labels, validation_data=(x_val, (y_val > 0).astype(np.float32)), epochs=1, verbose=0)
    assert tuner.study.direction.name == "MAXIMIZE"
    assert values_of(tuner) == tuner.grid
    scores = [t.value for t in tuner.study.trials]
    assert all(0 <= s <= 1 for s in scores)
    assert tuner.study.best_value == max(scores)


@pytest.mark.parametrize("sampler", ["tpe", "gp"])
def test_bayesian_optimization_finishes_its_trials(tmp_path, data, sampler):
    tuner = kt.BayesianOptimization(build_model, objective="val_loss", max_trials=3, num_initial_points=2,
                                    seed=0, directory=tmp_path, sampler=sampler)
    tuner.search(**data, epochs=1, verbose=0)
    assert states(tuner) == [TrialState.COMPLETE] * 3
    assert all(math.isfinite(t.value) for t in tuner.study.trials)


def build_lr(hp):
    from lstmkit.keras.optimizers import SGD

    model = Sequential([LSTM(4, input_shape=(5, 1)), Dense(1)])
    model.compile(optimizer=SGD(learning_rate=hp.Float("lr", 1e-4, 0.3, sampling="log")), loss="mse")
    return model


def test_hyperband_prunes_trials_that_fall_behind(tmp_path, data):
    tuner = kt.Hyperband(build_lr, objective="val_loss", max_epochs=4, factor=2, max_trials=8, seed=0,
                         directory=tmp_path)
    tuner.search(**data, epochs=99, verbose=0)  # Hyperband trains up to max_epochs, whatever epochs says
    trials = tuner.study.trials
    pruned = [t for t in trials if t.state == TrialState.PRUNED]
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(trials) == 8 and pruned and complete
    assert all(t.last_step < 4 for t in pruned)
    assert all(t.last_step == 4 for t in complete)
    assert kt.tuners.hyperband_trials(100, 3) == 143  # Keras Tuner's bracket sizes 81+34+15+8+5


class CountingHyperModel(kt.HyperModel):
    """fit returns 1, 2, 3, ... as the score, so each trial's mean over executions is known."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def build(self, hp):
        return build_model(hp)

    def fit(self, hp, model, *args, **kwargs):
        self.calls += 1
        return float(self.calls)


def test_the_score_is_the_mean_over_executions(tmp_path, data):
    tuner = kt.RandomSearch(CountingHyperModel(), max_trials=2, executions_per_trial=3, seed=0, directory=tmp_path)
    tuner.search(**data, epochs=1, verbose=0)
    assert [t.value for t in tuner.study.trials] == [2.0, 5.0]  # mean(1, 2, 3), mean(4, 5, 6)
    assert tuner.study.trials[1].user_attrs["execution_values"] == [4.0, 5.0, 6.0]


def test_best_model_is_the_saved_best_epoch_of_the_best_trial(tmp_path, data):
    tuner = kt.RandomSearch(build_model, objective="val_loss", max_trials=3, executions_per_trial=2, seed=2,
                            directory=tmp_path)
    tuner.search(**data, epochs=3, verbose=0)
    best = tuner.study.best_trial
    assert best.value == pytest.approx(np.mean(best.user_attrs["execution_values"]))
    model = tuner.get_best_models(num_models=1)[0]
    saved = load_model(best.user_attrs["model_path"])
    x_val, y_val = data["validation_data"]
    np.testing.assert_array_equal(model.predict(x_val, verbose=0), saved.predict(x_val, verbose=0))
    # the saved weights are the best execution's best epoch: they score exactly its val_loss
    assert model.evaluate(x_val, y_val, verbose=0) == pytest.approx(min(best.user_attrs["execution_values"]),
                                                                    rel=1e-5)
    assert model.layers[0].units == best.user_attrs["hyperparameters"]["units"]
    hps = tuner.get_best_hyperparameters(num_trials=3)
    assert [h.values for h in hps][0] == best.user_attrs["hyperparameters"] and len(hps) == 3
    assert build_model(hps[0]).layers[0].units == hps[0].get("units")


def test_summaries(tmp_path, data, capsys):
    tuner = kt.RandomSearch(build_model, objective="val_loss", max_trials=2, seed=0, directory=tmp_path,
                            project_name="p")
    tuner.search_space_summary()
    out = capsys.readouterr().out
    assert "Default search space size: 2" in out and "units (Int)" in out and "optimizer (Choice)" in out
    tuner.search(**data, epochs=1)
    out = capsys.readouterr().out
    assert "Search: Running Trial #0 (1/2)" in out and "Trial 1 Complete" in out and "Best val_loss So Far" in out
    tuner.results_summary(num_trials=1)
    out = capsys.readouterr().out
    best = tuner.study.best_trial
    assert out.startswith("Results summary\n") and "Showing 1 best trials" in out and "Trials: 2 complete" in out
    assert f"Trial {best.number:02d} summary" in out and f"units: {best.params['units']}" in out
    assert f"Score: {best.value:.6g}" in out


def failing_build(hp):
    if hp.Choice("mode", ["ok", "bad", "ok2"]) == "bad":
        raise ValueError("boom")
    model = Sequential([LSTM(2, input_shape=(5, 1)), Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def test_a_failing_trial_is_recorded_and_the_search_goes_on(tmp_path, data, capsys):
    tuner = kt.GridSearch(failing_build, objective="val_loss", directory=tmp_path)
    tuner.search(**data, epochs=1, verbose=0)
    assert states(tuner) == [TrialState.COMPLETE, TrialState.FAIL, TrialState.COMPLETE]
    assert tuner.study.trials[1].user_attrs["error"] == "ValueError: boom"
    tuner.results_summary()
    assert "Trial 01: ValueError: boom" in capsys.readouterr().out


def test_a_broken_setup_stops_after_consecutive_failures(tmp_path, data):
    tuner = kt.RandomSearch(build_model, objective="val_loss", max_trials=5, max_consecutive_failed_trials=2,
                            directory=tmp_path)
    with pytest.raises(RuntimeError, match="2 consecutive trials failed.*'val_loss' is not among.*validation_data"):
        tuner.search(data["x"], data["y"], epochs=1, verbose=0)  # no validation data: no val_loss
    assert states(tuner) == [TrialState.FAIL, TrialState.FAIL]


def test_a_second_tuner_resumes_the_study(tmp_path, data):
    first = kt.RandomSearch(build_model, objective="val_loss", max_trials=2, seed=0, directory=tmp_path)
    first.search(**data, epochs=1, verbose=0)
    before = [(t.number, t.value) for t in first.study.trials]
    second = kt.RandomSearch(build_model, objective="val_loss", max_trials=4, seed=0, directory=tmp_path)
    assert [(t.number, t.value) for t in second.study.trials] == before
    second.search(**data, epochs=1, verbose=0)
    assert [t.number for t in second.study.trials] == [0, 1, 2, 3]
    assert [(t.number, t.value) for t in second.study.trials[:2]] == before
    third = kt.RandomSearch(build_model, objective="val_loss", max_trials=1, directory=tmp_path, overwrite=True)
    third.search(**data, epochs=1, verbose=0)
    assert len(third.study.trials) == 1
    with pytest.raises(ValueError, match="already minimizes 'val_loss'"):
        kt.RandomSearch(build_model, objective="loss", directory=tmp_path)


def test_a_trial_interrupted_by_a_dead_worker_runs_again(tmp_path, data):
    tuner = kt.RandomSearch(build_model, objective="val_loss", max_trials=2, seed=0, directory=tmp_path)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphan = tuner.study.ask()  # as if a worker had claimed it and been killed
    orphan.set_user_attr("worker", f"{socket.gethostname()}:{dead.pid}")
    orphan.set_user_attr("hyperparameters", {"units": 6, "optimizer": "sgd"})
    tuner.search(**data, epochs=1, verbose=0)
    trials = tuner.study.trials
    assert trials[0].state == TrialState.FAIL and trials[0].user_attrs["discarded"].startswith("interrupted")
    rerun = [t for t in trials if t.user_attrs.get("rerun_of") == 0]
    assert len(rerun) == 1 and rerun[0].state == TrialState.COMPLETE
    assert rerun[0].user_attrs["hyperparameters"] == {"units": 6, "optimizer": "sgd"}
    assert sum(not t.user_attrs.get("discarded") for t in trials) == 2


def test_same_seed_same_search(tmp_path, data):
    runs = []
    for name in ("a", "b"):
        tuner = kt.RandomSearch(build_model, objective="val_loss", max_trials=2, seed=7, directory=tmp_path,
                                project_name=name)
        tuner.search(**data, epochs=2, verbose=0)
        runs.append([(t.user_attrs["hyperparameters"], t.value) for t in tuner.study.trials])
    assert runs[0] == runs[1]


def test_bad_tuner_arguments(tmp_path):
    with pytest.raises(ValueError, match="needs a hypermodel"):
        kt.RandomSearch(None, objective="val_loss", directory=tmp_path)
    with pytest.raises(ValueError, match="cannot tell whether the objective 'score'"):
        kt.RandomSearch(build_model, objective="score", directory=tmp_path)
    with pytest.raises(ValueError, match="max_trials must be a positive integer"):
        kt.RandomSearch(build_model, objective="val_loss", max_trials=0, directory=tmp_path)
    with pytest.raises(ValueError, match="project_name must name a folder"):
        kt.RandomSearch(build_model, objective="val_loss", directory=tmp_path, project_name="..")
    assert not os.path.exists(tmp_path / "untitled_project" / "trial_0000")


class InterruptedHyperModel(kt.HyperModel):
    def build(self, hp):
        return build_model(hp)

    def fit(self, hp, model, *args, **kwargs):
        raise KeyboardInterrupt


def test_ctrl_c_requeues_the_trial_for_the_next_search(tmp_path, data):
    tuner = kt.RandomSearch(InterruptedHyperModel(), objective="val_loss", max_trials=1, seed=0, directory=tmp_path)
    with pytest.raises(KeyboardInterrupt):
        tuner.search(**data, epochs=1, verbose=0)
    first = tuner.study.trials[0]
    assert first.state == TrialState.FAIL and first.user_attrs["discarded"].startswith("interrupted")
    resumed = kt.RandomSearch(build_model, objective="val_loss", max_trials=1, seed=0, directory=tmp_path)
    resumed.search(**data, epochs=1, verbose=0)
    rerun = resumed.study.trials[1]
    assert rerun.state == TrialState.COMPLETE and rerun.user_attrs["rerun_of"] == 0
    assert rerun.user_attrs["hyperparameters"] == first.user_attrs["hyperparameters"]


def test_search_forwards_fit_callbacks_to_every_execution(tmp_path, data):
    from lstmkit.keras.callbacks import EarlyStopping

    stop = EarlyStopping(monitor="loss", patience=0, min_delta=1e9)  # stops at the second epoch
    tuner = kt.RandomSearch(build_model, objective="val_loss", max_trials=1, executions_per_trial=2,
                            directory=tmp_path)
    tuner.search(**data, epochs=5, verbose=0, callbacks=[stop])
    trial = tuner.study.trials[0]
    assert trial.state == TrialState.COMPLETE and trial.last_step == 2  # reported two epochs, then stopped
    assert stop.model is None  # each execution got its own copy


class FlakyHyperModel(kt.HyperModel):
    """Fails the first fit, then scores 1.0."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def build(self, hp):
        return build_model(hp)

    def fit(self, hp, model, *args, **kwargs):
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("flaky")
        return 1.0


def test_retries_and_fixed_hyperparameters(tmp_path, data):
    tuner = kt.RandomSearch(FlakyHyperModel(), max_trials=1, max_retries_per_trial=1, directory=tmp_path)
    tuner.search(**data, epochs=1, verbose=0)
    assert states(tuner) == [TrialState.COMPLETE] and tuner.study.trials[0].value == 1.0
    fixed = kt.HyperParameters()
    fixed.Fixed("optimizer", "sgd")
    tuner = kt.RandomSearch(build_model, objective="val_loss", max_trials=5, hyperparameters=fixed,
                            tune_new_entries=False, directory=tmp_path, project_name="fixed")
    tuner.search(**data, epochs=1, verbose=0)  # a single combination is left: one trial, then exhausted
    assert values_of(tuner) == [{"units": 2, "optimizer": "sgd"}]
