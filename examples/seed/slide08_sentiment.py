"""Slide 8: an LSTM for binary sentiment classification; only imports changed.

`X_train`, `y_train`, `X_val`, `y_val` are CLEARLY SYNTHETIC here: random "reviews" of word ids
in which a few ids stand for positive or negative words, labelled by which kind dominates. (The
real Rotten Tomatoes application is `lstmkit sentiment`.) vocab_size, embedding_dim and
max_length are the slide's.
"""

import os

import numpy as np

from lstmkit.keras.layers import LSTM, Dense, Embedding  # was: tensorflow.keras.layers
from lstmkit.keras.models import Sequential

vocab_size = 10000
embedding_dim = 100
max_length = 200

rng = np.random.default_rng(0)
positive, negative = np.arange(2, 12), np.arange(12, 22)  # the "sentiment" words


def make_reviews(n: int) -> tuple[np.ndarray, np.ndarray]:
    x = rng.integers(22, vocab_size, size=(n, max_length))
    y = rng.integers(0, 2, size=n)
    for row, label in zip(x, y):
        where = rng.choice(max_length, size=12, replace=False)
        row[where] = rng.choice(positive if label else negative, size=12)
    return x, y.astype("float32")


X_train, y_train = make_reviews(512)
X_val, y_val = make_reviews(128)
EPOCHS = int(os.environ.get("LSTMKIT_EXAMPLE_EPOCHS", 10))

model = Sequential([
    Embedding(vocab_size, embedding_dim, input_length=max_length),
    LSTM(128),
    Dense(1, activation='sigmoid')
])

model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])
history = model.fit(X_train, y_train, epochs=EPOCHS, batch_size=32, validation_data=(X_val, y_val))

predictions = model.predict(X_val[:8], verbose=0)
print("P(positive) for 8 validation reviews:", predictions.ravel().round(2))
