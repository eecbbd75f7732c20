"""lstmkit.keras.metrics against real Keras 3 (torch backend): each metric streamed over three
random batches (several update_state calls, then result), with and without sample weights, for
the shapes Keras users pass; plus get() (including "accuracy" resolution), configs, reset and
the no-autograd guarantee. Tolerance 1e-6 (AUC 1e-4), float32."""

from __future__ import annotations

import zlib

import keras
import numpy as np
import pytest
import torch

from lstmkit.keras import losses, metrics

# Keras 3 internals (not lstmkit) warn about NumPy 2's __array__ copy keyword on every conversion
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn:DeprecationWarning")

B, T, C = 8, 4, 5


def _np(x):
    return np.asarray(x.detach().cpu()) if isinstance(x, torch.Tensor) else keras.ops.convert_to_numpy(x)


def reg(shape_t, shape_p=None):
    def make(rng):
        return (rng.standard_normal(shape_t).astype(np.float32),
                rng.standard_normal(shape_p or shape_t).astype(np.float32))
    return make


def pos(shape):
    def make(rng):
        return rng.uniform(0.1, 2, shape).astype(np.float32), rng.uniform(0.1, 2, shape).astype(np.float32)
    return make


def binary(shape_t, shape_p=None, logits=False):
    def make(rng):
        y_pred = (2 * rng.standard_normal(shape_p or shape_t) if logits else rng.random(shape_p or shape_t))
        return (rng.random(shape_t) > 0.5).astype(np.float32), y_pred.astype(np.float32)
    return make


def onehot(shape, logits=False):
    def make(rng):
        y_true = np.eye(shape[-1], dtype=np.float32)[rng.integers(0, shape[-1], shape[:-1])]
        y_pred = rng.standard_normal(shape) if logits else rng.dirichlet(np.ones(shape[-1]), shape[:-1])
        return y_true, y_pred.astype(np.float32)
    return make


def sparse(shape_t, shape_p, logits=False):
    def make(rng):
        y_pred = rng.standard_normal(shape_p) if logits else rng.dirichlet(np.ones(shape_p[-1]), shape_p[:-1])
        return rng.integers(0, shape_p[-1], shape_t), y_pred.astype(np.float32)
    return make


def ints(shape):
    def make(rng):
        return rng.integers(0, 3, shape), rng.integers(0, 3, shape)
    return make


