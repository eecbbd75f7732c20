"""Slide 6: an LSTM layer in a Sequential model, trained with fit(); only imports changed.

`sequence_length`, `features`, `X_train`, `y_train` are filled in with real data: the yearly
sunspot numbers shipped with lstmkit, standardised, 20 years in -> next year out.
"""

import os

import numpy as np

from lstmkit.data import load_sunspots
from lstmkit.keras.layers import LSTM, Dense  # was: tensorflow.keras.layers
from lstmkit.keras.models import Sequential  # was: tensorflow.keras.models

series = load_sunspots().values
series = (series - series.mean()) / series.std()
sequence_length, features = 20, 1
X_train = np.stack([series[i:i + sequence_length] for i in range(len(series) - sequence_length)])[..., None]
y_train = series[sequence_length:]
EPOCHS = int(os.environ.get("LSTMKIT_EXAMPLE_EPOCHS", 100))  # the slide trains for 100 epochs

model = Sequential([
    LSTM(64, input_shape=(sequence_length, features), return_sequences=True),
    LSTM(32),
    Dense(1)
])

model.compile(optimizer='adam', loss='mse')
history = model.fit(X_train, y_train, epochs=EPOCHS, batch_size=32)

predictions = model.predict(X_train[-10:], verbose=0)
print("predictions shape:", predictions.shape)
