"""Slide 14: hyper-parameter tuning with Keras Tuner's API; `import keras_tuner as kt` becomes
`import lstmkit.tune as kt` (Optuna underneath) and the Keras imports become lstmkit.keras.

`sequence_length`, `features`, `X_train`, `y_train`, `X_val`, `y_val` are real data: the yearly
sunspot numbers shipped with lstmkit, 20 years in -> next year out, standardised with the
training years' mean and deviation; the last 20 % of the windows (the most recent years)
validate. The tuner's folder is a fresh temporary one (or $LSTMKIT_EXAMPLE_TUNER_DIR) and is
overwritten; LSTMKIT_EXAMPLE_EPOCHS / LSTMKIT_EXAMPLE_TRIALS shorten the search.
"""

import os
import tempfile

import numpy as np

import lstmkit.tune as kt  # was: import keras_tuner as kt
from lstmkit.data import load_sunspots
from lstmkit.keras.layers import LSTM, Dense  # was: tensorflow.keras.layers
from lstmkit.keras.models import Sequential  # was: tensorflow.keras.models

series = load_sunspots().values
sequence_length, features = 20, 1
windows = np.stack([series[i:i + sequence_length + 1] for i in range(len(series) - sequence_length)])
split = int(len(windows) * 0.8)
mean, std = series[:split + sequence_length].mean(), series[:split + sequence_length].std()  # training years only
windows = (windows - mean) / std
X_train, y_train = windows[:split, :-1, None], windows[:split, -1]
X_val, y_val = windows[split:, :-1, None], windows[split:, -1]
EPOCHS = int(os.environ.get("LSTMKIT_EXAMPLE_EPOCHS", 50))  # the slide trains for 50 epochs
TRIALS = int(os.environ.get("LSTMKIT_EXAMPLE_TRIALS", 10))  # the slide tries 10 settings
TUNER_DIR = os.environ.get("LSTMKIT_EXAMPLE_TUNER_DIR") or tempfile.mkdtemp(prefix="lstmkit-slide14-")


def build_model(hp):
    model = Sequential()
    model.add(LSTM(
        hp.Int('units', min_value=32, max_value=512, step=32),
        input_shape=(sequence_length, features)
    ))
    model.add(Dense(1))
    model.compile(
        optimizer=hp.Choice('optimizer', ['adam', 'rmsprop']),
        loss='mse'
    )
    return model

tuner = kt.RandomSearch(
    build_model,
    objective='val_loss',
    max_trials=TRIALS,
    executions_per_trial=2,
    seed=0, directory=TUNER_DIR, project_name="slide14", overwrite=True,  # added: reproducible, own folder
)

tuner.search(X_train, y_train, epochs=EPOCHS, validation_data=(X_val, y_val))
best_model = tuner.get_best_models(num_models=1)[0]

tuner.results_summary(num_trials=3)
predictions = best_model.predict(X_val[:5], verbose=0)
print("first 5 validation years, actual vs predicted sunspots:")
print(np.c_[y_val[:5] * std + mean, predictions.ravel() * std + mean].round(1))
