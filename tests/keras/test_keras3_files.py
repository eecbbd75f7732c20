"""Real Keras 3 files in and out: ``.keras`` archives and ``.weights.h5`` files written by Keras 3
load in lstmkit with the same predictions, and the ones lstmkit writes load in Keras 3
(``keras.models.load_model`` / ``load_weights``), per layer type, for Sequential and functional
models and for the seed slides' models (tolerance 1e-5)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import warnings
import zipfile

import h5py
import keras
import numpy as np
import pytest

import lstmkit.keras as lk
from lstmkit.keras.models import load_model

pytestmark = pytest.mark.usefixtures("one_thread")
T, F = 6, 3


def _seq(m, *layers, shape=(T, F), dtype="float32"):
    return m.Sequential([m.Input(shape, dtype=dtype), *layers])


def _functional(m, body, shape=(T, F)):
    inp = m.Input(shape)
    return m.Model(inp, body(m.layers, inp))


CASES = {
    "lstm": lambda m: _seq(m, m.layers.LSTM(4, return_sequences=True), m.layers.LSTM(3)),
    "gru": lambda m: _seq(m, m.layers.GRU(4, return_sequences=True), m.layers.GRU(3, reset_after=False)),
    "simple_rnn": lambda m: _seq(m, m.layers.SimpleRNN(4)),
    "bidirectional": lambda m: _seq(m, m.layers.Bidirectional(m.layers.LSTM(3, return_sequences=True)),
                                    m.layers.Bidirectional(m.layers.GRU(2))),
    "embedding_mask": lambda m: _seq(m, m.layers.Embedding(10, 4, mask_zero=True), m.layers.LSTM(3),
                                     shape=(T,), dtype="int32"),
    "dense_dropout": lambda m: _seq(m, m.layers.Dense(5, activation="relu"), m.layers.Dropout(0.3),
                                    m.layers.Dense(2, activation="softmax"), shape=(F,)),
    "conv_pool": lambda m: _seq(m, m.layers.Conv1D(4, 2, padding="same", activation="relu"),
                                m.layers.MaxPooling1D(2), m.layers.GlobalAveragePooling1D()),
    "normalization": lambda m: _seq(m, m.layers.BatchNormalization(), m.layers.LayerNormalization(),
                                    m.layers.Dense(2)),
    "time_distributed_repeat": lambda m: _seq(m, m.layers.Dense(4), m.layers.RepeatVector(5),
                                              m.layers.LSTM(3, return_sequences=True),
                                              m.layers.TimeDistributed(m.layers.Dense(2)), shape=(F,)),
    "attention": lambda m: _functional(m, lambda L, x: L.Concatenate()(
        [h := L.LSTM(4, return_sequences=True)(x), L.Attention()([h, h])])),
    "multi_head_attention": lambda m: _functional(m, lambda L, x: L.MultiHeadAttention(2, 3)(x, x)),
    "concatenate_add": lambda m: _functional(m, lambda L, x: L.Concatenate()(
        [L.Add()([L.Dense(3)(x), L.Dense(3)(x)]), L.GRU(2, return_sequences=True)(x)])),
    # the seed deck's models (examples/seed/), smaller units
    "slide06_10_stacked": lambda m: _seq(m, m.layers.LSTM(8, return_sequences=True),
                                         m.layers.LSTM(6, return_sequences=True), m.layers.LSTM(4),
                                         m.layers.Dense(1), shape=(T, 1)),
    "slide07_bidirectional": lambda m: _seq(m, m.layers.Bidirectional(m.layers.LSTM(6, return_sequences=True)),
                                            m.layers.Bidirectional(m.layers.LSTM(4)), m.layers.Dense(1)),
    "slide08_sentiment": lambda m: _seq(m, m.layers.Embedding(20, 8), m.layers.LSTM(8),
                                        m.layers.Dense(1, activation="sigmoid"), shape=(T,), dtype="int32"),
    "slide09_forecasting": lambda m: _seq(m, m.layers.LSTM(5, activation="relu"), m.layers.Dense(1),
                                          shape=(T, 1)),
    "slide11_attention": lambda m: _functional(m, lambda L, x: L.Dense(1)(L.Concatenate()(
        [h := L.LSTM(6, return_sequences=True)(x), L.Attention()([h, h])])), shape=(T, 1)),
}


def _inputs(model) -> np.ndarray:
    rng = np.random.default_rng(0)
    shape = (4, *tuple(model.inputs[0].shape)[1:])
    if "int" in str(model.inputs[0].dtype):
        x = rng.integers(1, 10, shape)
        x[:, -2:] = 0  # padding: masked by mask_zero
        return x.astype("int32")
    return rng.standard_normal(shape).astype("float32")


def _randomize(model) -> None:
    """Random weights in every layer (moving variances kept positive)."""
    rng = np.random.default_rng(1)
    for layer in model.layers:
        values = [rng.uniform(-0.5, 0.5, np.shape(w)).astype("float32") for w in layer.get_weights()]
        if type(layer).__name__ == "BatchNormalization":
            values[3] = np.abs(values[3]) + 0.5
        if values:
            layer.set_weights(values)


def _predict(model, x) -> np.ndarray:
    out = model.predict(x, verbose=0)
    return np.asarray(out[0] if isinstance(out, list) else out)


@pytest.mark.parametrize("case", sorted(CASES))
def test_keras_files_load_in_lstmkit(tmp_path, case) -> None:
    source = CASES[case](keras)
    _randomize(source)
    x = _inputs(source)
    expected = _predict(source, x)
    source.save(tmp_path / "k.keras")
    source.save_weights(tmp_path / "k.weights.h5")
    loaded = load_model(tmp_path / "k.keras")
    np.testing.assert_allclose(_predict(loaded, x), expected, atol=1e-5, rtol=1e-5)
    fresh = CASES[case](lk)
    fresh.load_weights(tmp_path / "k.weights.h5")
    np.testing.assert_allclose(_predict(fresh, x), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("case", sorted(CASES))
def test_lstmkit_files_load_in_keras(tmp_path, case) -> None:
    source = CASES[case](lk)
    _randomize(source)
    x = _inputs(source)
    expected = _predict(source, x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a Keras-only model must not fall back to lstmkit's format
        source.save(tmp_path / "o.keras")
    source.save_weights(tmp_path / "o.weights.h5")
    loaded = keras.models.load_model(tmp_path / "o.keras")
    np.testing.assert_allclose(_predict(loaded, x), expected, atol=1e-5, rtol=1e-5)
    fresh = CASES[case](keras)
    fresh.load_weights(tmp_path / "o.weights.h5")
    np.testing.assert_allclose(_predict(fresh, x), expected, atol=1e-5, rtol=1e-5)
    assert type(load_model(tmp_path / "o.keras")).__name__ == type(source).__name__  # and back in lstmkit


def test_compile_config_both_ways(tmp_path) -> None:
    k = CASES["slide09_forecasting"](keras)
    k.compile(keras.optimizers.Adam(learning_rate=0.01), loss="mse", metrics=["mae"])
    x, y = _inputs(k), np.zeros((4, 1), "float32")
    k.fit(x, y, verbose=0)  # the archive then holds an optimizer/vars group too
    k.save(tmp_path / "k.keras")
    ours = load_model(tmp_path / "k.keras")
    assert ours.compiled and type(ours.optimizer).__name__ == "Adam"
    assert ours.optimizer.get_config()["learning_rate"] == pytest.approx(0.01)
    ours.fit(x, y, verbose=0)
    ours.save(tmp_path / "o.keras")
    back = keras.models.load_model(tmp_path / "o.keras")
    assert back.compiled and type(back.optimizer).__name__ == "Adam" and back.loss == "mse"
    assert float(back.optimizer.learning_rate) == pytest.approx(0.01)


def test_lstmkit_only_arguments_fall_back_to_lstmkit_format(tmp_path) -> None:
    model = _seq(lk, lk.layers.LSTM(4, zoneout=0.1), lk.layers.Dense(1))
    x = _inputs(model)
    with pytest.warns(UserWarning, match="lstmkit's own format, which Keras 3 cannot load.*zoneout"):
        model.save(tmp_path / "z.keras")
    with zipfile.ZipFile(tmp_path / "z.keras") as zf:
        assert "model.safetensors" in zf.namelist() and "model.weights.h5" not in zf.namelist()
    loaded = load_model(tmp_path / "z.keras")
    np.testing.assert_array_equal(_predict(loaded, x), _predict(model, x))


# ---------------------------------------------------------------------- bad and crafted files
def _keras_file(tmp_path):
    model = CASES["lstm"](keras)
    model.save(tmp_path / "k.keras")
    with zipfile.ZipFile(tmp_path / "k.keras") as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _write(path, files, compress=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compress) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def test_unknown_class_is_a_clear_error_and_the_named_module_is_never_imported(tmp_path) -> None:
    files = _keras_file(tmp_path)
    config = json.loads(files["config.json"])
    config["config"]["layers"][1].update(module="lstmkit.__main__", class_name="NoSuchLayer")
    crafted = _write(tmp_path / "c.keras", {**files, "config.json": json.dumps(config)})
    with pytest.raises(ValueError, match="unknown layer 'NoSuchLayer'"):
        load_model(crafted)
    code = ("import sys\nfrom lstmkit.keras.models import load_model\n"
            f"try:\n    load_model({str(crafted)!r})\nexcept ValueError:\n    pass\n"
            "print('imported', 'lstmkit.__main__' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("imported False")


def test_missing_member_corrupt_hdf5_and_shape_mismatch(tmp_path) -> None:
    files = _keras_file(tmp_path)
    no_weights = _write(tmp_path / "a.keras", {k: v for k, v in files.items() if k != "model.weights.h5"})
    with pytest.raises(ValueError, match="no model.weights.h5"):
        load_model(no_weights)
    corrupt = _write(tmp_path / "b.keras", {**files, "model.weights.h5": files["model.weights.h5"][:200]})
    with pytest.raises(ValueError, match="not a valid HDF5"):
        load_model(corrupt)
    wrong = _seq(lk, lk.layers.LSTM(5, return_sequences=True), lk.layers.LSTM(3))
    with pytest.raises(ValueError, match=r"layer 'lstm\w*' \(LSTM.*shape \(3, 16\) in the file but \(3, 20\)"):
        wrong.load_weights(tmp_path / "k.keras")


def test_non_numeric_datasets_are_refused(tmp_path) -> None:
    files = _keras_file(tmp_path)
    buffer = io.BytesIO(files["model.weights.h5"])
    with h5py.File(buffer, "a") as f:
        del f["layers/lstm/cell/vars/0"]
        f["layers/lstm/cell/vars"].create_dataset("0", data=np.array([b"x" * 48] * 3, dtype=object),
                                                 dtype=h5py.string_dtype())
    crafted = _write(tmp_path / "s.keras", {**files, "model.weights.h5": buffer.getvalue()})
    with pytest.raises(ValueError, match="not a plain numeric array"):
        load_model(crafted)


def test_zip_bomb_weights_member_is_refused_before_inflating(tmp_path) -> None:
    files = _keras_file(tmp_path)
    bomb = _write(tmp_path / "bomb.keras", {**files, "model.weights.h5": b"\0" * (64 << 20)},
                  compress=zipfile.ZIP_DEFLATED)
    assert bomb.stat().st_size < 300_000
    with pytest.raises(ValueError, match="zip bomb"):
        load_model(bomb)