CASES = [
    ("Accuracy", {}, ints((B,))),
    ("BinaryAccuracy", {}, binary((B,))),
    ("BinaryAccuracy", {}, binary((B,), (B, 1))),
    ("BinaryAccuracy", {"threshold": 0.7}, binary((B, 1))),
    ("BinaryAccuracy", {}, binary((B, C))),
    ("BinaryAccuracy", {}, binary((B, T, 1))),
    ("CategoricalAccuracy", {}, onehot((B, C))),
    ("CategoricalAccuracy", {}, onehot((B, T, C))),
    ("SparseCategoricalAccuracy", {}, sparse((B,), (B, C))),
    ("SparseCategoricalAccuracy", {}, sparse((B, 1), (B, C))),
    ("SparseCategoricalAccuracy", {}, sparse((B, T), (B, T, C))),
    ("TopKCategoricalAccuracy", {"k": 2}, onehot((B, C))),
    ("SparseTopKCategoricalAccuracy", {"k": 2}, sparse((B,), (B, C))),
    ("SparseTopKCategoricalAccuracy", {"k": 3}, sparse((B, 1), (B, C))),
    ("MeanSquaredError", {}, reg((B,))),
    ("MeanSquaredError", {}, reg((B,), (B, 1))),
    ("MeanSquaredError", {}, reg((B, T, C))),
    ("MeanAbsoluteError", {}, reg((B, 1))),
    ("MeanAbsoluteError", {}, reg((B, C))),
    ("MeanAbsolutePercentageError", {}, pos((B, C))),
    ("MeanSquaredLogarithmicError", {}, pos((B, C))),
    ("RootMeanSquaredError", {}, reg((B,))),
    ("RootMeanSquaredError", {}, reg((B, C))),
    ("RootMeanSquaredError", {}, reg((B, T, C))),
    ("LogCoshError", {}, reg((B, C))),
    ("CosineSimilarity", {}, reg((B, C))),
    ("BinaryCrossentropy", {}, binary((B, 1))),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, binary((B, C), logits=True)),
    ("CategoricalCrossentropy", {}, onehot((B, C))),
    ("CategoricalCrossentropy", {"from_logits": True}, onehot((B, T, C), logits=True)),
    ("SparseCategoricalCrossentropy", {}, sparse((B,), (B, C))),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, sparse((B, T), (B, T, C), logits=True)),
    ("KLDivergence", {}, onehot((B, C))),
    ("Poisson", {}, pos((B, C))),
    ("Hinge", {}, binary((B, C), logits=True)),
    ("SquaredHinge", {}, binary((B, C), logits=True)),
    ("CategoricalHinge", {}, onehot((B, C), logits=True)),
    ("TruePositives", {}, binary((B,))),
    ("FalsePositives", {"thresholds": [0.2, 0.6]}, binary((B, C))),
    ("TrueNegatives", {"thresholds": 0.3}, binary((B, 1))),
    ("FalseNegatives", {}, binary((B, C))),
    ("Precision", {}, binary((B,))),
    ("Precision", {}, binary((B,), (B, 1))),
    ("Precision", {"thresholds": [0.2, 0.5, 0.8]}, binary((B, C))),
    ("Precision", {"top_k": 2}, binary((B, C))),
    ("Precision", {"class_id": 1}, binary((B, C))),
    ("Precision", {"thresholds": [0.0, 0.5, 1.0]}, binary((B, C))),
    ("Recall", {}, binary((B, 1))),
    ("Recall", {"thresholds": 0.3, "class_id": 2}, binary((B, C))),
    ("Recall", {"top_k": 1}, binary((B, C))),
    ("F1Score", {}, onehot((B, C))),
    ("F1Score", {"average": "micro", "threshold": 0.3}, onehot((B, C))),
    ("F1Score", {"average": "macro"}, binary((B, C))),
    ("F1Score", {"average": "weighted", "threshold": 0.5}, binary((B, C))),
    ("FBetaScore", {"beta": 2.0, "average": "macro", "threshold": 0.4}, binary((B, C))),
]
AUC_CASES = [
    ("AUC", {}, binary((B,))),
    ("AUC", {}, binary((B, 1))),
    ("AUC", {"curve": "PR"}, binary((B, C))),
    ("AUC", {"num_thresholds": 17, "summation_method": "minoring"}, binary((B,))),
    ("AUC", {"curve": "PR", "summation_method": "majoring"}, binary((B, 1))),
    ("AUC", {"curve": "PRGAIN"}, binary((B, C))),
    ("AUC", {"thresholds": [0.1, 0.35, 0.5, 0.9]}, binary((B,))),
    ("AUC", {"thresholds": [0.25, 0.5, 0.75]}, binary((B,))),
    ("AUC", {"from_logits": True}, binary((B, 1), logits=True)),
    ("AUC", {"multi_label": True}, binary((B, C))),
    ("AUC", {"multi_label": True, "num_labels": C, "label_weights": [1, 2, 0, 1, 3], "curve": "PR"}, binary((B, C))),
    ("AUC", {"label_weights": [1, 2, 0, 1, 3]}, binary((B, C))),
]


def _stream(metric, batches, weights):
    for (y_true, y_pred), sw in zip(batches, weights):
        metric.update_state(y_true, y_pred, sample_weight=sw)
    return _np(metric.result())


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(("cls", "kwargs", "make"), CASES + AUC_CASES,
                         ids=[f"{c}-{'-'.join(k) or 'default'}-{i}" for i, (c, k, _) in enumerate(CASES + AUC_CASES)])
def test_streaming_matches_keras(cls, kwargs, make, weighted):
    rng = np.random.default_rng(zlib.crc32(repr((cls, kwargs, weighted)).encode()))
    batches = [make(rng) for _ in range(3)]
    if weighted and cls == "MeanSquaredError" and batches[0][1].ndim == 1:
        # rank-1 data: the "per-sample" error reduces the batch axis to a scalar, which per-sample
        # weights cannot weight (Keras raises too; lstmkit raises a ValueError saying so)
        with pytest.raises(ValueError, match="does not broadcast"):
            metrics.MeanSquaredError().update_state(*batches[0], sample_weight=np.ones(B))
        return
    weights = [rng.uniform(0, 2, (B,)).astype(np.float32) if weighted else None for _ in range(3)]
    ours = _stream(getattr(metrics, cls)(**kwargs), batches, weights)
    theirs = _stream(getattr(keras.metrics, cls)(**kwargs), batches, weights)
    tol = 1e-4 if cls == "AUC" else 1e-6
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol)


