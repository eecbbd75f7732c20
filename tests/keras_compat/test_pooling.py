"""Keras 3's own tests of the 1-D poolings (keras/src/layers/pooling/max_pooling_test.py,
average_pooling_test.py, global_max_pooling_test.py, global_average_pooling_test.py: the 1-D
parts), ported to lstmkit.keras with their parameters and NumPy references kept.

Skipped or adapted, and why:
- the 2-D and 3-D cases: lstmkit.keras has only the 1-D poolings.
- test_average_pooling1d_same_padding: Keras skips it on the torch backend ("same padding in Torch
  backend produces different results"); on its four cases Keras 3's torch backend and the NumPy
  reference agree (every split is uneven, so both replicate the edge), and so does lstmkit, so it
  runs here unskipped. The cases where they differ are compared with Keras itself in
  tests/keras/test_pooling_reshaping.py.
- test_global_average_pooling1d (correctness): Keras passes the mask positionally,
  ``layer(inputs, mask)``; here it is ``layer(inputs, mask=mask)`` (the lstmkit engine takes
  ``mask`` as a keyword only: a positional mask is a TypeError there).
- run_layer_test is tests/keras_compat/_spatial_layer_test.py (the checks that apply here).
"""

from __future__ import annotations

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


def _np_pool1d(x, pool_size, strides, padding, data_format, reduce, pad_mode, pad_value=None):
    if data_format == "channels_first":
        x = x.swapaxes(1, 2)
    if isinstance(pool_size, (tuple, list)):
        pool_size = pool_size[0]
    h_stride = strides[0] if isinstance(strides, (tuple, list)) else strides
    if padding == "same":
        n_batch, h_x, ch_x = x.shape
        pad_value_len = _same_padding(h_x, pool_size, h_stride)
        npad = [(0, 0)] * x.ndim
        npad[1] = (0, pad_value_len)
        kw = {"constant_values": pad_value} if pad_mode == "constant" else {}
        x = np.pad(x, pad_width=npad, mode=pad_mode, **kw)
    n_batch, h_x, ch_x = x.shape
    out_h = int((h_x - pool_size) / h_stride) + 1
    stride_shape = (n_batch, out_h, ch_x, pool_size)
    strides = (x.strides[0], h_stride * x.strides[1], x.strides[2], x.strides[1])
    windows = as_strided(x, shape=stride_shape, strides=strides)
    out = reduce(windows, axis=(3,))
    if data_format == "channels_first":
        out = out.swapaxes(1, 2)
    return out


def np_maxpool1d(x, pool_size, strides, padding, data_format):
    return _np_pool1d(x, pool_size, strides, padding, data_format, np.max, "constant", -np.inf)


def np_avgpool1d(x, pool_size, strides, padding, data_format):
    return _np_pool1d(x, pool_size, strides, padding, data_format, np.mean, "edge")


BASIC = [(2, 1, "valid", "channels_last", (3, 5, 4), (3, 4, 4)),
         (2, 1, "same", "channels_first", (3, 5, 4), (3, 5, 4)),
         ((2,), (2,), "valid", "channels_last", (3, 5, 4), (3, 2, 4))]


# ---------------------------------------------------------------- MaxPooling1D
@pytest.mark.parametrize("pool_size,strides,padding,data_format,input_shape,output_shape", BASIC)
def test_max_pooling1d_basic(pool_size, strides, padding, data_format, input_shape, output_shape):
    run_layer_test(layers.MaxPooling1D, {"pool_size": pool_size, "strides": strides, "padding": padding,
                                         "data_format": data_format},
                   input_shape=input_shape, expected_output_shape=output_shape, expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=0, expected_num_losses=0, supports_masking=False,
                   assert_built_after_instantiation=True)


@pytest.mark.parametrize("pool_size,strides,padding,data_format", [
    (2, 1, "valid", "channels_last"), (2, 1, "valid", "channels_first"), (2, 1, "same", "channels_last"),
    (2, 1, "same", "channels_first"), ((2,), (2,), "valid", "channels_last"), ((2,), (2,), "valid", "channels_first"),
])
def test_max_pooling1d_correctness(pool_size, strides, padding, data_format):
    inputs = np.arange(24, dtype="float32").reshape((2, 3, 4))
    layer = layers.MaxPooling1D(pool_size=pool_size, strides=strides, padding=padding, data_format=data_format)
    outputs = layer(inputs)
    expected = np_maxpool1d(inputs, pool_size, strides, padding, data_format)
    np.testing.assert_allclose(outputs.numpy(), expected, atol=1e-6)


# ---------------------------------------------------------------- AveragePooling1D
@pytest.mark.parametrize("pool_size,strides,padding,data_format,input_shape,output_shape", BASIC)
def test_average_pooling1d_basic(pool_size, strides, padding, data_format, input_shape, output_shape):
    run_layer_test(layers.AveragePooling1D, {"pool_size": pool_size, "strides": strides, "padding": padding,
                                             "data_format": data_format},
                   input_shape=input_shape, expected_output_shape=output_shape, expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=0, expected_num_losses=0, supports_masking=False,
                   assert_built_after_instantiation=True)


