"""HyperParameters: declarations, defaults, conditional scopes, grids and Optuna sampling."""

import math

import optuna
import pytest

from lstmkit.tune import HyperParameters
from lstmkit.tune.hp_types import Boolean, Choice, Fixed, Float, Int
from lstmkit.tune.planning import discover_space, enumerate_grid


def declare_all(hp):
    return {
        "int": hp.Int("int", 3, 9, step=2),
        "int_default": hp.Int("int_default", 1, 10, default=4),
        "float": hp.Float("float", 0.5, 2.0),
        "log": hp.Float("log", 1e-4, 1e-1, sampling="log"),
        "choice": hp.Choice("choice", ["tanh", "relu"]),
        "flag": hp.Boolean("flag"),
        "fixed": hp.Fixed("fixed", 7),
    }


def test_a_dry_run_returns_the_defaults():
    hp = HyperParameters()
    got = declare_all(hp)
    assert got == {"int": 3, "int_default": 4, "float": 0.5, "log": 1e-4, "choice": "tanh", "flag": False, "fixed": 7}
    assert hp.values == got
    assert [h.name for h in hp.space] == list(got)
    assert hp.get("choice") == "tanh" and hp["int"] == 3 and "flag" in hp


def test_declaring_twice_returns_the_first_value():
    hp = HyperParameters.from_values({"units": 8})
    assert hp.Int("units", 2, 16, step=2) == 8
    assert hp.Int("units", 2, 16, step=2) == 8
    assert len(hp.space) == 1


def test_steps_and_log_steps_as_keras_tuner():
    assert Int("n", 6, 13, step=3).grid_values() == [6, 9, 12]
    assert Int("n", 6, 12).grid_values() == [6, 7, 8, 9, 10, 11, 12]
    assert Int("n", 2, 32, step=2, sampling="log").grid_values() == [2, 4, 8, 16, 32]
    assert Float("f", 0, 1, step=0.2).grid_values() == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert Float("f", 1e-3, 10, step=10, sampling="log").grid_values() == [0.001, 0.01, 0.1, 1.0, 10.0]
    points = Float("f", 1e-4, 1e-1, sampling="log").grid_values()
    assert len(points) == 10 and points[0] == 1e-4 and points[-1] == 1e-1
    assert all(b / a == pytest.approx(points[1] / points[0]) for a, b in zip(points, points[1:]))
    assert Choice("c", ["a", "b"]).grid_values() == ["a", "b"]
    assert Boolean("b").grid_values() == [False, True]
    assert Fixed("x", 3).grid_values() == [3]


def test_optuna_distributions():
    dist = Int("n", 6, 13, step=3).distribution()
    assert (dist.low, dist.high, dist.step, dist.log) == (6, 12, 3, False)
    dist = Int("n", 1, 100, sampling="log").distribution()
    assert (dist.low, dist.high, dist.log) == (1, 100, True)
    assert Int("n", 2, 32, step=2, sampling="log").distribution().choices == (2, 4, 8, 16, 32)
    dist = Float("f", 1e-4, 1e-1, sampling="log").distribution()
    assert (dist.low, dist.high, dist.log, dist.step) == (1e-4, 1e-1, True, None)
    assert Fixed("x", 3).distribution() is None


def test_values_drawn_from_optuna_respect_ranges_steps_and_log_scale():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    draws = []
    for _ in range(300):
        trial = study.ask()
        hp = HyperParameters()
        hp._source = lambda spec, trial=trial: spec.suggest(trial)
        draws.append(declare_all(hp))
        study.tell(trial, 0.0)
    assert {d["int"] for d in draws} == {3, 5, 7, 9}
    assert {d["choice"] for d in draws} == {"tanh", "relu"} and {d["flag"] for d in draws} == {False, True}
    assert all(d["fixed"] == 7 for d in draws)
    assert all(0.5 <= d["float"] <= 2.0 for d in draws)
    logs = [d["log"] for d in draws]
    assert all(1e-4 <= v <= 1e-1 for v in logs)
    below_middle = sum(math.log10(v) < -2.5 for v in logs) / len(logs)  # log-uniform: half below 10**-2.5
    assert 0.4 < below_middle < 0.6
    assert "int" in study.trials[0].params and "fixed" not in study.trials[0].params


def build_conditional(hp):
    kind = hp.Choice("kind", ["small", "big"])
    with hp.conditional_scope("kind", "small"):
        a = hp.Int("a", 1, 2)
    with hp.conditional_scope("kind", ["big"]):
        b = hp.Boolean("b")
    c = hp.Choice("c", [10, 20], parent_name="kind", parent_values=["big"])
    return kind, a, b, c


def test_conditional_scopes():
    hp = HyperParameters()
    assert build_conditional(hp) == ("small", 1, None, None)
    assert hp.values == {"kind": "small", "a": 1}
    assert hp.is_active("a") and not hp.is_active("b")
    with pytest.raises(ValueError, match="inactive"):
        hp.get("b")
    with pytest.raises(KeyError):
        hp.get("nope")
    big = HyperParameters.from_values({"kind": "big", "b": True, "c": 20})
    assert build_conditional(big) == ("big", None, True, 20)
    with pytest.raises(ValueError, match="no hyper-parameter named 'missing'"):
        with hp.conditional_scope("missing", [1]):
            pass


def dry_runner(build):
    def dry_run(pick):
        hp = HyperParameters()
        hp._source = pick
        build(hp)
        return hp
    return dry_run


def test_discovery_finds_declarations_inside_every_scope():
    names = [spec.name for spec in discover_space(dry_runner(build_conditional))]
    assert names == ["kind", "a", "b", "c"]


def test_grid_has_each_distinct_combination_once_in_order():
    grid = enumerate_grid(dry_runner(build_conditional))
    assert grid == [
        {"kind": "small", "a": 1}, {"kind": "small", "a": 2},
        {"kind": "big", "b": False, "c": 10}, {"kind": "big", "b": False, "c": 20},
        {"kind": "big", "b": True, "c": 10}, {"kind": "big", "b": True, "c": 20},
    ]


@pytest.mark.parametrize(("declare", "message"), [
    (lambda hp: hp.Int("n", 5, 1), "larger than max_value"),
    (lambda hp: hp.Int("n", 1, 5, step=0), "step must be positive"),
    (lambda hp: hp.Int("n", 1.5, 5), "must be an integer"),
    (lambda hp: hp.Int("n", 1, 5, default=9), "outside"),
    (lambda hp: hp.Float("f", 0.0, 1.0, sampling="log"), "min_value > 0"),
    (lambda hp: hp.Float("f", 1.0, 8.0, step=0.5, sampling="log"), "larger than 1"),
    (lambda hp: hp.Float("f", 1.0, 8.0, sampling="reverse_log"), "reverse_log"),
    (lambda hp: hp.Float("f", 1.0, 8.0, sampling="cubic"), "'linear' or 'log'"),
    (lambda hp: hp.Choice("c", []), "non-empty"),
    (lambda hp: hp.Choice("c", [1, "a"]), "must all be numbers"),
    (lambda hp: hp.Choice("c", ["a", "a"]), "duplicates"),
    (lambda hp: hp.Choice("c", ["a", "b"], default="z"), "not one of"),
    (lambda hp: hp.Boolean("b", default="yes"), "True or False"),
])
def test_bad_declarations_explain_themselves(declare, message):
    with pytest.raises(ValueError, match=message):
        declare(HyperParameters())
