"""keras.io/examples/timeseries/timeseries_classification_from_scratch ("Timeseries classification
from scratch", FordA), with ``import keras`` -> ``from lstmkit import keras``.

Changed from the original: the FordA TSV files are synthetic files of the same layout (label
-1/1 in column 0, then the series) written locally, 120 + 60 series of length 100 instead of
3601 + 1320 of length 500; 6 epochs instead of 500, patiences shortened to fit. The model, the
callbacks (ModelCheckpoint to "best_model.keras", ReduceLROnPlateau, EarlyStopping), the fit,
``keras.models.load_model`` of the best model, evaluate and the history plot are the original's.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from lstmkit import keras
from tests.keras_programs._plot import plot_model_or_import_error


def write_forda_like(path, n, length, seed):
    """Two classes of noisy series: class 1 carries a sine, class -1 does not."""
    rng = np.random.default_rng(seed)
    y = rng.choice([-1.0, 1.0], size=n)
    t = np.arange(length)
    x = rng.normal(0, 1, size=(n, length)) + (y[:, None] > 0) * 1.5 * np.sin(t / 4.0)
    np.savetxt(path, np.column_stack([y, x]), delimiter="\t")


def test_timeseries_classification_from_scratch_program(tmp_path):
    write_forda_like(tmp_path / "FordA_TRAIN.tsv", 120, 100, 0)
    write_forda_like(tmp_path / "FordA_TEST.tsv", 60, 100, 1)

    def readucr(filename):
        data = np.loadtxt(filename, delimiter="\t")
        y = data[:, 0]
        x = data[:, 1:]
        return x, y.astype(int)

    root_url = str(tmp_path) + "/"

    x_train, y_train = readucr(root_url + "FordA_TRAIN.tsv")
    x_test, y_test = readucr(root_url + "FordA_TEST.tsv")

    classes = np.unique(np.concatenate((y_train, y_test), axis=0))

    plt.figure()
    for c in classes:
        c_x_train = x_train[y_train == c]
        plt.plot(c_x_train[0], label="class " + str(c))
    plt.legend(loc="best")
    plt.show()
    plt.close()

    x_train = x_train.reshape((x_train.shape[0], x_train.shape[1], 1))
    x_test = x_test.reshape((x_test.shape[0], x_test.shape[1], 1))

    num_classes = len(np.unique(y_train))

    idx = np.random.permutation(len(x_train))
    x_train = x_train[idx]
    y_train = y_train[idx]

    y_train[y_train == -1] = 0
    y_test[y_test == -1] = 0

    def make_model(input_shape):
        input_layer = keras.layers.Input(input_shape)

        conv1 = keras.layers.Conv1D(filters=64, kernel_size=3, padding="same")(input_layer)
        conv1 = keras.layers.BatchNormalization()(conv1)
        conv1 = keras.layers.ReLU()(conv1)

        conv2 = keras.layers.Conv1D(filters=64, kernel_size=3, padding="same")(conv1)
        conv2 = keras.layers.BatchNormalization()(conv2)
        conv2 = keras.layers.ReLU()(conv2)

        conv3 = keras.layers.Conv1D(filters=64, kernel_size=3, padding="same")(conv2)
        conv3 = keras.layers.BatchNormalization()(conv3)
        conv3 = keras.layers.ReLU()(conv3)

        gap = keras.layers.GlobalAveragePooling1D()(conv3)

        output_layer = keras.layers.Dense(num_classes, activation="softmax")(gap)

        return keras.models.Model(inputs=input_layer, outputs=output_layer)

    model = make_model(input_shape=x_train.shape[1:])
    plot_model_or_import_error(model, show_shapes=True)

    epochs = 6
    batch_size = 32

    callbacks = [
        keras.callbacks.ModelCheckpoint("best_model.keras", save_best_only=True, monitor="val_loss"),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, min_lr=0.0001),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, verbose=1),
    ]
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=["sparse_categorical_accuracy"],
    )
    history = model.fit(
        x_train,
        y_train,
        batch_size=batch_size,
        epochs=epochs,
        callbacks=callbacks,
        validation_split=0.2,
        verbose=1,
    )

    model = keras.models.load_model("best_model.keras")

    test_loss, test_acc = model.evaluate(x_test, y_test)

    print("Test accuracy", test_acc)
    print("Test loss", test_loss)

    metric = "sparse_categorical_accuracy"
    plt.figure()
    plt.plot(history.history[metric])
    plt.plot(history.history["val_" + metric])
    plt.title("model " + metric)
    plt.ylabel(metric, fontsize="large")
    plt.xlabel("epoch", fontsize="large")
    plt.legend(["train", "val"], loc="best")
    plt.show()
    plt.close()

    assert {"loss", "sparse_categorical_accuracy", "val_loss", "val_sparse_categorical_accuracy",
            "learning_rate"} <= set(history.history)
    assert 1 <= len(history.history["loss"]) <= epochs
    best = int(np.argmin(history.history["val_loss"]))
    assert 0.0 <= test_acc <= 1.0 and np.isfinite(test_loss)
    # the reloaded model is the best epoch's: its loss on the validation split is that epoch's val_loss
    x_v, y_v = x_train[-int(0.2 * len(x_train)):], y_train[-int(0.2 * len(x_train)):]
    val_loss, _ = model.evaluate(x_v, y_v, verbose=0)
    np.testing.assert_allclose(val_loss, history.history["val_loss"][best], rtol=1e-4)