def test_mean_and_sum_match_keras():
    rng = np.random.default_rng(0)
    for cls in ("Mean", "Sum"):
        for values, sw in [(rng.random((B,)), None), (rng.random((B, T)), rng.random((B,))),
                           (rng.random((B, T, C)), rng.random((B, T))), (rng.random(()), None)]:
            ours, theirs = getattr(metrics, cls)(), getattr(keras.metrics, cls)()
            for _ in range(2):
                ours.update_state(values.astype(np.float32), sample_weight=sw)
                theirs.update_state(values.astype(np.float32), sample_weight=sw)
            np.testing.assert_allclose(_np(ours.result()), _np(theirs.result()), rtol=1e-6, atol=1e-6)


def test_mask_on_predictions_is_respected_like_keras():
    rng = np.random.default_rng(1)
    y_true, y_pred = sparse((B, T), (B, T, C))(rng)
    mask = rng.random((B, T)) > 0.4
    ours_pred, theirs_pred = torch.tensor(y_pred), keras.ops.convert_to_tensor(y_pred)
    ours_pred._keras_mask, theirs_pred._keras_mask = torch.tensor(mask), keras.ops.convert_to_tensor(mask)
    ours, theirs = metrics.SparseCategoricalAccuracy(), keras.metrics.SparseCategoricalAccuracy()
    ours.update_state(y_true, ours_pred)
    theirs.update_state(y_true, theirs_pred)
    np.testing.assert_allclose(_np(ours.result()), _np(theirs.result()), rtol=1e-6)


def test_reset_and_call_semantics():
    m = metrics.MeanAbsoluteError()
    assert float(m.result()) == 0.0
    assert float(m(np.zeros(4), np.ones(4))) == pytest.approx(1.0)
    assert float(m(np.zeros(4), np.full(4, 3.0))) == pytest.approx(2.0)  # __call__ accumulates (Keras 3)
    m.reset_state()
    assert float(m.result()) == 0.0
    auc = metrics.AUC(multi_label=True)
    auc.reset_state()  # not built yet: a no-op
    assert float(auc.result()) == 0.0


def test_updates_do_not_track_gradients():
    y_pred = torch.rand(B, C, requires_grad=True)
    y_true = np.eye(C, dtype=np.float32)[np.arange(B) % C]
    for m in (metrics.CategoricalAccuracy(), metrics.CategoricalCrossentropy(), metrics.AUC(), metrics.F1Score(),
              metrics.Precision(), metrics.RootMeanSquaredError()):
        m.update_state(y_true, y_pred)
        assert all(not v.requires_grad for v in m.variables), m.name
        assert not m.result().requires_grad


@pytest.mark.parametrize(("loss", "output_shape", "expected"), [
    ("binary_crossentropy", None, metrics.BinaryAccuracy),
    (losses.BinaryCrossentropy(from_logits=True), (None, 3), metrics.BinaryAccuracy),
    ("mse", (None, 1), metrics.BinaryAccuracy),
    (None, (None, 10, 1), metrics.BinaryAccuracy),
    ("sparse_categorical_crossentropy", (None, 10), metrics.SparseCategoricalAccuracy),
    (losses.sparse_categorical_crossentropy, None, metrics.SparseCategoricalAccuracy),
    ("categorical_crossentropy", (None, 10), metrics.CategoricalAccuracy),
    ("mse", (None, 4), metrics.CategoricalAccuracy),
    (losses.CategoricalCrossentropy, None, metrics.CategoricalAccuracy),
])
@pytest.mark.parametrize("identifier", ["accuracy", "acc"])
def test_accuracy_resolution(identifier, loss, output_shape, expected):
    metric = metrics.get(identifier, loss=loss, output_shape=output_shape)
    assert type(metric) is expected
    assert metric.name == identifier


@pytest.mark.parametrize(("y_true", "y_pred", "expected_fn"), [
    (np.array([1.0, 0.0, 1.0]), np.array([[0.7], [0.4], [0.2]]), "binary_accuracy"),
    (np.array([2, 0, 1]), np.eye(3)[[2, 1, 1]], "sparse_categorical_accuracy"),
    (np.eye(3)[[2, 0, 1]], np.eye(3)[[2, 1, 1]], "categorical_accuracy"),
])
def test_accuracy_without_hints_follows_keras3_shape_rule(y_true, y_pred, expected_fn):
    ours = metrics.get("accuracy")
    ours.update_state(y_true, y_pred)
    want = getattr(keras.metrics, expected_fn)(y_true, y_pred)
    np.testing.assert_allclose(_np(ours.result()), np.mean(_np(want)), rtol=1e-6)
    assert ours.name == "accuracy"


