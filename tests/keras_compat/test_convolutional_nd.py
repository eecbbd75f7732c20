"""Keras 3's own tests of Conv3D (the 3-D parts of keras/src/layers/convolutional/conv_test.py) and
of the transposed convolutions (conv_transpose_test.py, all of it), ported to lstmkit.keras with
their parameters and NumPy references kept: ``np_conv3d`` as Keras writes it, and Keras'
``np_conv1d_transpose/2d/3d`` as one N-D ``np_conv_transpose`` with the same scatter-add and crop.
Keras' reference calls two Keras helpers (``compute_conv_transpose_output_shape``,
``compute_conv_transpose_padding_args_for_jax``); their formulas are written out here
(``_jax_pads``, ``_out_len``) so the reference does not depend on lstmkit's own arithmetic.

Skipped or adapted, and why:
- Keras' random inputs and weights (``np.random.normal`` unseeded) are seeded here.
- ``layer.kernel.assign(w)`` / ``layer.bias.assign(b)`` are ``layer.set_weights([w, b])`` (our weights
  are torch Parameters); Keras' float64 weights are cast to float32 by both.
- test_conv1d_transpose_consistency and test_shape_inference_static_unknown_shape read the image
  data format; here it is Keras' default, "channels_last".
- run_layer_test is tests/keras_compat/_spatial_layer_test.py (the checks that apply here).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from numpy.lib.stride_tricks import as_strided

from lstmkit.keras import layers
from lstmkit.keras.engine.input_layer import Input
from tests.keras_compat._spatial_layer_test import run_layer_test

pytestmark = pytest.mark.usefixtures("fresh_names", "one_thread")


def _tuple(v, n):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


# ---------------------------------------------------------------- NumPy references
def _same_padding(input_size, kernel_size, stride):
    if input_size % stride == 0:
        padding = max(kernel_size - stride, 0)
    else:
        padding = max(kernel_size - (input_size % stride), 0)
    return padding // 2, padding - padding // 2


def np_conv3d(x, kernel_weights, bias_weights, strides, padding, data_format, dilation_rate, groups):
    if data_format == "channels_first":
        x = x.transpose((0, 2, 3, 4, 1))
    h_stride, w_stride, d_stride = _tuple(strides, 3)
    h_dilation, w_dilation, d_dilation = _tuple(dilation_rate, 3)
    h_kernel, w_kernel, d_kernel, ch_in, ch_out = kernel_weights.shape
    if h_dilation > 1 or w_dilation > 1 or d_dilation > 1:
        new_size = (h_kernel + (h_dilation - 1) * (h_kernel - 1), w_kernel + (w_dilation - 1) * (w_kernel - 1),
                    d_kernel + (d_dilation - 1) * (d_kernel - 1))
        new_kernel_weights = np.zeros((*new_size, ch_in, ch_out), dtype=kernel_weights.dtype)
        new_kernel_weights[::h_dilation, ::w_dilation, ::d_dilation] = kernel_weights
        kernel_weights = new_kernel_weights
        h_kernel, w_kernel, d_kernel = kernel_weights.shape[:3]
    if padding == "same":
        n_batch, h_x, w_x, d_x, _ = x.shape
        npad = [(0, 0)] * x.ndim
        npad[1] = _same_padding(h_x, h_kernel, h_stride)
        npad[2] = _same_padding(w_x, w_kernel, w_stride)
        npad[3] = _same_padding(d_x, d_kernel, d_stride)
        x = np.pad(x, pad_width=npad, mode="constant", constant_values=0)
    n_batch, h_x, w_x, d_x, _ = x.shape
    h_out = int((h_x - h_kernel) / h_stride) + 1
    w_out = int((w_x - w_kernel) / w_stride) + 1
    d_out = int((d_x - d_kernel) / d_stride) + 1
    out_grps = []
    for grp in range(1, groups + 1):
        x_in = x[..., (grp - 1) * ch_in: grp * ch_in]
        stride_shape = (n_batch, h_out, w_out, d_out, h_kernel, w_kernel, d_kernel, ch_in)
        st = (x_in.strides[0], h_stride * x_in.strides[1], w_stride * x_in.strides[2], d_stride * x_in.strides[3],
              x_in.strides[1], x_in.strides[2], x_in.strides[3], x_in.strides[4])
        inner_dim = h_kernel * w_kernel * d_kernel * ch_in
        x_strided = as_strided(x_in, shape=stride_shape, strides=st).reshape(-1, inner_dim)
        ch_out_groups = ch_out // groups
        kernel_weights_grp = kernel_weights[..., (grp - 1) * ch_out_groups: grp * ch_out_groups].reshape(
            -1, ch_out_groups)
        bias_weights_grp = bias_weights[..., (grp - 1) * ch_out_groups: grp * ch_out_groups]
        out_grps.append(x_strided @ kernel_weights_grp + bias_weights_grp)
    out = np.concatenate(out_grps, axis=-1).reshape(n_batch, h_out, w_out, d_out, ch_out)
    if data_format == "channels_first":
        out = out.transpose((0, 4, 1, 2, 3))
    return out


def _jax_pads(kernel_size, stride, dilation_rate, padding, output_padding):
    """Keras' ``_convert_conv_transpose_padding_args_from_keras_to_jax``."""
    kernel_size = (kernel_size - 1) * dilation_rate + 1
    if padding == "valid":
        output_padding = max(kernel_size, stride) - kernel_size if output_padding is None else output_padding
        return kernel_size - 1, kernel_size - 1 + output_padding
    pad_len = stride + kernel_size - 2 if output_padding is None else kernel_size + kernel_size % 2 - 2 + output_padding
    left_pad = min(pad_len // 2 + pad_len % 2, kernel_size - 1)
    return left_pad, pad_len - left_pad


def _out_len(size, kernel_size, stride, padding, output_padding, dilation_rate):
    """Keras' ``_get_output_shape_given_tf_padding``."""
    kernel_size = (kernel_size - 1) * dilation_rate + 1
    if padding == "valid":
        output_padding = max(kernel_size, stride) - kernel_size if output_padding is None else output_padding
        return (size - 1) * stride + kernel_size + output_padding
    if output_padding is None:
        return size * stride
    return (size - 1) * stride + kernel_size % 2 + output_padding


def np_conv_transpose(x, kernel_weights, bias_weights, strides, padding, output_padding, data_format, dilation_rate):
    rank = x.ndim - 2
    if data_format == "channels_first":
        x = np.moveaxis(x, 1, -1)
    strides, dilation = _tuple(strides, rank), _tuple(dilation_rate, rank)
    output_padding = (None,) * rank if output_padding is None else _tuple(output_padding, rank)
    kernel = kernel_weights.shape[:rank]
    ch_out = kernel_weights.shape[rank]
    out = [_out_len(x.shape[1 + i], kernel[i], strides[i], padding, output_padding[i], dilation[i])
           for i in range(rank)]
    pad_side1 = [kernel[i] - 1 - _jax_pads(kernel[i], strides[i], dilation[i], padding, output_padding[i])[0]
                 for i in range(rank)]
    if max(dilation) > 1:
        new_kernel = tuple(k + (d - 1) * (k - 1) for k, d in zip(kernel, dilation))
        new_kernel_weights = np.zeros((*new_kernel, *kernel_weights.shape[rank:]), dtype=kernel_weights.dtype)
        new_kernel_weights[tuple(slice(None, None, d) for d in dilation)] = kernel_weights
        kernel_weights = new_kernel_weights
        kernel = new_kernel
    output = np.zeros([x.shape[0], *(o + k for o, k in zip(out, kernel)), ch_out])
    for nb in range(x.shape[0]):
        for idx in itertools.product(*(range(n) for n in x.shape[1:-1])):
            window = tuple(slice(i * s, i * s + k) for i, s, k in zip(idx, strides, kernel))
            output[(nb, *window)] += np.sum(kernel_weights * x[(nb, *idx)], axis=-1)
    output = output + bias_weights
    output = output[(slice(None), *(slice(p, o + p) for p, o in zip(pad_side1, out)))]
    if data_format == "channels_first":
        output = np.moveaxis(output, -1, 1)
    return output


def _set_random_weights(layer, filters, seed=0):
    rng = np.random.default_rng(seed)
    kernel = rng.normal(size=tuple(layer.kernel.shape))
    bias = rng.normal(size=(filters,))
    layer.set_weights([kernel, bias])
    return kernel.astype("float32").astype("float64"), bias.astype("float32").astype("float64")


# ---------------------------------------------------------------- Conv3D
@pytest.mark.parametrize("filters,kernel_size,strides,padding,data_format,dilation_rate,groups,input_shape,"
                         "output_shape", [
                             (5, 2, 1, "valid", "channels_last", 1, 1, (3, 5, 5, 5, 4), (3, 4, 4, 4, 5)),
                             (6, 2, 1, "same", "channels_last", (2, 2, 2), 2, (3, 4, 4, 4, 4), (3, 4, 4, 4, 6)),
                             (6, (2, 2, 3), (2, 1, 2), "valid", "channels_last", (1, 1, 1), 2, (3, 5, 5, 5, 4),
                              (3, 2, 4, 2, 6))])
def test_conv3d_basic(filters, kernel_size, strides, padding, data_format, dilation_rate, groups, input_shape,
                      output_shape):
    run_layer_test(layers.Conv3D, {"filters": filters, "kernel_size": kernel_size, "strides": strides,
                                   "padding": padding, "data_format": data_format, "dilation_rate": dilation_rate,
                                   "groups": groups},
                   input_shape=input_shape, expected_output_shape=output_shape, expected_num_trainable_weights=2,
                   expected_num_non_trainable_weights=0, expected_num_losses=0, supports_masking=False)


def test_conv3d_symbolic_invalid_configuration():
    with pytest.raises(ValueError):
        layers.Conv3D(filters=1, kernel_size=(2, 2, 2), dilation_rate=(10, 10, 10))(Input(shape=(10, 10, 10, 3)))


@pytest.mark.parametrize("filters,kernel_size,strides,padding,data_format,dilation_rate,groups", [
    (5, 2, 1, "valid", "channels_last", 1, 1), (6, 2, 1, "same", "channels_last", (2, 2, 2), 2),
    (6, 2, 1, "same", "channels_last", (2, 3, 4), 2), (6, (2, 2, 3), (2, 1, 2), "valid", "channels_last", (1, 1, 1), 2),
    (6, (2, 2, 3), (2, 1, 2), "valid", "channels_first", (1, 1, 1), 2)])
def test_conv3d_correctness(filters, kernel_size, strides, padding, data_format, dilation_rate, groups):
    layer = layers.Conv3D(filters=filters, kernel_size=kernel_size, strides=strides, padding=padding,
                          data_format=data_format, dilation_rate=dilation_rate, groups=groups)
    inputs = np.random.default_rng(1).normal(size=[2, 8, 8, 8, 4]).astype("float32")
    layer.build(input_shape=inputs.shape)
    kernel, bias = _set_random_weights(layer, filters)
    expected = np_conv3d(inputs.astype("float64"), kernel, bias, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate, groups=groups)
    np.testing.assert_allclose(layer(inputs).detach().numpy(), expected, rtol=1e-3, atol=1e-6)


# ---------------------------------------------------------------- transposed: basic
def _transpose_basic(cls, filters, kernel_size, strides, padding, output_padding, data_format, dilation_rate,
                     input_shape, output_shape):
    run_layer_test(cls, {"filters": filters, "kernel_size": kernel_size, "strides": strides, "padding": padding,
                         "output_padding": output_padding, "data_format": data_format,
                         "dilation_rate": dilation_rate},
                   input_shape=input_shape, expected_output_shape=output_shape, expected_num_trainable_weights=2,
                   expected_num_non_trainable_weights=0, expected_num_losses=0, supports_masking=False)


ARGS = "filters,kernel_size,strides,padding,output_padding,data_format,dilation_rate"


@pytest.mark.parametrize(ARGS + ",input_shape,output_shape", [
    (5, 2, 2, "valid", None, "channels_last", 1, (2, 8, 4), (2, 16, 5)),
    (6, 2, 3, "same", 2, "channels_last", (1,), (2, 8, 4), (2, 23, 6)),
    (6, (2,), (2,), "valid", None, "channels_last", 1, (2, 8, 4), (2, 16, 6))])
def test_conv1d_transpose_basic(filters, kernel_size, strides, padding, output_padding, data_format, dilation_rate,
                                input_shape, output_shape):
    _transpose_basic(layers.Conv1DTranspose, filters, kernel_size, strides, padding, output_padding, data_format,
                     dilation_rate, input_shape, output_shape)


@pytest.mark.parametrize(ARGS + ",input_shape,output_shape", [
    (5, 2, 2, "valid", None, "channels_last", 1, (2, 8, 8, 4), (2, 16, 16, 5)),
    (6, 2, 3, "same", 2, "channels_last", (1, 1), (2, 8, 8, 4), (2, 23, 23, 6)),
    (6, (2, 3), (2, 1), "valid", None, "channels_first", (1, 1), (2, 4, 8, 8), (2, 6, 16, 10)),
    (2, (7, 7), (16, 16), "valid", None, "channels_last", (1, 1), (1, 14, 14, 2), (1, 224, 224, 2))])
def test_conv2d_transpose_basic(filters, kernel_size, strides, padding, output_padding, data_format, dilation_rate,
                                input_shape, output_shape):
    _transpose_basic(layers.Conv2DTranspose, filters, kernel_size, strides, padding, output_padding, data_format,
                     dilation_rate, input_shape, output_shape)


@pytest.mark.parametrize(ARGS + ",input_shape,output_shape", [
    (5, 2, 2, "valid", None, "channels_last", 1, (2, 8, 8, 8, 4), (2, 16, 16, 16, 5)),
    (6, 2, 3, "same", 2, "channels_last", (1, 1, 1), (2, 8, 8, 8, 4), (2, 23, 23, 23, 6)),
    (6, (2, 2, 3), (2, 1, 2), "valid", None, "channels_last", (1, 1, 1), (2, 8, 8, 8, 4), (2, 16, 9, 17, 6))])
def test_conv3d_transpose_basic(filters, kernel_size, strides, padding, output_padding, data_format, dilation_rate,
                                input_shape, output_shape):
    _transpose_basic(layers.Conv3DTranspose, filters, kernel_size, strides, padding, output_padding, data_format,
                     dilation_rate, input_shape, output_shape)


@pytest.mark.parametrize("layer_cls,input_shape", [(layers.Conv1DTranspose, (1, 8, 3)),
                                                   (layers.Conv2DTranspose, (1, 5, 5, 3)),
                                                   (layers.Conv3DTranspose, (1, 5, 5, 5, 3))])
def test_output_padding_serialization(layer_cls, input_shape):
    layer = layer_cls(2, 3, strides=2, output_padding=1)
    config = layer.get_config()
    assert "output_padding" in config
    revived = layer_cls.from_config(config)
    assert layer.output_padding == revived.output_padding
    assert layer.compute_output_shape(input_shape) == revived.compute_output_shape(input_shape)


def test_bad_init_args():
    with pytest.raises(ValueError, match="Invalid value for argument `filters`. Expected a strictly positive value. "
                                         "Received filters=0."):
        layers.Conv1DTranspose(filters=0, kernel_size=1)
    with pytest.raises(ValueError, match=r"The `kernel_size` argument must be a tuple of \d+ integers. Received "
                                         r"kernel_size=\(1, 0\), including values \{0\} that do not satisfy "
                                         r"`value > 0`"):
        layers.Conv2DTranspose(filters=2, kernel_size=(1, 0))
    with pytest.raises(ValueError, match=r"The `strides` argument must be a tuple of \d+ integers. Received "
                                         r"strides=\(1, 0\), including values \{0\} that do not satisfy `value > 0`"):
        layers.Conv2DTranspose(filters=2, kernel_size=(2, 2), strides=(1, 0))
    match = r"`output_padding` must be strictly less than `strides`"
    for cls, kwargs in ((layers.Conv1DTranspose, {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 2}),
                        (layers.Conv2DTranspose, {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 3}),
                        (layers.Conv2DTranspose, {"filters": 2, "kernel_size": 3, "strides": (2, 3),
                                                  "output_padding": (1, 3)}),
                        (layers.Conv1DTranspose, {"filters": 2, "kernel_size": 2, "strides": 2, "output_padding": 2}),
                        (layers.Conv2DTranspose, {"filters": 16, "kernel_size": 3, "strides": [1, 1],
                                                  "output_padding": 1}),
                        (layers.Conv3DTranspose, {"filters": 8, "kernel_size": 3, "strides": 1, "output_padding": 1})):
        with pytest.raises(ValueError, match=match):
            cls(**kwargs)
    with pytest.raises(ValueError, match=r"`strides > 1` not supported in conjunction with `dilation_rate > 1`. "
                                         r"Received: strides=\(2, 2\) and dilation_rate=\(2, 1\)"):
        layers.Conv2DTranspose(filters=2, kernel_size=(2, 2), strides=2, dilation_rate=(2, 1))


# ---------------------------------------------------------------- transposed: correctness
def _transpose_correctness(cls, inputs_shape, filters, kernel_size, strides, padding, output_padding, data_format,
                           dilation_rate):
    layer = cls(filters=filters, kernel_size=kernel_size, strides=strides, padding=padding,
                output_padding=output_padding, data_format=data_format, dilation_rate=dilation_rate)
    inputs = np.random.default_rng(1).normal(size=inputs_shape).astype("float32")
    layer.build(input_shape=inputs.shape)
    kernel, bias = _set_random_weights(layer, filters)
    expected = np_conv_transpose(inputs.astype("float64"), kernel, bias, strides, padding, output_padding, data_format,
                                 dilation_rate)
    np.testing.assert_allclose(layer(inputs).detach().numpy(), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(ARGS, [(5, 2, 2, "valid", None, "channels_last", 1),
                                (6, 2, 3, "same", 2, "channels_last", (1,)),
                                (6, (2,), (2,), "valid", None, "channels_last", 1)])
def test_conv1d_transpose(filters, kernel_size, strides, padding, output_padding, data_format, dilation_rate):
    _transpose_correctness(layers.Conv1DTranspose, [2, 8, 4], filters, kernel_size, strides, padding, output_padding,
                           data_format, dilation_rate)


@pytest.mark.parametrize(ARGS, [(5, 2, 2, "valid", None, "channels_last", 1),
                                (6, 7, 16, "same", 2, "channels_last", (1, 1)),
                                (6, (2, 3), (2, 1), "valid", None, "channels_last", (1, 1)),
                                (2, (7, 7), (16, 16), "valid", None, "channels_last", (1, 1))])
def test_conv2d_transpose(filters, kernel_size, strides, padding, output_padding, data_format, dilation_rate):
    _transpose_correctness(layers.Conv2DTranspose, [2, 14, 14, 4], filters, kernel_size, strides, padding,
                           output_padding, data_format, dilation_rate)


@pytest.mark.parametrize(ARGS, [(5, 2, 2, "valid", None, "channels_last", 1),
                                (6, 2, 3, "same", 2, "channels_last", (1, 1, 1)),
                                (6, (2, 2, 3), (2, 1, 2), "valid", None, "channels_last", (1, 1, 1))])
def test_conv3d_transpose(filters, kernel_size, strides, padding, output_padding, data_format, dilation_rate):
    _transpose_correctness(layers.Conv3DTranspose, [2, 8, 8, 8, 4], filters, kernel_size, strides, padding,
                           output_padding, data_format, dilation_rate)


PRODUCT = [(k, s, p, op) for k, s, p, op in itertools.product(range(1, 5), range(1, 5), ["same", "valid"],
                                                              [None, 1, 2, 3, 4])]


@pytest.mark.parametrize("kernel_size,strides,padding,output_padding", PRODUCT)
def test_conv1d_transpose_consistency(kernel_size, strides, padding, output_padding):
    if isinstance(output_padding, int) and output_padding >= strides:
        pytest.skip("`output_padding` greater than `strides` is not supported")
    inputs = np.ones(shape=(1, 3, 1))
    kernel_weights = np.arange(1, kernel_size + 1).reshape((kernel_size, 1, 1))
    expected = np_conv_transpose(inputs, kernel_weights, np.zeros(shape=(1,)), strides, padding, output_padding,
                                 "channels_last", 1)
    layer = layers.Conv1DTranspose(filters=1, kernel_size=kernel_size, strides=strides, padding=padding,
                                   output_padding=output_padding, dilation_rate=1)
    layer.build(input_shape=inputs.shape)
    layer.set_weights([kernel_weights, np.zeros((1,))])
    np.testing.assert_allclose(layer(inputs).detach().numpy(), expected, atol=1e-5)


@pytest.mark.parametrize("kernel_size,strides,padding,output_padding", PRODUCT)
def test_shape_inference_static_unknown_shape(kernel_size, strides, padding, output_padding):
    if output_padding is not None and output_padding >= strides:
        pytest.skip("`output_padding` must be less than `strides`")
    x = layers.Conv2DTranspose(filters=2, kernel_size=kernel_size, strides=strides, padding=padding,
                               output_padding=output_padding, dilation_rate=1)(Input(shape=(None, None, 3)))
    assert tuple(x.shape) == (None, None, None, 2)
