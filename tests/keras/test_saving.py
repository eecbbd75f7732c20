"""Saving: one-file models (architecture + weights + compile + optimizer state), exact resumed
training, weights-only files, atomic writes, and clear errors on bad files."""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np
import pytest
import torch

import lstmkit.keras as lk
from lstmkit.keras import layers
from lstmkit.keras.engine.layer import clear_session
from lstmkit.keras.models import Model, Sequential, load_model

pytestmark = pytest.mark.usefixtures("fresh_names")

def _data(n=48):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 10, 2)).astype("float32")
    y = x[:, -3:, :1].mean(axis=1).astype("float32")
    return x, y


def _lstm_model():
    model = Sequential([layers.Input((10, 2)), layers.LSTM(6), layers.Dense(1)])
    model.compile(lk.optimizers.Adam(0.01), "mse", metrics=["mae"])
    return model


def _functional_model():
    a = layers.Input((10, 2), name="seq")
    b = layers.Input((3,), name="side")
    h = layers.Concatenate()([layers.LSTM(4)(a), layers.Dense(2)(b)])
    model = Model([a, b], [layers.Dense(1, name="y1")(h), layers.Dense(2, activation="softmax", name="y2")(h)])
    model.compile("rmsprop", loss=["mse", "sparse_categorical_crossentropy"], loss_weights=[1.0, 0.3],
                  metrics=[[], ["accuracy"]])
    return model


def test_save_load_identical_predictions_and_file_layout(tmp_path):
    x, y = _data()
    model = _lstm_model()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        config = json.loads(zf.read("config.json"))
    # Keras 3's archive (Keras layers only) plus lstmkit's compile arguments and optimizer state
    assert names == {"config.json", "metadata.json", "model.weights.h5", "lstmkit.json", "optimizer.json",
                     "optimizer.safetensors"}
    assert config["module"] == "keras" and config["class_name"] == "Sequential"
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]  # no temporary file left behind
    model.save(tmp_path / "own.keras", save_format="lstmkit")  # lstmkit's own archive on request
    with zipfile.ZipFile(tmp_path / "own.keras") as zf:
        assert set(zf.namelist()) == {"config.json", "model.safetensors", "optimizer.json", "optimizer.safetensors"}
        assert json.loads(zf.read("config.json"))["format"] == "lstmkit.keras"
    np.testing.assert_array_equal(load_model(tmp_path / "own.keras").predict(x, verbose=0), model.predict(x, verbose=0))
    (tmp_path / "own.keras").unlink()
    loaded = load_model(path)
    assert type(loaded) is Sequential and loaded.compiled
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0), rel=1e-6)


def test_functional_multi_io_roundtrip(tmp_path):
    x, _ = _data()
    side = np.random.default_rng(1).standard_normal((48, 3)).astype("float32")
    y1, y2 = x[:, -1, :1], (side[:, 0] > 0).astype("int64")
    model = _functional_model()
    model.fit([x, side], [y1, y2], epochs=1, verbose=0)
    model.save(tmp_path / "f.keras")
    loaded = load_model(tmp_path / "f.keras")
    for a, b in zip(loaded.predict([x, side], verbose=0), model.predict([x, side], verbose=0)):
        np.testing.assert_array_equal(a, b)
    assert loaded.evaluate([x, side], [y1, y2], verbose=0, return_dict=True) == pytest.approx(
        model.evaluate([x, side], [y1, y2], verbose=0, return_dict=True))


