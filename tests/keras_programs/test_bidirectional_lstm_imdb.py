"""keras.io/examples/nlp/bidirectional_lstm_imdb ("Bidirectional LSTM on IMDB"), with
``import keras`` -> ``from lstmkit import keras`` and ``from keras import layers`` ->
``from lstmkit.keras import layers``.

Changed from the original: ``keras.datasets.imdb.load_data`` is replaced by a function returning
the same kind of data offline (object arrays of Python lists of word indices, 0/1 labels), 96
reviews instead of 25000; maxlen 40 instead of 200; 2 epochs. The model and calls are the original's.
"""

from __future__ import annotations

import numpy as np

from lstmkit import keras
from lstmkit.keras import layers


def imdb_like_load_data(num_words, n=96, seed=0):
    """``(x_train, y_train), (x_val, y_val)`` as ``keras.datasets.imdb.load_data`` returns them:
    object arrays of variable-length lists of ints in [1, num_words), int64 labels."""
    rng = np.random.default_rng(seed)

    def split():
        lengths = rng.integers(5, 60, size=n)
        x = np.empty(n, dtype=object)
        for i, length in enumerate(lengths):
            x[i] = [1] + rng.integers(2, num_words, size=length).tolist()
        return x, rng.integers(0, 2, size=n).astype("int64")

    return split(), split()


def test_bidirectional_lstm_imdb_program():
    max_features = 20000  # Only consider the top 20k words
    maxlen = 40  # Only consider the first 40 words of each movie review

    # Input for variable-length sequences of integers
    inputs = keras.Input(shape=(None,), dtype="int32")
    # Embed each integer in a 128-dimensional vector
    x = layers.Embedding(max_features, 128)(inputs)
    # Add 2 bidirectional LSTMs
    x = layers.Bidirectional(layers.LSTM(64, return_sequences=True))(x)
    x = layers.Bidirectional(layers.LSTM(64))(x)
    # Add a classifier
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.summary()

    (x_train, y_train), (x_val, y_val) = imdb_like_load_data(num_words=max_features)
    print(len(x_train), "Training sequences")
    print(len(x_val), "Validation sequences")
    # Use pad_sequence to standardize sequence length:
    # this will truncate sequences longer than 200 words and zero-pad sequences shorter than 200 words.
    x_train = keras.utils.pad_sequences(x_train, maxlen=maxlen)
    x_val = keras.utils.pad_sequences(x_val, maxlen=maxlen)

    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=32, epochs=2, validation_data=(x_val, y_val))

    assert x_train.shape == (96, maxlen) and x_train.dtype == np.int32
    assert model.output_shape == (None, 1)
    assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert history.history["loss"][1] < history.history["loss"][0]
    preds = model.predict(x_val[:5])
    assert preds.shape == (5, 1) and np.all((preds > 0) & (preds < 1))
