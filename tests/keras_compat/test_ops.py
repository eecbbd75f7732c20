"""Ported from Keras 3's keras/src/ops/numpy_test.py (NumpyTwoInputOpsCorrectnessTest,
NumpyOneInputOpsCorrectnessTest, NumpyArrayCreateOpsCorrectnessTest) and nn_test.py
(NNOpsCorrectnessTest): the correctness cases of the ops lstmkit.keras.ops provides, with their
inputs and expected values (NumPy's results or Keras' literals), adapted to our API (function
forms only; lstmkit has no ``knp.Add()``-style operation classes).

Left out (not applicable): the operation-class forms (``knp.Add()(x, y)``), sparse and ragged
tensors, dtype-promotion matrices, symbolic (KerasTensor) shapes, float16 overflow cases, and
``pad`` in non-constant modes on arbitrary axes (Keras skips it on torch; tests/keras/test_ops.py
checks those modes against NumPy).
"""

import numpy as np
import pytest

from lstmkit.keras import ops as knp

knn = knp.nn


def close(a, b, **kw):
    a = knp.convert_to_numpy(a) if not isinstance(a, (list, tuple)) else a
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64),
                               rtol=kw.get("rtol", 1e-6), atol=kw.get("atol", 1e-6))


def test_add():
    x = np.array([[1, 2, 3], [3, 2, 1]])
    y = np.array([[4, 5, 6], [3, 2, 1]])
    z = np.array([[[1, 2, 3], [3, 2, 1]]])
    close(knp.add(x, y), np.add(x, y))
    close(knp.add(x, z), np.add(x, z))


def test_subtract_multiply_divide():
    x = np.array([[1, 2, 3], [3, 2, 1]])
    y = np.array([[4, 5, 6], [3, 2, 1]])
    z = np.array([[[1, 2, 3], [3, 2, 1]]])
    for ours, theirs in ((knp.subtract, np.subtract), (knp.multiply, np.multiply), (knp.divide, np.divide)):
        close(ours(x, y), theirs(x, y))
        close(ours(x, z), theirs(x, z))


def test_matmul():
    x = np.ones([2, 3, 4, 5])
    y = np.ones([2, 3, 5, 6])
    z = np.ones([5, 6])
    p = np.ones([4])
    close(knp.matmul(x, y), np.matmul(x, y))
    close(knp.matmul(x, z), np.matmul(x, z))
    close(knp.matmul(p, x), np.matmul(p, x))


def test_einsum():
    x = np.arange(24).reshape([2, 3, 4]).astype("float32")
    y = np.arange(24).reshape([2, 4, 3]).astype("float32")
    close(knp.einsum("ijk,lkj->il", x, y), np.einsum("ijk,lkj->il", x, y))
    close(knp.einsum("ijk,ikj->i", x, y), np.einsum("ijk,ikj->i", x, y))
    close(knp.einsum("i...,j...k->...ijk", x, y), np.einsum("i..., j...k->...ijk", x, y))
    close(knp.einsum(",ijk", 5, y), np.einsum(",ijk", 5, y))


@pytest.mark.parametrize("ours,theirs", [(knp.greater, np.greater), (knp.greater_equal, np.greater_equal),
                                         (knp.less, np.less), (knp.less_equal, np.less_equal),
                                         (knp.not_equal, np.not_equal), (knp.equal, np.equal)])
def test_comparisons(ours, theirs):
    x = np.array([[1, 2, 3], [3, 2, 1]])
    y = np.array([[4, 5, 6], [3, 2, 1]])
    close(ours(x, y), theirs(x, y))
    close(ours(x, 2), theirs(x, 2))
    close(ours(2, x), theirs(2, x))


def test_logical_and_or_not():
    x = np.array([[True, False], [True, True]])
    y = np.array([[False, False], [True, False]])
    close(knp.logical_and(x, y), np.logical_and(x, y))
    close(knp.logical_or(x, y), np.logical_or(x, y))
    close(knp.logical_not(x), np.logical_not(x))


def test_maximum_minimum():
    x = np.array([[1, 2], [3, 4]])
    y = np.array([[5, 6], [7, 8]])
    close(knp.maximum(x, y), np.maximum(x, y))
    close(knp.maximum(x, 1), np.maximum(x, 1))
    close(knp.maximum(1, x), np.maximum(1, x))
    close(knp.minimum(x, y), np.minimum(x, y))
    close(knp.minimum(x, 1), np.minimum(x, 1))


