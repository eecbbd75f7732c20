"""Ported from Keras 3's keras/src/models/model_test.py, the parts about subclassed models and
custom layers in models: a tuple input to a subclassed model, reviving a functional model with a
custom layer (auto config) and a custom Model subclass with its own get_config.

Left out (not applicable): JAX/TF-only and distribution tests, quantization, export, and the
functional/Sequential cases that other compat files cover.
"""

import numpy as np
import pytest

from lstmkit.keras import layers
from lstmkit.keras.models import Model

pytestmark = pytest.mark.usefixtures("fresh_names")


def test_tuple_input_model_subclass():
    class MultiInputModel(Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense1 = layers.Dense(4)

        def call(self, inputs):
            a, b = inputs
            r = self.dense1(a)
            return layers.concatenate([r, b])

    model = MultiInputModel()
    x1 = np.random.rand(3, 3)
    x2 = np.random.rand(3, 2)
    out = model((x1, x2))
    assert tuple(out.shape) == (3, 6)


def test_reviving_functional_from_config_custom_layer():
    class CustomDense(layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.dense = layers.Dense(units)

        def call(self, x):
            return self.dense(x)

    inputs = layers.Input((4,))
    outputs = CustomDense(10)(inputs)
    model = Model(inputs, outputs)
    config = model.get_config()
    new_model = Model.from_config(config, custom_objects={"CustomDense": CustomDense})
    assert isinstance(new_model, Model) and new_model.output_shape == (None, 10)


def test_reviving_functional_from_config_custom_model():
    class CustomModel(Model):
        def __init__(self, *args, param=1, **kwargs):
            super().__init__(*args, **kwargs)
            self.param = param

        def get_config(self):
            base_config = super().get_config()
            config = {"param": self.param}
            return base_config | config

    inputs = layers.Input((3,))
    outputs = layers.Dense(5)(inputs)
    model = CustomModel(inputs=inputs, outputs=outputs, param=3)
    new_model = CustomModel.from_config(model.get_config())
    assert new_model.param == 3
