"""lstmkit.keras.optimizers against real Keras 3 (torch backend): several steps of each optimizer
from the same weights and gradients, clipping, weight decay, schedules, state round trips, get().

Tolerance: the weight *updates* after several float32 steps agree to rtol 1e-4 plus an absolute
1e-5 of the largest update and a few float32 ulps of the weights. The rules are the same; the
remaining difference is float32 rounding, dominated by Keras computing ``1 - beta_2 ** t`` in
float32 (about 3e-5 relative error at t=1, where lstmkit's bias corrections are float64)."""

from __future__ import annotations

import zlib

import keras
import numpy as np
import pytest
import torch

from lstmkit.keras import optimizers
from lstmkit.keras.optimizers import schedules

# Keras 3 internals (not lstmkit) warn about NumPy 2's __array__ copy keyword on every conversion
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn:DeprecationWarning")

SHAPES = [(4, 3), (3,), (2, 2, 2)]


def _problem(seed: int, scale: float = 1.0, steps: int = 3):
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    grads = [[(scale * rng.standard_normal(s)).astype(np.float32) for s in SHAPES] for _ in range(steps)]
    return weights, grads


def _run_ours(opt, weights, grads):
    params = [torch.nn.Parameter(torch.tensor(w)) for w in weights]
    opt.build(params)
    for step in grads:
        for p, g in zip(params, step):
            p.grad = torch.tensor(g)
        opt.step()
        opt.zero_grad()
    return [p.detach().numpy() for p in params]


def _assert_updates_close(ours, theirs, weights):
    for a, b, w in zip(ours, theirs, weights):
        want = b - w
        ulps = 4 * np.finfo(np.float32).eps * np.abs(w).max()  # rounding of w + update itself
        np.testing.assert_allclose(a - w, want, rtol=1e-4, atol=1e-5 * np.abs(want).max() + ulps)


def _run_keras(opt, weights, grads):
    variables = [keras.Variable(w) for w in weights]
    for step in grads:
        opt.apply_gradients(zip([torch.tensor(g) for g in step], variables))
    return [keras.ops.convert_to_numpy(v) for v in variables]


CASES = [
    ("SGD", {"learning_rate": 0.1}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"learning_rate": 0.1, "weight_decay": 0.05}),
    ("Adam", {"learning_rate": 0.1}),
    ("Adam", {"learning_rate": 0.1, "amsgrad": True}),
    ("Adam", {"learning_rate": 0.1, "weight_decay": 0.1}),
    ("AdamW", {"learning_rate": 0.1}),
    ("AdamW", {"learning_rate": 0.1, "weight_decay": 0.2, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-5}),
    ("RMSprop", {"learning_rate": 0.1}),
    ("RMSprop", {"learning_rate": 0.1, "momentum": 0.9}),
    ("RMSprop", {"learning_rate": 0.1, "momentum": 0.5, "centered": True}),
    ("Adagrad", {"learning_rate": 0.1}),
    ("Nadam", {"learning_rate": 0.1}),
    ("Adadelta", {"learning_rate": 1.0}),
    ("Adam", {"learning_rate": 0.1, "clipnorm": 0.5}),
    ("SGD", {"learning_rate": 0.1, "clipvalue": 0.3}),
    ("RMSprop", {"learning_rate": 0.1, "global_clipnorm": 0.7}),
]


@pytest.mark.parametrize("scale", [1.0, 1e-4], ids=["grad~1", "grad~1e-4"])
@pytest.mark.parametrize(("cls", "kwargs"), CASES, ids=[f"{c}-{'-'.join(k)}" for c, k in CASES])
def test_steps_match_keras(cls, kwargs, scale):
    weights, grads = _problem(zlib.crc32(repr((cls, kwargs)).encode()), scale)
    ours = _run_ours(getattr(optimizers, cls)(**kwargs), weights, grads)
    theirs = _run_keras(getattr(keras.optimizers, cls)(**kwargs), weights, grads)
    _assert_updates_close(ours, theirs, weights)


@pytest.mark.parametrize("opt_cls", ["SGD", "Adam", "RMSprop"])
def test_schedule_and_changing_rate_match_keras(opt_cls):
    """A schedule changes the rate every step (SGD's momentum buffers must be rescaled)."""
    kwargs = {"momentum": 0.9} if opt_cls != "Adam" else {}
    weights, grads = _problem(7, steps=5)
    ours = getattr(optimizers, opt_cls)(schedules.ExponentialDecay(0.1, 1, 0.5), **kwargs)
    theirs = getattr(keras.optimizers, opt_cls)(keras.optimizers.schedules.ExponentialDecay(0.1, 1, 0.5), **kwargs)
    _assert_updates_close(_run_ours(ours, weights, grads), _run_keras(theirs, weights, grads), weights)
    assert ours.iterations == 5
    assert ours.learning_rate == pytest.approx(0.1 * 0.5 ** 5)


