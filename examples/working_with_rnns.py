"""The Keras guide "Working with RNNs" (https://keras.io/guides/working_with_rnns/, Scott Zhu and
Francois Chollet), section by section, on lstmkit.keras.

The one change from a Keras 3 script is ``import keras`` -> ``from lstmkit import keras``. Where
the guide needs something else, a comment says so: MNIST is replaced by random data of the same
shapes (nothing is downloaded), BatchNormalization by LayerNormalization, TensorFlow calls
(``tf.TensorShape``, ``tf.nest``, ``tf.matmul``, ``tf.einsum``, ``tf.device``) by plain Python and
torch, and the plot is left out. ``LSTMKIT_EXAMPLE_SMALL=1`` shrinks the data (the test runs it so).

    python examples/working_with_rnns.py
"""

import os

import numpy as np
import torch  # the NestedCell's math (the guide uses tf.matmul / tf.einsum)

from lstmkit import keras  # was: import keras
from lstmkit.keras import layers  # was: from keras import layers

SMALL = os.environ.get("LSTMKIT_EXAMPLE_SMALL") == "1"

# ## Built-in RNN layers: a simple example
# An Embedding of 1000 integers into 64-d vectors, an LSTM with 128 units, a Dense with 10.
model = keras.Sequential()
model.add(layers.Embedding(input_dim=1000, output_dim=64))
model.add(layers.LSTM(128))
model.add(layers.Dense(10))
model.build((None, 20))  # (the guide's summary() builds on first use; here the input length is given)
model.summary()

# ## Outputs and states
# return_sequences=True: one output per timestep, (batch_size, timesteps, units).
model = keras.Sequential()
model.add(layers.Embedding(input_dim=1000, output_dim=64))
model.add(layers.GRU(256, return_sequences=True))  # (batch_size, timesteps, 256)
model.add(layers.SimpleRNN(128))  # (batch_size, 128)
model.add(layers.Dense(10))
model.build((None, 20))
model.summary()

# return_state=True: the final states too; an encoder's states start a decoder.
encoder_vocab = 1000
decoder_vocab = 2000

encoder_input = layers.Input(shape=(None,))
encoder_embedded = layers.Embedding(input_dim=encoder_vocab, output_dim=64)(encoder_input)
output, state_h, state_c = layers.LSTM(64, return_state=True, name="encoder")(encoder_embedded)
encoder_state = [state_h, state_c]

decoder_input = layers.Input(shape=(None,))
decoder_embedded = layers.Embedding(input_dim=decoder_vocab, output_dim=64)(decoder_input)
decoder_output = layers.LSTM(64, name="decoder")(decoder_embedded, initial_state=encoder_state)
output = layers.Dense(10)(decoder_output)

model = keras.Model([encoder_input, decoder_input], output)
model.summary()

# ## RNN layers and RNN cells
# RNN(LSTMCell(10)) computes what LSTM(10) computes: the cell is the inside of the for loop.
cell_layer = layers.RNN(layers.LSTMCell(10))
lstm = layers.LSTM(10)
probe = np.random.random((2, 5, 8)).astype("float32")
cell_layer(probe)
lstm(probe)
lstm.set_weights(cell_layer.get_weights())
print("RNN(LSTMCell(10)) == LSTM(10):", np.allclose(cell_layer(probe).detach().numpy(),
                                                      lstm(probe).detach().numpy(), atol=1e-6))

# ## Cross-batch statefulness
paragraph1 = np.random.random((20, 10, 50)).astype(np.float32)
paragraph2 = np.random.random((20, 10, 50)).astype(np.float32)
paragraph3 = np.random.random((20, 10, 50)).astype(np.float32)

lstm_layer = layers.LSTM(64, stateful=True)
output = lstm_layer(paragraph1)
output = lstm_layer(paragraph2)
output = lstm_layer(paragraph3)

# reset_states() will reset the cached state to the original initial_state.
# If no initial_state was provided, zero-states will be used by default.
lstm_layer.reset_states()

# ### RNN state reuse: the recorded states start a new layer.
lstm_layer = layers.LSTM(64, stateful=True)
output = lstm_layer(paragraph1)
output = lstm_layer(paragraph2)

existing_state = lstm_layer.states

new_lstm_layer = layers.LSTM(64)
new_output = new_lstm_layer(paragraph3, initial_state=existing_state)

# ## Bidirectional RNNs
model = keras.Sequential()
model.add(layers.Bidirectional(layers.LSTM(64, return_sequences=True), input_shape=(5, 10)))
model.add(layers.Bidirectional(layers.LSTM(32)))
model.add(layers.Dense(10))
model.summary()

# ## Performance optimization and CuDNN kernels
# In Keras, LSTM/GRU layers use cuDNN on a GPU with their default options, while RNN(LSTMCell)
# cannot. In lstmkit both run the same kernels: on CPU lstmkit's fused ones, on CUDA torch's
# (cuDNN) -- the cell's weights go through the LSTM layer's module. unroll=True, dropout in
# training or a custom cell run a step-by-step loop instead.
batch_size = 64
# Each MNIST image batch is a tensor of shape (batch_size, 28, 28).
# Each input sequence will be of size (28, 28) (height is treated like time).
input_dim = 28

units = 64
output_size = 10  # labels are from 0 to 9