def test_take():
    x = np.arange(24).reshape([1, 2, 3, 4])
    indices = np.array([0, 1])
    close(knp.take(x, indices), np.take(x, indices))
    close(knp.take(x, 0), np.take(x, 0))
    close(knp.take(x, 0, axis=1), np.take(x, 0, axis=1))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4, 5))
    indices = rng.integers(0, 4, (6, 7))
    close(knp.take(x, indices, axis=2), np.take(x, indices, axis=2), rtol=1e-6)
    close(knp.take(x, indices, axis=-2), np.take(x, indices, axis=-2), rtol=1e-6)
    x = np.array(([1, 2], [3, 4]))
    indices = np.array([2, 3])
    close(knp.take(x, indices, axis=None), np.take(x, indices, axis=None))
    x = rng.standard_normal((2, 3, 4, 5))
    indices = rng.integers(-3, 0, (6, 7))
    close(knp.take(x, indices, axis=2), np.take(x, indices, axis=2), rtol=1e-6)


def test_where():
    x = np.array([1, 2, 3])
    y = np.array([4, 5, 6])
    close(knp.where(x > 1, x, y), np.where(x > 1, x, y))
    for a, b in zip(knp.where(x > 1), np.where(x > 1)):
        close(a, b)
    with pytest.raises(ValueError, match="`x1` and `x2` either both should be `None`"):
        knp.where(x > 1, x, None)


def test_mean_sum():
    x = np.array([[1, 2, 3], [3, 2, 1]])
    close(knp.mean(x), np.mean(x))
    close(knp.mean(x, axis=()), np.mean(x, axis=()))
    close(knp.mean(x, axis=1), np.mean(x, axis=1))
    close(knp.mean(x, axis=(1,)), np.mean(x, axis=(1,)))
    close(knp.mean(x, axis=1, keepdims=True), np.mean(x, axis=1, keepdims=True))
    x = np.array([[1, 2, 3], [3, 2, 1]])
    close(knp.sum(x), np.sum(x))
    close(knp.sum(x, axis=()), np.sum(x, axis=()))
    close(knp.sum(x, axis=1), np.sum(x, axis=1))
    close(knp.sum(x, axis=(1,)), np.sum(x, axis=(1,)))
    close(knp.sum(x, axis=1, keepdims=True), np.sum(x, axis=1, keepdims=True))


def test_max_min():
    x = np.array([[1, 2, 3], [3, 2, 1]])
    close(knp.max(x), np.max(x))
    close(knp.max(x, 0), np.max(x, 0))
    close(knp.max(x, 1), np.max(x, 1))
    close(knp.max(x, initial=4), 4)
    close(knp.min(x), np.min(x))
    close(knp.min(x, axis=(0, 1)), np.min(x, (0, 1)))
    close(knp.min(x, initial=0), 0)
    x = np.array([[]])
    close(knp.max(x, initial=1), np.max(x, initial=1))
    close(knp.max(x, initial=1, keepdims=True), np.max(x, initial=1, keepdims=True))
    close(knp.min(x, initial=1), np.min(x, initial=1))


def test_square_abs_sqrt_exp_log():
    x = np.array([[1, 2, 3], [3, 2, 1]])
    close(knp.square(x), np.square(x))
    close(knp.abs(-x), np.abs(-x))
    close(knp.sqrt(x), np.sqrt(x), rtol=1e-6)
    close(knp.exp(x), np.exp(x), rtol=1e-6)
    close(knp.log(x), np.log(x), rtol=1e-6)
    x = np.array([[1, 2, 3], [3, 2, 1]], dtype="int32")  # test_sqrt_int32: an integer input gives floats
    assert knp.convert_to_numpy(knp.sqrt(x)).dtype == np.float32


