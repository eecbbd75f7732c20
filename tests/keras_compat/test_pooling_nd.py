"""Keras 3's own tests of the 2-D and 3-D poolings (keras/src/layers/pooling/max_pooling_test.py,
average_pooling_test.py, global_max_pooling_test.py, global_average_pooling_test.py: the 2-D and
3-D parts), ported to lstmkit.keras with their parameters and NumPy references kept (Keras'
``np_maxpool2d/3d`` and ``np_avgpool2d/3d`` written here as one N-D ``_np_pool`` with the same
padding: right side only, -inf for max, "edge" for 2-D average, "symmetric" for 3-D average).

Skipped or adapted, and why:
- the 1-D cases: in tests/keras_compat/test_pooling.py.
- test_average_pooling2d_same_padding, test_average_pooling3d_same_padding: Keras skips them on
  the torch backend ("Same padding in Torch backend produces different results": torch splits the
  padding over both sides, the NumPy reference pads the right only). On their cases every split
  is uneven by one, so Keras 3's torch backend replicates the edges and agrees with the NumPy
  reference, and so does lstmkit: they run here unskipped, and the same cases are also compared
  with Keras itself (``test_average_pooling_same_padding_matches_keras_torch``); the cases where
  torch and NumPy differ are compared with Keras in tests/keras/test_pooling_nd.py.
- run_mixed_precision_check: not applicable (see tests/keras_compat/_spatial_layer_test.py, which
  is the run_layer_test used here).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from numpy.lib.stride_tricks import as_strided

from lstmkit.keras import layers
from tests.keras_compat._spatial_layer_test import run_layer_test

pytestmark = pytest.mark.usefixtures("fresh_names", "one_thread")


def _same_padding(input_size, pool_size, stride):
    if input_size % stride == 0:
        return max(pool_size - stride, 0)
    return max(pool_size - (input_size % stride), 0)


def _np_pool(x, pool_size, strides, padding, data_format, reduce, pad_mode, pad_value=None):
    rank = x.ndim - 2
    if data_format == "channels_first":
        x = np.moveaxis(x, 1, -1)
    pool_size = (pool_size,) * rank if isinstance(pool_size, int) else tuple(pool_size)
    strides = (strides,) * rank if isinstance(strides, int) else tuple(strides)
    if padding == "same":
        npad = [(0, 0)] * x.ndim
        for i in range(rank):
            npad[1 + i] = (0, _same_padding(x.shape[1 + i], pool_size[i], strides[i]))
        kw = {"constant_values": pad_value} if pad_mode == "constant" else {}
        x = np.pad(x, pad_width=npad, mode=pad_mode, **kw)
    out = [int((x.shape[1 + i] - pool_size[i]) / strides[i]) + 1 for i in range(rank)]
    shape = (x.shape[0], *out, x.shape[-1], *pool_size)
    st = (x.strides[0], *(strides[i] * x.strides[1 + i] for i in range(rank)), x.strides[-1],
          *(x.strides[1 + i] for i in range(rank)))
    windows = as_strided(x, shape=shape, strides=st)
    res = reduce(windows, axis=tuple(range(rank + 2, 2 * rank + 2)))
    if data_format == "channels_first":
        res = np.moveaxis(res, -1, 1)
    return res


def np_maxpool(x, pool_size, strides, padding, data_format):
    return _np_pool(x, pool_size, strides, padding, data_format, np.max, "constant", -np.inf)


def np_avgpool2d(x, pool_size, strides, padding, data_format):
    return _np_pool(x, pool_size, strides, padding, data_format, np.mean, "edge")


def np_avgpool3d(x, pool_size, strides, padding, data_format):
    return _np_pool(x, pool_size, strides, padding, data_format, np.mean, "symmetric")


def _basic(cls, pool_size, strides, padding, data_format, input_shape, output_shape):
    run_layer_test(cls, {"pool_size": pool_size, "strides": strides, "padding": padding, "data_format": data_format},
                   input_shape=input_shape, expected_output_shape=output_shape, expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=0, expected_num_losses=0, supports_masking=False,
                   assert_built_after_instantiation=True)


def _pool(cls, inputs, pool_size, strides, padding, data_format):
    return cls(pool_size=pool_size, strides=strides, padding=padding, data_format=data_format)(inputs)


# ---------------------------------------------------------------- MaxPooling2D / 3D
@pytest.mark.parametrize("pool_size,strides,padding,data_format,input_shape,output_shape", [
    (2, 1, "valid", "channels_last", (3, 5, 5, 4), (3, 4, 4, 4)),
    (2, 1, "same", "channels_first", (3, 5, 5, 4), (3, 5, 5, 4)),
    ((2, 3), (2, 2), "valid", "channels_last", (3, 5, 5, 4), (3, 2, 2, 4)),
])
def test_max_pooling2d_basic(pool_size, strides, padding, data_format, input_shape, output_shape):
    _basic(layers.MaxPooling2D, pool_size, strides, padding, data_format, input_shape, output_shape)


@pytest.mark.parametrize("pool_size,strides,padding,data_format,input_shape,output_shape", [
    (2, 1, "valid", "channels_last", (3, 5, 5, 5, 4), (3, 4, 4, 4, 4)),
    (2, 1, "same", "channels_first", (3, 5, 5, 5, 4), (3, 5, 5, 5, 4)),
    ((2, 3, 2), (2, 2, 1), "valid", "channels_last", (3, 5, 5, 5, 4), (3, 2, 2, 4, 4)),
])
def test_max_pooling3d_basic(pool_size, strides, padding, data_format, input_shape, output_shape):
    _basic(layers.MaxPooling3D, pool_size, strides, padding, data_format, input_shape, output_shape)


@pytest.mark.parametrize("pool_size,strides,padding,data_format", [
    (2, 1, "valid", "channels_last"), (2, 1, "valid", "channels_first"), ((2, 2), (2, 2), "same", "channels_last"),
    ((2, 2), (2, 2), "same", "channels_first"), ((2, 3), (3, 3), "same", "channels_last")])
def test_max_pooling2d_correctness(pool_size, strides, padding, data_format):
    inputs = np.arange(100, dtype="float32").reshape((1, 5, 5, 4))
    outputs = _pool(layers.MaxPooling2D, inputs, pool_size, strides, padding, data_format)
    np.testing.assert_allclose(outputs.numpy(), np_maxpool(inputs, pool_size, strides, padding, data_format),
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("pool_size,strides,padding,data_format", [
    (2, 1, "valid", "channels_last"), (2, 1, "same", "channels_first"),
    ((2, 3, 2), (2, 2, 1), "valid", "channels_last"), ((2, 3, 2), (2, 2, 1), "valid", "channels_first")])
def test_max_pooling3d_correctness(pool_size, strides, padding, data_format):
    inputs = np.arange(240, dtype="float32").reshape((2, 3, 4, 5, 2))
    outputs = _pool(layers.MaxPooling3D, inputs, pool_size, strides, padding, data_format)
    np.testing.assert_allclose(outputs.numpy(), np_maxpool(inputs, pool_size, strides, padding, data_format),
                               rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- AveragePooling2D / 3D
@pytest.mark.parametrize("pool_size,strides,padding,data_format,input_shape,output_shape", [
    (2, 1, "valid", "channels_last", (3, 5, 5, 4), (3, 4, 4, 4)),
    (2, 1, "same", "channels_last", (3, 5, 5, 4), (3, 5, 5, 4)),
    (2, 1, "valid", "channels_first", (3, 5, 5, 4), (3, 5, 4, 3)),
    (2, 1, "same", "channels_first", (3, 5, 5, 4), (3, 5, 5, 4)),
    ((2, 3), (2, 2), "valid", "channels_last", (3, 5, 5, 4), (3, 2, 2, 4)),
    ((2, 3), (2, 2), "same", "channels_last", (3, 5, 5, 4), (3, 3, 3, 4)),
    ((2, 3), (3, 3), "same", "channels_first", (3, 5, 5, 4), (3, 5, 2, 2)),
])
def test_average_pooling2d_basic(pool_size, strides, padding, data_format, input_shape, output_shape):
    _basic(layers.AveragePooling2D, pool_size, strides, padding, data_format, input_shape, output_shape)


@pytest.mark.parametrize("pool_size,strides,padding,data_format,input_shape,output_shape", [
    (2, 1, "valid", "channels_last", (3, 5, 5, 5, 4), (3, 4, 4, 4, 4)),
    (2, 1, "same", "channels_first", (3, 5, 5, 5, 4), (3, 5, 5, 5, 4)),
    ((2, 3, 2), (2, 2, 1), "valid", "channels_last", (3, 5, 5, 5, 4), (3, 2, 2, 4, 4)),
])
def test_average_pooling3d_basic(pool_size, strides, padding, data_format, input_shape, output_shape):
    _basic(layers.AveragePooling3D, pool_size, strides, padding, data_format, input_shape, output_shape)


@pytest.mark.parametrize("pool_size,strides,padding,data_format", [
    (2, 1, "valid", "channels_last"), ((2, 3), (2, 2), "valid", "channels_last")])
def test_average_pooling2d_correctness(pool_size, strides, padding, data_format):
    inputs = np.arange(16, dtype="float32").reshape((1, 4, 4, 1))
    outputs = _pool(layers.AveragePooling2D, inputs, pool_size, strides, padding, data_format)
    np.testing.assert_allclose(outputs.numpy(), np_avgpool2d(inputs, pool_size, strides, padding, data_format),
                               rtol=1e-6, atol=1e-6)


SAME_2D = [(2, (2, 1), "same", "channels_last"), (2, (2, 1), "same", "channels_first"),
           ((2, 2), (2, 2), "same", "channels_last"), ((2, 2), (2, 2), "same", "channels_first")]
SAME_3D = [(2, 1, "same", "channels_last"), (2, 1, "same", "channels_first"),
           ((2, 2, 2), (2, 2, 1), "same", "channels_last"), ((2, 2, 2), (2, 2, 1), "same", "channels_first")]


@pytest.mark.parametrize("pool_size,strides,padding,data_format", SAME_2D)
def test_average_pooling2d_same_padding(pool_size, strides, padding, data_format):
    inputs = np.arange(16, dtype="float32").reshape((1, 4, 4, 1))
    outputs = _pool(layers.AveragePooling2D, inputs, pool_size, strides, padding, data_format)
    np.testing.assert_allclose(outputs.numpy(), np_avgpool2d(inputs, pool_size, strides, padding, data_format),
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("pool_size,strides,padding,data_format", [
    (2, 1, "valid", "channels_last"), (2, 1, "valid", "channels_first"),
    ((2, 3, 2), (2, 2, 1), "valid", "channels_last"), ((2, 3, 2), (2, 2, 1), "valid", "channels_first")])
def test_average_pooling3d_correctness(pool_size, strides, padding, data_format):
    inputs = np.arange(240, dtype="float32").reshape((2, 3, 4, 5, 2))
    outputs = _pool(layers.AveragePooling3D, inputs, pool_size, strides, padding, data_format)
    np.testing.assert_allclose(outputs.numpy(), np_avgpool3d(inputs, pool_size, strides, padding, data_format),
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("pool_size,strides,padding,data_format", SAME_3D)
def test_average_pooling3d_same_padding(pool_size, strides, padding, data_format):
    inputs = np.arange(240, dtype="float32").reshape((2, 3, 4, 5, 2))
    outputs = _pool(layers.AveragePooling3D, inputs, pool_size, strides, padding, data_format)
    np.testing.assert_allclose(outputs.numpy(), np_avgpool3d(inputs, pool_size, strides, padding, data_format),
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name,case", [("AveragePooling2D", c) for c in SAME_2D] +
                         [("AveragePooling3D", c) for c in SAME_3D])
def test_average_pooling_same_padding_matches_keras_torch(name, case):
    """The two same-padding tests' cases against Keras 3 on torch itself."""
    import keras

    pool_size, strides, padding, data_format = case
    shape = (1, 4, 4, 1) if name == "AveragePooling2D" else (2, 3, 4, 5, 2)
    inputs = np.arange(int(np.prod(shape)), dtype="float32").reshape(shape)
    want = keras.ops.convert_to_numpy(_pool(getattr(keras.layers, name), inputs, pool_size, strides, padding,
                                            data_format))
    got = _pool(getattr(layers, name), inputs, pool_size, strides, padding, data_format).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- global pooling
