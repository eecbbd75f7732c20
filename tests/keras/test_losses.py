"""lstmkit.keras.losses against real Keras 3 (torch backend) on random data: every loss for the
shapes Keras users pass, with and without sample weights and masks, all reductions, the function
forms, get() and configs. Tolerance: 1e-6 (rtol and atol), float32."""

from __future__ import annotations

import zlib

import keras
import numpy as np
import pytest
import torch

from lstmkit.keras import losses

# Keras 3 internals (not lstmkit) warn about NumPy 2's __array__ copy keyword on every conversion
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn:DeprecationWarning")

TOL = {"rtol": 1e-6, "atol": 1e-6}
B, T, C = 6, 5, 4


def _close(ours, theirs):
    np.testing.assert_allclose(np.asarray(ours.detach().cpu()), keras.ops.convert_to_numpy(theirs), **TOL)


def _regression(rng, true_shape, pred_shape):
    return rng.standard_normal(true_shape).astype(np.float32), rng.standard_normal(pred_shape).astype(np.float32)


def _positive(rng, true_shape, pred_shape):
    return (rng.uniform(0.05, 2, true_shape).astype(np.float32), rng.uniform(0.05, 2, pred_shape).astype(np.float32))


def _binary(rng, true_shape, pred_shape):
    return ((rng.random(true_shape) > 0.5).astype(np.float32), rng.uniform(0.001, 0.999, pred_shape).astype(np.float32))


def _binary_logits(rng, true_shape, pred_shape):
    return (rng.random(true_shape) > 0.5).astype(np.float32), (3 * rng.standard_normal(pred_shape)).astype(np.float32)


def _onehot(rng, true_shape, pred_shape):
    labels = rng.integers(0, pred_shape[-1], true_shape[:-1])
    probs = rng.uniform(0.01, 1, pred_shape).astype(np.float32)
    return np.eye(pred_shape[-1], dtype=np.float32)[labels], probs / probs.sum(-1, keepdims=True)


def _sparse(rng, true_shape, pred_shape):
    probs = rng.uniform(0.01, 1, pred_shape).astype(np.float32)
    return rng.integers(0, pred_shape[-1], true_shape), probs / probs.sum(-1, keepdims=True)


def _sparse_logits(rng, true_shape, pred_shape):
    return rng.integers(0, pred_shape[-1], true_shape), (2 * rng.standard_normal(pred_shape)).astype(np.float32)


ELEMENTWISE_SHAPES = [((B,), (B,)), ((B,), (B, 1)), ((B, 1), (B, 1)), ((B, 1), (B,)), ((B, C), (B, C)),
                      ((B, T, C), (B, T, C)), ((B, T), (B, T, 1))]
CATEGORICAL_SHAPES = [((B, C), (B, C)), ((B, T, C), (B, T, C))]
SPARSE_SHAPES = [((B,), (B, C)), ((B, 1), (B, C)), ((B, T), (B, T, C)), ((B, T, 1), (B, T, C))]

CASES = [
    ("MeanSquaredError", {}, _regression, ELEMENTWISE_SHAPES),
    ("MeanAbsoluteError", {}, _regression, ELEMENTWISE_SHAPES),
    ("MeanAbsolutePercentageError", {}, _positive, ELEMENTWISE_SHAPES),
    ("MeanSquaredLogarithmicError", {}, _positive, ELEMENTWISE_SHAPES),
    ("Huber", {}, _regression, ELEMENTWISE_SHAPES),
    ("Huber", {"delta": 0.3}, _regression, ELEMENTWISE_SHAPES),
    ("LogCosh", {}, _regression, ELEMENTWISE_SHAPES),
    ("Poisson", {}, _positive, ELEMENTWISE_SHAPES[:3] + ELEMENTWISE_SHAPES[4:6]),
    ("KLDivergence", {}, _onehot, CATEGORICAL_SHAPES),
    ("Hinge", {}, _binary_logits, ELEMENTWISE_SHAPES),
    ("SquaredHinge", {}, _binary_logits, ELEMENTWISE_SHAPES),
    ("CategoricalHinge", {}, _onehot, CATEGORICAL_SHAPES),
    ("CosineSimilarity", {}, _regression, [((B, C), (B, C)), ((B, T, C), (B, T, C))]),
    ("BinaryCrossentropy", {}, _binary, ELEMENTWISE_SHAPES),
    ("BinaryCrossentropy", {"label_smoothing": 0.1}, _binary, ELEMENTWISE_SHAPES),
    ("BinaryCrossentropy", {"from_logits": True}, _binary_logits, ELEMENTWISE_SHAPES),
    ("CategoricalCrossentropy", {}, _onehot, CATEGORICAL_SHAPES),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.2}, _onehot, CATEGORICAL_SHAPES),
    ("SparseCategoricalCrossentropy", {}, _sparse, SPARSE_SHAPES),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, _sparse_logits, SPARSE_SHAPES),
]
PARAMS = [(cls, kw, make, ts, ps) for cls, kw, make, shapes in CASES for ts, ps in shapes]
IDS = [f"{cls}{'-' + '-'.join(kw) if kw else ''}-{ts}-{ps}" for cls, kw, _, ts, ps in PARAMS]


