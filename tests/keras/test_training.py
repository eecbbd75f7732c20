"""compile/fit/evaluate/predict: parity of the training loop with real Keras 3 (same weights, same
data, no shuffling -> same history and same final weights), data inputs (arrays, DataLoader,
generators), callbacks, progress output, errors and NaN handling."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest
import torch

import lstmkit.keras as lk
from lstmkit.keras import callbacks, layers
from lstmkit.keras.models import Model, Sequential

# Keras 3 itself converts its variables with np.array(copy=False) under NumPy 2: not ours to fix.
pytestmark = [pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),  # Keras internals
              pytest.mark.usefixtures("fresh_names")]


def _regression(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 5)).astype("float32")
    y = (x @ rng.standard_normal((5, 1)) + 0.1 * rng.standard_normal((n, 1))).astype("float32")
    return x, y


def _pair(lib, out_units=1, activation=None):
    L = lib.layers
    return lib.Sequential([L.Input((5,)), L.Dense(8, activation="tanh"), L.Dense(out_units, activation=activation)])


def _fit_both(compile_kw, fit_kw, out_units=1, activation=None):
    ours, theirs = _pair(lk, out_units, activation), _pair(keras, out_units, activation)
    ours.set_weights(theirs.get_weights())
    ours.compile(**compile_kw(lk))
    theirs.compile(**compile_kw(keras))
    h_ours = ours.fit(verbose=0, shuffle=False, **fit_kw).history
    h_theirs = theirs.fit(verbose=0, shuffle=False, **fit_kw).history
    return ours, theirs, h_ours, h_theirs


def _assert_same_history(h_ours, h_theirs, rtol=1e-4):
    assert sorted(h_ours) == sorted(h_theirs)
    for key in h_theirs:
        np.testing.assert_allclose(h_ours[key], h_theirs[key], rtol=rtol, atol=1e-6, err_msg=key)


x_reg, y_reg = _regression()
y_cls = (x_reg[:, 0] > 0).astype("int64")
sw = np.linspace(0.5, 2.0, len(x_reg)).astype("float32")

SCENARIOS = {
    "plain_sgd": (lambda lib: {"optimizer": lib.optimizers.SGD(0.05), "loss": "mse", "metrics": ["mae"]},
                  {"x": x_reg, "y": y_reg, "batch_size": 16, "epochs": 3}, 1, None),
    "adam_validation_split": (lambda lib: {"optimizer": lib.optimizers.Adam(0.01), "loss": "mse"},
                              {"x": x_reg, "y": y_reg, "batch_size": 10, "epochs": 2, "validation_split": 0.25}, 1,
                              None),
    "sample_weight": (lambda lib: {"optimizer": lib.optimizers.SGD(0.05), "loss": "mse",
                                   "weighted_metrics": ["mae"]},
                      {"x": x_reg, "y": y_reg, "batch_size": 16, "epochs": 2, "sample_weight": sw}, 1, None),
    "class_weight": (lambda lib: {"optimizer": lib.optimizers.SGD(0.1), "loss": "sparse_categorical_crossentropy",
                                  "metrics": ["accuracy"]},
                     {"x": x_reg, "y": y_cls, "batch_size": 16, "epochs": 2, "class_weight": {0: 1.0, 1: 3.0}}, 2,
                     "softmax"),
    "validation_data": (lambda lib: {"optimizer": lib.optimizers.RMSprop(0.01), "loss": "binary_crossentropy",
                                     "metrics": ["accuracy"]},
                        {"x": x_reg[:48], "y": y_cls[:48, None].astype("float32"), "batch_size": 12, "epochs": 2,
                         "validation_data": (x_reg[48:], y_cls[48:, None].astype("float32"))}, 1, "sigmoid"),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_fit_matches_keras(name):
    compile_kw, fit_kw, units, act = SCENARIOS[name]
    ours, theirs, h_ours, h_theirs = _fit_both(compile_kw, fit_kw, units, act)
    _assert_same_history(h_ours, h_theirs)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    x_eval, y_eval = fit_kw["x"], fit_kw["y"]
    got = ours.evaluate(x_eval, y_eval, verbose=0, return_dict=True)
    want = theirs.evaluate(x_eval, y_eval, verbose=0, return_dict=True)
    assert sorted(got) == sorted(want)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-4, atol=1e-6, err_msg=key)


def test_evaluate_return_forms_and_predict():
    model = _pair(lk)
    model.compile("adam", "mse", metrics=["mae", "mse"])
    loss, mae, mse = model.evaluate(x_reg, y_reg, verbose=0)
    assert isinstance(loss, float) and mse == pytest.approx(loss)
    model.compile("adam", "mse")
    assert isinstance(model.evaluate(x_reg, y_reg, verbose=0), float)
    pred = model.predict(x_reg, batch_size=7, verbose=0)
    assert isinstance(pred, np.ndarray) and pred.shape == (64, 1)
    np.testing.assert_allclose(model.predict_on_batch(x_reg[:7]), pred[:7], rtol=1e-6)
    logs = model.train_on_batch(x_reg[:8], y_reg[:8], return_dict=True)
    assert set(logs) == {"loss"}
    assert isinstance(model.test_on_batch(x_reg[:8], y_reg[:8]), float)


def test_multi_output_loss_weights_and_names():
    a = layers.Input((5,), name="a")
    h = layers.Dense(8, activation="relu")(a)
    model = Model(a, [layers.Dense(1, name="reg")(h), layers.Dense(2, activation="softmax", name="cls")(h)])
    model.compile("adam", loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"},
                  loss_weights={"reg": 1.0, "cls": 0.5}, metrics={"cls": ["accuracy"]})
    hist = model.fit(x_reg, [y_reg, y_cls], epochs=2, batch_size=16, verbose=0).history
    assert sorted(hist) == ["cls_accuracy", "cls_loss", "loss", "reg_loss"]
    res = model.evaluate(x_reg, {"reg": y_reg, "cls": y_cls}, verbose=0, return_dict=True)
    assert res["loss"] == pytest.approx(res["reg_loss"] + 0.5 * res["cls_loss"], rel=1e-5)
    flat = model.evaluate(x_reg, [y_reg, y_cls], verbose=0)
    assert flat[:3] == pytest.approx([res["loss"], res["reg_loss"], res["cls_loss"]])
    with pytest.raises(ValueError, match="2 outputs"):
        model.fit(x_reg, y_reg, verbose=0)


@pytest.mark.parametrize("kind", ["regression", "classification"])
def test_fit_decreases_loss(kind):
    if kind == "regression":
        model, y, loss = _pair(lk), y_reg, "mse"
    else:
        model, y, loss = _pair(lk, 2, "softmax"), y_cls, "sparse_categorical_crossentropy"
    model.compile(lk.optimizers.Adam(0.02), loss, metrics=["accuracy"] if kind == "classification" else None)
    hist = model.fit(x_reg, y, epochs=15, batch_size=16, verbose=0).history
    assert hist["loss"][-1] < 0.5 * hist["loss"][0]
    assert not model.training  # back in inference mode after fit


def test_initial_epoch_steps_per_epoch_and_determinism():
    def run():
        torch.manual_seed(3)
        model = _pair(lk)
        model.compile("adam", "mse")
        return model.fit(x_reg, y_reg, epochs=4, initial_epoch=1, steps_per_epoch=3, batch_size=8, verbose=0)

    h1, h2 = run(), run()
    assert h1.epoch == [1, 2, 3] and len(h1.history["loss"]) == 3
    assert h1.params["steps"] == 3
    assert h1.history == h2.history


def test_dataloader_and_generator_inputs():
    ds = torch.utils.data.TensorDataset(torch.from_numpy(x_reg), torch.from_numpy(y_reg))
    loader = torch.utils.data.DataLoader(ds, batch_size=16)
    model = _pair(lk)
    model.compile("adam", "mse")
    hist = model.fit(loader, epochs=2, verbose=0, validation_data=loader)
    assert len(hist.history["val_loss"]) == 2
    assert model.predict(loader, verbose=0).shape == (64, 1)
    assert isinstance(model.evaluate(loader, verbose=0), float)

    def gen():
        while True:
            for i in range(0, 64, 16):
                yield x_reg[i:i + 16], y_reg[i:i + 16]

    hist = model.fit(gen(), steps_per_epoch=4, epochs=2, verbose=0)
    assert len(hist.history["loss"]) == 2

    finite = ((x_reg[i:i + 16], y_reg[i:i + 16], sw[i:i + 16]) for i in range(0, 64, 16))
    with pytest.warns(RuntimeWarning, match="ran out of data"):
        hist = model.fit(finite, epochs=3, verbose=0)
    assert len(hist.history["loss"]) == 1


def test_callbacks_early_stopping_and_history():
    model = _pair(lk)
    model.compile(lk.optimizers.SGD(0.0), "mse")  # no progress: stops after patience
    stop = callbacks.EarlyStopping(monitor="loss", patience=1)
    seen = []
    log = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append((epoch, sorted(logs))))
    hist = model.fit(x_reg, y_reg, epochs=10, verbose=0, callbacks=[stop, log])
    assert len(hist.history["loss"]) == 2 and model.history is hist
    assert seen == [(0, ["loss"]), (1, ["loss"])]


def test_batch_hooks_get_float_logs():
    batches = []

    class Recorder(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            batches.append((batch, logs))

    model = _pair(lk)
    model.compile("adam", "mse", metrics=["mae"])
    model.fit(x_reg, y_reg, batch_size=32, epochs=1, verbose=0, callbacks=[Recorder()])
    assert [b for b, _ in batches] == [0, 1]
    assert all(isinstance(v, float) for _, logs in batches for v in logs.values())
    assert set(batches[0][1]) == {"loss", "mae"}


@pytest.mark.parametrize("verbose", [1, 2])
def test_progress_output(capsys, verbose):
    model = _pair(lk)
    model.compile("adam", "mse", metrics=["mae"])
    model.fit(x_reg, y_reg, batch_size=16, epochs=2, verbose=verbose, validation_split=0.25)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "3/3" in out and "loss: " in out and "mae: " in out and "val_loss: " in out and "/step" in out
    if verbose == 1:
        assert "[==============================]" in out
    assert "\r" not in out  # not a terminal: finished lines only
    model.evaluate(x_reg, y_reg, verbose=1)
    assert "2/2" in capsys.readouterr().out


def test_errors():
    model = _pair(lk)
    with pytest.raises(ValueError, match=r"You must call compile\(\) before fit\(\)"):
        model.fit(x_reg, y_reg, verbose=0)
    with pytest.raises(ValueError, match=r"compile\(\) before evaluate"):
        model.evaluate(x_reg, y_reg, verbose=0)
    with pytest.raises(ValueError, match="optimizer"):
        model.compile("adamm", "mse")
    with pytest.raises(ValueError, match="loss"):
        model.compile("adam", "msee")
    with pytest.raises(ValueError, match="metric"):
        model.compile("adam", "mse", metrics=["nope"])
    model.compile("adam", "mse")
    with pytest.raises(ValueError, match="x has 64.*y has 60"):
        model.fit(x_reg, y_reg[:60], verbose=0)
    bad = x_reg.copy()
    bad[3, 1] = np.nan
    bad[7, 0] = np.inf
    with pytest.raises(ValueError, match=r"x contains 2 NaN/inf.*sample 3"):
        model.fit(bad, y_reg, verbose=0)
    with pytest.raises(ValueError, match=r"expects shape \(None, 5\).*got shape"):
        model.fit(x_reg[:, :4], y_reg, verbose=0)
    with pytest.raises(ValueError, match="empty"):
        model.fit(x_reg[:0], y_reg[:0], verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(x_reg[:1], y_reg[:1], validation_split=0.5, verbose=0)


def test_nan_loss_stops_cleanly():
    model = _pair(lk)
    model.compile(lk.optimizers.SGD(1e6), "mse")
    before = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hist = model.fit(x_reg * 1e6, y_reg * 1e6, batch_size=8, epochs=5, verbose=0)
        before = model.get_weights()
    assert any("NaN/inf" in str(w.message) for w in caught)
    assert model.stop_training and len(hist.history["loss"]) == 1
    assert all(np.isfinite(w).all() for w in before)


def test_keras_like_datasets():
    from lstmkit.keras.utils import PyDataset, timeseries_dataset_from_array

    class Batches(PyDataset):
        def __init__(self):
            super().__init__()
            self.epochs_seen = 0

        def __len__(self):
            return 4

        def __getitem__(self, i):
            return x_reg[i * 16:(i + 1) * 16], y_reg[i * 16:(i + 1) * 16]

        def on_epoch_end(self):
            self.epochs_seen += 1

    ds = Batches()
    model = _pair(lk)
    model.compile("adam", "mse")
    hist = model.fit(ds, epochs=2, verbose=0)
    assert len(hist.history["loss"]) == 2 and ds.epochs_seen == 2 and hist.params["steps"] == 4

    series = np.sin(np.arange(300, dtype="float32") / 10)
    windows = timeseries_dataset_from_array(series[:-5], series[5:], sequence_length=5, batch_size=32)
    rnn = Sequential([layers.Input((5, 1)), layers.LSTM(4), layers.Dense(1)])
    rnn.compile("adam", "mse")
    assert len(rnn.fit(windows, epochs=2, verbose=0).history["loss"]) == 2


def test_regularizers_and_constraints_match_keras():
    def build(lib):
        L = lib.layers
        return lib.Sequential([L.Input((5,)),
                               L.Dense(8, activation="tanh", kernel_regularizer=lib.regularizers.l2(0.01),
                                       kernel_constraint=lib.constraints.MaxNorm(0.5)),
                               L.Dense(1, activity_regularizer=lib.regularizers.l1(0.001))])

    ours, theirs = build(lk), build(keras)
    ours.set_weights(theirs.get_weights())
    for m, lib in ((ours, lk), (theirs, keras)):
        m.compile(lib.optimizers.SGD(0.05), "mse")
    h_ours = ours.fit(x_reg, y_reg, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    h_theirs = theirs.fit(x_reg, y_reg, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    _assert_same_history(h_ours, h_theirs)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
