"""lstmkit.keras.callbacks on a tiny fake model (only what the callbacks use: stop_training,
optimizer.learning_rate, get/set_weights, save/save_weights). Where Keras 3 has the same callback,
the same simulated training runs through real Keras' callbacks too and the outcomes (stop epoch,
restored weights, learning rates, history, CSV text, checkpoint files) must be identical."""

from __future__ import annotations

import math
import os

import keras
import numpy as np
import pytest
import torch
from keras.src.trainers.compile_utils import MetricsList

from lstmkit.keras import callbacks

# Keras 3 internals (not lstmkit) warn about NumPy 2's __array__ copy keyword on every conversion
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn:DeprecationWarning")


class FakeOptimizer:
    def __init__(self, lr: float = 0.01):
        self.learning_rate = lr


class FakeModel:
    def __init__(self, lr: float = 0.01):
        self.stop_training = False
        self.optimizer = FakeOptimizer(lr)
        self.weights = [np.zeros((2, 2), np.float32), np.zeros(3, np.float32)]
        self.saved: list[tuple[str, str]] = []

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [np.array(w) for w in weights]

    def save(self, path, overwrite=True):
        with open(path, "w") as f:
            f.write("model")
        self.saved.append(("model", os.path.basename(path)))

    def save_weights(self, path, overwrite=True):
        with open(path, "w") as f:
            f.write("weights")
        self.saved.append(("weights", os.path.basename(path)))


def simulate(cb_list, model, epoch_logs, steps=2, batch_loss=None):
    """A fit() loop: hooks in Keras' order, stopping when model.stop_training is set."""
    cb_list.on_train_begin()
    for epoch, logs in enumerate(epoch_logs):
        cb_list.on_epoch_begin(epoch)
        for batch in range(steps):
            cb_list.on_train_batch_begin(batch)
            for w in model.weights:
                w += 1.0  # training changes the weights
            loss = batch_loss(epoch, batch) if batch_loss else 1.0 / (1 + epoch)
            cb_list.on_train_batch_end(batch, {"loss": loss})
            if model.stop_training:
                break
        cb_list.on_epoch_end(epoch, dict(logs))
        if model.stop_training:
            break
    cb_list.on_train_end()
    return model


def run_both(make_ours, make_theirs, epoch_logs, lr=0.01, **kwargs):
    ours_model, theirs_model = FakeModel(lr), FakeModel(lr)
    # Keras 3 decides mode="auto" for metrics from the compiled metrics' directions; lstmkit's fake
    # model has none, so lstmkit decides from the name alone (and must agree)
    theirs_model.metrics = [MetricsList([keras.metrics.BinaryAccuracy(name="accuracy")])]
    ours_cbs, theirs_cbs = make_ours(), make_theirs()
    ours_list = callbacks.CallbackList(ours_cbs, model=ours_model, params={"epochs": len(epoch_logs)},
                                       add_history=True)
    theirs_list = keras.callbacks.CallbackList(theirs_cbs, add_history=True, model=theirs_model,
                                               epochs=len(epoch_logs))
    simulate(ours_list, ours_model, epoch_logs, **kwargs)
    simulate(theirs_list, theirs_model, epoch_logs, **kwargs)
    return ours_model, theirs_model, ours_cbs, theirs_cbs


def _logs(key, values, extra=None):
    return [{key: v, "loss": 1.0 / (k + 1), **(extra or {})} for k, v in enumerate(values)]


LOSSES = [1.0, 0.8, 0.79, 0.81, 0.7, 0.75, 0.72, 0.73, 0.74, 0.6]
ACCS = [0.5, 0.6, 0.65, 0.64, 0.66, 0.66, 0.63, 0.7, 0.69, 0.68]