@pytest.mark.parametrize("pool_size,strides,padding,data_format", [
    (2, 1, "valid", "channels_last"), (2, 1, "valid", "channels_first"), ((2,), (2,), "valid", "channels_last"),
    ((2,), (2,), "valid", "channels_first"),
])
def test_average_pooling1d_correctness(pool_size, strides, padding, data_format):
    inputs = np.arange(24, dtype="float32").reshape((2, 3, 4))
    layer = layers.AveragePooling1D(pool_size=pool_size, strides=strides, padding=padding, data_format=data_format)
    outputs = layer(inputs)
    expected = np_avgpool1d(inputs, pool_size, strides, padding, data_format)
    np.testing.assert_allclose(outputs.numpy(), expected, atol=1e-6)


@pytest.mark.parametrize("pool_size,strides,padding,data_format", [
    (2, 1, "same", "channels_last"), (2, 1, "same", "channels_first"), ((2,), (2,), "same", "channels_last"),
    ((2,), (2,), "same", "channels_first"),
])
def test_average_pooling1d_same_padding(pool_size, strides, padding, data_format):
    inputs = np.arange(24, dtype="float32").reshape((2, 3, 4))
    layer = layers.AveragePooling1D(pool_size=pool_size, strides=strides, padding=padding, data_format=data_format)
    outputs = layer(inputs)
    expected = np_avgpool1d(inputs, pool_size, strides, padding, data_format)
    np.testing.assert_allclose(outputs.numpy(), expected, atol=1e-6)


# ---------------------------------------------------------------- global pooling
GLOBAL_BASIC = [("channels_last", False, (3, 5, 4), (3, 4)), ("channels_last", True, (3, 5, 4), (3, 1, 4)),
                ("channels_first", False, (3, 5, 4), (3, 5))]
GLOBAL_FORMATS = [("channels_last", False), ("channels_last", True), ("channels_first", False),
                  ("channels_first", True)]


@pytest.mark.parametrize("data_format,keepdims,input_shape,output_shape", GLOBAL_BASIC)
def test_global_max_pooling1d_basic(data_format, keepdims, input_shape, output_shape):
    run_layer_test(layers.GlobalMaxPooling1D, {"data_format": data_format, "keepdims": keepdims},
                   input_shape=input_shape, expected_output_shape=output_shape, expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=0, expected_num_losses=0, supports_masking=False,
                   assert_built_after_instantiation=True)


@pytest.mark.parametrize("data_format,keepdims,input_shape,output_shape", GLOBAL_BASIC)
def test_global_average_pooling1d_basic(data_format, keepdims, input_shape, output_shape):
    run_layer_test(layers.GlobalAveragePooling1D, {"data_format": data_format, "keepdims": keepdims},
                   input_shape=input_shape, expected_output_shape=output_shape, expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=0, expected_num_losses=0, supports_masking=True,
                   assert_built_after_instantiation=True)


@pytest.mark.parametrize("data_format,keepdims", GLOBAL_FORMATS)
def test_global_max_pooling1d_correctness(data_format, keepdims):
    def np_global_max_pool1d(x, data_format, keepdims):
        steps_axis = [1] if data_format == "channels_last" else [2]
        res = np.apply_over_axes(np.max, x, steps_axis)
        if not keepdims:
            res = res.squeeze()
        return res

    inputs = np.arange(24, dtype="float32").reshape((2, 3, 4))
    layer = layers.GlobalMaxPooling1D(data_format=data_format, keepdims=keepdims)
    np.testing.assert_allclose(layer(inputs).numpy(), np_global_max_pool1d(inputs, data_format, keepdims))


@pytest.mark.parametrize("data_format,keepdims", GLOBAL_FORMATS)
def test_global_average_pooling1d_correctness(data_format, keepdims):
    def np_gap1d(x, data_format, keepdims, mask=None):
        steps_axis = 1 if data_format == "channels_last" else 2
        if mask is not None:
            mask = np.expand_dims(mask, 2 if data_format == "channels_last" else 1)
            x = x * mask
            res = np.sum(x, axis=steps_axis) / np.sum(mask, axis=steps_axis)
        else:
            res = np.mean(x, axis=steps_axis)
        if keepdims:
            res = np.expand_dims(res, axis=steps_axis)
        return res

    inputs = np.arange(24, dtype="float32").reshape((2, 3, 4))
    layer = layers.GlobalAveragePooling1D(data_format=data_format, keepdims=keepdims)
    np.testing.assert_allclose(layer(inputs).numpy(), np_gap1d(inputs, data_format, keepdims), rtol=1e-6)
    if data_format == "channels_last":
        mask = np.array([[1, 1, 0], [0, 1, 0]], dtype="int32")
    else:
        mask = np.array([[1, 1, 0, 0], [0, 1, 0, 1]], dtype="int32")
    outputs = layer(inputs, mask=mask)
    np.testing.assert_allclose(outputs.numpy(), np_gap1d(inputs, data_format, keepdims, mask), rtol=1e-6)
