"""Ported from Keras 3's keras/src/layers/layer_test.py: layer tracking, build on call, add_loss,
add_weight defaults, trainable setting, weight paths; adapted to lstmkit.keras (``weights`` where
Keras counts ``variables``, since lstmkit has no SeedGenerator state).

Skipped or left out (not applicable): remat, quantization, mixed precision / autocast / dtype
policies, stateless_call, JAX/TF tracing, SeedGenerator tracking, call-context arguments, and
layers whose ``call`` takes several positional tensors (lstmkit's functional API takes one
inputs structure: a list, tuple or dict).
"""

import numpy as np
import pytest
import torch

from lstmkit import keras
from lstmkit.keras import layers, models, ops

pytestmark = pytest.mark.usefixtures("fresh_names")


def test_layer_tracking():
    class LayerWithDenseLayers(layers.Layer):
        def __init__(self, units):
            super().__init__()
            self.dense1 = layers.Dense(units)
            self.layer_dict = {"dense2": layers.Dense(units)}
            self.layer_list = [layers.Dense(units)]
            self.units = units

        def build(self, input_shape):
            self.layer_list.append(layers.Dense(self.units))

        def call(self, x):
            x = self.dense1(x)
            x = self.layer_dict["dense2"](x)
            x = self.layer_list[0](x)
            x = self.layer_list[1](x)
            return x

    class ParentLayer(layers.Layer):
        def __init__(self, inner_layer):
            super().__init__()
            self.inner_layer = inner_layer

        def call(self, x):
            return self.inner_layer(x)

    layer = LayerWithDenseLayers(3)
    layer.build((1, 3))
    assert len(layer._sublayers()) == 4
    layer(np.zeros((1, 3)))
    assert len(layer.weights) == 8

    layer = ParentLayer(LayerWithDenseLayers(3))
    assert len(layer._sublayers()) == 1
    layer(np.zeros((1, 3)))
    assert len(layer.weights) == 8

    layer = ParentLayer(ParentLayer(LayerWithDenseLayers(3)))
    assert len(layer._sublayers()) == 1
    layer(np.zeros((1, 3)))
    assert len(layer.weights) == 8


def test_build_on_call():
    class LayerWithUnbuiltState(layers.Layer):
        def __init__(self, units):
            super().__init__()
            self.dense1 = layers.Dense(units)

        def call(self, x):
            return self.dense1(x)

    layer = LayerWithUnbuiltState(2)
    layer(keras.engine.KerasTensor((3, 4)))
    assert len(layer.weights) == 2

    class DictLayerWithUnbuiltState(layers.Layer):
        def __init__(self, units):
            super().__init__()
            self.dense = layers.Dense(units)

        def call(self, xs):
            result = self.dense(xs["x1"])
            if xs.get("x2", None) is not None:
                result += self.dense(xs["x2"])
            return result

    layer = DictLayerWithUnbuiltState(2)
    layer({"x1": keras.engine.KerasTensor((3, 4))})
    assert len(layer.weights) == 2

    class ListLayerWithUnbuiltState(layers.Layer):
        def __init__(self, units):
            super().__init__()
            self.dense = layers.Dense(units)

        def call(self, xs):
            result = self.dense(xs[0])
            if xs[1] is not None:
                result += self.dense(xs[1])
            return result

    layer = ListLayerWithUnbuiltState(2)
    layer([keras.engine.KerasTensor((3, 4)), keras.engine.KerasTensor((3, 4))])
    assert len(layer.weights) == 2


@pytest.mark.skip(reason="call(self, x1, x2) with several positional tensors: lstmkit layers take one inputs "
                         "structure (list/tuple/dict)")
def test_build_on_call_with_several_positional_tensors():
    pass


