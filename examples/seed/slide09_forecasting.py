"""Slide 9: univariate time-series forecasting; only imports changed. `time_series_data` is real:
the yearly sunspot numbers 1700-2008 shipped with lstmkit, scaled to [0, 1]."""

import os

import numpy as np

from lstmkit.data import load_sunspots
from lstmkit.keras.layers import LSTM, Dense  # was: tensorflow.keras.layers
from lstmkit.keras.models import Sequential

raw = load_sunspots().values
time_series_data = (raw - raw.min()) / (raw.max() - raw.min())
EPOCHS = int(os.environ.get("LSTMKIT_EXAMPLE_EPOCHS", 100))


def create_sequences(data, seq_length):
    X, y = [], []
    for i in range(len(data) - seq_length):
        X.append(data[i:i+seq_length])
        y.append(data[i+seq_length])
    return np.array(X), np.array(y)

seq_length = 10
X, y = create_sequences(time_series_data, seq_length)
X = X[..., None]  # (samples, seq_length, 1): the slide's input_shape=(seq_length, 1) needs a feature axis

model = Sequential([
    LSTM(50, activation='relu', input_shape=(seq_length, 1)),
    Dense(1)
])

model.compile(optimizer='adam', loss='mse')
history = model.fit(X, y, epochs=EPOCHS, batch_size=32)

predictions = model.predict(X[-5:], verbose=0)
scale = raw.max() - raw.min()
print("last 5 years, actual vs predicted sunspots:")
print(np.c_[y[-5:] * scale + raw.min(), predictions.ravel() * scale + raw.min()].round(1))