GLOBAL_BASIC_2D = [("channels_last", False, (3, 5, 6, 4), (3, 4)), ("channels_last", True, (3, 5, 6, 4), (3, 1, 1, 4)),
                   ("channels_first", False, (3, 5, 6, 4), (3, 5))]
GLOBAL_BASIC_3D = [("channels_last", False, (3, 5, 6, 5, 4), (3, 4)),
                   ("channels_last", True, (3, 5, 6, 5, 4), (3, 1, 1, 1, 4)),
                   ("channels_first", False, (3, 5, 6, 5, 4), (3, 5))]
CORRECTNESS = list(itertools.product(["channels_last", "channels_first"], [False, True]))


@pytest.mark.parametrize("name,case", [(n, c) for n in ("GlobalAveragePooling2D", "GlobalMaxPooling2D")
                                       for c in GLOBAL_BASIC_2D] +
                         [(n, c) for n in ("GlobalAveragePooling3D", "GlobalMaxPooling3D") for c in GLOBAL_BASIC_3D])
def test_global_pooling_basic(name, case):
    data_format, keepdims, input_shape, output_shape = case
    run_layer_test(getattr(layers, name), {"data_format": data_format, "keepdims": keepdims}, input_shape=input_shape,
                   expected_output_shape=output_shape, expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=0, expected_num_losses=0, supports_masking=False,
                   assert_built_after_instantiation=True)


@pytest.mark.parametrize("data_format,keepdims", CORRECTNESS)
@pytest.mark.parametrize("name,reduce,shape", [
    ("GlobalAveragePooling2D", np.mean, (2, 3, 4, 4)), ("GlobalMaxPooling2D", np.max, (2, 3, 4, 4)),
    ("GlobalAveragePooling3D", np.mean, (2, 3, 3, 5, 4)), ("GlobalMaxPooling3D", np.max, (2, 3, 3, 5, 4))],
    ids=lambda v: v if isinstance(v, str) else None)
def test_global_pooling_correctness(name, reduce, shape, data_format, keepdims):
    rank = len(shape) - 2
    steps_axis = list(range(1, rank + 1)) if data_format == "channels_last" else list(range(2, rank + 2))
    inputs = np.arange(int(np.prod(shape)), dtype="float32").reshape(shape)
    expected = np.apply_over_axes(reduce, inputs, steps_axis)
    if not keepdims:
        expected = expected.squeeze()
    outputs = getattr(layers, name)(data_format=data_format, keepdims=keepdims)(inputs)
    np.testing.assert_allclose(outputs.numpy(), expected, rtol=1e-6, atol=1e-6)