def build_model(allow_cudnn_kernel=True):
    if allow_cudnn_kernel:
        # The LSTM layer with default options uses CuDNN.
        lstm_layer = keras.layers.LSTM(units, input_shape=(None, input_dim))
    else:
        # Wrapping a LSTMCell in a RNN layer (in Keras: no CuDNN; in lstmkit: the same kernels).
        lstm_layer = keras.layers.RNN(keras.layers.LSTMCell(units), input_shape=(None, input_dim))
    return keras.models.Sequential([
        lstm_layer,
        keras.layers.LayerNormalization(),  # the guide: BatchNormalization (lstmkit.keras has LayerNormalization)
        keras.layers.Dense(output_size),
    ])


# MNIST, as random data of the same shapes (the guide loads keras.datasets.mnist; nothing is
# downloaded here): 28 rows of 28 pixels in [0, 1], integer labels 0-9.
n_train, n_test = (256, 64) if SMALL else (60000, 10000)
rng = np.random.default_rng(0)
x_train = rng.integers(0, 256, size=(n_train, 28, 28)).astype("float32") / 255.0
y_train = rng.integers(0, 10, size=n_train)
x_test = rng.integers(0, 256, size=(n_test, 28, 28)).astype("float32") / 255.0
y_test = rng.integers(0, 10, size=n_test)
sample, sample_label = x_train[0], y_train[0]

model = build_model(allow_cudnn_kernel=True)
model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), optimizer="sgd",
              metrics=["accuracy"])
model.fit(x_train, y_train, validation_data=(x_test, y_test), batch_size=batch_size, epochs=1)

noncudnn_model = build_model(allow_cudnn_kernel=False)
noncudnn_model.set_weights(model.get_weights())
noncudnn_model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), optimizer="sgd",
                       metrics=["accuracy"])
noncudnn_model.fit(x_train, y_train, validation_data=(x_test, y_test), batch_size=batch_size, epochs=1)

# The same model runs inference anywhere (the guide pins the CPU with tf.device and plots the digit).
cpu_model = build_model(allow_cudnn_kernel=True)
cpu_model.set_weights(model.get_weights())
result = np.argmax(cpu_model.predict_on_batch(np.expand_dims(sample, 0)), axis=1)
print(f"Predicted result is: {result}, target result is: {sample_label}")


# ## RNNs with list/dict inputs, or nested inputs
# A cell whose step input is [(batch, i1), (batch, i2, i3)] and whose states are
# [(batch, unit_1), (batch, unit_2, unit_3)].
class NestedCell(keras.layers.Layer):  # the guide also registers it (keras.saving.register_keras_serializable)
    def __init__(self, unit_1, unit_2, unit_3, **kwargs):
        self.unit_1 = unit_1
        self.unit_2 = unit_2
        self.unit_3 = unit_3
        super().__init__(**kwargs)
        # the guide: [tf.TensorShape([unit_1]), tf.TensorShape([unit_2, unit_3])]
        self.state_size = [unit_1, (unit_2, unit_3)]
        self.output_size = [unit_1, (unit_2, unit_3)]

    def get_initial_state(self, batch_size=None):
        # (Keras 3 builds zero states from int state sizes only: a rank-2 state needs this.)
        return [torch.zeros(batch_size, self.unit_1), torch.zeros(batch_size, self.unit_2, self.unit_3)]

    def build(self, input_shapes):
        # expect input_shape to contain 2 items, [(batch, i1), (batch, i2, i3)]
        i1 = input_shapes[0][1]
        i2 = input_shapes[1][1]
        i3 = input_shapes[1][2]
        self.kernel_1 = self.add_weight(shape=(i1, self.unit_1), initializer="uniform", name="kernel_1")
        self.kernel_2_3 = self.add_weight(shape=(i2, i3, self.unit_2, self.unit_3), initializer="uniform",
                                          name="kernel_2_3")

    def call(self, inputs, states):
        # inputs should be in [(batch, input_1), (batch, input_2, input_3)]
        # state should be in shape [(batch, unit_1), (batch, unit_2, unit_3)]
        input_1, input_2 = inputs
        s1, s2 = states

        output_1 = torch.matmul(input_1, self.kernel_1)
        output_2_3 = torch.einsum("bij,ijkl->bkl", input_2, self.kernel_2_3)
        state_1 = s1 + output_1
        state_2_3 = s2 + output_2_3

        output = (output_1, output_2_3)
        new_states = (state_1, state_2_3)
        return output, new_states

    def get_config(self):
        return {"unit_1": self.unit_1, "unit_2": self.unit_2, "unit_3": self.unit_3}


# ### Build a RNN model with nested input/output
unit_1 = 10
unit_2 = 20
unit_3 = 30

i1 = 32
i2 = 64
i3 = 32
batch_size = 64
num_batches = 2 if SMALL else 10
timestep = 5 if SMALL else 50

cell = NestedCell(unit_1, unit_2, unit_3)
rnn = keras.layers.RNN(cell)

input_1 = keras.Input((None, i1))
input_2 = keras.Input((None, i2, i3))

outputs = rnn((input_1, input_2))

model = keras.models.Model([input_1, input_2], outputs)
model.compile(optimizer="adam", loss="mse", metrics=["accuracy"])

# ### Train the model with randomly generated data
input_1_data = np.random.random((batch_size * num_batches, timestep, i1))
input_2_data = np.random.random((batch_size * num_batches, timestep, i2, i3))
target_1_data = np.random.random((batch_size * num_batches, unit_1))
target_2_data = np.random.random((batch_size * num_batches, unit_2, unit_3))
input_data = [input_1_data, input_2_data]
target_data = [target_1_data, target_2_data]

model.fit(input_data, target_data, batch_size=batch_size)
