"""Merge layers (Concatenate, Add, Multiply, Average) and global 1-D pooling against real Keras 3
(torch backend): outputs and masks compared in float32 to 1e-5. Masks are attached to the inputs
as ``_keras_mask`` (the attribute Keras' torch backend uses), so both see the same masked tensors.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch

from lstmkit.keras import layers
from lstmkit.keras.engine.input_layer import Input

TOL = {"atol": 1e-5, "rtol": 1e-5}


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else keras.ops.convert_to_numpy(x)


def _tensor(shape, seed, mask=None) -> torch.Tensor:
    t = torch.from_numpy(np.random.default_rng(seed).normal(size=shape).astype("float32"))
    if mask is not None:
        t._keras_mask = torch.tensor(mask, dtype=torch.bool)
    return t


def _copies(tensors):
    """Fresh tensor objects (with the same masks) for each framework."""
    out = []
    for t in tensors:
        c = t.clone()
        if getattr(t, "_keras_mask", None) is not None:
            c._keras_mask = t._keras_mask.clone()
        out.append(c)
    return out


def _mask(t):
    m = getattr(t, "_keras_mask", None)
    return None if m is None else _np(m)


def _compare(ours, theirs, tensors):
    got, want = ours(_copies(tensors)), theirs(_copies(tensors))
    np.testing.assert_allclose(_np(got), _np(want), **TOL)
    if _mask(want) is None:
        assert _mask(got) is None
    else:
        np.testing.assert_array_equal(_mask(got), _mask(want))
    return got


M1 = [[True, True, False, False], [True, True, True, False]]
M2 = [[True, False, False, False], [True, True, True, True]]
MERGES = ["Add", "Multiply", "Average", "Maximum", "Minimum"]


@pytest.mark.parametrize("name", MERGES)
@pytest.mark.parametrize(
    "shapes,masks",
    [
        ([(2, 4, 3), (2, 4, 3)], [None, None]),
        ([(2, 4, 3), (2, 4, 3), (2, 4, 3)], [None, None, None]),
        ([(2, 4, 3), (2, 1, 3)], [None, None]),
        ([(2, 4, 3), (2, 3)], [None, None]),
        ([(2, 4, 3), (2, 4, 3)], [M1, M2]),
        ([(2, 4, 3), (2, 4, 3)], [M1, None]),
    ],
    ids=["two", "three", "broadcast", "lower_rank", "both_masked", "one_masked"],
)
def test_elementwise_merges_match_keras(name, shapes, masks):
    tensors = [_tensor(s, k, m) for k, (s, m) in enumerate(zip(shapes, masks))]
    _compare(getattr(layers, name)(), getattr(keras.layers, name)(), tensors)


@pytest.mark.parametrize(
    "shapes,masks",
    [([(2, 4, 3), (2, 4, 3)], [None, None]), ([(2, 4, 3), (2, 1, 3)], [None, None]),
     ([(2, 4, 3), (2, 3)], [None, None]), ([(2, 4, 3), (2, 4, 3)], [M1, M2])],
    ids=["two", "broadcast", "lower_rank", "both_masked"],
)
def test_subtract_matches_keras(shapes, masks):
    tensors = [_tensor(s, k, m) for k, (s, m) in enumerate(zip(shapes, masks))]
    _compare(layers.Subtract(), keras.layers.Subtract(), tensors)
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        layers.Subtract()([_tensor((2, 3), 0)] * 3)


@pytest.mark.parametrize(
    "axis,shapes,masks",
    [
        (-1, [(2, 4, 3), (2, 4, 5)], [None, None]),
        (1, [(2, 4, 3), (2, 2, 3)], [None, None]),
        (-1, [(2, 3), (2, 5), (2, 1)], [None, None, None]),
        (-1, [(2, 4, 3), (2, 4, 5)], [M1, M2]),
        (-1, [(2, 4, 3), (2, 4, 5)], [M1, None]),
        (1, [(2, 4, 3), (2, 4, 3)], [M1, M2]),
        (1, [(2, 4, 3), (2, 4, 3)], [None, M2]),
    ],
    ids=["features", "time", "2d", "feat_masked", "feat_one_masked", "time_masked", "time_one_masked"],
)
def test_concatenate_matches_keras(axis, shapes, masks):
    tensors = [_tensor(s, k, m) for k, (s, m) in enumerate(zip(shapes, masks))]
    _compare(layers.Concatenate(axis=axis), keras.layers.Concatenate(axis=axis), tensors)


def test_functional_forms():
    a, b = _tensor((2, 3), 0), _tensor((2, 3), 1)
    torch.testing.assert_close(layers.add([a, b]), a + b)
    torch.testing.assert_close(layers.concatenate([a, b], axis=0), torch.cat([a, b], 0))
    from lstmkit.keras.layers.merging.merge import average, multiply

    torch.testing.assert_close(multiply([a, b]), a * b)
    torch.testing.assert_close(average([a, b]), (a + b) / 2)
    torch.testing.assert_close(layers.subtract([a, b]), a - b)
    torch.testing.assert_close(layers.maximum([a, b]), torch.maximum(a, b))
    torch.testing.assert_close(layers.minimum([a, b]), torch.minimum(a, b))
    out = layers.concatenate([Input(shape=(None, 3)), Input(shape=(None, 4))])
    assert out.shape == (None, None, 7)
    assert layers.add([Input(shape=(5, 3)), Input(shape=(5, 3))]).shape == (None, 5, 3)


def test_merge_errors():
    with pytest.raises(ValueError, match="incompatible shapes"):
        layers.Add()([torch.ones(2, 3), torch.ones(2, 4)])
    with pytest.raises(ValueError, match="list"):
        layers.Add()(torch.ones(2, 3))
    with pytest.raises(ValueError, match="different batch sizes"):
        layers.Multiply()([torch.ones(2, 3), torch.ones(3, 3)])
    with pytest.raises(ValueError, match="matching shapes except on the concatenation axis"):
        layers.Concatenate()([torch.ones(2, 3, 4), torch.ones(2, 5, 4)])
    with pytest.raises(ValueError, match="equal rank"):
        layers.Concatenate()([torch.ones(2, 3, 4), torch.ones(2, 4)])
    with pytest.raises(ValueError, match="axis"):
        layers.Concatenate(axis="last")


@pytest.mark.parametrize("name", ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"])
def test_merge_config_round_trip(name):
    layer = getattr(layers, name)(**({"axis": 1} if name == "Concatenate" else {}))
    assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()


# ---------------------------------------------------------------- pooling
POOL_MASK = [[True, True, False, False, False], [True, True, True, True, True], [False, True, True, False, True]]


@pytest.mark.parametrize("name", ["GlobalAveragePooling1D", "GlobalMaxPooling1D"])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("masked", [False, True])
def test_global_pooling_matches_keras(name, keepdims, data_format, masked):
    shape = (3, 5, 4) if data_format == "channels_last" else (3, 4, 5)
    x = _tensor(shape, 0, POOL_MASK if masked else None)
    kw = {"keepdims": keepdims, "data_format": data_format}
    ours, theirs = getattr(layers, name)(**kw), getattr(keras.layers, name)(**kw)
    if name == "GlobalMaxPooling1D" and masked:  # Keras warns that this layer drops the mask
        with pytest.warns(UserWarning, match="does not support masking"):
            want = theirs(_copies([x])[0])
        got = ours(_copies([x])[0])
        np.testing.assert_allclose(_np(got), _np(want), **TOL)
        assert _mask(got) is None
        return
    got, want = ours(_copies([x])[0]), theirs(_copies([x])[0])
    np.testing.assert_allclose(_np(got), _np(want), **TOL)
    assert _mask(got) is None and _mask(want) is None


def test_global_average_pooling_fully_masked_sample_is_zero_not_nan():
    x = _tensor((2, 3, 4), 0, [[False, False, False], [True, False, True]])
    out = layers.GlobalAveragePooling1D()(x)
    torch.testing.assert_close(out[0], torch.zeros(4))
    torch.testing.assert_close(out[1], (x[1, 0] + x[1, 2]) / 2)


def test_pooling_errors_symbolic_and_config():
    with pytest.raises(ValueError, match="rank 3"):
        layers.GlobalAveragePooling1D()(torch.ones(2, 3))
    with pytest.raises(ValueError, match="data_format"):
        layers.GlobalMaxPooling1D(data_format="nwc")
    with pytest.raises(ValueError, match="mask of shape"):
        layers.GlobalAveragePooling1D()(torch.ones(2, 3, 4), mask=torch.ones(2, 4, dtype=torch.bool))
    assert layers.GlobalAveragePooling1D()(Input(shape=(None, 6))).shape == (None, 6)
    assert layers.GlobalMaxPooling1D(keepdims=True)(Input(shape=(None, 6))).shape == (None, 1, 6)
    for cls in (layers.GlobalAveragePooling1D, layers.GlobalMaxPooling1D):
        layer = cls(keepdims=True, data_format="channels_first")
        assert cls.from_config(layer.get_config()).get_config() == layer.get_config()
