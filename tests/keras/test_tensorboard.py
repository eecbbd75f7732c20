"""``TensorBoard``'s event files read back with tensorboard's own reader (``EventAccumulator``): the
epoch scalars equal the History, the batch scalars the batch logs, the evaluation scalars sit at
``optimizer.iterations``, the learning rate follows a schedule, histograms and images are there.
Keras 3's own TensorBoard tests (which need TensorFlow to read the files) are ported in
tests/keras_compat/test_callbacks.py. Without the tensorboard package these tests are skipped,
except the one that checks the error asking for it."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

from lstmkit.keras import Input, Sequential, callbacks, layers

pytestmark = pytest.mark.usefixtures("one_thread")


def _events(path):
    ea = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    acc = ea.EventAccumulator(str(path), size_guidance={"scalars": 0, "histograms": 0, "images": 0, "tensors": 0})
    acc.Reload()
    return acc


def _scalars(acc, tag):
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def _model(metrics=("mae",)):
    model = Sequential([Input((3, 4)), layers.LSTM(3), layers.Dense(1)], name="seq")
    model.compile("sgd", "mse", metrics=list(metrics))
    return model


def _data():
    rng = np.random.RandomState(0)
    return rng.rand(10, 3, 4).astype("float32"), rng.rand(10, 1).astype("float32")


class BatchLogs(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.logs = []

    def on_train_batch_end(self, batch, logs=None):
        self.logs.append(dict(logs))


def test_epoch_and_evaluation_scalars_equal_the_history(tmp_path):
    pytest.importorskip("tensorboard")
    x, y = _data()
    model = _model()
    history = model.fit(x, y, batch_size=4, epochs=3, validation_data=(x[:6], y[:6]), verbose=0,
                        callbacks=[callbacks.TensorBoard(tmp_path)])
    train, val = _events(tmp_path / "train"), _events(tmp_path / "validation")
    assert set(train.Tags()["scalars"]) == {"epoch_loss", "epoch_mae", "epoch_learning_rate"}
    assert set(val.Tags()["scalars"]) == {"epoch_loss", "epoch_mae", "evaluation_loss_vs_iterations",
                                          "evaluation_mae_vs_iterations"}
    for name in ("loss", "mae"):  # event files hold float32
        np.testing.assert_allclose(_scalars(train, f"epoch_{name}"), list(enumerate(history.history[name])),
                                   rtol=1e-6)
        np.testing.assert_allclose(_scalars(val, f"epoch_{name}"), list(enumerate(history.history[f"val_{name}"])),
                                   rtol=1e-6)
        steps = [3 * (k + 1) for k in range(3)]  # 3 batches an epoch: optimizer.iterations after each
        np.testing.assert_allclose(_scalars(val, f"evaluation_{name}_vs_iterations"),
                                   list(zip(steps, history.history[f"val_{name}"])), rtol=1e-6)
    np.testing.assert_allclose(_scalars(train, "epoch_learning_rate"), [(k, 0.01) for k in range(3)], rtol=1e-6)
    assert train.Tags()["tensors"] == ["keras"]  # write_graph: the model config for the graph plugin
    assert '"LSTM"' in train.Tensors("keras")[0].tensor_proto.string_val[0].decode()


@pytest.mark.parametrize("update_freq", ["batch", 2])
def test_batch_scalars_every_update_freq_batches(tmp_path, update_freq):
    pytest.importorskip("tensorboard")
    x, y = _data()
    record = BatchLogs()
    _model().fit(x, y, batch_size=4, epochs=2, verbose=0,
                 callbacks=[callbacks.TensorBoard(tmp_path, update_freq=update_freq, write_steps_per_second=True),
                            record])
    train = _events(tmp_path / "train")
    every = 1 if update_freq == "batch" else update_freq
    steps = [k for k in range(1, 7) if k % every == 0]
    for name in ("loss", "mae"):
        expected = [(k, record.logs[k - 1][name]) for k in steps]
        np.testing.assert_allclose(_scalars(train, f"batch_{name}"), expected, rtol=1e-6)
    assert [s for s, _ in _scalars(train, "batch_steps_per_second")] == steps
    assert [s for s, _ in _scalars(train, "epoch_steps_per_second")] == [0, 1]
    assert all(v > 0 for _, v in _scalars(train, "epoch_steps_per_second"))


def test_epoch_updates_add_no_batch_hooks():
    pytest.importorskip("tensorboard")
    cbs = callbacks.CallbackList([callbacks.TensorBoard("unused")])
    assert not cbs.uses("on_train_batch_end") and not cbs.uses("on_train_batch_begin")
    assert callbacks.CallbackList([callbacks.TensorBoard("unused", update_freq=3)]).uses("on_train_batch_end")


def test_learning_rate_follows_the_scheduler(tmp_path):
    pytest.importorskip("tensorboard")
    x, y = _data()
    rates = [0.1, 0.05, 0.025]
    _model().fit(x, y, batch_size=5, epochs=3, verbose=0,
                 callbacks=[callbacks.LearningRateScheduler(lambda epoch: rates[epoch]),
                            callbacks.TensorBoard(tmp_path)])
    np.testing.assert_allclose(_scalars(_events(tmp_path / "train"), "epoch_learning_rate"), list(enumerate(rates)),
                               rtol=1e-6)


def test_weight_histograms_and_images(tmp_path):
    pytest.importorskip("tensorboard")
    x, y = _data()
    model = _model()
    model.fit(x, y, batch_size=5, epochs=3, verbose=0,
              callbacks=[callbacks.TensorBoard(tmp_path, histogram_freq=2, write_images=True)])
    train = _events(tmp_path / "train")
    names = ["seq/lstm/kernel", "seq/lstm/recurrent_kernel", "seq/lstm/bias", "seq/dense/kernel", "seq/dense/bias"]
    names = [n.replace("lstm", model.layers[0].name).replace("dense", model.layers[1].name) for n in names]
    assert sorted(train.Tags()["histograms"]) == sorted(f"{n}/histogram" for n in names)
    assert sorted(train.Tags()["images"]) == sorted(f"{n}/image" for n in names[:4])  # a 1-element bias is no image
    kernel = train.Histograms(f"{names[3]}/histogram")
    assert [h.step for h in kernel] == [0, 2]
    final = model.layers[1].weights[0].detach().numpy()
    last = kernel[-1].histogram_value
    assert last.num == final.size and np.isclose(last.sum, final.sum(), rtol=1e-5)
    assert np.isclose(last.min, final.min()) and np.isclose(last.max, final.max())
    image = train.Images(f"{names[0]}/image")[0]
    assert (image.height, image.width) == (4, 12)  # the (4, 12) kernel, longer side across


def test_evaluate_alone_writes_evaluation_scalars(tmp_path):
    pytest.importorskip("tensorboard")
    x, y = _data()
    model = _model()
    model.fit(x, y, batch_size=5, epochs=1, verbose=0)
    result = model.evaluate(x, y, verbose=0, return_dict=True, callbacks=[callbacks.TensorBoard(tmp_path)])
    val = _events(tmp_path / "validation")
    np.testing.assert_allclose(_scalars(val, "evaluation_loss_vs_iterations"), [(2, result["loss"])], rtol=1e-6)


def test_argument_errors(tmp_path):
    pytest.importorskip("tensorboard")
    with pytest.raises(ValueError, match="Profiling is not yet available with the torch backend"):
        callbacks.TensorBoard(tmp_path, profile_batch=2)
    with pytest.raises(ValueError, match="update_freq must be 'epoch', 'batch' or an int >= 1, got 0"):
        callbacks.TensorBoard(tmp_path, update_freq=0)
    with pytest.raises(ValueError, match="histogram_freq must be an int >= 0"):
        callbacks.TensorBoard(tmp_path, histogram_freq=-1)


def test_missing_tensorboard_package_names_the_extra(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real(name, *a))
    with pytest.raises(ImportError, match=r"pip install 'lstmkit\[tb\]'"):
        callbacks.TensorBoard("logs")
    assert not os.path.exists("logs")
