"""Keras ops between layer calls in Keras 3 files, both ways (``.keras`` and ``.weights.h5``, 1e-5;
see ``_keras3_roundtrip``): Keras stores ``x + y``, ``x[:, -1]``, ``ops.mean(x, axis=1)`` as
``keras.src.ops.*`` Operation entries, lstmkit as ``SymbolicOp`` layers (keras3_ops.py maps them)."""

from __future__ import annotations

import warnings

import pytest

import lstmkit.keras as lk
from tests.keras._keras3_roundtrip import keras_to_lstmkit, lstmkit_to_keras

pytestmark = pytest.mark.usefixtures("one_thread")
T, F = 5, 3


def _two(body):
    def build(m):
        a, b = m.Input((T, F)), m.Input((T, F))
        return m.Model([a, b], body(m.layers, m.ops, a, b))
    return build


CASES = {
    "operators": _two(lambda L, o, a, b: [a + b, a - 2.0, 1.5 * b, a / (o.abs(b) + 1.0), -a, a ** 2]),
    "get_item": _two(lambda L, o, a, b: [a[:, -1, :], b[:, 1:4:2], a[..., 0], L.Dense(2)(a)[:, 0]]),
    "reductions": _two(lambda L, o, a, b: [o.mean(a, axis=1), o.sum(b, axis=-1, keepdims=True),
                                           o.max(a, axis=(1, 2)), o.std(b, axis=1)]),
    "shapes": _two(lambda L, o, a, b: [o.transpose(a, (0, 2, 1)), o.reshape(b, (-1, F * T)),
                                       o.expand_dims(a, 1), o.squeeze(o.expand_dims(b, -1), -1)]),
    "joins": _two(lambda L, o, a, b: [o.concatenate([a, b], axis=-1), o.stack([a, b], axis=1),
                                      o.matmul(a, o.transpose(b, (0, 2, 1)))]),
    "nn_and_math": _two(lambda L, o, a, b: [o.softmax(a, axis=1), o.relu(b), o.sigmoid(a), o.tanh(b),
                                            o.exp(o.clip(a, -1.0, 1.0)), o.logsumexp(b, axis=1)]),
    "where_pad": _two(lambda L, o, a, b: [o.where(o.greater(a, b), a, b), o.pad(a, [[0, 0], [1, 1], [0, 0]])]),
    "ops_between_layers": _two(lambda L, o, a, b: L.Dense(1)(o.mean(L.LSTM(3, return_sequences=True)(a + b),
                                                                    axis=1) * 0.5)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_keras_files_load_in_lstmkit(tmp_path, case) -> None:
    keras_to_lstmkit(CASES[case], tmp_path)


@pytest.mark.parametrize("case", sorted(CASES))
def test_lstmkit_files_load_in_keras(tmp_path, case) -> None:
    lstmkit_to_keras(CASES[case], tmp_path)


def test_an_op_keras_has_no_class_for_falls_back_to_lstmkit_format(tmp_path) -> None:
    a = lk.Input((T, F))
    model = lk.Model(a, lk.ops.norm(a, axis=-1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.save(tmp_path / "n.keras")
    assert any("lstmkit's own format" in str(w.message) and "'norm'" in str(w.message) for w in caught)