@pytest.mark.parametrize(("identifier", "cls"), [
    ("mae", metrics.MeanAbsoluteError), ("mse", metrics.MeanSquaredError),
    ("mape", metrics.MeanAbsolutePercentageError),
    ("binary_accuracy", metrics.BinaryAccuracy), ("categorical_accuracy", metrics.CategoricalAccuracy),
    ("sparse_categorical_accuracy", metrics.SparseCategoricalAccuracy), ("precision", metrics.Precision),
    ("recall", metrics.Recall), ("auc", metrics.AUC), ("AUC", metrics.AUC), ("f1_score", metrics.F1Score),
    ("RootMeanSquaredError", metrics.RootMeanSquaredError), ("root_mean_squared_error", metrics.RootMeanSquaredError),
    ("top_k_categorical_accuracy", metrics.TopKCategoricalAccuracy),
])
def test_get_strings_keep_the_written_name(identifier, cls):
    metric = metrics.get(identifier)
    assert type(metric) is cls and metric.name == identifier


def test_get_other_identifiers_and_errors():
    m = metrics.Precision(thresholds=0.3)
    assert metrics.get(m) is m
    again = metrics.get(metrics.serialize(m))
    assert isinstance(again, metrics.Precision) and again.thresholds == [0.3]
    assert isinstance(metrics.get(metrics.AUC), metrics.AUC)

    def exact_hits(y_true, y_pred):
        return (torch.as_tensor(y_true) == torch.as_tensor(y_pred)).float()

    wrapped = metrics.get(exact_hits)
    assert isinstance(wrapped, metrics.MeanMetricWrapper) and wrapped.name == "exact_hits"
    assert float(wrapped(np.array([1, 2, 3]), np.array([1, 0, 3]))) == pytest.approx(2 / 3)
    assert metrics.get(losses.mean_squared_error).name == "mean_squared_error"
    with pytest.raises(ValueError, match="Valid names: .*'accuracy'.*'mae'"):
        metrics.get("accurasy")
    with pytest.raises(ValueError, match="Could not interpret"):
        metrics.get(3.5)
    assert metrics.get(None) is None
    auto = metrics.deserialize(metrics.serialize(metrics.get("acc")))
    assert auto.name == "acc" and float(auto(np.array([1, 0]), np.array([[0.2, 0.8], [0.9, 0.1]]))) == 1.0


@pytest.mark.parametrize(("cls", "kwargs"), [(c, k) for c, k, _ in CASES + AUC_CASES])
def test_config_round_trip_and_keras_names(cls, kwargs):
    ours = getattr(metrics, cls)(**kwargs)
    config = ours.get_config()
    again = metrics.deserialize(metrics.serialize(ours))
    assert type(again) is type(ours) and again.get_config() == config
    theirs = getattr(keras.metrics, cls)(**kwargs)
    loaded = type(ours).from_config({**theirs.get_config(), "name": ours.name})  # a Keras config loads
    assert loaded.get_config() == config
    if cls not in ("TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives", "Precision", "Recall", "AUC"):
        assert ours.name == theirs.name  # the others are auto-numbered (precision, precision_1, ...)
    for key, value in theirs.get_config().items():
        if key != "name":
            assert config[key] == (list(np.asarray(value)) if key == "label_weights" and value is not None
                                   else value), key


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match=r"Threshold values must be in \[0, 1\]"):
        metrics.Precision(thresholds=1.5)
    with pytest.raises(ValueError, match="num_thresholds"):
        metrics.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match="curve"):
        metrics.AUC(curve="XYZ")
    with pytest.raises(ValueError, match="average"):
        metrics.F1Score(average="mean")
    with pytest.raises(ValueError, match="same shape"):
        metrics.Precision().update_state(np.zeros((4, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="2D inputs"):
        metrics.F1Score().update_state(np.zeros(4), np.zeros(4))
    with pytest.raises(ValueError, match="rank 2"):
        metrics.AUC(multi_label=True).update_state(np.zeros(4), np.zeros(4))
