"""Optimizer state crosses Keras 3 files both ways (``optimizer/vars``, see
``lstmkit.keras.models.keras3_optimizer``): a model trained a few steps in one library, saved,
loaded in the other and trained one more identical step ends with the same weights as the
original trained that step (1e-5). A fresh optimizer (lost moments or iteration count) gives
other weights, which ``test_lost_state_is_visible`` shows for this very check. Files whose
optimizer variables do not fit warn and load with a fresh optimizer.

Keras 3's Adamax is not covered: lstmkit.keras.optimizers has no Adamax."""

from __future__ import annotations

import io
import json
import warnings
import zipfile

import h5py
import keras
import numpy as np
import pytest

import lstmkit.keras as lk
from lstmkit.keras.models import load_model

pytestmark = pytest.mark.usefixtures("one_thread")
T, F = 5, 3
STEPS = 3


def _schedule(m):
    return m.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.7)


OPTIMIZERS = {
    "sgd": lambda m: m.optimizers.SGD(0.1),
    "sgd_momentum": lambda m: m.optimizers.SGD(0.1, momentum=0.9),
    "sgd_nesterov_schedule": lambda m: m.optimizers.SGD(_schedule(m), momentum=0.8, nesterov=True),
    "adam": lambda m: m.optimizers.Adam(0.05),
    "adam_amsgrad": lambda m: m.optimizers.Adam(0.05, amsgrad=True),
    "adamw": lambda m: m.optimizers.AdamW(0.05, weight_decay=0.1),
    "rmsprop": lambda m: m.optimizers.RMSprop(0.01),
    "rmsprop_momentum_centered": lambda m: m.optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    "adagrad": lambda m: m.optimizers.Adagrad(0.1),
    "adadelta": lambda m: m.optimizers.Adadelta(1.0),
    "nadam": lambda m: m.optimizers.Nadam(0.05),
}
MODELS = {
    "lstm_dense": lambda m: m.Sequential([m.Input((T, F)), m.layers.LSTM(4), m.layers.Dense(1)]),
    "bidirectional_gru": lambda m: m.Sequential([m.Input((T, F)), m.layers.Bidirectional(m.layers.GRU(3)),
                                                 m.layers.Dense(1)]),
    # non-trainable weights (moving statistics) between the trainable ones; Keras' order skips them.
    # No bias before the BatchNormalization: its gradient is rounding noise, which Adam scales up to lr
    "batch_norm_dense": lambda m: m.Sequential([m.Input((T, F)), m.layers.Dense(4, use_bias=False),
                                                m.layers.BatchNormalization(),
                                                m.layers.LSTM(3), m.layers.Dense(1)]),
}
#: every optimizer on the LSTM model; the ones with several slot kinds on the GRU one; one with BatchNorm
CASES = ([("lstm_dense", o) for o in OPTIMIZERS]
         + [("bidirectional_gru", o) for o in ("sgd_momentum", "adam_amsgrad", "rmsprop_momentum_centered",
                                               "adadelta", "nadam")]
         + [("batch_norm_dense", "adam_amsgrad")])


def _batch():
    rng = np.random.default_rng(0)
    return rng.standard_normal((4, T, F)).astype("float32"), rng.standard_normal((4, 1)).astype("float32")


def _trained(m, model_case, opt_case):
    model = MODELS[model_case](m)
    model.compile(OPTIMIZERS[opt_case](m), loss="mse")
    x, y = _batch()
    for _ in range(STEPS):
        model.train_on_batch(x, y)
    return model


def _one_more_step_agrees(keras_model, ours, atol=1e-5) -> None:
    x, y = _batch()
    keras_model.train_on_batch(x, y)
    ours.train_on_batch(x, y)
    assert ours.optimizer.iterations == int(keras_model.optimizer.iterations) == STEPS + 1
    for a, b in zip(ours.get_weights(), keras_model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=atol, rtol=0)


@pytest.mark.parametrize(("model_case", "opt_case"), CASES)
def test_keras_state_continues_in_lstmkit(tmp_path, model_case, opt_case) -> None:
    k = _trained(keras, model_case, opt_case)
    k.save(tmp_path / "k.keras")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = load_model(tmp_path / "k.keras")
    assert type(ours.optimizer).__name__ == type(k.optimizer).__name__
    assert ours.optimizer.iterations == STEPS
    _one_more_step_agrees(k, ours)


@pytest.mark.parametrize(("model_case", "opt_case"), CASES)
def test_lstmkit_state_continues_in_keras(tmp_path, model_case, opt_case) -> None:
    ours = _trained(lk, model_case, opt_case)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Keras warns when it skips optimizer variables
        ours.save(tmp_path / "o.keras")
        k = keras.models.load_model(tmp_path / "o.keras")
    assert int(k.optimizer.iterations) == STEPS
    _one_more_step_agrees(k, ours)


