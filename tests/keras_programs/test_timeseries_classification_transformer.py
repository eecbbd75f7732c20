"""keras.io/examples/timeseries/timeseries_classification_transformer ("Timeseries classification
with a Transformer model", FordA), with ``import keras`` -> ``from lstmkit import keras`` and
``from keras import layers`` -> ``from lstmkit.keras import layers``.

Changed from the original: the FordA arrays are random arrays of the same layout ((n, length, 1)
floats, labels 0/1), 64 + 32 series of length 50 instead of 3601 + 1320 of length 500; 2 blocks,
head_size 16 instead of 4 blocks of 256, 3 epochs instead of 150. The encoder block, the
``GlobalAveragePooling1D(data_format="channels_first")`` head and the calls are the original's.
"""

from __future__ import annotations

import numpy as np

from lstmkit import keras
from lstmkit.keras import layers


def test_timeseries_classification_transformer_program():
    rng = np.random.default_rng(0)
    x_train = rng.normal(size=(64, 50, 1))
    y_train = rng.integers(0, 2, size=64)
    x_test = rng.normal(size=(32, 50, 1))
    y_test = rng.integers(0, 2, size=32)

    n_classes = len(np.unique(y_train))

    idx = np.random.permutation(len(x_train))
    x_train = x_train[idx]
    y_train = y_train[idx]

    def transformer_encoder(inputs, head_size, num_heads, ff_dim, dropout=0):
        # Attention and Normalization
        x = layers.MultiHeadAttention(key_dim=head_size, num_heads=num_heads, dropout=dropout)(inputs, inputs)
        x = layers.Dropout(dropout)(x)
        x = layers.LayerNormalization(epsilon=1e-6)(x)
        res = x + inputs

        # Feed Forward Part
        x = layers.Conv1D(filters=ff_dim, kernel_size=1, activation="relu")(res)
        x = layers.Dropout(dropout)(x)
        x = layers.Conv1D(filters=inputs.shape[-1], kernel_size=1)(x)
        x = layers.LayerNormalization(epsilon=1e-6)(x)
        return x + res

    def build_model(
        input_shape,
        head_size,
        num_heads,
        ff_dim,
        num_transformer_blocks,
        mlp_units,
        dropout=0,
        mlp_dropout=0,
    ):
        inputs = keras.Input(shape=input_shape)
        x = inputs
        for _ in range(num_transformer_blocks):
            x = transformer_encoder(x, head_size, num_heads, ff_dim, dropout)

        x = layers.GlobalAveragePooling1D(data_format="channels_first")(x)
        for dim in mlp_units:
            x = layers.Dense(dim, activation="relu")(x)
            x = layers.Dropout(mlp_dropout)(x)
        outputs = layers.Dense(n_classes, activation="softmax")(x)
        return keras.Model(inputs, outputs)

    input_shape = x_train.shape[1:]

    model = build_model(
        input_shape,
        head_size=16,
        num_heads=4,
        ff_dim=4,
        num_transformer_blocks=2,
        mlp_units=[128],
        mlp_dropout=0.4,
        dropout=0.25,
    )

    model.compile(
        loss="sparse_categorical_crossentropy",
        optimizer=keras.optimizers.Adam(learning_rate=1e-4),
        metrics=["sparse_categorical_accuracy"],
    )
    model.summary()

    callbacks = [keras.callbacks.EarlyStopping(patience=10, restore_best_weights=True)]

    history = model.fit(
        x_train,
        y_train,
        validation_split=0.2,
        epochs=3,
        batch_size=64,
        callbacks=callbacks,
    )

    result = model.evaluate(x_test, y_test, verbose=1)

    assert model.layers[-4].output.shape == (None, 50)  # channels_first pooling averages the 1 feature
    assert len(result) == 2 and np.isfinite(result[0]) and 0 <= result[1] <= 1
    assert sorted(history.history) == ["loss", "sparse_categorical_accuracy", "val_loss",
                                       "val_sparse_categorical_accuracy"]
    assert model.predict(x_test[:3]).shape == (3, n_classes)