def test_squeeze_transpose_reshape_expand_dims():
    x = np.ones([1, 3, 1, 5])
    close(knp.squeeze(x), np.squeeze(x))
    close(knp.squeeze(x, axis=0), np.squeeze(x, axis=0))
    x = np.ones([1, 2, 3, 4, 5])
    close(knp.transpose(x), np.transpose(x))
    close(knp.transpose(x, axes=(1, 0, 3, 2, 4)), np.transpose(x, axes=(1, 0, 3, 2, 4)))
    x = np.array([[1, 2, 3], [3, 2, 1]])
    close(knp.reshape(x, [3, 2]), np.reshape(x, [3, 2]))
    close(knp.reshape(x, [3, -1]), np.reshape(x, [3, -1]))
    close(knp.reshape(x, (-1,)), np.reshape(x, (-1,)))
    close(knp.expand_dims(x, 0), np.expand_dims(x, 0))
    close(knp.expand_dims(x, 1), np.expand_dims(x, 1))
    close(knp.expand_dims(x, -2), np.expand_dims(x, -2))
    close(knp.expand_dims(x, (0, 1)), np.expand_dims(x, (0, 1)))
    close(knp.expand_dims(x, (-1, -2)), np.expand_dims(x, (-1, -2)))
    close(knp.expand_dims(x, (-1, 1)), np.expand_dims(x, (-1, 1)))


def test_transpose_rejects_invalid_axes():
    with pytest.raises(ValueError):
        knp.transpose(np.ones((2, 3)), axes=(0, 0))


def test_argmax():
    x = np.array([[1, 2, 3], [3, 2, 1], [4, 5, 6]])
    close(knp.argmax(x), np.argmax(x))
    close(knp.argmax(x, axis=1), np.argmax(x, axis=1))
    close(knp.argmax(x, axis=1, keepdims=True), np.argmax(x, axis=1, keepdims=True))
    close(knp.argmax(x, keepdims=True), np.argmax(x, keepdims=True))


def test_clip():
    x = np.array([[1.2, 2.1, 0.5], [2.4, 11.9, 0.5]])
    close(knp.clip(x, 1, 2), np.clip(x, 1, 2))


def test_concatenate_stack():
    x = np.array([[1, 2, 3], [3, 2, 1]])
    y = np.array([[4, 5, 6], [6, 5, 4]])
    z = np.array([[7, 8, 9], [9, 8, 7]])
    close(knp.concatenate([x, y], axis=0), np.concatenate([x, y], axis=0))
    close(knp.concatenate([x, y, z], axis=0), np.concatenate([x, y, z], axis=0))
    close(knp.concatenate([x, y], axis=1), np.concatenate([x, y], axis=1))
    close(knp.concatenate([x, y], axis=None), np.concatenate([x, y], axis=None))
    close(knp.stack([x, y]), np.stack([x, y]))
    close(knp.stack([x, y], axis=1), np.stack([x, y], axis=1))


def test_split():
    x = np.array([[1, 2, 3], [3, 2, 1]])
    assert isinstance(knp.split(x, 2), list)
    for a, b in zip(knp.split(x, 2), np.split(x, 2)):
        close(a, b)
    for a, b in zip(knp.split(x, [1, 2], axis=1), np.split(x, [1, 2], axis=1)):
        close(a, b)
    with pytest.raises(ValueError):  # Keras: any exception
        knp.split(x, 3)
    assert len(knp.split(np.ones(shape=(0,)), 2)) == 2
    x = knp.array([[1, 2, 3], [3, 2, 1]])
    for a, b in zip(knp.split(x, knp.array([1, 2]), axis=1),
                    np.split(np.array([[1, 2, 3], [3, 2, 1]]), np.array([1, 2]), axis=1)):
        close(a, b)


def test_repeat_tile():
    x = np.array([[1, 2], [3, 4]])
    close(knp.repeat(x, 2), np.repeat(x, 2))
    close(knp.repeat(x, 3, axis=1), np.repeat(x, 3, axis=1))
    close(knp.repeat(x, np.array([1, 2]), axis=-1), np.repeat(x, np.array([1, 2]), axis=-1))
    x = np.array([[1, 2, 3], [3, 2, 1]])
    close(knp.tile(x, 2), np.tile(x, 2))
    close(knp.tile(x, [2, 3]), np.tile(x, [2, 3]))
    close(knp.tile(x, [2, 3, 4]), np.tile(x, [2, 3, 4]))
    close(knp.tile(x, [2]), np.tile(x, [2]))


@pytest.mark.parametrize("constant_values", [None, 0, 1])
def test_pad_constant(constant_values):
    kwargs = {"constant_values": constant_values or 0}
    x = np.ones([2, 3])
    pad_width = ((1, 1), (1, 1))
    close(knp.pad(x, pad_width, mode="constant", constant_values=constant_values),
          np.pad(x, pad_width, mode="constant", **kwargs))
    x = np.ones([2, 3, 4, 5, 6])
    pad_width = ((0, 0), (0, 0), (2, 3), (1, 1), (1, 1))
    close(knp.pad(x, pad_width, mode="constant", constant_values=constant_values),
          np.pad(x, pad_width, mode="constant", **kwargs))
    pad_width = ((1, 1), (2, 1), (3, 2), (4, 3), (5, 4))
    close(knp.pad(x, pad_width, mode="constant", constant_values=constant_values),
          np.pad(x, pad_width, mode="constant", **kwargs))


