"""Slide 11: an LSTM with dot-product attention (functional API); only imports changed.

The slide's model outputs one value per time step (Dense on the concatenated sequence), so the
target here is sequence to sequence: at every step of a 20-year sunspot window, predict the
next year's value (real data, standardised). The slide stops at compile(); a short fit follows.
"""

import os

import numpy as np

from lstmkit.data import load_sunspots
from lstmkit.keras.layers import LSTM, Attention, Concatenate, Dense, Input  # was: tensorflow.keras.layers
from lstmkit.keras.models import Model

series = load_sunspots().values
series = (series - series.mean()) / series.std()
sequence_length, features = 20, 1
windows = np.stack([series[i:i + sequence_length + 1] for i in range(len(series) - sequence_length)])
X_train, y_train = windows[:, :-1, None], windows[:, 1:, None]  # (N, 20, 1) each

inputs = Input(shape=(sequence_length, features))
lstm_output = LSTM(64, return_sequences=True)(inputs)
attention = Attention()([lstm_output, lstm_output])
concat = Concatenate()([lstm_output, attention])
output = Dense(1)(concat)

model = Model(inputs=inputs, outputs=output)
model.compile(optimizer='adam', loss='mse')

EPOCHS = int(os.environ.get("LSTMKIT_EXAMPLE_EPOCHS", 20))
history = model.fit(X_train, y_train, epochs=EPOCHS, batch_size=32, verbose=2)
predictions = model.predict(X_train[:2], verbose=0)  # (2, 20, 1)
