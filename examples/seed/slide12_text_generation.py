"""Slide 12: character-level text generation; only imports changed, plus the slide's bug fixed.

The bug: the slide trains on one-hot input of shape (sequence_length, num_characters) but
generate_text feeds (1, sequence_length, 1) arrays of index / num_characters, which the model
cannot take. Here generate_text one-hot encodes the window like the training data, and samples
the next character with a temperature instead of always taking the argmax (argmax loops).

Text: "The Zen of Python" (PEP 20, public domain), which ships inside Python as the `this` module.
"""

import codecs
import contextlib
import io
import os

import numpy as np

from lstmkit.keras.layers import LSTM, Dense  # was: tensorflow.keras.layers
from lstmkit.keras.models import Sequential

with contextlib.redirect_stdout(io.StringIO()):  # `import this` prints the poem; keep it quiet
    import this
text = codecs.decode(this.s, "rot13")
chars = sorted(set(text))
num_characters = len(chars)
char_to_index = {c: i for i, c in enumerate(chars)}
index_to_char = {i: c for i, c in enumerate(chars)}
sequence_length = 40

# one-hot windows: X (N, sequence_length, num_characters), y (N, num_characters)
starts = range(0, len(text) - sequence_length, 2)
X = np.zeros((len(starts), sequence_length, num_characters), dtype="float32")
y = np.zeros((len(starts), num_characters), dtype="float32")
for n, s in enumerate(starts):
    for t, ch in enumerate(text[s:s + sequence_length]):
        X[n, t, char_to_index[ch]] = 1.0
    y[n, char_to_index[text[s + sequence_length]]] = 1.0
EPOCHS = int(os.environ.get("LSTMKIT_EXAMPLE_EPOCHS", 30))

model = Sequential([
    LSTM(128, input_shape=(sequence_length, num_characters), return_sequences=True),
    LSTM(128),
    Dense(num_characters, activation='softmax')
])

model.compile(loss='categorical_crossentropy', optimizer='adam')
history = model.fit(X, y, epochs=EPOCHS, batch_size=32, verbose=2)

rng = np.random.default_rng(0)


def generate_text(seed_text, num_chars, temperature=0.5):
    generated_text = seed_text
    for _ in range(num_chars):
        window = generated_text[-sequence_length:].rjust(sequence_length)  # left-pad short seeds
        x = np.zeros((1, sequence_length, num_characters), dtype="float32")  # fixed: one-hot, like training
        for t, c in enumerate(window):
            x[0, t, char_to_index.get(c, char_to_index[" "])] = 1.0
        pred = model.predict(x, verbose=0)[0].astype("float64")
        logits = np.log(np.maximum(pred, 1e-12)) / temperature  # fixed: sample with a temperature
        probs = np.exp(logits - logits.max())
        next_char = index_to_char[int(rng.choice(num_characters, p=probs / probs.sum()))]
        generated_text += next_char
    return generated_text


sample = generate_text("Beautiful is better than ", 100)
print(sample)
predictions = model.predict(X[:3], verbose=0)
