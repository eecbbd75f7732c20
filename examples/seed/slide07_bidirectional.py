"""Slide 7: bidirectional LSTMs; only imports changed. The slide stops at compile(); a short fit
on real data (sunspot windows, standardised) follows."""

import os

import numpy as np

from lstmkit.data import load_sunspots
from lstmkit.keras.layers import LSTM, Bidirectional, Dense  # was: tensorflow.keras.layers
from lstmkit.keras.models import Sequential

series = load_sunspots().values
series = (series - series.mean()) / series.std()
sequence_length, features = 20, 1
X_train = np.stack([series[i:i + sequence_length] for i in range(len(series) - sequence_length)])[..., None]
y_train = series[sequence_length:]

model = Sequential([
    Bidirectional(LSTM(64, return_sequences=True), input_shape=(sequence_length, features)),
    Bidirectional(LSTM(32)),
    Dense(1)
])

model.compile(optimizer='adam', loss='mse')

EPOCHS = int(os.environ.get("LSTMKIT_EXAMPLE_EPOCHS", 20))
history = model.fit(X_train, y_train, epochs=EPOCHS, batch_size=32, verbose=2)
predictions = model.predict(X_train[:4], verbose=0)
model.summary()