EARLY = [
    ("val_loss", LOSSES, {}),
    ("val_loss", LOSSES, {"patience": 2}),
    ("val_loss", LOSSES, {"patience": 1, "min_delta": 0.05}),
    ("val_loss", LOSSES, {"patience": 2, "restore_best_weights": True}),
    ("val_loss", LOSSES, {"patience": 3, "baseline": 0.75}),
    ("val_loss", LOSSES, {"patience": 1, "start_from_epoch": 4, "restore_best_weights": True}),
    ("val_accuracy", ACCS, {"patience": 2}),
    ("val_accuracy", ACCS, {"patience": 1, "mode": "max", "restore_best_weights": True}),
    ("val_accuracy", ACCS, {"patience": 2, "baseline": 0.8, "restore_best_weights": True}),
    ("val_loss", LOSSES, {"patience": 2, "mode": "max"}),
    ("loss", [1.0] * 10, {"patience": 3}),
]


@pytest.mark.parametrize(("monitor", "values", "kwargs"), EARLY, ids=[f"{m}-{'-'.join(k) or 'default'}-{i}"
                                                                      for i, (m, _, k) in enumerate(EARLY)])
def test_early_stopping_matches_keras(monitor, values, kwargs):
    logs = _logs(monitor, values) if monitor != "loss" else [{"loss": v} for v in values]
    ours_model, theirs_model, (ours,), (theirs,) = run_both(
        lambda: [callbacks.EarlyStopping(monitor=monitor, **kwargs)],
        lambda: [keras.callbacks.EarlyStopping(monitor=monitor, **kwargs)], logs)
    assert ours.stopped_epoch == theirs.stopped_epoch
    assert ours.best == theirs.best and ours.best_epoch == theirs.best_epoch and ours.wait == theirs.wait
    assert ours_model.history.epoch == theirs_model.history.epoch
    for a, b in zip(ours_model.weights, theirs_model.weights):
        np.testing.assert_array_equal(a, b)


def test_early_stopping_messages_and_missing_monitor(capsys):
    model = FakeModel()
    cb = callbacks.EarlyStopping(patience=0, verbose=1, restore_best_weights=True)
    simulate(callbacks.CallbackList([cb], model=model), model, _logs("val_loss", [1.0, 2.0, 3.0]))
    out = capsys.readouterr().out
    assert "Epoch 2: early stopping" in out and "best epoch: 1" in out
    cb = callbacks.EarlyStopping(monitor="val_acc")
    with pytest.warns(UserWarning, match="`val_acc` which is not available. Available metrics are: loss,val_loss"):
        cb.set_model(FakeModel())
        cb.on_epoch_end(0, {"loss": 1.0, "val_loss": 2.0})
    with pytest.raises(ValueError, match="mode='max'"):
        bad = callbacks.EarlyStopping(monitor="val_something")
        bad.set_model(FakeModel())
        bad.on_epoch_end(0, {"val_something": 1.0})


def test_auto_mode_uses_model_metric_direction():
    class Metric:
        name, _direction = "custom_score", "up"

    model = FakeModel()
    model.metrics = [Metric()]
    cb = callbacks.EarlyStopping(monitor="val_custom_score")
    cb.set_model(model)
    cb._set_monitor_op()
    assert cb._is_improvement(2.0, 1.0) and not cb._is_improvement(0.5, 1.0)


REDUCE = [
    {"patience": 1},
    {"patience": 2, "factor": 0.5, "cooldown": 2},
    {"patience": 1, "factor": 0.5, "min_lr": 0.003},
    {"patience": 1, "min_delta": 0.05, "cooldown": 1},
    {"patience": 1, "monitor": "val_accuracy", "factor": 0.2},
]


@pytest.mark.parametrize("kwargs", REDUCE, ids=["-".join(k) for k in REDUCE])
def test_reduce_lr_on_plateau_matches_keras(kwargs):
    logs = [{"val_loss": a, "val_accuracy": b, "loss": 1.0} for a, b in zip(LOSSES, ACCS)]
    ours_model, theirs_model, _, _ = run_both(lambda: [callbacks.ReduceLROnPlateau(**kwargs)],
                                              lambda: [keras.callbacks.ReduceLROnPlateau(**kwargs)], logs)
    np.testing.assert_allclose(ours_model.history.history["learning_rate"],
                               theirs_model.history.history["learning_rate"], rtol=1e-7)
    assert ours_model.optimizer.learning_rate == pytest.approx(theirs_model.optimizer.learning_rate)
    assert sorted(ours_model.history.history) == sorted(theirs_model.history.history)


