"""Slide 1: an LSTM model in Keras, with only the import lines changed to lstmkit.keras.

The slide leaves `sequence_length` and `features` undefined and stops at compile(); here they
come from real data (yearly sunspot numbers shipped with lstmkit: 20 years in, next year out)
and a short fit shows the model learning. LSTMKIT_EXAMPLE_EPOCHS sets the epoch count.
"""

import os

import numpy as np

import lstmkit.keras as tf  # was: import tensorflow as tf
from lstmkit.data import load_sunspots
from lstmkit.keras.layers import LSTM, Dense  # was: from tensorflow.keras.layers import LSTM, Dense
from lstmkit.keras.models import Sequential  # was: from tensorflow.keras.models import Sequential

# --- the names the slide leaves undefined: real data, standardised, in windows ---------------
series = load_sunspots().values
series = (series - series.mean()) / series.std()
sequence_length, features = 20, 1
X_train = np.stack([series[i:i + sequence_length] for i in range(len(series) - sequence_length)])[..., None]
y_train = series[sequence_length:]

# --- the slide --------------------------------------------------------------------------------
model = Sequential([
    LSTM(64, input_shape=(sequence_length, features)),
    Dense(1)
])
model.compile(optimizer='adam', loss='mse')

# --- beyond the slide: train briefly and predict ------------------------------------------------
EPOCHS = int(os.environ.get("LSTMKIT_EXAMPLE_EPOCHS", 20))
history = model.fit(X_train, y_train, epochs=EPOCHS, batch_size=32, verbose=2)
predictions = model.predict(X_train[:5], verbose=0)
print("backend:", tf.backend.backend(), "| predictions shape:", predictions.shape)
