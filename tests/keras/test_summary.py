"""``model.summary()`` against Keras 3's, character for character (Keras' rich table in plain
output): Sequential, a functional chain (no "Connected to"), branching and multi-input functional
models ("Connected to"), an unbuilt Sequential ("?" and "0 (unbuilt)"), show_trainable, a narrow
line_length, wrapping of long "Connected to" cells, and the optimizer line after training.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

import lstmkit.keras as lk

pytestmark = [pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),
              pytest.mark.usefixtures("fresh_names")]


def _sequential(lib):
    L = lib.layers
    return lib.Sequential([L.Input((10,)), L.Dense(8, activation="relu", name="d1"), L.Dense(1, name="d2")],
                          name="seq")


def _two_inputs(lib):
    L = lib.layers
    a, b = L.Input((5,), name="a"), L.Input((3,), name="b")
    return lib.Model([a, b], L.Dense(2, name="out")(L.Concatenate(name="cat")([a, b])), name="fun")


def _chain(lib):
    L = lib.layers
    x = L.Input((7,), name="x")
    return lib.Model(x, L.Dense(2, name="o")(L.Dense(3, name="h")(x)), name="chain")


def _branchy(lib):
    L = lib.layers
    t = L.Input((6,), name="tok")
    s = L.LSTM(4, return_sequences=True, name="lstm")(L.Embedding(50, 8, name="emb")(t))
    c = L.Concatenate(name="c")([L.GlobalAveragePooling1D(name="pool")(s), L.GlobalMaxPooling1D(name="maxp")(s)])
    return lib.Model(t, L.Dense(1, name="y")(c), name="branchy")


def _many_inputs(lib):  # a "Connected to" cell long enough to wrap
    L = lib.layers
    ins = [L.Input((2,), name=f"input_number_{k}") for k in range(4)]
    return lib.Model(ins, L.Add(name="sum")(ins), name="wide")


def _unbuilt(lib):
    return lib.Sequential([lib.layers.Dense(4, name="u1"), lib.layers.Dense(2, name="u2")], name="unbuilt")


def _text(model, **kwargs) -> str:
    out = []
    model.summary(print_fn=out.append, **kwargs)
    assert len(out) == 1  # like Keras: the whole summary in one print_fn call
    return out[0]


@pytest.mark.parametrize("make", [_sequential, _two_inputs, _chain, _branchy, _many_inputs, _unbuilt])
@pytest.mark.parametrize("kwargs", [{}, {"show_trainable": True}, {"line_length": 70}])
def test_summary_is_keras_summary(make, kwargs, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert _text(make(lk), **kwargs) == _text(make(keras), **kwargs)


def test_default_width_follows_the_terminal_as_keras(monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    ours = _text(_sequential(lk))
    assert ours == _text(_sequential(keras))
    assert max(len(line) for line in ours.splitlines()) == 56


def test_columns_and_totals():
    text = _text(_two_inputs(lk))
    header = text.splitlines()[2]
    for name in ("Layer (type)", "Output Shape", "Param #", "Connected to"):
        assert name in header
    assert "a[0][0], b[0][0]" in text and " Total params: 18 (72.00 B)" in text
    assert "Connected to" not in _text(_chain(lk)) and "x (InputLayer)" in _text(_chain(lk))


def test_unbuilt_sequential_prints_instead_of_raising():
    text = _text(_unbuilt(lk))
    assert "│ u1 (Dense)" in text and "?" in text and "0 (unbuilt)" in text and " Total params: 0 (0.00 B)" in text


def test_optimizer_params_after_training_match_keras(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    texts = []
    for lib in (keras, lk):
        model = _sequential(lib)
        model.compile(optimizer="adam", loss="mse")
        model.fit(np.zeros((2, 10), "float32"), np.zeros((2, 1), "float32"), verbose=0)
        texts.append(_text(model))
    assert texts[1] == texts[0] and " Optimizer params: 196 (784.00 B)" in texts[1]


def test_default_print(capsys):
    _sequential(lk).summary()
    assert capsys.readouterr().out.startswith('Model: "seq"\n┏')