def test_add_loss():
    class LossLayer(layers.Layer):
        def call(self, x):
            self.add_loss(ops.sum(x))
            return x

    layer = LossLayer()
    layer(np.ones((1,)))
    assert len(layer.losses) == 1
    np.testing.assert_allclose(float(layer.losses[0]), 1.0)

    layer = LossLayer()  # losses are reset upon call
    layer(np.ones((1,)))
    assert len(layer.losses) == 1
    np.testing.assert_allclose(float(layer.losses[0]), 1.0)

    model = models.Sequential([layer])  # it works inside a model
    model(np.ones((1,)))
    assert len(model.losses) == 1
    np.testing.assert_allclose(float(model.losses[0]), 1.0)

    model = models.Sequential([model])  # recursively in nested models
    model(np.ones((1,)))
    assert len(model.losses) == 1
    np.testing.assert_allclose(float(model.losses[0]), 1.0)


def test_add_weight_defaults():
    class MyLayer(layers.Layer):
        def __init__(self):
            super().__init__()
            self.w1 = self.add_weight()
            self.w2 = self.add_weight(dtype="int32", trainable=False)
            self.w3 = self.add_weight(dtype="bool", trainable=False)
            self.w4 = self.add_weight(dtype="int32", shape=(2, 2), trainable=False)
            self.w5 = self.add_weight(initializer="ones", shape=(2, 2))

    layer = MyLayer()
    assert layer.w1.shape == () and layer.w1.dtype == torch.float32
    assert layer.w2.shape == () and layer.w2.dtype == torch.int32 and int(layer.w2) == 0
    assert layer.w3.shape == () and layer.w3.dtype == torch.bool and not bool(layer.w3)
    assert layer.w4.shape == (2, 2) and layer.w4.dtype == torch.int32
    np.testing.assert_array_equal(layer.w4.numpy(), np.zeros((2, 2)))
    assert layer.w5.shape == (2, 2) and layer.w5.dtype == torch.float32
    np.testing.assert_array_equal(layer.w5.numpy(), np.ones((2, 2)))


def test_trainable_setting():
    class NonTrainableWeightsLayer(layers.Layer):
        def build(self, _):
            self.w1 = self.add_weight(shape=(), initializer="ones", trainable=True)
            self.w2 = self.add_weight(shape=(), initializer="ones", trainable=False)

        def call(self, inputs):
            return inputs

    class NestedNonTrainableWeightsLayer(layers.Layer):
        def build(self, _):
            self.w1 = self.add_weight(shape=(), initializer="ones", trainable=True)
            self.w2 = self.add_weight(shape=(), initializer="ones", trainable=False)
            self.nested = NonTrainableWeightsLayer()
            self.nested.build(None)

        def call(self, inputs):
            return inputs

    layer = NestedNonTrainableWeightsLayer()
    layer.build(None)
    assert len(layer.trainable_weights) == 2 and len(layer.non_trainable_weights) == 2
    layer.trainable = False
    assert len(layer.trainable_weights) == 0 and len(layer.non_trainable_weights) == 4
    assert not layer.w1.trainable and not layer.nested.w1.trainable
    layer.trainable = True
    assert len(layer.trainable_weights) == 2 and len(layer.non_trainable_weights) == 2
    assert layer.w1.trainable and layer.nested.w1.trainable

    layer = NestedNonTrainableWeightsLayer(trainable=False)
    layer.build(None)
    assert len(layer.trainable_weights) == 0 and len(layer.non_trainable_weights) == 4
    layer.trainable = True
    assert len(layer.trainable_weights) == 2 and len(layer.non_trainable_weights) == 2


def test_custom_layer_add_weight_in_init_name():
    class InnerInnerLayer(layers.Layer):
        def __init__(self):
            super().__init__()
            self.var = self.add_weight(shape=(1,), name="inner")

    class InnerLayer(layers.Layer):
        def __init__(self):
            super().__init__()
            self.var = self.add_weight(shape=(1,), name="inner")
            self.inner = InnerInnerLayer()

    class TrainingLayer(layers.Layer):
        def __init__(self):
            super().__init__()
            self.inner = InnerLayer()

    layer = TrainingLayer()
    layer.build(None)
    assert len(layer.weights) == 2
    paths = {v.path for v in layer.weights}
    assert paths == {"inner_layer/inner", "inner_inner_layer/inner"}