@pytest.mark.parametrize(("cls", "kwargs", "make", "true_shape", "pred_shape"), PARAMS, ids=IDS)
def test_loss_matches_keras(cls, kwargs, make, true_shape, pred_shape):
    """Unweighted, per-sample weights and (for per-step losses) per-step weights."""
    rng = np.random.default_rng(zlib.crc32(repr((cls, kwargs, true_shape, pred_shape)).encode()))
    y_true, y_pred = make(rng, true_shape, pred_shape)
    per_step = getattr(losses, cls)(reduction="none", **kwargs)(y_true, y_pred).dim() == 2
    per_sample = rng.uniform(0, 2, (B,)).astype(np.float32)
    # per-step losses with per-sample weights: Keras 3 needs them as (B, 1) to broadcast (it
    # fails on (B,)); lstmkit accepts both and weights every step of a sample alike
    weightings = [(None, None), (per_sample, per_sample[:, None] if per_step else per_sample)]
    if per_step:
        per_step_weights = rng.uniform(0, 2, (B, T)).astype(np.float32)
        weightings.append((per_step_weights, per_step_weights))
    for sw, keras_sw in weightings:
        ours = getattr(losses, cls)(**kwargs)(y_true, y_pred, sample_weight=sw)
        theirs = getattr(keras.losses, cls)(**kwargs)(y_true, y_pred, sample_weight=keras_sw)
        assert ours.dim() == 0
        _close(ours, theirs)


@pytest.mark.parametrize("reduction", ["sum", "sum_over_batch_size", "mean", "mean_with_sample_weight", "none", None])
@pytest.mark.parametrize("cls", ["MeanSquaredError", "BinaryCrossentropy", "SparseCategoricalCrossentropy"])
def test_reductions_match_keras(cls, reduction):
    rng = np.random.default_rng(5)
    make = {"MeanSquaredError": _regression, "BinaryCrossentropy": _binary,
            "SparseCategoricalCrossentropy": _sparse}[cls]
    y_true, y_pred = make(rng, (B, T), (B, T, C)) if cls.startswith("Sparse") else make(rng, (B, T), (B, T))
    sw = rng.uniform(0, 2, (B, 1)).astype(np.float32)
    for weights in (None, sw):
        ours = getattr(losses, cls)(reduction=reduction)(y_true, y_pred, sample_weight=weights)
        theirs = getattr(keras.losses, cls)(reduction=reduction)(y_true, y_pred, sample_weight=weights)
        _close(ours, theirs)


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean_with_sample_weight"])
@pytest.mark.parametrize("with_weights", [False, True])
def test_mask_on_predictions_matches_keras(reduction, with_weights):
    """A Keras mask on y_pred (e.g. from Masking/Embedding(mask_zero=True)) excludes padded steps."""
    rng = np.random.default_rng(9)
    y_true, y_pred = _sparse(rng, (B, T), (B, T, C))
    mask = rng.random((B, T)) > 0.3
    sw = rng.uniform(0, 2, (B,)).astype(np.float32) if with_weights else None
    # Keras 3 needs the weights per step here; lstmkit also takes them per sample
    keras_sw = None if sw is None else np.broadcast_to(sw[:, None], (B, T)).copy()
    ours_pred = torch.tensor(y_pred)
    ours_pred._keras_mask = torch.tensor(mask)
    theirs_pred = keras.ops.convert_to_tensor(y_pred)
    theirs_pred._keras_mask = keras.ops.convert_to_tensor(mask)
    ours = losses.SparseCategoricalCrossentropy(reduction=reduction)(y_true, ours_pred, sample_weight=sw)
    theirs = keras.losses.SparseCategoricalCrossentropy(reduction=reduction)(y_true, theirs_pred,
                                                                             sample_weight=keras_sw)
    _close(ours, theirs)


