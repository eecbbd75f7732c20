"""Keras 3's own tests of the preprocessing Normalization layer
(keras/src/layers/preprocessing/normalization_test.py), ported to lstmkit.keras with their
expected values.

Skipped or adapted:
- tf.data inputs (test_normalization_adapt's "tf.data" case, test_tf_data_compatibility,
  test_adapt_tf_dataset_with_labels) and grain datasets: TensorFlow/grain-only; lstmkit adapts
  from arrays, tensors, its own datasets and iterables of batches.
- test_call_on_meta_device_after_built: Keras' symbolic execution on torch's meta device has no
  lstmkit counterpart.
- test_adapt_pydataset_compat uses lstmkit.keras.utils.PyDataset (10 batches instead of 100, to
  stay fast).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit.keras import layers
from lstmkit.keras.utils import PyDataset
from tests.keras_compat._misc_layer_test import run_layer_test

pytestmark = pytest.mark.usefixtures("fresh_names", "one_thread")


def _np(x):
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _standardised(output, axis):
    output = _np(output)
    np.testing.assert_allclose(np.var(output, axis=axis), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.mean(output, axis=axis), 0.0, atol=1e-5)


def test_normalization_basics():
    run_layer_test(layers.Normalization, {"axis": -1}, (2, 3), expected_output_shape=(2, 3),
                   expected_num_trainable_weights=0, expected_num_non_trainable_weights=3, expected_num_losses=0,
                   supports_masking=True)
    fixed = {"axis": -1, "mean": np.array([0.5, 0.2, -0.1]), "variance": np.array([0.1, 0.2, 0.3])}
    for invert in (False, True):
        run_layer_test(layers.Normalization, {**fixed, "invert": invert}, (2, 3), expected_output_shape=(2, 3),
                       expected_num_trainable_weights=0, expected_num_non_trainable_weights=0,
                       expected_num_losses=0, supports_masking=True)


@pytest.mark.parametrize("input_type", ["np", "tensor"])
def test_normalization_adapt(input_type):
    convert = torch.from_numpy if input_type == "tensor" else (lambda a: a)
    x = np.random.random((32, 4))
    layer = layers.Normalization()
    layer.adapt(convert(x))
    assert layer.built
    _standardised(layer(x), 0)
    x = np.random.random((32, 4, 3, 5))
    layer = layers.Normalization(axis=(1, 2))
    layer.adapt(convert(x))
    assert layer.built
    _standardised(layer(x), (0, 3))


@pytest.mark.parametrize("kwargs,shape,message", [
    ({"axis": 3}, (2, 2), "All `axis` values must be in the range"),
    ({"axis": -4}, (2, 3, 4), "All `axis` values must be in the range"),
    ({"axis": 1}, (None, None), "All `axis` values to be kept"),
])
def test_normalization_axis_errors(kwargs, shape, message):
    with pytest.raises(ValueError, match=message):
        layers.Normalization(**kwargs).build(shape)


@pytest.mark.parametrize("kwargs", [{"mean": 0.5}, {"variance": 0.1}])
def test_normalization_with_mean_or_variance_only_raises_error(kwargs):
    with pytest.raises(ValueError, match="both `mean` and `variance` must be set"):
        layers.Normalization(**kwargs)


def test_normalization_adapt_with_incompatible_shape():
    layer = layers.Normalization(axis=-1)
    layer.build((10, 5))
    with pytest.raises(ValueError, match="an incompatible shape"):
        layer.adapt(np.random.random((10, 3)))


def test_normalization_with_scalar_mean_var():
    out = layers.Normalization(mean=3.0, variance=2.0)(np.array([[1, 2, 3]], dtype="float32"))
    np.testing.assert_allclose(_np(out), (np.array([[1, 2, 3]]) - 3.0) / np.sqrt(2.0), rtol=1e-6)


@pytest.mark.parametrize("pydataset_type", ["x", "x_and_y", "x_y_and_weights"])
def test_adapt_pydataset_compat(pydataset_type):
    class CustomDataset(PyDataset):
        def __len__(self):
            return 10

        def __getitem__(self, idx):
            x = np.random.rand(32, 32, 3)
            y = np.random.randint(0, 10, size=(1,))
            weights = np.random.randint(0, 10, size=(1,))
            return {"x": x, "x_and_y": (x, y), "x_y_and_weights": (x, y, weights)}[pydataset_type]

    normalizer = layers.Normalization()
    normalizer.adapt(CustomDataset())
    assert normalizer.built and normalizer.mean is not None and normalizer.variance is not None
    assert normalizer.mean.shape[-1] == 3 and normalizer.variance.shape[-1] == 3
    assert tuple(normalizer(np.random.rand(1, 32, 32, 3)).shape) == (1, 32, 32, 3)


def test_broadcast_non_scalar_middle_axis():
    custom_mean = np.arange(1, 6, dtype="float32")
    layer = layers.Normalization(axis=2, mean=custom_mean, variance=np.ones((5,), dtype="float32"))
    layer.build((2, 4, 5, 3))
    assert tuple(layer.mean.shape) == (1, 1, 5, 1)
    np.testing.assert_allclose(_np(layer.mean[0, 0, :, 0]), custom_mean)


def test_broadcast_multiple_axes():
    layer = layers.Normalization(axis=(1, 2), mean=np.zeros((10, 13), "float32"), variance=np.ones((10, 13), "float32"))
    layer.build((None, 10, 13, 3))
    assert tuple(layer.mean.shape) == (1, 10, 13, 1)


def test_broadcast_partial_keep_axis():
    custom_mean = np.array([1.0, 2.0, 3.0, 4.0, 5.0], dtype="float32")
    layer = layers.Normalization(axis=(1, 2), mean=custom_mean, variance=np.ones((5,), dtype="float32"))
    layer.build((2, 7, 5, 3))
    assert tuple(layer.mean.shape) == (1, 7, 5, 1)
    expected = np.reshape(custom_mean, (1, 1, 5, 1))
    np.testing.assert_allclose(_np(layer.mean[:, 0:1, :, :]), expected)
    np.testing.assert_allclose(_np(layer.mean[:, 6:7, :, :]), expected)


def test_scalar_broadcast():
    layer = layers.Normalization(axis=-1, mean=5.0, variance=1.0)
    layer.build((3, 7))
    assert tuple(layer.mean.shape) == (1, 7)
    np.testing.assert_allclose(_np(layer.mean), [[5.0] * 7])


def _x(shape):
    return np.random.random(shape).astype("float32")


def test_adapt_list_generator_iterator_and_single_batch():
    x = _x((32, 4))
    for data in ([x[:8], x[8:16], x[16:24], x[24:32]], (x[i:i + 8] for i in range(0, 32, 8)),
                 iter([x[i:i + 6] for i in range(0, 32, 6)]), [x]):
        layer = layers.Normalization(axis=-1)
        layer.adapt(data)
        assert layer.built
        _standardised(layer(x), 0)


def test_adapt_iterable_same_result_as_ndarray():
    x = _x((64, 5))
    layer_list, layer_ndarray = layers.Normalization(axis=-1), layers.Normalization(axis=-1)
    layer_list.adapt([x[i:i + 16] for i in range(0, 64, 16)])
    layer_ndarray.adapt(x)
    np.testing.assert_allclose(_np(layer_list(x[:10])), _np(layer_ndarray(x[:10])), atol=1e-5)


def test_adapt_iterable_with_tuples():
    x = _x((24, 3))
    layer = layers.Normalization(axis=-1)
    layer.adapt([(x[i:i + 8], np.zeros(8)) for i in range(0, 24, 8)])
    _standardised(layer(x), 0)


def test_adapt_iterable_axis_none():
    x = _x((20, 2, 3))
    layer = layers.Normalization(axis=None)
    layer.adapt([x[i:i + 5] for i in range(0, 20, 5)])
    _standardised(layer(x), None)


def test_adapt_iterable_high_dim_axis_tuple():
    x = _x((32, 4, 3, 5))
    layer = layers.Normalization(axis=(1, 2))
    layer.adapt([x[i:i + 8] for i in range(0, 32, 8)])
    _standardised(layer(x), (0, 3))


def test_adapt_iterable_errors():
    with pytest.raises(ValueError, match="empty iterable"):
        layers.Normalization(axis=-1).adapt([])
    with pytest.raises(ValueError, match="empty iterable"):
        layers.Normalization(axis=-1).adapt(b for b in ())

    def bad_gen():
        yield _x((8, 4))
        yield _x((8, 6))

    with pytest.raises(ValueError, match="incompatible shape"):
        layers.Normalization(axis=-1).adapt(bad_gen())

    def gen_no_shape():
        yield 42

    with pytest.raises(TypeError, match="`.shape`"):
        layers.Normalization(axis=-1).adapt(gen_no_shape())
