"""The Layer API that custom layers use (Keras 3): add_weight's forms and defaults, build on
symbolic shapes (multi-input too), compute_output_shape, auto get_config/from_config, add_loss,
weights of sub-layers in attributes and lists, and layer.input/output with the seq2seq-example
construction of inference models from ``model.layers[i].output``. Parity against Keras 3 where
a number is involved."""

import numpy as np
import pytest
import torch

from lstmkit import keras
from lstmkit.keras import layers, ops

pytestmark = pytest.mark.usefixtures("one_thread", "fresh_names")


class Linear(layers.Layer):
    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.shapes = input_shape
        self.w = self.add_weight(shape=(input_shape[-1], self.units))
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")
        self.steps = self.add_weight(shape=(), dtype="int32", trainable=False, name="steps")

    def call(self, x):
        return ops.matmul(x, self.w) + self.b


def test_add_weight_keras3_form_and_defaults():
    layer = Linear(4)
    out = layer(keras.Input((5,)))
    assert layer.shapes == (None, 5) and out.shape == (None, 4)
    names = [n for n, _ in layer.named_parameters()]
    assert names == ["w", "b", "steps"]  # a weight is registered under the attribute holding it
    assert layer.w.name == "w" and layer.b.name == "bias" and layer.b.path == "linear/bias"
    assert layer.steps.dtype == torch.int32 and int(layer.steps) == 0  # "zeros" for non-float weights
    assert [w.shape for w in layer.trainable_weights] == [(5, 4), (4,)]
    assert len(layer.non_trainable_weights) == 1 and layer.count_params() == 25 and layer.built
    limit = np.sqrt(6 / (5 + 4))  # glorot_uniform is the default for float weights
    w = layer.w.numpy()
    assert np.abs(w).max() <= limit and w.std() > 0.2 * limit
    layer.w.assign(np.ones((5, 4)))
    np.testing.assert_array_equal(layer.w.value.detach().numpy(), np.ones((5, 4)))


def test_add_weight_positional_forms():
    class Both(layers.Layer):
        def build(self, input_shape):
            self.add_weight("legacy", (2, 3), "ones")  # lstmkit's earlier name-first form
            self.k = self.add_weight((3,), "zeros", "float64")  # Keras 3: shape, initializer, dtype

    layer = Both()
    layer.build((None, 2))
    assert layer.legacy.shape == (2, 3) and float(layer.legacy.sum()) == 6.0
    assert layer.k.dtype == torch.float64
    with pytest.raises(ValueError, match="both positionally"):
        layer.add_weight((2,), shape=(2,))
    with pytest.raises(ValueError, match="fully defined"):
        layer.add_weight(shape=(None, 2))


def test_weights_order_and_values_match_keras():
    keras3 = pytest.importorskip("keras")

    class KLinear(keras3.layers.Layer):
        def build(self, input_shape):
            self.c = self.add_weight(shape=(2,), initializer="ones", trainable=False)
            self.w = self.add_weight(shape=(input_shape[-1], 2), initializer="glorot_uniform")

        def call(self, x):
            return keras3.ops.matmul(x, self.w) * self.c

    class OurLinear(layers.Layer):
        def build(self, input_shape):
            self.c = self.add_weight(shape=(2,), initializer="ones", trainable=False)
            self.w = self.add_weight(shape=(input_shape[-1], 2), initializer="glorot_uniform")

        def call(self, x):
            return ops.matmul(x, self.w) * self.c

    x = np.random.default_rng(0).standard_normal((4, 3)).astype("float32")
    theirs, ours = KLinear(), OurLinear()
    expected = keras3.ops.convert_to_numpy(theirs(x))
    ours(x)
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]  # trainable first
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(ours(x).detach().numpy(), expected, rtol=1e-5, atol=1e-6)