def test_resumed_training_equals_straight_training(tmp_path):
    x, y = _data()
    torch.manual_seed(1)
    straight = _lstm_model()
    start = straight.get_weights()
    straight.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0)

    clear_session()
    first = _lstm_model()
    first.set_weights(start)
    first.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    first.save(tmp_path / "ckpt.keras")
    resumed = load_model(tmp_path / "ckpt.keras")
    assert resumed.optimizer.iterations == 12
    resumed.fit(x, y, epochs=3, initial_epoch=2, batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(resumed.get_weights(), straight.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_uncompiled_and_compile_false(tmp_path):
    model = Sequential([layers.Input((3,)), layers.Dense(2)])
    model.save(tmp_path / "plain.keras")
    loaded = load_model(tmp_path / "plain.keras")
    assert not loaded.compiled
    compiled = _lstm_model()
    compiled.save(tmp_path / "c.keras")
    assert not load_model(tmp_path / "c.keras", compile=False).compiled


def test_weights_only(tmp_path):
    x, _ = _data()
    model = _lstm_model()
    model.save_weights(tmp_path / "w.weights.h5")
    with open(tmp_path / "w.weights.h5", "rb") as f:
        assert f.read(8) == b"\x89HDF\r\n\x1a\n"  # Keras 3's HDF5 layout
    model.save_weights(tmp_path / "w.safetensors")  # any other name: safetensors, still read back
    with open(tmp_path / "w.safetensors", "rb") as f:
        assert f.read(8) != b"\x89HDF\r\n\x1a\n"
    clear_session()
    other = Sequential([layers.Input((10, 2)), layers.LSTM(6), layers.Dense(1)])  # fresh weights, other names
    other.load_weights(tmp_path / "w.weights.h5")
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))
    model.save(tmp_path / "m.keras")
    third = Sequential([layers.Input((10, 2)), layers.LSTM(6), layers.Dense(1)])
    third.load_weights(tmp_path / "m.keras")  # weights straight from a whole-model file
    other.load_weights(tmp_path / "w.safetensors")
    np.testing.assert_array_equal(third.predict(x, verbose=0), model.predict(x, verbose=0))
    wrong = Sequential([layers.Input((10, 2)), layers.LSTM(5), layers.Dense(1)])
    with pytest.raises(ValueError, match="do not fit|shape"):
        wrong.load_weights(tmp_path / "w.weights.h5")


def test_bad_files_give_clear_errors(tmp_path):
    junk = tmp_path / "junk.keras"
    junk.write_bytes(b"not a zip at all")
    with pytest.raises(ValueError, match="not a lstmkit.keras model file"):
        load_model(junk)
    other_zip = tmp_path / "other.keras"
    with zipfile.ZipFile(other_zip, "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(ValueError, match="not a lstmkit.keras model file"):
        load_model(other_zip)
    model = Sequential([layers.Input((3,)), layers.Dense(2)])
    model.save(tmp_path / "ok.keras", save_format="lstmkit")
    with zipfile.ZipFile(tmp_path / "ok.keras") as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    with zipfile.ZipFile(tmp_path / "corrupt.keras", "w") as zf:
        zf.writestr("config.json", files["config.json"])
        zf.writestr("model.safetensors", files["model.safetensors"][:40])
    with pytest.raises(ValueError, match="safetensors|corrupt"):
        load_model(tmp_path / "corrupt.keras")
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.keras")
    with pytest.raises(ValueError, match="not a lstmkit.keras weights file|not a valid safetensors"):
        model.load_weights(junk)


def test_custom_loss_function_and_layer_need_custom_objects(tmp_path):
    def my_loss(y_true, y_pred):
        return torch.mean((y_true - y_pred) ** 2, dim=-1)

    model = Sequential([layers.Input((3,)), layers.Dense(1)])
    model.compile("sgd", loss=my_loss)
    model.save(tmp_path / "custom.keras")
    with pytest.warns(UserWarning, match="uncompiled"):
        assert not load_model(tmp_path / "custom.keras").compiled
    assert load_model(tmp_path / "custom.keras", custom_objects={"my_loss": my_loss}).compiled


def test_subclassed_model_cannot_be_saved_whole(tmp_path):
    class Net(Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(1)

        def call(self, inputs):
            return self.dense(inputs)

    net = Net()
    net(np.ones((2, 3), "float32"))
    with pytest.raises(NotImplementedError, match="save_weights"):
        net.save(tmp_path / "net.keras")
    assert not os.listdir(tmp_path)
    net.save_weights(tmp_path / "net.weights.h5")
    twin = Net()
    twin(np.ones((2, 3), "float32"))
    twin.load_weights(tmp_path / "net.weights.h5")
    np.testing.assert_array_equal(twin.get_weights()[0], net.get_weights()[0])


def test_json_roundtrip_and_clone():
    from lstmkit.keras.models import clone_model, model_from_json

    model = _functional_model()
    rebuilt = model_from_json(model.to_json())
    assert [la.name for la in rebuilt.layers] == [la.name for la in model.layers]
    clone = clone_model(model)
    assert clone.count_params() == model.count_params()


def test_model_checkpoint_writes_loadable_files(tmp_path):
    x, y = _data()
    model = _lstm_model()
    pattern = str(tmp_path / "ckpt-{epoch:02d}.keras")
    model.fit(x, y, epochs=2, verbose=0, callbacks=[lk.callbacks.ModelCheckpoint(pattern, monitor="loss")])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt-01.keras", "ckpt-02.keras"]
    last = load_model(tmp_path / "ckpt-02.keras")
    np.testing.assert_array_equal(last.predict(x, verbose=0), model.predict(x, verbose=0))
