"""Slide 13: dropout, recurrent dropout and L2 regularisation; only imports changed. The slide
stops at compile(); a short fit on real data (sunspot windows, standardised) follows."""

import os

import numpy as np

from lstmkit.data import load_sunspots
from lstmkit.keras.layers import LSTM, Dense  # was: tensorflow.keras.layers
from lstmkit.keras.models import Sequential
from lstmkit.keras.regularizers import l2  # was: tensorflow.keras.regularizers

series = load_sunspots().values
series = (series - series.mean()) / series.std()
sequence_length, features = 20, 1
X_train = np.stack([series[i:i + sequence_length] for i in range(len(series) - sequence_length)])[..., None]
y_train = series[sequence_length:]

model = Sequential([
    LSTM(64, input_shape=(sequence_length, features),
         dropout=0.2, recurrent_dropout=0.2,
         kernel_regularizer=l2(0.01), recurrent_regularizer=l2(0.01)),
    Dense(1)
])

model.compile(optimizer='adam', loss='mse')

EPOCHS = int(os.environ.get("LSTMKIT_EXAMPLE_EPOCHS", 20))
history = model.fit(X_train, y_train, epochs=EPOCHS, batch_size=32, verbose=2)
predictions = model.predict(X_train[:6], verbose=0)
