"""keras.io/examples/nlp/text_classification_from_scratch ("Text classification from scratch"),
with ``import keras`` -> ``from lstmkit import keras`` and ``from keras import layers`` ->
``from lstmkit.keras import layers``.

Changed from the original: the aclImdb folders hold 60 + 30 generated reviews per class (with
``<br />`` and punctuation, as the real ones), max_features 2000, sequence_length 100, 5 epochs.
The original uses TensorFlow for its string ops, which is not part of Keras and not installed:
``custom_standardization`` does the same with ``re`` on the NumPy array of strings the layer
passes it, and ``tf.expand_dims`` is ``np.expand_dims``. The model, the ``map`` pipeline, fit,
evaluate and the end-to-end string model are the original's; the end-to-end model is an
xfail test (string inputs in a functional graph are a missing feature).
"""

from __future__ import annotations

import re
import string

import numpy as np
import pytest

from lstmkit import keras
from lstmkit.keras import layers
from tests.keras_programs._texts import STRING_INPUTS, write_text_folders


def run_program(tmp_path, end_to_end):
    write_text_folders(tmp_path / "aclImdb", "train", ["neg", "pos"], 60, seed=0)
    write_text_folders(tmp_path / "aclImdb", "test", ["neg", "pos"], 30, seed=1)

    batch_size = 32
    raw_train_ds = keras.utils.text_dataset_from_directory(
        str(tmp_path / "aclImdb/train"),
        batch_size=batch_size,
        validation_split=0.2,
        subset="training",
        seed=1337,
    )
    raw_val_ds = keras.utils.text_dataset_from_directory(
        str(tmp_path / "aclImdb/train"),
        batch_size=batch_size,
        validation_split=0.2,
        subset="validation",
        seed=1337,
    )
    raw_test_ds = keras.utils.text_dataset_from_directory(str(tmp_path / "aclImdb/test"), batch_size=batch_size)

    print(f"Number of batches in raw_train_ds: {raw_train_ds.cardinality()}")
    print(f"Number of batches in raw_val_ds: {raw_val_ds.cardinality()}")
    print(f"Number of batches in raw_test_ds: {raw_test_ds.cardinality()}")

    for text_batch, label_batch in raw_train_ds.take(1):
        for i in range(5):
            print(text_batch.numpy()[i])
            print(label_batch.numpy()[i])

    # (tf.strings.lower / regex_replace in the original)
    def custom_standardization(input_data):
        lowercase = np.char.lower(input_data)
        stripped_html = np.char.replace(lowercase, "<br />", " ")
        pattern = re.compile(f"[{re.escape(string.punctuation)}]")
        return np.vectorize(lambda s: pattern.sub("", s), otypes=[str])(stripped_html)

    # Model constants.
    max_features = 2000
    embedding_dim = 128
    sequence_length = 100

    vectorize_layer = keras.layers.TextVectorization(
        standardize=custom_standardization,
        max_tokens=max_features,
        output_mode="int",
        output_sequence_length=sequence_length,
    )

    # Let's make a text-only dataset (no labels):
    text_ds = raw_train_ds.map(lambda x, y: x)
    # Let's call `adapt`:
    vectorize_layer.adapt(text_ds)

    def vectorize_text(text, label):
        text = np.expand_dims(text, -1)  # (tf.expand_dims in the original)
        return vectorize_layer(text), label

    # Vectorize the data.
    train_ds = raw_train_ds.map(vectorize_text)
    val_ds = raw_val_ds.map(vectorize_text)
    test_ds = raw_test_ds.map(vectorize_text)

    # Do async prefetching / buffering of the data for best performance on GPU.
    train_ds = train_ds.cache().prefetch(buffer_size=10)
    val_ds = val_ds.cache().prefetch(buffer_size=10)
    test_ds = test_ds.cache().prefetch(buffer_size=10)

    # A integer input for vocab indices.
    inputs = keras.Input(shape=(None,), dtype="int64")

    # Next, we add a layer to map those vocab indices into a space of dimensionality
    # 'embedding_dim'.
    x = layers.Embedding(max_features, embedding_dim)(inputs)
    x = layers.Dropout(0.5)(x)

    # Conv1D + global max pooling
    x = layers.Conv1D(128, 7, padding="valid", activation="relu", strides=3)(x)
    x = layers.Conv1D(128, 7, padding="valid", activation="relu", strides=3)(x)
    x = layers.GlobalMaxPooling1D()(x)

    # We add a vanilla hidden layer:
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Dropout(0.5)(x)

    # We project onto a single unit output layer, and squash it with a sigmoid:
    predictions = layers.Dense(1, activation="sigmoid", name="predictions")(x)

    model = keras.Model(inputs, predictions)

    # Compile the model with binary crossentropy loss and an adam optimizer.
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])

    epochs = 5

    # Fit the model using the train and test datasets.
    history = model.fit(train_ds, validation_data=val_ds, epochs=epochs)

    test_result = model.evaluate(test_ds)

    assert len(history.history["loss"]) == epochs and history.history["loss"][-1] < history.history["loss"][0]
    assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert len(test_result) == 2 and 0 <= test_result[1] <= 1
    if not end_to_end:
        return

    # A string input
    inputs = keras.Input(shape=(1,), dtype="string")
    # Turn strings into vocab indices
    indices = vectorize_layer(inputs)
    # Turn vocab indices into predictions
    outputs = model(indices)

    # Our end to end model
    end_to_end_model = keras.Model(inputs, outputs)
    end_to_end_model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])

    # Test it with `raw_test_ds`, which yields raw strings
    end_to_end_result = end_to_end_model.evaluate(raw_test_ds)

    # the end-to-end model is the same model on the same texts
    np.testing.assert_allclose(end_to_end_result, test_result, rtol=1e-5)


def test_text_classification_from_scratch_program(tmp_path):
    run_program(tmp_path, end_to_end=False)


@pytest.mark.xfail(strict=True, raises=(TypeError, ValueError), reason=STRING_INPUTS)
def test_text_classification_end_to_end_string_model(tmp_path):
    run_program(tmp_path, end_to_end=True)
