"""lstmkit.keras initializers, regularizers, constraints and activations against real Keras 3
(torch backend; tests/conftest.py sets KERAS_BACKEND).

Initializers are random, so they are checked statistically (bounds, mean and standard deviation
within stated tolerances for 60k samples, orthogonality) and their fans against Keras'
``compute_fans``. Regularizers, constraints and activations are deterministic and compared with
Keras in float32 to 1e-6 (regularizer values relative 1e-6; activations 1e-6 absolute).
"""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import torch
from keras.src.initializers.random_initializers import compute_fans as keras_compute_fans

from lstmkit.keras import activations, constraints, initializers, regularizers
from lstmkit.keras.engine.registry import serialize

F32 = {"atol": 1e-6, "rtol": 1e-6}


def _np(x) -> np.ndarray:
    return keras.ops.convert_to_numpy(x) if not isinstance(x, torch.Tensor) else x.detach().cpu().numpy()


# ---------------------------------------------------------------- initializers
@pytest.mark.parametrize("shape", [(), (7,), (4, 5), (3, 4, 5), (2, 3, 4, 5), (1, 1)])
def test_compute_fans_matches_keras(shape):
    assert initializers.compute_fans(shape) == keras_compute_fans(shape)


def test_compute_fans_with_axes_matches_keras():
    assert initializers.compute_fans((3, 4, 5), [0, 1], [2]) == keras_compute_fans((3, 4, 5), [0, 1], [2])


# name, (scale, mode, distribution)
VARIANCE_SCALING = [
    ("glorot_uniform", (1.0, "fan_avg", "uniform")),
    ("glorot_normal", (1.0, "fan_avg", "truncated_normal")),
    ("he_uniform", (2.0, "fan_in", "uniform")),
    ("he_normal", (2.0, "fan_in", "truncated_normal")),
    ("lecun_uniform", (1.0, "fan_in", "uniform")),
    ("lecun_normal", (1.0, "fan_in", "truncated_normal")),
]


def _n(mode: str, shape) -> float:
    fan_in, fan_out = keras_compute_fans(shape)
    return {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]


@pytest.mark.parametrize("shape", [(200, 300), (4, 50, 300)], ids=["2d", "3d"])
@pytest.mark.parametrize("name,preset", VARIANCE_SCALING, ids=[v[0] for v in VARIANCE_SCALING])
def test_variance_scaling_family_statistics(name, preset, shape):
    scale, mode, distribution = preset
    n = _n(mode, shape)
    torch.manual_seed(0)
    w = initializers.get(name)(torch.empty(shape)).numpy().ravel()
    assert abs(w.mean()) < 0.02 * w.std() + 1e-6
    if distribution == "uniform":
        limit = math.sqrt(3.0 * scale / n)
        assert np.abs(w).max() <= limit and np.abs(w).max() > 0.99 * limit
        np.testing.assert_allclose(w.std(), limit / math.sqrt(3.0), rtol=0.02)
    else:  # truncated at 2 stddev of the untruncated normal, whose stddev is sqrt(scale/n)/0.8796
        target = math.sqrt(scale / n)
        np.testing.assert_allclose(w.std(), target, rtol=0.02)
        assert np.abs(w).max() <= 2 * target / 0.87962566103423978 + 1e-7


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("distribution", ["truncated_normal", "untruncated_normal", "uniform"])
def test_variance_scaling_stddev(mode, distribution):
    shape = (120, 500)
    init = initializers.VarianceScaling(scale=3.0, mode=mode, distribution=distribution, seed=1)
    w = init(torch.empty(shape)).numpy()
    np.testing.assert_allclose(w.std(), math.sqrt(3.0 / _n(mode, shape)), rtol=0.02)


def test_variance_scaling_normal_alias_and_errors():
    assert initializers.VarianceScaling(distribution="normal").distribution == "truncated_normal"
    with pytest.raises(ValueError, match="scale"):
        initializers.VarianceScaling(scale=0.0)
    with pytest.raises(ValueError, match="mode"):
        initializers.VarianceScaling(mode="fan_sideways")
    with pytest.raises(ValueError, match="distribution"):
        initializers.VarianceScaling(distribution="cauchy")