def test_reduce_lr_on_plateau_errors_and_messages(capsys):
    with pytest.raises(ValueError, match="factor >= 1.0"):
        callbacks.ReduceLROnPlateau(factor=1.5)
    with pytest.raises(TypeError, match="unexpected keyword"):
        callbacks.ReduceLROnPlateau(patiance=3)
    model = FakeModel(0.1)
    cb = callbacks.ReduceLROnPlateau(patience=0, verbose=1, factor=0.5)
    simulate(callbacks.CallbackList([cb], model=model), model, _logs("val_loss", [1.0, 1.0]))
    assert "Epoch 2: ReduceLROnPlateau reducing learning rate to 0.05." in capsys.readouterr().out


@pytest.mark.parametrize("schedule", [
    lambda epoch, lr: lr if epoch < 2 else lr * math.exp(-0.1),
    lambda epoch: 0.1 / (epoch + 1),
    lambda epoch, lr: np.float32(lr * 0.5),
])
def test_learning_rate_scheduler_matches_keras(schedule):
    logs = [{"loss": 1.0}] * 5
    ours_model, theirs_model, _, _ = run_both(lambda: [callbacks.LearningRateScheduler(schedule)],
                                              lambda: [keras.callbacks.LearningRateScheduler(schedule)], logs)
    np.testing.assert_allclose(ours_model.history.history["learning_rate"],
                               theirs_model.history.history["learning_rate"], rtol=1e-6)


def test_learning_rate_scheduler_errors_and_verbose(capsys):
    model = FakeModel()
    cb = callbacks.LearningRateScheduler(lambda epoch: "fast")
    cb.set_model(model)
    with pytest.raises(ValueError, match="should be a float"):
        cb.on_epoch_begin(0)
    cb = callbacks.LearningRateScheduler(lambda epoch, lr: 0.5, verbose=1)
    cb.set_model(model)
    cb.on_epoch_begin(0)
    assert model.optimizer.learning_rate == 0.5
    assert "LearningRateScheduler setting learning rate to 0.5" in capsys.readouterr().out
    with pytest.raises(TypeError, match="function"):
        callbacks.LearningRateScheduler(0.1)


@pytest.mark.parametrize("append", [False, True])
@pytest.mark.parametrize("separator", [",", ";"])
def test_csv_logger_matches_keras(tmp_path, separator, append):
    logs = [{"loss": 0.5, "accuracy": 0.7}, {"loss": 0.4, "accuracy": 0.75, "val_loss": 0.45,
                                              "val_accuracy": 0.72}, {"loss": 0.3, "accuracy": 0.8}]
    ours_file, theirs_file = tmp_path / "ours.csv", tmp_path / "theirs.csv"
    for _ in range(2 if append else 1):  # the second run appends below the first (one header)
        run_both(lambda: [callbacks.CSVLogger(ours_file, separator=separator, append=append)],
                 lambda: [keras.callbacks.CSVLogger(str(theirs_file), separator=separator, append=append)], logs)
    text = ours_file.read_text()
    assert text == theirs_file.read_text()
    assert text.splitlines()[0].split(separator) == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert text.count("epoch") == 1 and "NA" in text


@pytest.mark.parametrize(("pattern", "kwargs"), [
    ("ckpt-{epoch:02d}-{val_loss:.2f}.keras", {}),
    ("best.keras", {"save_best_only": True}),
    ("best-{epoch}.keras", {"save_best_only": True, "monitor": "val_accuracy"}),
    ("w-{epoch:02d}.weights.h5", {"save_weights_only": True}),
    ("w-{epoch}-{batch}.weights.h5", {"save_weights_only": True, "save_freq": 3}),
    ("b-{epoch}.keras", {"save_best_only": True, "initial_value_threshold": 0.75}),
])
def test_model_checkpoint_matches_keras(tmp_path, pattern, kwargs):
    logs = [{"val_loss": a, "val_accuracy": b, "loss": 1.0} for a, b in zip(LOSSES[:6], ACCS[:6])]
    ours_dir, theirs_dir = tmp_path / "ours", tmp_path / "theirs"
    ours_model, theirs_model, _, _ = run_both(
        lambda: [callbacks.ModelCheckpoint(str(ours_dir / pattern), **kwargs)],
        lambda: [keras.callbacks.ModelCheckpoint(str(theirs_dir / pattern), **kwargs)], logs)
    assert ours_model.saved == theirs_model.saved
    assert sorted(os.listdir(ours_dir)) == sorted(os.listdir(theirs_dir))