@pytest.mark.parametrize("from_logits", [False, True])
def test_ignore_class_matches_keras(from_logits):
    rng = np.random.default_rng(2)
    y_true, y_pred = (_sparse_logits if from_logits else _sparse)(rng, (B, T), (B, T, C))
    y_true[rng.random((B, T)) > 0.6] = -1
    ours = losses.SparseCategoricalCrossentropy(from_logits=from_logits, ignore_class=-1)(y_true, y_pred)
    theirs = keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits, ignore_class=-1)(y_true, y_pred)
    _close(ours, theirs)


def test_ignore_class_gradient_is_finite():
    rng = np.random.default_rng(4)
    y_true, y_pred = _sparse(rng, (B, T), (B, T, C))
    y_true[:, -2:] = 0
    pred = torch.tensor(y_pred, requires_grad=True)
    losses.SparseCategoricalCrossentropy(ignore_class=0)(y_true, pred).backward()
    assert torch.isfinite(pred.grad).all()


FUNCTIONS = [("mean_squared_error", _regression, (B, C), (B, C)), ("mean_absolute_error", _regression, (B,), (B, 1)),
             ("mean_absolute_percentage_error", _positive, (B, T, C), (B, T, C)),
             ("mean_squared_logarithmic_error", _positive, (B, C), (B, C)), ("huber", _regression, (B, C), (B, C)),
             ("log_cosh", _regression, (B, C), (B, C)), ("binary_crossentropy", _binary, (B, C), (B, C)),
             ("categorical_crossentropy", _onehot, (B, C), (B, C)),
             ("sparse_categorical_crossentropy", _sparse, (B,), (B, C)), ("kl_divergence", _onehot, (B, C), (B, C)),
             ("poisson", _positive, (B, C), (B, C)), ("hinge", _binary_logits, (B, C), (B, C)),
             ("squared_hinge", _binary_logits, (B, C), (B, C)), ("categorical_hinge", _onehot, (B, C), (B, C)),
             ("cosine_similarity", _regression, (B, C), (B, C))]


@pytest.mark.parametrize(("name", "make", "true_shape", "pred_shape"), FUNCTIONS, ids=[f[0] for f in FUNCTIONS])
def test_function_forms_match_keras(name, make, true_shape, pred_shape):
    y_true, y_pred = make(np.random.default_rng(1), true_shape, pred_shape)
    ours = getattr(losses, name)(y_true, y_pred)
    theirs = getattr(keras.losses, name)(keras.ops.convert_to_tensor(y_true), keras.ops.convert_to_tensor(y_pred))
    assert tuple(ours.shape) == tuple(theirs.shape)
    _close(ours, theirs)


@pytest.mark.parametrize(("identifier", "cls", "name"), [
    ("mse", losses.MeanSquaredError, "mean_squared_error"), ("MSE", losses.MeanSquaredError, "mean_squared_error"),
    ("mean_squared_error", losses.MeanSquaredError, "mean_squared_error"),
    ("MeanSquaredError", losses.MeanSquaredError, "mean_squared_error"),
    ("mae", losses.MeanAbsoluteError, "mean_absolute_error"),
    ("mean_absolute_error", losses.MeanAbsoluteError, "mean_absolute_error"),
    ("mape", losses.MeanAbsolutePercentageError, "mean_absolute_percentage_error"),
    ("huber", losses.Huber, "huber_loss"), ("log_cosh", losses.LogCosh, "log_cosh"),
    ("logcosh", losses.LogCosh, "log_cosh"),
    ("binary_crossentropy", losses.BinaryCrossentropy, "binary_crossentropy"),
    ("categorical_crossentropy", losses.CategoricalCrossentropy, "categorical_crossentropy"),
    ("sparse_categorical_crossentropy", losses.SparseCategoricalCrossentropy, "sparse_categorical_crossentropy"),
    ("SparseCategoricalCrossentropy", losses.SparseCategoricalCrossentropy, "sparse_categorical_crossentropy"),
])
def test_get_strings(identifier, cls, name):
    loss = losses.get(identifier)
    assert type(loss) is cls and loss.name == name


