"""Keras 3's own tests of Conv1D and Conv2D (keras/src/layers/convolutional/conv_test.py), ported to
lstmkit.keras with their parameters and NumPy reference convolutions (``np_conv1d``, ``np_conv2d``)
kept.

Skipped or adapted, and why:
- the Conv3D cases (test_conv3d_basic, test_conv3d, Conv3D in test_conv_symbolic_invalid_configuration):
  ported in tests/keras_compat/test_convolutional_nd.py, not here.
- test_enable_lora, test_lora_weight_name, test_enable_lora_with_alpha, test_lora_rank_argument:
  lstmkit.keras' convolutions have no LoRA (``lora_rank=`` is an unexpected keyword, checked in
  tests/keras/test_convolutional.py).
- test_conv_constraints: Keras reads ``layer.kernel.constraint`` (a Keras Variable attribute); our
  weights are torch Parameters, so the constraint is read from the layer's constraint table.
- run_layer_test is tests/keras_compat/_spatial_layer_test.py (the checks that apply here).
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import as_strided

from lstmkit.keras import constraints, layers
from lstmkit.keras.engine.input_layer import Input
from tests.keras_compat._spatial_layer_test import run_layer_test

pytestmark = pytest.mark.usefixtures("fresh_names", "one_thread")


def _same_padding(input_size, kernel_size, stride):
    if input_size % stride == 0:
        padding = max(kernel_size - stride, 0)
    else:
        padding = max(kernel_size - (input_size % stride), 0)
    return padding // 2, padding - padding // 2


def np_conv1d(x, kernel_weights, bias_weights, strides, padding, data_format, dilation_rate, groups):
    if data_format == "channels_first":
        x = x.swapaxes(1, 2)
    h_stride = strides[0] if isinstance(strides, (tuple, list)) else strides
    if isinstance(dilation_rate, (tuple, list)):
        dilation_rate = dilation_rate[0]
    kernel_size, ch_in, ch_out = kernel_weights.shape
    if dilation_rate > 1:
        new_kernel_size = kernel_size + (dilation_rate - 1) * (kernel_size - 1)
        new_kernel_weights = np.zeros((new_kernel_size, ch_in, ch_out), dtype=kernel_weights.dtype)
        new_kernel_weights[::dilation_rate] = kernel_weights
        kernel_weights = new_kernel_weights
        kernel_size = kernel_weights.shape[0]
    if padding != "valid":
        n_batch, h_x, _ = x.shape
        h_pad = _same_padding(h_x, kernel_size, h_stride)
        npad = [(0, 0)] * x.ndim
        npad[1] = (h_pad[0] + h_pad[1], 0) if padding == "causal" else h_pad
        x = np.pad(x, pad_width=npad, mode="constant", constant_values=0)
    n_batch, h_x, _ = x.shape
    h_out = int((h_x - kernel_size) / h_stride) + 1
    kernel_weights = kernel_weights.reshape(-1, ch_out)
    bias_weights = bias_weights.reshape(1, ch_out)
    out_grps = []
    for grp in range(1, groups + 1):
        x_in = x[..., (grp - 1) * ch_in: grp * ch_in]
        stride_shape = (n_batch, h_out, kernel_size, ch_in)
        strides = (x_in.strides[0], h_stride * x_in.strides[1], x_in.strides[1], x_in.strides[2])
        inner_dim = kernel_size * ch_in
        x_strided = as_strided(x_in, shape=stride_shape, strides=strides).reshape(n_batch, h_out, inner_dim)
        ch_out_groups = ch_out // groups
        kernel_weights_grp = kernel_weights[..., (grp - 1) * ch_out_groups: grp * ch_out_groups]
        bias_weights_grp = bias_weights[..., (grp - 1) * ch_out_groups: grp * ch_out_groups]
        out_grps.append(x_strided @ kernel_weights_grp + bias_weights_grp)
    out = np.concatenate(out_grps, axis=-1)
    if data_format == "channels_first":
        out = out.swapaxes(1, 2)
    return out


def np_conv2d(x, kernel_weights, bias_weights, strides, padding, data_format, dilation_rate, groups):
    if data_format == "channels_first":
        x = x.transpose((0, 2, 3, 1))
    h_stride, w_stride = strides if isinstance(strides, (tuple, list)) else (strides, strides)
    h_dilation, w_dilation = dilation_rate if isinstance(dilation_rate, (tuple, list)) else (dilation_rate,) * 2
    h_kernel, w_kernel, ch_in, ch_out = kernel_weights.shape
    if h_dilation > 1 or w_dilation > 1:
        new_h_kernel = h_kernel + (h_dilation - 1) * (h_kernel - 1)
        new_w_kernel = w_kernel + (w_dilation - 1) * (w_kernel - 1)
        new_kernel_weights = np.zeros((new_h_kernel, new_w_kernel, ch_in, ch_out), dtype=kernel_weights.dtype)
        new_kernel_weights[::h_dilation, ::w_dilation] = kernel_weights
        kernel_weights = new_kernel_weights
        h_kernel, w_kernel = kernel_weights.shape[:2]
    if padding == "same":
        n_batch, h_x, w_x, _ = x.shape
        npad = [(0, 0)] * x.ndim
        npad[1] = _same_padding(h_x, h_kernel, h_stride)
        npad[2] = _same_padding(w_x, w_kernel, w_stride)
        x = np.pad(x, pad_width=npad, mode="constant", constant_values=0)
    n_batch, h_x, w_x, _ = x.shape
    h_out = int((h_x - h_kernel) / h_stride) + 1
    w_out = int((w_x - w_kernel) / w_stride) + 1
    out_grps = []
    for grp in range(1, groups + 1):
        x_in = x[..., (grp - 1) * ch_in: grp * ch_in]
        stride_shape = (n_batch, h_out, w_out, h_kernel, w_kernel, ch_in)
        strides = (x_in.strides[0], h_stride * x_in.strides[1], w_stride * x_in.strides[2], x_in.strides[1],
                   x_in.strides[2], x_in.strides[3])
        inner_dim = h_kernel * w_kernel * ch_in
        x_strided = as_strided(x_in, shape=stride_shape, strides=strides).reshape(-1, inner_dim)
        ch_out_groups = ch_out // groups
        kernel_weights_grp = kernel_weights[..., (grp - 1) * ch_out_groups: grp * ch_out_groups].reshape(
            -1, ch_out_groups)
        bias_weights_grp = bias_weights[..., (grp - 1) * ch_out_groups: grp * ch_out_groups]
        out_grps.append(x_strided @ kernel_weights_grp + bias_weights_grp)
    out = np.concatenate(out_grps, axis=-1).reshape(n_batch, h_out, w_out, ch_out)
    if data_format == "channels_first":
        out = out.transpose((0, 3, 1, 2))
    return out


# ---------------------------------------------------------------- ConvBasicTest
BASIC_ARGS = "filters,kernel_size,strides,padding,data_format,dilation_rate,groups,input_shape,output_shape"


@pytest.mark.parametrize(BASIC_ARGS, [
    (5, 2, 1, "valid", "channels_last", 1, 1, (3, 5, 4), (3, 4, 5)),
    (6, 2, 1, "same", "channels_last", (2,), 2, (3, 4, 4), (3, 4, 6)),
    (6, 2, 1, "causal", "channels_last", (2,), 2, (3, 4, 4), (3, 4, 6)),
    (6, 2, (2,), "valid", "channels_last", 1, 2, (3, 5, 4), (3, 2, 6)),
])
def test_conv1d_basic(filters, kernel_size, strides, padding, data_format, dilation_rate, groups, input_shape,
                      output_shape):
    run_layer_test(layers.Conv1D, {"filters": filters, "kernel_size": kernel_size, "strides": strides,
                                   "padding": padding, "data_format": data_format, "dilation_rate": dilation_rate,
                                   "groups": groups},
                   input_shape=input_shape, expected_output_shape=output_shape, expected_num_trainable_weights=2,
                   expected_num_non_trainable_weights=0, expected_num_losses=0, supports_masking=False)


@pytest.mark.parametrize(BASIC_ARGS, [
    (5, 2, 1, "valid", "channels_last", 1, 1, (3, 5, 5, 4), (3, 4, 4, 5)),
    (6, 2, 1, "same", "channels_last", (2, 2), 2, (3, 4, 4, 4), (3, 4, 4, 6)),
    (6, (2, 2), (2, 1), "valid", "channels_last", (1, 1), 2, (3, 5, 5, 4), (3, 2, 4, 6)),
])
def test_conv2d_basic(filters, kernel_size, strides, padding, data_format, dilation_rate, groups, input_shape,
                      output_shape):
    run_layer_test(layers.Conv2D, {"filters": filters, "kernel_size": kernel_size, "strides": strides,
                                   "padding": padding, "data_format": data_format, "dilation_rate": dilation_rate,
                                   "groups": groups},
                   input_shape=input_shape, expected_output_shape=output_shape, expected_num_trainable_weights=2,
                   expected_num_non_trainable_weights=0, expected_num_losses=0, supports_masking=False)


def test_bad_init_args():
    with pytest.raises(ValueError, match="Invalid value for argument `filters`. Expected a strictly positive value. "
                                         "Received filters=0."):
        layers.Conv1D(filters=0, kernel_size=1)
    with pytest.raises(ValueError, match=r"The `kernel_size` argument must be a tuple of \d+ integers. Received "
                                         r"kernel_size=\(1, 0\), including values \{0\} that do not satisfy "
                                         r"`value > 0`"):
        layers.Conv2D(filters=2, kernel_size=(1, 0))
    with pytest.raises(ValueError, match=r"The `strides` argument must be a tuple of \d+ integers. Received "
                                         r"strides=\(1, 0\), including values \{0\} that do not satisfy `value > 0`"):
        layers.Conv2D(filters=2, kernel_size=(2, 2), strides=(1, 0))
    with pytest.raises(ValueError, match=r"`strides > 1` not supported in conjunction with `dilation_rate > 1`. "
                                         r"Received: strides=\(2, 2\) and dilation_rate=\(2, 1\)"):
        layers.Conv2D(filters=2, kernel_size=(2, 2), strides=2, dilation_rate=(2, 1))
    with pytest.raises(ValueError, match="The number of groups must be a positive integer. Received: groups=0."):
        layers.Conv2D(filters=5, kernel_size=(2, 2), groups=0)
    with pytest.raises(ValueError, match="The number of filters must be evenly divisible by the number of groups. "
                                         "Received: groups=2, filters=5."):
        layers.Conv2D(filters=5, kernel_size=(2, 2), groups=2)


@pytest.mark.parametrize("layer_cls,input_shape,kernel_size,dilation_rate", [
    (layers.Conv1D, (10, 3), 2, 10),
    (layers.Conv2D, (10, 10, 3), (2, 2), (10, 10)),
])
def test_conv_symbolic_invalid_configuration(layer_cls, input_shape, kernel_size, dilation_rate):
    inputs = Input(shape=input_shape)
    layer = layer_cls(filters=1, kernel_size=kernel_size, dilation_rate=dilation_rate)
    with pytest.raises(ValueError):
        layer(inputs)


# ---------------------------------------------------------------- ConvCorrectnessTest
@pytest.mark.parametrize("filters,kernel_size,strides,padding,data_format,dilation_rate,groups", [
    (5, 2, 1, "valid", "channels_last", 1, 1),
    (6, 2, 1, "same", "channels_last", (2,), 2),
    (6, 2, 1, "causal", "channels_last", (2,), 2),
    (6, (2,), (2,), "valid", "channels_last", 1, 2),
    (6, (2,), (2,), "valid", "channels_first", 1, 2),
])
def test_conv1d(filters, kernel_size, strides, padding, data_format, dilation_rate, groups):
    layer = layers.Conv1D(filters=filters, kernel_size=kernel_size, strides=strides, padding=padding,
                          data_format=data_format, dilation_rate=dilation_rate, groups=groups)
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=[2, 8, 4])
    layer.build(input_shape=inputs.shape)
    kernel_weights = rng.normal(size=tuple(layer.kernel.shape))
    bias_weights = rng.normal(size=(filters,))
    layer.set_weights([kernel_weights, bias_weights])
    outputs = layer(inputs.astype("float32"))
    expected = np_conv1d(inputs, kernel_weights, bias_weights, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate, groups=groups)
    np.testing.assert_allclose(outputs.detach().numpy(), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("filters,kernel_size,strides,padding,data_format,dilation_rate,groups", [
    (5, 2, 1, "valid", "channels_last", 1, 1),
    (4, 3, 2, "same", "channels_last", 1, 1),
    (6, 2, 1, "same", "channels_last", (2, 2), 2),
    (6, 2, 1, "same", "channels_last", (2, 3), 2),
    (6, (4, 3), (2, 1), "valid", "channels_last", (1, 1), 2),
    (6, (4, 3), (2, 1), "valid", "channels_first", (1, 1), 2),
])
def test_conv2d(filters, kernel_size, strides, padding, data_format, dilation_rate, groups):
    layer = layers.Conv2D(filters=filters, kernel_size=kernel_size, strides=strides, padding=padding,
                          data_format=data_format, dilation_rate=dilation_rate, groups=groups)
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=[2, 8, 8, 4])
    layer.build(input_shape=inputs.shape)
    kernel_weights = rng.normal(size=tuple(layer.kernel.shape))
    bias_weights = rng.normal(size=(filters,))
    layer.set_weights([kernel_weights, bias_weights])
    outputs = layer(inputs.astype("float32"))
    expected = np_conv2d(inputs, kernel_weights, bias_weights, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate, groups=groups)
    np.testing.assert_allclose(outputs.detach().numpy(), expected, rtol=1e-3, atol=1e-4)


def test_conv_constraints():
    layer = layers.Conv2D(filters=4, kernel_size=3, kernel_constraint="non_neg")
    layer.build((None, 5, 5, 3))
    assert isinstance(layer._constraints["kernel"], constraints.NonNeg)
    layer = layers.Conv2D(filters=4, kernel_size=3, bias_constraint="non_neg")
    layer.build((None, 5, 5, 3))
    assert isinstance(layer._constraints["bias"], constraints.NonNeg)


def test_conv_raises_exception_on_zero_dims():
    x = np.random.rand(3, 4, 4, 4)
    layer = layers.Conv2D(6, [5, 5], 1, "valid")
    with pytest.raises(ValueError):
        layer(x)
