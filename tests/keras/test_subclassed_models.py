"""Subclassed models (``class M(keras.Model)``): they train with compile/fit/evaluate/predict, show a
summary once built, save and load their weights; a ``train_step`` / ``test_step`` written as the
Keras guide "Customizing what happens in fit() with PyTorch" shows trains and its metrics reach
History; a custom layer made with ``add_weight`` trains inside a Sequential."""

import numpy as np
import pytest
import torch

from lstmkit import keras
from lstmkit.keras import layers, ops

pytestmark = pytest.mark.usefixtures("one_thread", "fresh_names")

RNG = np.random.default_rng(0)
X = RNG.standard_normal((64, 6)).astype("float32")
W_TRUE = RNG.standard_normal((6, 1)).astype("float32")
Y = X @ W_TRUE
SEQ = RNG.standard_normal((32, 5, 3)).astype("float32")
SEQ_Y = SEQ.sum(axis=(1, 2))[:, None].astype("float32")


class MLP(keras.Model):
    def __init__(self, hidden=8, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(hidden, activation="relu")
        self.drop = layers.Dropout(0.1)
        self.out = layers.Dense(1)

    def call(self, inputs, training=None):
        return self.out(self.drop(self.hidden(inputs), training=training))


class Blocks(keras.Model):
    """Layers in a list, appended after assignment (a common pattern)."""

    def __init__(self):
        super().__init__()
        self.blocks = []
        for units in (8, 4):
            self.blocks.append(layers.Dense(units, activation="tanh"))
        self.head = layers.Dense(1)

    def call(self, x):
        for block in self.blocks:
            x = block(x)
        return self.head(x)


def test_subclassed_model_trains_evaluates_predicts():
    model = MLP()
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse", metrics=["mae"])
    before = model.evaluate(X, Y, verbose=0)
    history = model.fit(X, Y, epochs=15, batch_size=16, verbose=0)
    after = model.evaluate(X, Y, verbose=0, return_dict=True)
    assert after["loss"] < 0.5 * before[0]
    assert set(history.history) == {"loss", "mae"} and len(history.history["loss"]) == 15
    assert model.predict(X[:5], verbose=0).shape == (5, 1)
    assert len(model.layers) == 3 and len(model.trainable_weights) == 4


def test_layers_in_lists_are_tracked_and_trained():
    model = Blocks()
    model.build((None, 6))
    assert [la.name for la in model.layers] == ["dense", "dense_1", "dense_2"]
    assert len(model.weights) == 6 and model.count_params() == 6 * 8 + 8 + 8 * 4 + 4 + 4 + 1
    model.compile("adam", "mse")
    first = [w.detach().clone() for w in model.trainable_weights]
    model.fit(X, Y, epochs=1, batch_size=32, verbose=0)
    assert all(not torch.equal(a, b) for a, b in zip(first, model.trainable_weights))


def test_summary_after_build_and_weights_round_trip(tmp_path, capsys):
    model = MLP(hidden=5)
    model.build((None, 6))
    model.summary()
    text = capsys.readouterr().out
    assert "Total params: 41" in text and "dense" in text
    path = tmp_path / "mlp.weights.h5"
    model.save_weights(path)
    other = MLP(hidden=5)
    other.build((None, 6))
    other.load_weights(path)
    np.testing.assert_allclose(other.predict(X, verbose=0), model.predict(X, verbose=0), rtol=1e-6)


class GuideModel(keras.Model):
    """train_step/test_step as in the Keras 3 guide for PyTorch (first example)."""

    def __init__(self):
        super().__init__()
        self.dense = layers.Dense(1)

    def call(self, x):
        return self.dense(x)

    def train_step(self, data):
        x, y = data
        self.zero_grad()
        y_pred = self(x, training=True)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        loss.backward()
        trainable_weights = [v for v in self.trainable_weights]
        gradients = [v.value.grad for v in trainable_weights]
        with torch.no_grad():
            self.optimizer.apply(gradients, trainable_weights)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        x, y = data
        y_pred = self(x, training=False)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        for metric in self.metrics:
            if metric.name != "loss":
                metric.update_state(y, y_pred)
            else:
                metric.update_state(loss)
        return {m.name: m.result() for m in self.metrics}


def test_guide_train_step_trains_and_logs_reach_history():
    model = GuideModel()
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", metrics=["mae"])
    history = model.fit(X, Y, epochs=8, batch_size=16, verbose=0, validation_data=(X[:16], Y[:16]))
    logs = history.history
    assert set(logs) == {"loss", "mae", "val_loss", "val_mae"}
    assert logs["loss"][-1] < 0.2 * logs["loss"][0]
    result = model.evaluate(X, Y, verbose=0, return_dict=True)
    assert set(result) == {"loss", "mae"}
    np.testing.assert_allclose(result["loss"], np.mean((model.predict(X, verbose=0) - Y) ** 2), rtol=1e-4)


class LowLevel(keras.Model):
    """The guide's lower-level form: own loss function and metrics, compile() with an optimizer only."""

    def __init__(self):
        super().__init__()
        self.dense = layers.Dense(1)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.mae_metric = keras.metrics.MeanAbsoluteError(name="mae")
        self.loss_fn = keras.losses.MeanSquaredError()

    def call(self, x):
        return self.dense(x)

    def train_step(self, data):
        x, y = data
        self.zero_grad()
        y_pred = self(x, training=True)
        loss = self.loss_fn(y, y_pred)
        loss.backward()
        trainable_weights = [v for v in self.trainable_weights]
        gradients = [v.value.grad for v in trainable_weights]
        with torch.no_grad():
            self.optimizer.apply(gradients, trainable_weights)
        self.loss_tracker.update_state(loss)
        self.mae_metric.update_state(y, y_pred)
        return {"loss": self.loss_tracker.result(), "mae": self.mae_metric.result()}

    @property
    def metrics(self):
        return [self.loss_tracker, self.mae_metric]


def test_low_level_train_step_resets_its_metrics_each_epoch():
    seen = []

    class AtEpochBegin(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen.append((float(self.model.loss_tracker.result()), float(self.model.mae_metric.result())))

    model = LowLevel()
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    history = model.fit(X, Y, epochs=6, batch_size=16, verbose=0, callbacks=[AtEpochBegin()])
    losses = history.history["loss"]
    assert set(history.history) == {"loss", "mae"} and losses[-1] < 0.5 * losses[0]
    assert seen == [(0.0, 0.0)] * 6  # Keras resets model.metrics at every epoch start


class SuperStep(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = layers.Dense(1)
        self.calls = 0

    def call(self, x):
        return self.dense(x)

    def train_step(self, data):
        self.calls += 1
        return super().train_step(data)


def test_super_train_step_and_sample_weights_reach_the_step():
    model = SuperStep()
    model.compile("adam", "mse", metrics=["mae"])
    history = model.fit(X, Y, epochs=2, batch_size=32, sample_weight=np.ones(64), verbose=0)
    assert model.calls == 4 and set(history.history) == {"loss", "mae"}


def test_train_step_with_lstm_updates_the_recurrent_weights():
    class Seq(GuideModel):
        def __init__(self):
            super().__init__()
            self.lstm = layers.LSTM(4)

        def call(self, x):
            return self.dense(self.lstm(x))

    model = Seq()
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    model.build((None, 5, 3))
    kernel = model.lstm.get_weights()[0].copy()
    model.fit(SEQ, SEQ_Y, epochs=1, batch_size=8, verbose=0)
    assert not np.allclose(kernel, model.lstm.get_weights()[0])


class Scale(layers.Layer):
    """A custom layer made with add_weight (Keras 3 form), no cell."""

    def __init__(self, units=1, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="zeros", name="kernel")
        self.offset = self.add_weight(shape=(self.units,), initializer="zeros")

    def call(self, x):
        return ops.matmul(x, self.kernel) + self.offset


def test_custom_layer_in_sequential_learns_a_linear_map(tmp_path):
    model = keras.Sequential([keras.Input((6,)), Scale(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss="mse")
    model.fit(X, Y, epochs=40, batch_size=16, verbose=0)
    np.testing.assert_allclose(model.layers[0].kernel.detach().numpy(), W_TRUE, atol=0.05)
    path = tmp_path / "scale.keras"
    model.save(path)
    loaded = keras.models.load_model(path, custom_objects={"Scale": Scale})
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0), rtol=1e-6)
    assert loaded.layers[0].units == 1