@pytest.mark.parametrize(
    "init,mean,std,bound",
    [
        (initializers.RandomNormal(mean=1.0, stddev=0.5), 1.0, 0.5, None),
        (initializers.RandomUniform(minval=-0.3, maxval=0.1), -0.1, 0.4 / math.sqrt(12), (-0.3, 0.1)),
        (initializers.TruncatedNormal(mean=0.5, stddev=0.2), 0.5, 0.2 * 0.87962566103423978, (0.1, 0.9)),
        (initializers.get("uniform"), 0.0, 0.1 / math.sqrt(12), (-0.05, 0.05)),
        (initializers.get("normal"), 0.0, 0.05, None),
    ],
    ids=["normal", "uniform", "truncated", "uniform_alias", "normal_alias"],
)
def test_random_distributions(init, mean, std, bound):
    torch.manual_seed(3)
    w = init(torch.empty(300, 200)).numpy()
    np.testing.assert_allclose(w.mean(), mean, atol=0.01 * std * 3)
    np.testing.assert_allclose(w.std(), std, rtol=0.02)
    if bound is not None:
        assert w.min() >= bound[0] - 1e-7 and w.max() <= bound[1] + 1e-7


@pytest.mark.parametrize("shape", [(12, 4), (4, 12), (6, 6), (2, 3, 4), (2, 2, 12)], ids=str)
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_orthogonal(shape, gain):
    w = initializers.Orthogonal(gain=gain, seed=0)(torch.empty(shape, dtype=torch.float64))
    m = w.reshape(-1, shape[-1]) / gain
    gram = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
    torch.testing.assert_close(gram, torch.eye(gram.shape[0], dtype=torch.float64), atol=1e-10, rtol=0)


def test_orthogonal_rejects_vectors():
    with pytest.raises(ValueError, match="at least 2"):
        initializers.get("orthogonal")(torch.empty(5))


def test_constant_identity_zeros_ones():
    torch.testing.assert_close(initializers.get("zeros")(torch.full((2, 3), 7.0)), torch.zeros(2, 3))
    torch.testing.assert_close(initializers.get("ones")(torch.empty(3)), torch.ones(3))
    torch.testing.assert_close(initializers.Constant(2.5)(torch.empty(2, 2)), torch.full((2, 2), 2.5))
    torch.testing.assert_close(initializers.Identity(gain=3.0)(torch.empty(2, 3)), 3.0 * torch.eye(2, 3))
    with pytest.raises(ValueError, match="2-D"):
        initializers.Identity()(torch.empty(2, 2, 2))
    with pytest.raises(ValueError, match="number"):
        initializers.Constant("a")


@pytest.mark.parametrize("name", ["glorot_uniform", "he_normal", "orthogonal", "random_normal", "truncated_normal",
                                  "uniform", "lecun_uniform"])
def test_seed_reproducible_and_global_rng(name):
    cls = type(initializers.get(name))
    a = cls(seed=7)(torch.empty(6, 8))
    b = cls(seed=7)(torch.empty(6, 8))
    c = cls(seed=8)(torch.empty(6, 8))
    init = cls(seed=7)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    torch.testing.assert_close(init(torch.empty(6, 8)), init(torch.empty(6, 8)), rtol=0, atol=0)  # Keras' int-seed rule
    assert not torch.equal(a, c)
    torch.manual_seed(5)
    d = cls()(torch.empty(6, 8))
    torch.manual_seed(5)
    e = cls()(torch.empty(6, 8))
    torch.testing.assert_close(d, e, rtol=0, atol=0)
    assert not torch.equal(cls()(torch.empty(6, 8)), cls()(torch.empty(6, 8)))


def test_in_place_contract_and_keras_style_call():
    t = torch.empty(3, 4)
    assert initializers.get("glorot_uniform")(t) is t
    w = initializers.GlorotUniform(seed=1)(shape=(3, 4))
    assert w.shape == (3, 4) and w.dtype == torch.float32
    w64 = initializers.GlorotUniform(seed=1)((3, 4), dtype="float64")
    assert w64.dtype == torch.float64


def test_get_accepts_every_form():
    assert isinstance(initializers.get("GlorotUniform"), initializers.GlorotUniform)
    assert isinstance(initializers.get("OrthogonalInitializer"), initializers.Orthogonal)
    assert isinstance(initializers.get(initializers.HeNormal), initializers.HeNormal)
    inst = initializers.LecunNormal(seed=2)
    assert initializers.get(inst) is inst
    assert initializers.get(None) is None
    restored = initializers.get({"class_name": "RandomUniform", "config": {"minval": 0.0, "maxval": 1.0, "seed": 1}})
    assert restored.get_config() == {"seed": 1, "minval": 0.0, "maxval": 1.0}
    # Keras-style user callable: called with the shape, result copied in.
    seen = {}

    def user_init(shape, dtype=None):
        seen["shape"], seen["dtype"] = shape, dtype
        return np.arange(math.prod(shape), dtype="float32").reshape(shape)

    out = initializers.get(user_init)(torch.empty(2, 3))
    assert seen == {"shape": (2, 3), "dtype": "float32"}
    torch.testing.assert_close(out, torch.arange(6.0).reshape(2, 3))
    # A Keras-style subclass with __call__(shape, dtype).
    class Twos(initializers.Initializer):
        def __call__(self, shape, dtype=None):
            return np.full(shape, 2.0)

    torch.testing.assert_close(initializers.get(Twos())(torch.empty(2)), torch.full((2,), 2.0))
    torch.testing.assert_close(initializers.get(np.ones((2, 2)))(torch.empty(2, 2)), torch.ones(2, 2))
    with pytest.raises(ValueError, match="shape"):
        initializers.get(lambda shape, dtype=None: np.zeros(3))(torch.empty(2, 2))
    with pytest.raises(ValueError, match="unknown initializer 'glorot_uniformm'"):
        initializers.get("glorot_uniformm")
    with pytest.raises(ValueError):
        initializers.get(3)
    with pytest.raises(ValueError, match="seed"):
        initializers.RandomNormal(seed="x")


