"""keras.io/examples/nlp/addition_rnn ("Sequence to sequence learning for performing number
addition"), with ``import keras`` -> ``from lstmkit import keras`` and ``from keras import layers``
-> ``from lstmkit.keras import layers``.

Changed from the original: 1000 questions instead of 50000, 2 iterations of 1 epoch instead of
29, 3 sample decodings per iteration instead of 10. The data is the original's own generator
(one-hot ``bool`` arrays). Both decoders are run: the Keras 3 example's plain ``Dense`` and the
Keras 2 example's ``TimeDistributed(Dense)``.
"""

# ruff: noqa: UP020, UP031, UP032, B007 -- the keras.io code as published (old-style formatting, unused loop names)

from __future__ import annotations

import numpy as np
import pytest

from lstmkit import keras
from lstmkit.keras import layers


class CharacterTable:
    """Given a set of characters:
    + Encode them to a one-hot integer representation
    + Decode the one-hot or integer representation to their character output
    + Decode a vector of probabilities to their character output
    """

    def __init__(self, chars):
        self.chars = sorted(set(chars))
        self.char_indices = dict((c, i) for i, c in enumerate(self.chars))
        self.indices_char = dict((i, c) for i, c in enumerate(self.chars))

    def encode(self, C, num_rows):
        x = np.zeros((num_rows, len(self.chars)))
        for i, c in enumerate(C):
            x[i, self.char_indices[c]] = 1
        return x

    def decode(self, x, calc_argmax=True):
        if calc_argmax:
            x = x.argmax(axis=-1)
        return "".join(self.indices_char[x] for x in x)


@pytest.mark.parametrize("decoder", ["dense", "time_distributed"])
def test_addition_rnn_program(decoder):
    TRAINING_SIZE = 1000
    DIGITS = 3
    REVERSE = True
    MAXLEN = DIGITS + 1 + DIGITS

    chars = "0123456789+ "
    ctable = CharacterTable(chars)

    questions = []
    expected = []
    seen = set()
    print("Generating data...")
    while len(questions) < TRAINING_SIZE:
        f = lambda: int(  # noqa: E731
            "".join(np.random.choice(list("0123456789")) for i in range(np.random.randint(1, DIGITS + 1)))
        )
        a, b = f(), f()
        key = tuple(sorted((a, b)))
        if key in seen:
            continue
        seen.add(key)
        q = "{}+{}".format(a, b)
        query = q + " " * (MAXLEN - len(q))
        ans = str(a + b)
        ans += " " * (DIGITS + 1 - len(ans))
        if REVERSE:
            query = query[::-1]
        questions.append(query)
        expected.append(ans)
    print("Total questions:", len(questions))

    print("Vectorization...")
    x = np.zeros((len(questions), MAXLEN, len(chars)), dtype=bool)
    y = np.zeros((len(questions), DIGITS + 1, len(chars)), dtype=bool)
    for i, sentence in enumerate(questions):
        x[i] = ctable.encode(sentence, MAXLEN)
    for i, sentence in enumerate(expected):
        y[i] = ctable.encode(sentence, DIGITS + 1)

    indices = np.arange(len(y))
    np.random.shuffle(indices)
    x = x[indices]
    y = y[indices]

    split_at = len(x) - len(x) // 10
    (x_train, x_val) = x[:split_at], x[split_at:]
    (y_train, y_val) = y[:split_at], y[split_at:]

    print("Training Data:")
    print(x_train.shape)
    print(y_train.shape)

    print("Build model...")
    num_layers = 1

    model = keras.Sequential()
    model.add(layers.Input((MAXLEN, len(chars))))
    model.add(layers.LSTM(128))
    model.add(layers.RepeatVector(DIGITS + 1))
    for _ in range(num_layers):
        model.add(layers.LSTM(128, return_sequences=True))
    if decoder == "dense":
        model.add(layers.Dense(len(chars), activation="softmax"))
    else:
        model.add(layers.TimeDistributed(layers.Dense(len(chars), activation="softmax")))
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.summary()

    epochs = 3
    batch_size = 32

    histories, guesses = [], []
    for epoch in range(1, epochs):
        print()
        print("Iteration", epoch)
        history = model.fit(
            x_train,
            y_train,
            batch_size=batch_size,
            epochs=1,
            validation_data=(x_val, y_val),
        )
        histories.append(history.history)
        for i in range(3):
            ind = np.random.randint(0, len(x_val))
            rowx, rowy = x_val[np.array([ind])], y_val[np.array([ind])]
            preds = np.argmax(model.predict(rowx, verbose=0), axis=-1)
            q = ctable.decode(rowx[0])
            correct = ctable.decode(rowy[0])
            guess = ctable.decode(preds[0], calc_argmax=False)
            print("Q", q[::-1] if REVERSE else q, end=" ")
            print("T", correct, end=" ")
            if correct == guess:
                print("☑ " + guess)
            else:
                print("☒ " + guess)
            guesses.append(guess)

    assert model.output_shape == (None, DIGITS + 1, len(chars))
    assert all(sorted(h) == ["accuracy", "loss", "val_accuracy", "val_loss"] for h in histories)
    assert histories[-1]["loss"][0] < histories[0]["loss"][0]
    assert len(guesses) == 6 and all(len(g) == DIGITS + 1 and set(g) <= set(chars) for g in guesses)