def test_pad_constant_values_only_with_constant_mode():
    with pytest.raises(ValueError, match="Argument `constant_values` can only be provided when `mode == 'constant'`"):
        knp.pad(np.ones([2, 3]), ((1, 1), (1, 1)), mode="reflect", constant_values=1)


def test_array_creation():
    close(knp.ones([2, 3]), np.ones([2, 3]))
    close(knp.zeros([2, 3]), np.zeros([2, 3]))
    close(knp.eye(3), np.eye(3))
    close(knp.eye(3, 4), np.eye(3, 4))
    close(knp.eye(3, 4, 1), np.eye(3, 4, 1))
    close(knp.arange(3), np.arange(3))
    close(knp.arange(3, 7), np.arange(3, 7))
    close(knp.arange(3, 7, 2), np.arange(3, 7, 2))
    close(knp.full([2, 3], 0), np.full([2, 3], 0))
    close(knp.full([2, 3], 0.1), np.full([2, 3], 0.1))
    close(knp.full([2, 3], np.array([1, 4, 5])), np.full([2, 3], np.array([1, 4, 5])))
    x = np.array([[1, 2, 3], [3, 2, 1]])
    close(knp.zeros_like(x), np.zeros_like(x))
    close(knp.ones_like(x), np.ones_like(x))


def test_eye_raises_error_with_floats():
    with pytest.raises(TypeError):
        knp.eye(3.0)


# ---------------------------------------------------------------------------------- nn_test.py
def test_softmax():
    x = np.array([[1, 2, 3], [1, 2, 3]], dtype=np.float32)
    close(knn.softmax(x, axis=None), [[0.045015, 0.122364, 0.33262], [0.045015, 0.122364, 0.33262]], atol=1e-6)
    close(knn.softmax(x, axis=0), [[0.5, 0.5, 0.5], [0.5, 0.5, 0.5]])
    close(knn.softmax(x, axis=-1), [[0.09003057, 0.24472848, 0.66524094]] * 2)
    close(knn.softmax(x), [[0.09003057, 0.24472848, 0.66524094]] * 2)


def test_log_softmax():
    x = np.array([[1, 2, 3], [1, 2, 3]], dtype=np.float32)
    close(knn.log_softmax(x, axis=None), [[-3.100753, -2.100753, -1.100753]] * 2, atol=1e-6)
    close(knn.log_softmax(x, axis=0), [[-0.693147, -0.693147, -0.693147]] * 2, atol=1e-6)
    close(knn.log_softmax(x, axis=-1), [[-2.407606, -1.407606, -0.407606]] * 2, atol=1e-6)
    close(knn.log_softmax(x), [[-2.407606, -1.407606, -0.407606]] * 2, atol=1e-6)


def test_one_hot():
    indices_1d = np.array([0, 1, 2, 3])
    close(knn.one_hot(indices_1d, 4), np.eye(4)[indices_1d])
    close(knn.one_hot(indices_1d, 4, axis=0), np.eye(4)[indices_1d])
    close(knn.one_hot([0, 1, 2, 3], 4), np.eye(4)[[0, 1, 2, 3]])
    indices_2d = np.array([[0, 1], [2, 3]])
    close(knn.one_hot(indices_2d, 4), np.eye(4)[indices_2d])
    close(knn.one_hot(indices_2d, 4, axis=2), np.eye(4)[indices_2d])
    close(knn.one_hot(indices_2d, 4, axis=1), np.transpose(np.eye(4)[indices_2d], (0, 2, 1)))
    indices_1d = np.array([[0], [1], [2], [3]])
    close(knn.one_hot(indices_1d, 4), np.eye(4)[indices_1d])


def test_activations():
    x = np.array([-1, 0, 1, 2, 3], dtype=np.float32)
    close(knn.gelu(x), [-0.15880796, 0.0, 0.841192, 1.9545977, 2.9963627])
    close(knn.relu(x), [0, 0, 1, 2, 3])
    close(knn.sigmoid(x), [0.26894143, 0.5, 0.7310586, 0.880797, 0.95257413])