INIT_CLASSES = ["Zeros", "Ones", "Constant", "Identity", "RandomNormal", "RandomUniform", "TruncatedNormal",
                "VarianceScaling", "GlorotUniform", "GlorotNormal", "HeNormal", "HeUniform", "LecunNormal",
                "LecunUniform", "Orthogonal"]


@pytest.mark.parametrize("name", INIT_CLASSES)
def test_initializer_serialization_round_trip_and_keras_config_keys(name):
    ours = getattr(initializers, name)()
    data = initializers.serialize(ours)
    assert data["class_name"] == name
    back = initializers.deserialize(data)
    assert type(back) is type(ours) and back.get_config() == ours.get_config()
    assert set(getattr(keras.initializers, name)().get_config()) <= set(ours.get_config())


# ---------------------------------------------------------------- regularizers
def _weights(seed: int = 0, shape=(5, 7)) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


@pytest.mark.parametrize(
    "ours,theirs",
    [
        (regularizers.L1(0.3), keras.regularizers.L1(0.3)),
        (regularizers.L2(0.2), keras.regularizers.L2(0.2)),
        (regularizers.L1L2(l1=0.01, l2=0.05), keras.regularizers.L1L2(l1=0.01, l2=0.05)),
        (regularizers.L1L2(), keras.regularizers.L1L2()),
        (regularizers.l1(), keras.regularizers.L1()),
        (regularizers.get("l2"), keras.regularizers.get("l2")),
        (regularizers.OrthogonalRegularizer(0.1, "rows"), keras.regularizers.OrthogonalRegularizer(0.1, "rows")),
        (regularizers.OrthogonalRegularizer(0.1, "columns"),
         keras.regularizers.OrthogonalRegularizer(0.1, "columns")),
    ],
    ids=["l1", "l2", "l1l2", "l1l2_zero", "l1_fn", "l2_name", "orth_rows", "orth_cols"],
)
def test_regularizers_match_keras(ours, theirs):
    w = _weights()
    got = ours(torch.from_numpy(w))
    assert got.dim() == 0
    np.testing.assert_allclose(_np(got), _np(theirs(keras.ops.convert_to_tensor(w))), rtol=1e-6, atol=1e-7)


def test_regularizer_get_forms_and_errors():
    assert regularizers.get(None) is None
    assert regularizers.l1_l2().get_config() == {"l1": 0.01, "l2": 0.01}  # tf.keras defaults
    assert regularizers.get("l1_l2").get_config() == {"l1": 0.01, "l2": 0.01}
    assert isinstance(regularizers.get("L1L2"), regularizers.L1L2)
    assert regularizers.get({"class_name": "L2", "config": {"l2": 0.5}}).l2 == 0.5
    assert isinstance(regularizers.get(regularizers.L1), regularizers.L1)

    def fn(w):
        return w.sum()

    assert regularizers.get(fn) is fn
    for bad in (-1.0, float("nan"), "x"):
        with pytest.raises(ValueError, match="non-negative"):
            regularizers.L2(bad)
    with pytest.raises(ValueError, match="unknown regularizer"):
        regularizers.get("l3")
    with pytest.raises(ValueError, match="rows"):
        regularizers.OrthogonalRegularizer(mode="diagonal")
    with pytest.raises(ValueError, match="2-D"):
        regularizers.OrthogonalRegularizer()(torch.ones(2, 2, 2))


@pytest.mark.parametrize("reg", [regularizers.L1(0.2), regularizers.L2(0.3), regularizers.L1L2(0.1, 0.2),
                                 regularizers.OrthogonalRegularizer(0.2, "columns")], ids=lambda r: type(r).__name__)
def test_regularizer_round_trip(reg):
    back = regularizers.deserialize(serialize(reg))
    assert type(back) is type(reg) and back.get_config() == reg.get_config()
    torch.testing.assert_close(back(torch.from_numpy(_weights())), reg(torch.from_numpy(_weights())))


