"""``lstmkit.keras.saving`` (Keras 3's ``keras.saving``): ``register_keras_serializable`` makes a
saved model with your own cell (inside ``RNN``), layer and loss reload in a fresh process that
imports the defining module, without ``custom_objects``; an unregistered class fails with an error
naming it and how to register it; the registry helpers and ``custom_object_scope`` behave as
Keras 3's; loading still imports nothing a file names. ``clone_model`` takes Lambda functions
and unregistered layer classes along."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from lstmkit import keras
from lstmkit.keras import layers

pytestmark = [pytest.mark.usefixtures("one_thread", "fresh_names"),
              pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")]

MODULE = textwrap.dedent('''
    """User code: a cell, a layer and a loss, registered with Keras 3's decorator (or not)."""
    from lstmkit import keras

    REGISTER = {register}
    deco = keras.saving.register_keras_serializable(package="MyPkg") if REGISTER else (lambda cls: cls)


    @deco
    class MinimalRNNCell(keras.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform",
                                          name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), initializer="orthogonal",
                                                    name="recurrent_kernel")

        def call(self, inputs, states):
            prev = states[0]
            h = keras.ops.matmul(inputs, self.kernel)
            output = keras.ops.tanh(h + keras.ops.matmul(prev, self.recurrent_kernel))
            return output, [output]

        def get_config(self):
            return {{**super().get_config(), "units": self.units}}


    @deco
    class Scale(keras.layers.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return {{**super().get_config(), "factor": self.factor}}


    @deco
    def half_mse(y_true, y_pred):
        return 0.5 * keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)


    def build_model():
        inp = keras.Input((5, 3))
        x = keras.layers.RNN(MinimalRNNCell(4), return_sequences=True)(inp)
        x = Scale(3.0)(x)
        out = keras.layers.Dense(1)(keras.layers.GlobalAveragePooling1D()(x))
        model = keras.Model(inp, out)
        model.compile(optimizer="adam", loss=half_mse)
        return model
''')

LOAD = textwrap.dedent('''
    import sys
    import numpy as np
    sys.path.insert(0, {folder!r})
    import {module}  # the defining module, imported by the user: it registers the classes
    from lstmkit import keras
    model = keras.saving.load_model({path!r})
    np.save({out!r}, model.predict(np.load({x!r}), verbose=0))
    print("compiled", model.compiled, model.loss is {module}.half_mse, type(model.layers[1].cell).__name__)