def test_model_checkpoint_errors(tmp_path):
    with pytest.raises(ValueError, match="save_freq"):
        callbacks.ModelCheckpoint(str(tmp_path / "m.keras"), save_freq="batch")
    cb = callbacks.ModelCheckpoint(str(tmp_path / "m-{val_acc:.2f}.keras"))
    cb.set_model(FakeModel())
    with pytest.raises(ValueError, match="val_acc.*available fields: epoch, batch, loss"):
        cb.on_epoch_end(0, {"loss": 1.0})
    cb = callbacks.ModelCheckpoint(str(tmp_path / "m.keras"), save_best_only=True, monitor="val_auc")
    cb.set_model(model := FakeModel())
    with pytest.warns(UserWarning, match="Can save best model only with val_auc available"):
        cb.on_epoch_end(0, {"loss": 1.0})
    assert model.saved == [("model", "m.keras")]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), torch.tensor(float("nan"))])
def test_terminate_on_nan_stops_and_prints(bad, capsys):
    model = FakeModel()
    cb_list = callbacks.CallbackList([callbacks.TerminateOnNaN()], model=model)
    simulate(cb_list, model, [{"loss": 1.0}] * 4, steps=3,
             batch_loss=lambda epoch, batch: bad if (epoch, batch) == (1, 1) else 0.5)
    assert model.stop_training
    assert "Batch 1: Invalid loss, terminating training" in capsys.readouterr().out
    assert model.weights[1][0] == 5.0  # 2 batches of epoch 0 + 2 of epoch 1, then stop
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch 0"):
        callbacks.TerminateOnNaN(raise_error=True).on_train_batch_end(0, {"loss": float("nan")})


def test_history_records_epochs_params_and_sets_model_history():
    model = FakeModel()
    cb_list = callbacks.CallbackList([], model=model, params={"epochs": 3, "steps": 2, "verbose": 0}, add_history=True)
    history = cb_list.history
    assert isinstance(history, callbacks.History) and model.history is history
    simulate(cb_list, model, [{"loss": torch.tensor(0.5 - 0.1 * k), "acc": np.float32(0.5)} for k in range(3)])
    assert history.epoch == [0, 1, 2]
    assert history.params == {"epochs": 3, "steps": 2, "verbose": 0}
    assert history.history["loss"] == pytest.approx([0.5, 0.4, 0.3])
    assert all(type(v) is float for v in history.history["loss"] + history.history["acc"])


def test_lambda_callback_calls_the_functions():
    seen = []
    cb = callbacks.LambdaCallback(on_train_begin=lambda logs: seen.append("train_begin"),
                                  on_epoch_begin=lambda epoch, logs: seen.append(f"epoch_begin {epoch}"),
                                  on_epoch_end=lambda epoch, logs: seen.append(f"epoch_end {epoch} {logs['loss']}"),
                                  on_train_batch_end=lambda batch, logs: seen.append(f"batch {batch}"),
                                  on_train_end=lambda logs: seen.append("train_end"),
                                  on_test_end=lambda logs: seen.append("test_end"))
    model = FakeModel()
    simulate(callbacks.CallbackList(cb, model=model), model, [{"loss": 1.0}], steps=2)
    callbacks.CallbackList([cb]).on_test_end()
    assert seen == ["train_begin", "epoch_begin 0", "batch 0", "batch 1", "epoch_end 0 1.0", "train_end", "test_end"]
    with pytest.raises(TypeError, match="unknown hook 'on_whatever'"):
        callbacks.LambdaCallback(on_whatever=print)