# ---------------------------------------------------------------- constraints
@pytest.mark.parametrize("axis", [0, 1, [0, 1]], ids=str)
@pytest.mark.parametrize(
    "name,kwargs",
    [("MaxNorm", {"max_value": 1.5}), ("UnitNorm", {}), ("MinMaxNorm", {"min_value": 0.5, "max_value": 2.0}),
     ("MinMaxNorm", {"min_value": 0.5, "max_value": 2.0, "rate": 0.3})],
    ids=["maxnorm", "unitnorm", "minmax", "minmax_rate"],
)
def test_norm_constraints_match_keras(name, kwargs, axis):
    w = _weights(1, (6, 4)) * 0.8
    ours = getattr(constraints, name)(axis=axis, **kwargs)
    theirs = getattr(keras.constraints, name)(axis=axis, **kwargs)
    np.testing.assert_allclose(_np(ours(torch.from_numpy(w))), _np(theirs(keras.ops.convert_to_tensor(w))), **F32)


def test_nonneg_and_get():
    w = _weights(2)
    np.testing.assert_allclose(_np(constraints.get("non_neg")(torch.from_numpy(w))),
                               _np(keras.constraints.NonNeg()(keras.ops.convert_to_tensor(w))), **F32)
    assert isinstance(constraints.get("max_norm"), constraints.MaxNorm)
    assert isinstance(constraints.get("UnitNorm"), constraints.UnitNorm)
    assert constraints.get(None) is None
    c = constraints.get({"class_name": "MinMaxNorm", "config": {"min_value": 0.1, "max_value": 0.9, "rate": 1.0,
                                                                "axis": 1}})
    assert c.get_config() == {"min_value": 0.1, "max_value": 0.9, "rate": 1.0, "axis": 1}
    with pytest.raises(ValueError, match="unknown constraint"):
        constraints.get("max_nrom")
    with pytest.raises(ValueError, match="min_value"):
        constraints.MinMaxNorm(min_value=2.0, max_value=1.0)


@pytest.mark.parametrize("name", ["MaxNorm", "NonNeg", "UnitNorm", "MinMaxNorm"])
def test_constraint_round_trip_and_keras_config(name):
    ours = getattr(constraints, name)()
    assert ours.get_config() == getattr(keras.constraints, name)().get_config()
    back = constraints.deserialize(serialize(ours))
    assert type(back) is type(ours) and back.get_config() == ours.get_config()


# ---------------------------------------------------------------- activations
ACTIVATION_NAMES = ["linear", "relu", "sigmoid", "tanh", "softmax", "log_softmax", "softplus", "softsign", "elu",
                    "selu", "gelu", "swish", "silu", "hard_sigmoid", "hard_silu", "hard_swish", "exponential",
                    "leaky_relu", "relu6", "mish", "log_sigmoid"]


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_activations_match_keras(name):
    x = (np.random.default_rng(0).normal(size=(4, 9)) * 4).astype("float32")
    got = activations.get(name)(torch.from_numpy(x))
    want = keras.activations.get(name)(keras.ops.convert_to_tensor(x))
    np.testing.assert_allclose(_np(got), _np(want), atol=1e-6, rtol=1e-6)
    assert activations.get(activations.serialize(activations.get(name))) is activations.get(name)


@pytest.mark.parametrize("kwargs", [{"negative_slope": 0.1}, {"max_value": 2.0}, {"threshold": 0.5},
                                    {"negative_slope": 0.2, "max_value": 3.0, "threshold": -0.5}, {"max_value": 6}],
                         ids=str)
def test_relu_options_match_keras(kwargs):
    x = np.linspace(-5, 5, 41).astype("float32")
    np.testing.assert_allclose(_np(activations.relu(torch.from_numpy(x), **kwargs)),
                               _np(keras.activations.relu(keras.ops.convert_to_tensor(x), **kwargs)), **F32)


def test_activation_get_forms_and_errors():
    assert activations.get(None) is activations.linear
    assert activations.get(torch.tanh) is torch.tanh
    assert activations.serialize(torch.tanh) == "tanh"
    assert activations.serialize(None) == "linear"
    assert activations.get({"class_name": "function", "config": "relu"}) is activations.relu
    x = torch.tensor([[1.0, 2.0, 3.0]])
    torch.testing.assert_close(activations.softmax(x).sum(-1), torch.ones(1))
    with pytest.raises(ValueError, match="unknown activation 'rleu'.*relu"):
        activations.get("rleu")
    with pytest.raises(ValueError, match="custom activation"):
        activations.serialize(lambda t: t)
    with pytest.raises(TypeError):
        activations.get(3)
    np.testing.assert_allclose(_np(activations.relu(np.array([-1.0, 2.0]))), [0.0, 2.0])
