"""Slide 10: three stacked LSTMs; only imports changed. Real data: sunspot windows, standardised."""

import os

import numpy as np

from lstmkit.data import load_sunspots
from lstmkit.keras.layers import LSTM, Dense  # was: tensorflow.keras.layers
from lstmkit.keras.models import Sequential

series = load_sunspots().values
series = (series - series.mean()) / series.std()
sequence_length, features = 20, 1
X_train = np.stack([series[i:i + sequence_length] for i in range(len(series) - sequence_length)])[..., None]
y_train = series[sequence_length:]
EPOCHS = int(os.environ.get("LSTMKIT_EXAMPLE_EPOCHS", 100))

model = Sequential([
    LSTM(64, return_sequences=True, input_shape=(sequence_length, features)),
    LSTM(32, return_sequences=True),
    LSTM(16),
    Dense(1)
])

model.compile(optimizer='adam', loss='mse')
history = model.fit(X_train, y_train, epochs=EPOCHS, batch_size=32)
predictions = model.predict(X_train[:3], verbose=0)