class Recorder(callbacks.Callback):
    def __init__(self, tag, events):
        super().__init__()
        self.tag, self.events = tag, events

    def on_train_begin(self, logs=None):
        self.events.append((self.tag, "train_begin"))

    def on_epoch_end(self, epoch, logs=None):
        self.events.append((self.tag, "epoch_end", epoch, dict(logs)))
        logs[f"seen_by_{self.tag}"] = 1.0  # later callbacks of the same hook call see this key

    def on_test_batch_end(self, batch, logs=None):
        self.events.append((self.tag, "test_batch_end", batch))


def test_callback_list_dispatches_in_order_and_shares_logs():
    events = []
    model = FakeModel()
    cb_list = callbacks.CallbackList([Recorder("a", events), [Recorder("b", events)]], model=model,
                                     params={"epochs": 1})
    assert [cb.tag for cb in cb_list] == ["a", "b"] and len(cb_list) == 2
    assert all(cb.model is model and cb.params == {"epochs": 1} for cb in cb_list)
    cb_list.on_train_begin()
    logs = {"loss": torch.tensor(2.0), "nested": {"val_loss": np.float64(3.0)}}
    cb_list.on_epoch_end(0, logs)
    cb_list.on_test_batch_end(4, {"loss": 1.0})
    assert events == [("a", "train_begin"), ("b", "train_begin"),
                      ("a", "epoch_end", 0, {"loss": 2.0, "val_loss": 3.0}),
                      ("b", "epoch_end", 0, {"loss": 2.0, "seen_by_a": 1.0, "val_loss": 3.0}),
                      ("a", "test_batch_end", 4), ("b", "test_batch_end", 4)]
    assert "seen_by_a" not in logs  # the caller's dict is not modified


def test_callback_list_skips_batch_hooks_nobody_uses():
    class Exploding:
        def __float__(self):
            raise AssertionError("logs converted although no callback reads them")

    cb_list = callbacks.CallbackList([callbacks.History(), callbacks.EarlyStopping()], model=FakeModel())
    assert not cb_list.uses("on_train_batch_end") and cb_list.uses("on_epoch_end")
    cb_list.on_train_batch_end(0, {"loss": Exploding()})
    cb_list.on_test_batch_end(0, {"loss": Exploding()})
    cb_list.append(callbacks.TerminateOnNaN())  # overrides on_batch_end, which on_train_batch_end calls
    assert cb_list.uses("on_train_batch_end") and not cb_list.uses("on_test_batch_end")
    cb_list.on_train_batch_end(0, {"loss": 1.0})
    lam = callbacks.CallbackList([callbacks.LambdaCallback(on_test_batch_end=lambda batch, logs: None)])
    assert lam.uses("on_test_batch_end") and not lam.uses("on_train_batch_begin")
    with pytest.raises(TypeError, match="not a Callback"):
        callbacks.CallbackList([object()])


def test_pythonify_logs():
    logs = callbacks.pythonify_logs({"b": torch.tensor([1.0, 2.0]), "a": torch.tensor(3), "c": np.int64(2), "d": "x"})
    assert list(logs) == ["a", "b", "c", "d"]
    assert logs["a"] == 3.0 and type(logs["a"]) is float and type(logs["c"]) is float
    np.testing.assert_array_equal(logs["b"], [1.0, 2.0])


def test_time_budget_stops_training_by_epoch_or_batch():
    import time as _time

    import numpy as np

    from lstmkit.keras.callbacks import TimeBudget
    from lstmkit.keras.layers import Dense, Input
    from lstmkit.keras.models import Sequential

    class Slow(Dense):
        def call(self, inputs):
            _time.sleep(0.01)
            return super().call(inputs)

    x, y = np.zeros((64, 2), "float32"), np.zeros((64, 1), "float32")
    for per_batch, max_epochs_run in ((False, 2), (True, 1)):
        model = Sequential([Input((2,)), Slow(1)])
        model.compile("sgd", "mse")
        budget = TimeBudget(0.015, per_batch=per_batch)
        history = model.fit(x, y, batch_size=8, epochs=5, verbose=0, callbacks=[budget])
        assert budget.hit and len(history.epoch) <= max_epochs_run
    with pytest.raises(ValueError, match="seconds must be a positive number"):
        TimeBudget(0)
