"""``train_on_batch`` / ``test_on_batch`` run a subclassed model's own ``train_step`` / ``test_step``
(as Keras 3 does), and the logs those steps return are what the calls return; a model without
its own steps keeps the built-in ones. Checked against Keras 3 (torch backend) on the same model.
One difference, on purpose: Keras 3's ``train_on_batch`` hands the step ``(x, y, None)`` where its
``fit`` hands ``(x, y)``; lstmkit hands ``(x, y)`` in both (so the guide's ``x, y = data`` works)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit import keras
from lstmkit.keras import layers

pytestmark = pytest.mark.usefixtures("one_thread", "fresh_names")

RNG = np.random.default_rng(0)
X = RNG.standard_normal((16, 4)).astype("float32")
Y = (X @ RNG.standard_normal((4, 1))).astype("float32")


def make_counting_model(lib):
    """A model whose steps count their calls and log a marker value (``steps`` = 1, 2, ...)."""

    class Counting(lib.Model):
        def __init__(self):
            super().__init__()
            self.dense = lib.layers.Dense(1)
            self.train_calls = 0
            self.test_calls = 0

        def call(self, x):
            return self.dense(x)

        def train_step(self, data):
            x, y = data[:2]  # Keras 3's train_on_batch passes (x, y, None); lstmkit's (x, y), as fit()
            self.train_calls += 1
            self.zero_grad()
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
            loss.backward()
            weights = list(self.trainable_weights)
            with torch.no_grad():
                self.optimizer.apply([v.value.grad for v in weights], weights)
            return {"loss": loss.detach(), "steps": float(self.train_calls)}

        def test_step(self, data):
            x, y = data[:2]
            self.test_calls += 1
            loss = self.compute_loss(y=y, y_pred=self(x, training=False))
            return {"loss": loss.detach(), "tests": float(self.test_calls) * 10}

    return Counting()


def _keras():
    return pytest.importorskip("keras")


@pytest.mark.parametrize("lib_name", ["lstmkit", "keras"])
def test_train_on_batch_runs_the_custom_train_step(lib_name):
    lib = keras if lib_name == "lstmkit" else _keras()
    model = make_counting_model(lib)
    model.compile(optimizer=lib.optimizers.SGD(0.1), loss="mse")
    model(X[:2])
    before = [np.array(w) for w in model.get_weights()]
    first = model.train_on_batch(X, Y, return_dict=True)
    second = model.train_on_batch(X, Y, return_dict=True)
    assert model.train_calls == 2
    assert set(first) == {"loss", "steps"} and first["steps"] == 1.0 and second["steps"] == 2.0
    assert second["loss"] < first["loss"]  # the custom step updated the weights
    assert all(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))
    result = model.test_on_batch(X, Y, return_dict=True)
    assert model.test_calls == 1 and set(result) == {"loss", "tests"} and result["tests"] == 10.0
    mse = float(np.mean((np.asarray(model.predict_on_batch(X)) - Y) ** 2))
    np.testing.assert_allclose(result["loss"], mse, rtol=1e-5)
    assert model.train_calls == 2  # test_on_batch did not train


def test_same_logs_as_keras_from_the_same_weights():
    k = _keras()
    ours, theirs = make_counting_model(keras), make_counting_model(k)
    for m, lib in ((ours, keras), (theirs, k)):
        m.compile(optimizer=lib.optimizers.SGD(0.1), loss="mse")
        m(X[:2])
    ours.set_weights(theirs.get_weights())
    for _ in range(3):
        a, b = ours.train_on_batch(X, Y, return_dict=True), theirs.train_on_batch(X, Y, return_dict=True)
        np.testing.assert_allclose(a["loss"], float(b["loss"]), rtol=1e-5)
    np.testing.assert_allclose(ours.test_on_batch(X, Y, return_dict=True)["loss"],
                               float(theirs.test_on_batch(X, Y, return_dict=True)["loss"]), rtol=1e-5)


def test_models_without_own_steps_keep_the_built_in_ones():
    model = keras.Sequential([layers.Input((4,)), layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", metrics=["mae"])
    first = model.train_on_batch(X, Y, return_dict=True)
    assert set(first) == {"loss", "mae"}
    assert model.train_on_batch(X, Y)[0] < first["loss"]  # [loss, mae]
    assert set(model.test_on_batch(X, Y, return_dict=True)) == {"loss", "mae"}