def test_learning_rate_setter_takes_effect_like_keras():
    weights, grads = _problem(3, steps=4)
    ours, theirs = optimizers.SGD(0.1, momentum=0.9), keras.optimizers.SGD(0.1, momentum=0.9)
    params = [torch.nn.Parameter(torch.tensor(w)) for w in weights]
    variables = [keras.Variable(w) for w in weights]
    ours.build(params)
    for k, step in enumerate(grads):
        if k == 2:
            ours.learning_rate = 0.01
            theirs.learning_rate = 0.01
        for p, g in zip(params, step):
            p.grad = torch.tensor(g)
        ours.step()
        theirs.apply_gradients(zip([torch.tensor(g) for g in step], variables))
    _assert_updates_close([p.detach().numpy() for p in params], [keras.ops.convert_to_numpy(v) for v in variables],
                          weights)
    assert ours.learning_rate == pytest.approx(0.01)
    assert ours._torch.param_groups[0]["lr"] == pytest.approx(0.01)


SCHEDULES = [
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 3, "decay_rate": 0.7}),
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 3, "decay_rate": 0.7, "staircase": True}),
    ("PiecewiseConstantDecay", {"boundaries": [2, 5, 9], "values": [1.0, 0.5, 0.25, 0.1]}),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 7, "power": 2.0}),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 7, "cycle": True}),
    ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 4, "decay_rate": 0.5}),
    ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 4, "decay_rate": 0.5, "staircase": True}),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 10, "alpha": 0.1}),
    ("CosineDecay", {"initial_learning_rate": 0.0, "decay_steps": 10, "warmup_target": 0.1, "warmup_steps": 4}),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 3}),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 3, "t_mul": 1.0, "m_mul": 0.5}),
]


@pytest.mark.parametrize(("cls", "kwargs"), SCHEDULES, ids=[c for c, _ in SCHEDULES])
def test_schedules_match_keras(cls, kwargs):
    ours = getattr(schedules, cls)(**kwargs)
    theirs = getattr(keras.optimizers.schedules, cls)(**kwargs)
    got = [ours(step) for step in range(25)]
    want = [float(keras.ops.convert_to_numpy(theirs(step))) for step in range(25)]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    again = schedules.deserialize(schedules.serialize(ours))
    assert [again(step) for step in range(25)] == got


def test_schedule_errors():
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ValueError, match="1 less than"):
        schedules.PiecewiseConstantDecay([1, 2], [1.0])


@pytest.mark.parametrize("before_build", [True, False])
@pytest.mark.parametrize(("cls", "kwargs"), [("Adam", {"learning_rate": 0.1}), ("SGD", {"momentum": 0.9}),
                                             ("RMSprop", {"momentum": 0.5, "centered": True}), ("Nadam", {})])
def test_state_dict_round_trip_continues_training(cls, kwargs, before_build):
    weights, grads = _problem(11, steps=4)
    full = _run_ours(getattr(optimizers, cls)(**kwargs), weights, grads)

    first = getattr(optimizers, cls)(**kwargs)
    params = [torch.nn.Parameter(torch.tensor(w)) for w in weights]
    first.build(params)
    for step in grads[:2]:
        for p, g in zip(params, step):
            p.grad = torch.tensor(g)
        first.step()
    state = first.state_dict()
    assert state["iterations"] == 2 and isinstance(state["learning_rate"], float)

    second = getattr(optimizers, cls)(**kwargs)
    resumed = [torch.nn.Parameter(p.detach().clone()) for p in params]
    if before_build:
        second.load_state_dict(state)
        assert second.state_dict()["iterations"] == 2
        second.build(resumed)
    else:
        second.build(resumed)
        second.load_state_dict(state)
    assert second.iterations == 2
    for step in grads[2:]:
        for p, g in zip(resumed, step):
            p.grad = torch.tensor(g)
        second.step()
    for a, b in zip(full, resumed):
        np.testing.assert_allclose(a, b.detach().numpy(), rtol=1e-6, atol=1e-7)


def test_load_state_dict_errors():
    with pytest.raises(ValueError, match="'torch', 'iterations'"):
        optimizers.Adam().load_state_dict({"iterations": 1})


@pytest.mark.parametrize("name", ["adam", "Adam", "ADAM", "sgd", "SGD", "rmsprop", "RMSprop", "adamw", "adagrad",
                                  "nadam", "adadelta"])