def test_multi_input_build_gets_every_shape():
    class Bilinear(layers.Layer):
        def build(self, input_shape):
            self.shapes = input_shape
            (_, a), (_, b) = input_shape
            self.w = self.add_weight(shape=(a, b))

        def call(self, inputs):
            x, y = inputs
            return ops.sum(ops.matmul(x, self.w) * y, axis=-1, keepdims=True)

    layer = Bilinear()
    out = layer([keras.Input((3,)), keras.Input((4,))])
    assert layer.shapes == [(None, 3), (None, 4)] and out.shape == (None, 1)
    assert layer.input_shape == [(None, 3), (None, 4)] and layer.output_shape == (None, 1)


def test_compute_output_shape_is_used_for_symbolic_calls():
    class Untraceable(layers.Layer):
        def call(self, x):
            if x.shape[0] in (2, 3):  # the dummy batch sizes would give a wrong shape
                return x[:, :1]
            return x

        def compute_output_shape(self, input_shape):
            return input_shape

    out = Untraceable()(keras.Input((4,)))
    assert out.shape == (None, 4)
    assert layers.Dense(3).compute_output_shape((None, 5)) == (None, 3)  # the default traces the layer


def test_auto_get_config_and_from_config():
    layer = Linear(units=7, name="lin", trainable=False)
    config = layer.get_config()
    assert config == {"name": "lin", "trainable": False, "dtype": "float32", "units": 7}
    clone = Linear.from_config(config)
    assert clone.units == 7 and clone.name == "lin" and not clone.trainable

    class Opaque(layers.Layer):
        def __init__(self, fn, **kwargs):
            super().__init__(**kwargs)
            self.fn = fn

    with pytest.raises(NotImplementedError, match="non-serializable argument values"):
        Opaque(lambda x: x).get_config()

    class Explicit(Linear):
        def get_config(self):
            return {**super().get_config(), "units": self.units, "extra": 1}

    assert Explicit(2).get_config()["extra"] == 1


def test_add_loss_counts_in_training():
    class Penalised(layers.Layer):
        def call(self, x):
            self.add_loss(ops.mean(ops.square(x)) * 0)
            self.add_loss(1.5)
            return x

    layer = Penalised()
    layer(np.ones((2, 2), dtype="float32"))
    assert [float(v) for v in layer.losses] == [0.0, 1.5]
    layer(np.ones((2, 2), dtype="float32"))
    assert len(layer.losses) == 2  # cleared at each call
    model = keras.Sequential([keras.Input((2,)), layers.Dense(1, kernel_initializer="zeros"), Penalised()])
    model.compile("sgd", "mse")
    loss = model.evaluate(np.ones((4, 2)), np.zeros((4, 1)), verbose=0)
    assert loss == pytest.approx(1.5)


def test_compile_without_loss_trains_on_added_losses():
    """Keras 3: compile() without a loss is fine when the model add_loss()es one (the guide's VAE);
    with neither, fitting raises Keras' "No loss to compute"."""
    class Penalised(layers.Layer):
        def call(self, x):
            self.add_loss(ops.mean(ops.square(x)))
            return x

    model = keras.Sequential([keras.Input((2,)), layers.Dense(2, kernel_initializer="ones"), Penalised()])
    model.compile("sgd")
    x = np.ones((4, 2), "float32")
    expected = float(np.mean(model.predict(x, verbose=0) ** 2))
    assert model.evaluate(x, verbose=0) == pytest.approx(expected, rel=1e-6)
    history = model.fit(x, epochs=3, verbose=0)
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-6)
    assert history.history["loss"][2] < history.history["loss"][0]
    plain = keras.Sequential([keras.Input((2,)), layers.Dense(1)])
    plain.compile("sgd")
    with pytest.raises(ValueError, match="No loss to compute"):
        plain.fit(x, np.zeros((4, 1)), verbose=0)


