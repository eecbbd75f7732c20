"""keras.io/examples/timeseries/timeseries_weather_forecasting ("Timeseries forecasting for weather
prediction"), with ``import keras`` -> ``from lstmkit import keras``.

Changed from the original: the Jena climate CSV is a synthetic DataFrame of the same columns
(14 float features and "Date Time"), 3000 rows instead of 420551; past/future/epochs are smaller.
The model, callbacks, fit call, history plot and single-step prediction loop are the original's.
"""

# ruff: noqa: UP020, UP031, UP032, B007 -- the keras.io code as published (old-style formatting, unused loop names)

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from lstmkit import keras

TITLES = ["Pressure", "Temperature", "Temperature in Kelvin", "Temperature (dew point)", "Relative Humidity",
          "Saturation vapor pressure", "Vapor pressure", "Vapor pressure deficit", "Specific humidity",
          "Water vapor concentration", "Airtight", "Wind speed", "Maximum wind speed", "Wind direction in degrees"]
FEATURE_KEYS = ["p (mbar)", "T (degC)", "Tpot (K)", "Tdew (degC)", "rh (%)", "VPmax (mbar)", "VPact (mbar)",
                "VPdef (mbar)", "sh (g/kg)", "H2OC (mmol/mol)", "rho (g/m**3)", "wv (m/s)", "max. wv (m/s)",
                "wd (deg)"]
DATE_TIME_KEY = "Date Time"


def jena_like_frame(rows: int) -> pd.DataFrame:
    """The Jena climate table's columns, smooth random series (10-minute steps)."""
    rng = np.random.default_rng(0)
    t = np.arange(rows)
    data = {DATE_TIME_KEY: pd.date_range("2009-01-01", periods=rows, freq="10min").strftime("%d.%m.%Y %H:%M:%S")}
    for k, key in enumerate(FEATURE_KEYS):
        data[key] = (np.sin(t / (50.0 + 7 * k)) * (k + 1) + rng.normal(0, 0.1, rows) + 10 * k).astype("float64")
    return pd.DataFrame(data)


def test_weather_forecasting_program():
    df = jena_like_frame(3000)

    split_fraction = 0.715
    train_split = int(split_fraction * int(df.shape[0]))
    step = 6

    past = 120
    future = 12
    learning_rate = 0.001
    batch_size = 256
    epochs = 3

    def normalize(data, train_split):
        data_mean = data[:train_split].mean(axis=0)
        data_std = data[:train_split].std(axis=0)
        return (data - data_mean) / data_std

    print(
        "The selected parameters are:",
        ", ".join([TITLES[i] for i in [0, 1, 5, 7, 8, 10, 11]]),
    )
    selected_features = [FEATURE_KEYS[i] for i in [0, 1, 5, 7, 8, 10, 11]]
    features = df[selected_features]
    features.index = df[DATE_TIME_KEY]
    features.head()

    features = normalize(features.values, train_split)
    features = pd.DataFrame(features)
    features.head()

    train_data = features.loc[0 : train_split - 1]
    val_data = features.loc[train_split:]

    start = past + future
    end = start + train_split

    x_train = train_data[[i for i in range(7)]].values
    y_train = features.iloc[start:end][[1]]

    sequence_length = int(past / step)

    dataset_train = keras.preprocessing.timeseries_dataset_from_array(
        x_train,
        y_train,
        sequence_length=sequence_length,
        sampling_rate=step,
        batch_size=batch_size,
    )

    x_end = len(val_data) - past - future

    label_start = train_split + past + future

    x_val = val_data.iloc[:x_end][[i for i in range(7)]].values
    y_val = features.iloc[label_start:][[1]]

    dataset_val = keras.preprocessing.timeseries_dataset_from_array(
        x_val,
        y_val,
        sequence_length=sequence_length,
        sampling_rate=step,
        batch_size=batch_size,
    )

    for batch in dataset_train.take(1):
        inputs, targets = batch

    print("Input shape:", inputs.numpy().shape)
    print("Target shape:", targets.numpy().shape)
    assert inputs.numpy().shape == (batch_size, sequence_length, 7)
    assert targets.numpy().shape == (batch_size, 1)

    inputs = keras.layers.Input(shape=(inputs.shape[1], inputs.shape[2]))
    lstm_out = keras.layers.LSTM(32)(inputs)
    outputs = keras.layers.Dense(1)(lstm_out)

    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="mse")
    model.summary()

    path_checkpoint = "model_checkpoint.weights.h5"
    es_callback = keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=0, patience=5)

    modelckpt_callback = keras.callbacks.ModelCheckpoint(
        monitor="val_loss",
        filepath=path_checkpoint,
        verbose=1,
        save_weights_only=True,
        save_best_only=True,
    )

    history = model.fit(
        dataset_train,
        epochs=epochs,
        validation_data=dataset_val,
        callbacks=[es_callback, modelckpt_callback],
    )

    def visualize_loss(history, title):
        loss = history.history["loss"]
        val_loss = history.history["val_loss"]
        epochs = range(len(loss))
        plt.figure()
        plt.plot(epochs, loss, "b", label="Training loss")
        plt.plot(epochs, val_loss, "r", label="Validation loss")
        plt.title(title)
        plt.xlabel("Epochs")
        plt.ylabel("Loss")
        plt.legend()
        plt.show()
        return loss, val_loss

    loss, val_loss = visualize_loss(history, "Training and Validation Loss")

    def show_plot(plot_data, delta, title):
        labels = ["History", "True Future", "Model Prediction"]
        marker = [".-", "rx", "go"]
        time_steps = list(range(-(plot_data[0].shape[0]), 0))
        if delta:
            future = delta
        else:
            future = 0

        plt.title(title)
        for i, val in enumerate(plot_data):
            if i:
                plt.plot(future, plot_data[i], marker[i], markersize=10, label=labels[i])
            else:
                plt.plot(time_steps, plot_data[i].flatten(), marker[i], label=labels[i])
        plt.legend()
        plt.xlim([time_steps[0], (future + 5) * 2])
        plt.xlabel("Time-Step")
        plt.show()
        return

    shown = []
    for x, y in dataset_val.take(5):
        plot_data = [x[0][:, 1].numpy(), y[0].numpy(), model.predict(x)[0]]
        show_plot(plot_data, 12, "Single Step Prediction")
        shown.append(plot_data)

    assert len(loss) == len(val_loss) == epochs and np.all(np.isfinite(loss + val_loss))
    assert loss[-1] < loss[0]
    model.load_weights(path_checkpoint)  # the best epoch's weights, saved by ModelCheckpoint
    assert len(shown) == min(5, len(dataset_val))
    assert shown[0][0].shape == (sequence_length,) and shown[0][1].shape == (1,) and shown[0][2].shape == (1,)