def test_get_by_name(name):
    opt = optimizers.get(name)
    assert type(opt).__name__.lower() == name.lower()


def test_get_other_identifiers():
    opt = optimizers.Adam(0.01)
    assert optimizers.get(opt) is opt
    copy = optimizers.get(optimizers.serialize(opt))
    assert isinstance(copy, optimizers.Adam) and copy.learning_rate == pytest.approx(0.01)
    with_schedule = optimizers.SGD(schedules.CosineDecay(0.1, 100), momentum=0.5)
    rebuilt = optimizers.deserialize(optimizers.serialize(with_schedule))
    assert isinstance(rebuilt._learning_rate, schedules.CosineDecay) and rebuilt.momentum == 0.5
    with pytest.raises(ValueError, match="Valid names: .*'adam'"):
        optimizers.get("adamm")
    with pytest.raises(ValueError, match="Could not interpret"):
        optimizers.get(3)
    assert optimizers.get(None) is None


@pytest.mark.parametrize(("cls", "kwargs"), CASES[:15], ids=[c for c, _ in CASES[:15]])
def test_config_round_trip(cls, kwargs):
    opt = getattr(optimizers, cls)(**kwargs)
    config = opt.get_config()
    again = optimizers.deserialize(optimizers.serialize(opt))
    assert type(again) is type(opt) and again.get_config() == config
    keras_config = getattr(keras.optimizers, cls)(**kwargs).get_config()
    for key in keras_config:
        if key != "name":
            assert config[key] == pytest.approx(keras_config[key]), key
    if not isinstance(kwargs.get("learning_rate"), (dict, schedules.LearningRateSchedule)):
        loaded = type(opt).from_config(keras_config).get_config()  # a Keras config loads
        assert loaded.keys() == config.keys()
        for key, value in loaded.items():
            want = keras_config["name"] if key == "name" else config[key]
            assert value == (pytest.approx(want, rel=1e-7) if isinstance(want, float) else want), key


def test_defaults_match_keras():
    for cls in ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Nadam", "Adadelta"]:
        ours = getattr(optimizers, cls)().get_config()
        theirs = getattr(keras.optimizers, cls)().get_config()
        for key, value in theirs.items():
            if key != "name":
                assert ours[key] == pytest.approx(value), (cls, key)


def test_argument_errors_and_legacy_names():
    with pytest.raises(ValueError, match="Only one of"):
        optimizers.Adam(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="not recognized.*momentun"):
        optimizers.SGD(momentun=0.9)
    with pytest.raises(ValueError, match="momentum"):
        optimizers.SGD(momentum=1.5)
    with pytest.raises(ValueError, match="use_ema"):
        optimizers.Adam(use_ema=True)
    with pytest.raises(ValueError, match="weight_decay=None"):
        optimizers.AdamW(weight_decay=None)
    with pytest.raises(TypeError, match="learning_rate"):
        optimizers.Adam(learning_rate="fast")
    with pytest.raises(ValueError, match="learning_rate"):
        optimizers.Adam(learning_rate=-1.0)
    with pytest.warns(UserWarning, match="learning_rate"):
        assert optimizers.Adam(lr=0.5).learning_rate == 0.5
    with pytest.warns(UserWarning, match="decay"):
        optimizers.SGD(decay=1e-4)


def test_build_and_step_errors():
    opt = optimizers.Adam()
    with pytest.raises(RuntimeError, match="build"):
        opt.step()
    p = torch.nn.Parameter(torch.zeros(2))
    with pytest.raises(TypeError, match="torch tensors"):
        opt.build([np.zeros(2)])
    with pytest.raises(ValueError, match="trainable leaf"):
        opt.build([torch.zeros(2)])
    opt.build([p])
    opt.build([p])  # same parameters: no-op
    with pytest.raises(ValueError, match="already built"):
        opt.build([torch.nn.Parameter(torch.zeros(2))])
    sched = optimizers.SGD(schedules.ExponentialDecay(0.1, 10, 0.9))
    with pytest.raises(TypeError, match="not settable"):
        sched.learning_rate = 0.5


def test_parameters_without_grad_are_skipped_and_empty_build_works():
    a, b = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    opt = optimizers.SGD(0.5)
    opt.build([a, b])
    a.grad = torch.ones(2)
    opt.step()
    torch.testing.assert_close(a.detach(), torch.full((2,), 0.5))
    torch.testing.assert_close(b.detach(), torch.ones(2))
    empty = optimizers.Adam()
    empty.build([])
    empty.step()
    assert empty.iterations == 1