# ---------------------------------------------------------------------- what the check can see
def _rewrite(path, edit_h5=None, edit_config=None):
    """Rewrite a .keras archive in place: ``edit_h5(h5py.File)`` / ``edit_config(dict)``."""
    with zipfile.ZipFile(path) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    if edit_h5 is not None:
        buffer = io.BytesIO(files["model.weights.h5"])
        with h5py.File(buffer, "r+") as f:
            edit_h5(f)
        files["model.weights.h5"] = buffer.getvalue()
    if edit_config is not None:
        config = json.loads(files["config.json"])
        edit_config(config)
        files["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)


def _keras_adam_file(tmp_path, opt_case="adam"):
    k = _trained(keras, "lstm_dense", opt_case)
    k.save(tmp_path / "k.keras")
    return k, tmp_path / "k.keras"


def test_lost_state_is_visible(tmp_path) -> None:
    """Without Keras' optimizer variables the continued step differs: the parity check tests the state."""
    k, path = _keras_adam_file(tmp_path)
    _rewrite(path, edit_h5=lambda f: f.__delitem__("optimizer"))
    with pytest.warns(UserWarning, match="optimizer state is not loaded.*no optimizer/vars group"):
        ours = load_model(path)
    assert ours.optimizer.iterations == 0
    with pytest.raises(AssertionError):
        _one_more_step_agrees(k, ours, atol=1e-4)


def _drop_last_variable(f):
    group = f["optimizer/vars"]
    del group[str(len(group) - 1)]


def _to_adadelta(config):  # same variable count and shapes as Adam: only the name tells them apart
    cc = config["compile_config"]
    cc["optimizer"] = {"module": "keras.optimizers", "class_name": "Adadelta", "registered_name": None,
                       "config": keras.optimizers.Adadelta(name="adadelta").get_config()}


def _to_adam(config):
    cc = config["compile_config"]
    cc["optimizer"] = {"module": "keras.optimizers", "class_name": "Adam", "registered_name": None,
                       "config": keras.optimizers.Adam(name=cc["optimizer"]["config"]["name"]).get_config()}


def _wrong_shape(f):
    group = f["optimizer/vars"]
    value = group["2"][()]
    del group["2"]
    group.create_dataset("2", data=value.T)  # LSTM kernel moment in torch's layout, not Keras'


def _strings(f):
    group = f["optimizer/vars"]
    del group["3"]
    group.create_dataset("3", data=np.array([b"x"] * 3, dtype=object), dtype=h5py.string_dtype())


@pytest.mark.parametrize(("opt_case", "edit_h5", "edit_config", "match"), [
    ("adam", _drop_last_variable, None, "11 optimizer variables, a Adam over this model's 5 trainable .* has 12"),
    ("adam", None, _to_adadelta, "optimizer named 'adam[_0-9]*'.*'adadelta'"),
    ("sgd_momentum", None, _to_adam, "7 optimizer variables, a Adam .* has 12"),
    ("adam", _wrong_shape, None, r"shape \(16, 3\) in the file but \(3, 16\)"),
    ("adam", _strings, None, "not a plain numeric array"),
])
def test_mismatched_optimizer_variables_warn_and_start_fresh(tmp_path, opt_case, edit_h5, edit_config, match) -> None:
    k, path = _keras_adam_file(tmp_path, opt_case)
    _rewrite(path, edit_h5=edit_h5, edit_config=edit_config)
    with pytest.warns(UserWarning, match="optimizer state is not loaded, the optimizer starts fresh: .*" + match):
        ours = load_model(path)
    assert ours.compiled and ours.optimizer.iterations == 0
    for a, b in zip(ours.get_weights(), k.get_weights(), strict=True):  # the weights still load
        np.testing.assert_array_equal(a, b)
    x, y = _batch()
    ours.train_on_batch(x, y)  # and it trains from a fresh state
    assert ours.optimizer.iterations == 1


def test_untrained_optimizer_and_include_optimizer_false(tmp_path) -> None:
    ours = MODELS["lstm_dense"](lk)
    ours.compile(lk.optimizers.Adagrad(0.1), loss="mse")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an unbuilt optimizer is written as Keras' fresh state
        ours.save(tmp_path / "fresh.keras")
        k = keras.models.load_model(tmp_path / "fresh.keras")
    assert int(k.optimizer.iterations) == 0
    ours.train_on_batch(*_batch())
    k.train_on_batch(*_batch())
    for a, b in zip(ours.get_weights(), k.get_weights(), strict=True):  # Adagrad's initial accumulator too
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=0)
    ours.save(tmp_path / "none.keras", include_optimizer=False)
    with zipfile.ZipFile(tmp_path / "none.keras") as zf, h5py.File(io.BytesIO(zf.read("model.weights.h5"))) as f:
        assert "optimizer" not in f