def test_get_other_identifiers_and_errors():
    loss = losses.Huber(delta=0.5)
    assert losses.get(loss) is loss
    again = losses.get(losses.serialize(loss))
    assert isinstance(again, losses.Huber) and again.delta == 0.5
    assert isinstance(losses.get(losses.BinaryCrossentropy), losses.BinaryCrossentropy)

    def my_loss(y_true, y_pred):
        return torch.mean(torch.abs(y_true - y_pred) ** 3, dim=-1)

    wrapped = losses.get(my_loss)
    assert isinstance(wrapped, losses.Loss) and wrapped.name == "my_loss"
    torch.testing.assert_close(wrapped(np.zeros((4, 2)), np.ones((4, 2))), torch.tensor(1.0))
    with pytest.raises(ValueError, match="Valid names: .*'mse'"):
        losses.get("msee")
    with pytest.raises(ValueError, match="Could not interpret"):
        losses.get(42)
    assert losses.get(None) is None
    fn_loss = losses.LossFunctionWrapper(losses.huber, delta=0.5)
    again = losses.deserialize(losses.serialize(fn_loss))
    assert again.fn is losses.huber and again.get_config() == fn_loss.get_config()
    with pytest.raises(TypeError, match="cannot serialize"):
        wrapped.get_config()


@pytest.mark.parametrize(("cls", "kwargs"), [(c, k) for c, k, _, _ in CASES])
def test_config_round_trip_and_keras_names(cls, kwargs):
    loss = getattr(losses, cls)(**kwargs)
    config = loss.get_config()
    again = losses.deserialize(losses.serialize(loss))
    assert type(again) is type(loss) and again.get_config() == config
    theirs = getattr(keras.losses, cls)(**kwargs).get_config()
    assert loss.name == theirs["name"]
    for key in theirs:
        if key not in ("dtype",):
            assert config[key] == theirs[key], key
    if "delta" not in kwargs:  # Keras' Huber config omits delta (lstmkit's keeps it)
        assert type(loss).from_config(theirs).get_config() == config  # a Keras config loads


def test_bad_shapes_and_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match=r"y_true of shape \(4, 3\) and y_pred of shape \(4, 5\)"):
        losses.MeanSquaredError()(np.zeros((4, 3)), np.zeros((4, 5)))
    with pytest.raises(ValueError, match="same shape"):
        losses.CategoricalCrossentropy()(np.zeros((4,)), np.full((4, 3), 1 / 3))
    with pytest.raises(ValueError, match="without its class axis"):
        losses.SparseCategoricalCrossentropy()(np.zeros((4, 3)), np.full((4, 5), 0.2))
    with pytest.raises(ValueError, match=r"labels must be integers in \[0, 3\)"):
        losses.SparseCategoricalCrossentropy()(np.array([0, 3]), np.full((2, 3), 1 / 3))
    with pytest.raises(ValueError, match="reduction"):
        losses.MeanSquaredError(reduction="average")
    with pytest.raises(ValueError, match="label_smoothing"):
        losses.BinaryCrossentropy(label_smoothing=2.0)
    with pytest.raises(ValueError, match="sample_weight"):
        losses.MeanSquaredError()(np.zeros((4, 3)), np.zeros((4, 3)), sample_weight=np.ones(3))


def test_loss_is_differentiable_and_follows_device_and_dtype():
    y_pred = torch.rand(4, 3, dtype=torch.float64, requires_grad=True)
    value = losses.CategoricalCrossentropy()(np.eye(3)[[0, 1, 2, 0]], y_pred)
    assert value.dtype == torch.float64
    value.backward()
    assert y_pred.grad is not None and torch.isfinite(y_pred.grad).all()


def test_mask_over_a_reduced_axis_is_a_clear_error():
    y_pred = torch.rand(B, T, 1)
    y_pred._keras_mask = torch.ones(B, T, dtype=torch.bool)
    with pytest.raises(ValueError, match=r"mask of shape \(6, 5\).*\(batch, steps, 1\)"):
        losses.MeanSquaredError()(np.zeros((B, T)), y_pred)
    torch.testing.assert_close(losses.MeanSquaredError()(np.zeros((B, T, 1)), y_pred), torch.mean(y_pred ** 2))