def test_sublayers_in_attributes_and_lists_own_their_weights():
    class Stack(layers.Layer):
        def __init__(self):
            super().__init__()
            self.first = layers.Dense(3)
            self.rest = [layers.Dense(2), layers.Dense(1)]
            self.by_name = {"extra": layers.Dense(1)}

        def call(self, x):
            x = self.first(x)
            for layer in self.rest:
                x = layer(x)
            return x + self.by_name["extra"](x)

    layer = Stack()
    layer(np.ones((2, 4), dtype="float32"))
    assert len(layer.weights) == 8 and len(layer.trainable_weights) == 8
    assert layer.count_params() == (4 * 3 + 3) + (3 * 2 + 2) + (2 + 1) + (1 + 1)
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 8
    assert sum(p.numel() for p in layer.parameters()) == layer.count_params()


def test_input_output_errors_match_keras():
    layer = layers.Dense(2)
    with pytest.raises(AttributeError, match="has never been called and thus has no defined output"):
        _ = layer.output
    a, b = keras.Input((3,)), keras.Input((4, 3))
    layer_a = layers.Dense(2)
    layer_a(a)
    assert layer_a.output.shape == (None, 2) and layer_a.input is a
    shared = layers.Dense(2)
    shared(a)
    shared(b)
    assert shared.get_input_at(1) is b and shared.output.shape == (None, 2)
    with pytest.raises(AttributeError, match="multiple inbound nodes"):
        _ = shared.input_shape
    with pytest.raises(ValueError, match="only 2 inbound nodes"):
        shared.get_output_at(2)


def test_seq2seq_inference_models_from_layer_outputs(tmp_path):
    """The Keras lstm_seq2seq example: train, save, reload, then build encoder and decoder
    inference models from the loaded model's layers."""
    tokens, latent = 5, 8
    encoder_inputs = keras.Input(shape=(None, tokens))
    _, state_h, state_c = layers.LSTM(latent, return_state=True)(encoder_inputs)
    decoder_inputs = keras.Input(shape=(None, tokens))
    decoder_outputs, _, _ = layers.LSTM(latent, return_sequences=True, return_state=True)(
        decoder_inputs, initial_state=[state_h, state_c])
    decoder_outputs = layers.Dense(tokens, activation="softmax")(decoder_outputs)
    model = keras.Model([encoder_inputs, decoder_inputs], decoder_outputs)
    model.compile("rmsprop", "categorical_crossentropy")
    rng = np.random.default_rng(0)
    enc = np.eye(tokens, dtype="float32")[rng.integers(0, tokens, (6, 4))]
    dec = np.eye(tokens, dtype="float32")[rng.integers(0, tokens, (6, 3))]
    model.fit([enc, dec], dec, epochs=1, batch_size=3, verbose=0)
    model.save(tmp_path / "s2s.keras")
    model = keras.models.load_model(tmp_path / "s2s.keras")

    encoder_inputs = model.input[0]
    encoder_outputs, state_h_enc, state_c_enc = model.layers[2].output
    encoder_model = keras.Model(encoder_inputs, [state_h_enc, state_c_enc])
    decoder_inputs = model.input[1]
    h_in, c_in = keras.Input(shape=(latent,)), keras.Input(shape=(latent,))
    decoder_lstm = model.layers[3]
    out, h, c = decoder_lstm(decoder_inputs, initial_state=[h_in, c_in])
    out = model.layers[4](out)
    decoder_model = keras.Model([decoder_inputs, h_in, c_in], [out, h, c])

    states = encoder_model.predict(enc, verbose=0)
    assert states[0].shape == (6, latent)
    step_by_step, (h_now, c_now) = [], states
    for t in range(3):
        probs, h_now, c_now = decoder_model.predict([dec[:, t:t + 1], h_now, c_now], verbose=0)
        step_by_step.append(probs[:, 0])
    np.testing.assert_allclose(np.stack(step_by_step, axis=1), model.predict([enc, dec], verbose=0),
                               rtol=1e-5, atol=1e-6)
