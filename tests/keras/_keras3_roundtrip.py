"""The four Keras 3 file crossings one model case must survive, shared by the ``test_keras3_files*``
tests: a model built the same way in real Keras 3 and in lstmkit (``build(keras)`` /
``build(lstmkit.keras)``), random weights, then

- Keras ``model.save(".keras")`` -> ``lstmkit.keras.models.load_model``, and Keras ``save_weights``
  -> lstmkit ``load_weights`` into a fresh lstmkit model;
- lstmkit ``model.save(".keras")`` -> ``keras.models.load_model`` (no fallback to lstmkit's own
  format allowed), and lstmkit ``save_weights`` -> Keras ``load_weights``;

each with the same predictions within 1e-5.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

import lstmkit.keras as lk
from lstmkit.keras.models import load_model

TOL = {"atol": 1e-5, "rtol": 1e-5}


def inputs(model: Any, zero_steps: bool = False) -> list[np.ndarray]:
    """Random inputs for each model input (batch 2): ints in [1, 10) with the last two steps 0
    (padding, for ``mask_zero``); floats normal, with the last two steps 0 when ``zero_steps``
    (for ``Masking``)."""
    rng = np.random.default_rng(0)
    out = []
    for t in model.inputs:
        shape = (2, *tuple(t.shape)[1:])
        if "int" in str(t.dtype):
            x = rng.integers(1, 10, shape)
            if len(shape) > 1:
                x[:, -2:] = 0
            out.append(x.astype("int32"))
        else:
            x = rng.standard_normal(shape).astype("float32")
            if zero_steps:
                x[:, -2:] = 0.0
            out.append(x)
    return out


def _positive(layer: Any, values: list[np.ndarray]) -> list[np.ndarray]:
    """BatchNormalization's moving variance kept positive."""
    name = type(layer).__name__
    if name == "BatchNormalization":
        values[-1] = np.abs(values[-1]) + 0.5
    return values


def randomize(model: Any) -> None:
    """Random weights in every (sub)layer, the same in a Keras and an lstmkit model of one case."""
    rng = np.random.default_rng(1)

    def visit(layer: Any) -> None:
        if hasattr(layer, "layers") and type(layer).__name__ in ("Sequential", "Model", "Functional"):
            for sub in layer.layers:
                visit(sub)
            return
        if type(layer).__name__ == "Normalization":
            return  # its adapted statistics are kept (Keras only uses them after adapt or a file load)
        weights = layer.get_weights()
        if weights:
            values = [rng.uniform(-0.5, 0.5, np.shape(w)).astype(np.asarray(w).dtype) for w in weights]
            layer.set_weights(_positive(layer, values))

    visit(model)


def predict(model: Any, x: list[np.ndarray]) -> list[np.ndarray]:
    out = model.predict(x if len(x) > 1 else x[0], verbose=0)
    return [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])]


def assert_same(got: list[np.ndarray], expected: list[np.ndarray]) -> None:
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, **TOL)


def keras_to_lstmkit(build: Callable[[Any], Any], tmp_path: Any, zero_steps: bool = False) -> Any:
    """Keras 3 writes, lstmkit reads (``.keras`` and ``.weights.h5``); returns the loaded model."""
    source = build(keras)
    randomize(source)
    x = inputs(source, zero_steps)
    expected = predict(source, x)
    source.save(tmp_path / "k.keras")
    source.save_weights(tmp_path / "k.weights.h5")
    loaded = load_model(tmp_path / "k.keras")
    assert_same(predict(loaded, x), expected)
    fresh = build(lk)
    fresh.load_weights(tmp_path / "k.weights.h5")
    assert_same(predict(fresh, x), expected)
    return loaded


def lstmkit_to_keras(build: Callable[[Any], Any], tmp_path: Any, zero_steps: bool = False) -> Any:
    """lstmkit writes, Keras 3 reads (``.keras`` and ``.weights.h5``); returns Keras' loaded model."""
    source = build(lk)
    randomize(source)
    x = inputs(source, zero_steps)
    expected = predict(source, x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a Keras-expressible model must not fall back to lstmkit's format
        source.save(tmp_path / "o.keras")
    source.save_weights(tmp_path / "o.weights.h5")
    loaded = keras.models.load_model(tmp_path / "o.keras")
    assert_same(predict(loaded, x), expected)
    fresh = build(keras)
    fresh.load_weights(tmp_path / "o.weights.h5")
    assert_same(predict(fresh, x), expected)
    back = load_model(tmp_path / "o.keras")  # and lstmkit reads its own Keras file back
    assert_same(predict(back, x), expected)
    return loaded