''')


def _write_module(folder, name, register):
    (folder / f"{name}.py").write_text(MODULE.format(register=register))


def _save(folder, name):
    """Build, briefly train and save the user's model in a subprocess; the inputs and predictions."""
    code = textwrap.dedent(f'''
        import sys
        import numpy as np
        sys.path.insert(0, {str(folder)!r})
        import {name}
        model = {name}.build_model()
        x = np.random.default_rng(0).normal(size=(6, 5, 3)).astype("float32")
        model.fit(x, np.ones((6, 1), "float32"), epochs=1, verbose=0)
        model.save({str(folder / "x.keras")!r})
        np.save({str(folder / "x.npy")!r}, x)
        np.save({str(folder / "expected.npy")!r}, model.predict(x, verbose=0))
    ''')
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def _load(folder, name):
    code = LOAD.format(folder=str(folder), module=name, path=str(folder / "x.keras"), out=str(folder / "got.npy"),
                       x=str(folder / "x.npy"))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_registered_cell_layer_and_loss_reload_in_a_fresh_process(tmp_path):
    _write_module(tmp_path, "user_objects_registered", True)
    _save(tmp_path, "user_objects_registered")
    out = _load(tmp_path, "user_objects_registered")
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["compiled", "True", "True", "MinimalRNNCell"]
    np.testing.assert_allclose(np.load(tmp_path / "got.npy"), np.load(tmp_path / "expected.npy"), rtol=1e-6)


def test_unregistered_class_fails_with_a_clear_error(tmp_path):
    _write_module(tmp_path, "user_objects_plain", False)
    _save(tmp_path, "user_objects_plain")
    out = _load(tmp_path, "user_objects_plain")
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("ValueError: unknown layer 'MinimalRNNCell'"), last
    assert "@keras.saving.register_keras_serializable()" in last and "custom_objects=" in last


def test_registry_helpers_match_keras_3():
    k = pytest.importorskip("keras")

    def define(lib):
        @lib.saving.register_keras_serializable(package="ApiTest", name="Shift")
        class ShiftLayer(lib.layers.Layer):
            def __init__(self, by=1.0, **kwargs):
                super().__init__(**kwargs)
                self.by = by

            def call(self, x):
                return x + self.by

            def get_config(self):
                return {**super().get_config(), "by": self.by}

        @lib.saving.register_keras_serializable(package="ApiTest")
        def twice(x):
            return 2 * x

        return ShiftLayer, twice

    (ours, our_fn), (theirs, their_fn) = define(keras), define(k)
    assert keras.saving.get_registered_name(ours) == k.saving.get_registered_name(theirs) == "ApiTest>Shift"
    assert keras.saving.get_registered_name(our_fn) == k.saving.get_registered_name(their_fn) == "ApiTest>twice"
    assert keras.saving.get_registered_object("ApiTest>Shift") is ours
    assert keras.saving.get_registered_object("ApiTest>nothing") is None
    assert keras.saving.get_registered_name(layers.Dense) == "Dense"
    config = keras.saving.serialize_keras_object(ours(by=3.0, name="s"))
    assert config["registered_name"] == k.saving.serialize_keras_object(theirs(by=3.0))["registered_name"]
    clone = keras.saving.deserialize_keras_object(config)
    assert type(clone) is ours and clone.by == 3.0 and clone.name == "s"
    assert keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(our_fn)) is our_fn
    with pytest.raises(ValueError, match="get_config"):
        keras.saving.register_keras_serializable()(type("NoConfig", (), {}))


def test_custom_object_scope_exports():
    class Local(layers.Layer):
        def call(self, x):
            return x

    config = keras.saving.serialize_keras_object(Local(name="loc"))
    with pytest.raises(ValueError, match="unknown layer 'Local'"):
        keras.saving.deserialize_keras_object(config)
    for scope in (keras.utils.custom_object_scope, keras.utils.CustomObjectScope, keras.saving.custom_object_scope,
                  keras.saving.CustomObjectScope):
        with scope({"Local": Local}):
            assert type(keras.saving.deserialize_keras_object(config)) is Local
            assert keras.saving.get_registered_object("Local") is Local
    assert keras.saving.get_registered_object("Local") is None  # the scope closed


def test_clone_model_with_lambdas_and_an_unregistered_layer():
    def add_one(x):
        return x + 1.0

    class Unregistered(layers.Layer):
        def call(self, x):
            return x * 2.0

    inp = keras.Input((4,))
    x = layers.Lambda(add_one)(inp)
    x = layers.Lambda(lambda t: t * 3.0, output_shape=lambda s: s, name="times3")(x)
    x = Unregistered()(x)
    out = layers.Dense(2)(x)
    model = keras.Model(inp, out)
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    data = np.random.default_rng(1).normal(size=(3, 4)).astype("float32")
    np.testing.assert_allclose(clone.predict(data, verbose=0), model.predict(data, verbose=0), rtol=1e-6)
    assert [type(layer).__name__ for layer in clone.layers] == [type(layer).__name__ for layer in model.layers]
    seq = keras.Sequential([keras.Input((4,)), layers.Lambda(lambda t: t - 1.0), layers.Dense(1)])
    seq_clone = keras.models.clone_model(seq)
    seq_clone.set_weights(seq.get_weights())
    np.testing.assert_allclose(seq_clone.predict(data, verbose=0), seq.predict(data, verbose=0), rtol=1e-6)
