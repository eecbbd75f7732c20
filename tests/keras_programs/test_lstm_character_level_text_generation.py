"""keras.io/examples/generative/lstm_character_level_text_generation ("Character-level text
generation with LSTM"), with ``import keras`` -> ``from lstmkit import keras`` and
``from keras import layers`` -> ``from lstmkit.keras import layers``.

Changed from the original: the Nietzsche corpus is a small generated text written to a local
file (``keras.utils.get_file`` is not asked to download); 2 epochs instead of 40; 15 generated
characters per diversity instead of 400. The model, the ``sample`` function and the generation
loop (one ``model.predict`` per character) are the original's.
"""

# ruff: noqa: UP020, UP031, UP032, B007 -- the keras.io code as published (old-style formatting, unused loop names)

from __future__ import annotations

import io
import random

import numpy as np

from lstmkit import keras
from lstmkit.keras import layers

WORDS = ("what is truth but a mobile army of metaphors metonyms and anthropomorphisms in short "
         "a sum of human relations which have been enhanced transposed and embellished").split()


def write_corpus(path, n_words=600, seed=0):
    rng = np.random.default_rng(seed)
    words = [WORDS[i] for i in rng.integers(0, len(WORDS), size=n_words)]
    lines = [" ".join(words[i : i + 12]).capitalize() + "." for i in range(0, n_words, 12)]
    path.write_text("\n".join(lines), encoding="utf-8")


def test_character_level_text_generation_program(tmp_path):
    path = tmp_path / "nietzsche.txt"
    write_corpus(path)
    with io.open(path, encoding="utf-8") as f:
        text = f.read().lower()
    text = text.replace("\n", " ")  # We remove newlines chars for nicer display
    print("Corpus length:", len(text))

    chars = sorted(list(set(text)))
    print("Total chars:", len(chars))
    char_indices = dict((c, i) for i, c in enumerate(chars))
    indices_char = dict((i, c) for i, c in enumerate(chars))

    # cut the text in semi-redundant sequences of maxlen characters
    maxlen = 40
    step = 3
    sentences = []
    next_chars = []
    for i in range(0, len(text) - maxlen, step):
        sentences.append(text[i : i + maxlen])
        next_chars.append(text[i + maxlen])
    print("Number of sequences:", len(sentences))

    x = np.zeros((len(sentences), maxlen, len(chars)), dtype="bool")
    y = np.zeros((len(sentences), len(chars)), dtype="bool")
    for i, sentence in enumerate(sentences):
        for t, char in enumerate(sentence):
            x[i, t, char_indices[char]] = 1
        y[i, char_indices[next_chars[i]]] = 1

    model = keras.Sequential(
        [
            keras.Input(shape=(maxlen, len(chars))),
            layers.LSTM(128),
            layers.Dense(len(chars), activation="softmax"),
        ]
    )
    optimizer = keras.optimizers.RMSprop(learning_rate=0.01)
    model.compile(loss="categorical_crossentropy", optimizer=optimizer)

    def sample(preds, temperature=1.0):
        # helper function to sample an index from a probability array
        preds = np.asarray(preds).astype("float64")
        preds = np.log(preds) / temperature
        exp_preds = np.exp(preds)
        preds = exp_preds / np.sum(exp_preds)
        probas = np.random.multinomial(1, preds, 1)
        return np.argmax(probas)

    epochs = 2
    batch_size = 128

    losses, generations = [], []
    for epoch in range(epochs):
        history = model.fit(x, y, batch_size=batch_size, epochs=1)
        losses += history.history["loss"]
        print()
        print("Generating text after epoch: %d" % epoch)

        start_index = random.randint(0, len(text) - maxlen - 1)
        for diversity in [0.2, 0.5, 1.0, 1.2]:
            print("...Diversity:", diversity)

            generated = ""
            sentence = text[start_index : start_index + maxlen]
            print('...Generating with seed: "' + sentence + '"')

            for i in range(15):
                x_pred = np.zeros((1, maxlen, len(chars)))
                for t, char in enumerate(sentence):
                    x_pred[0, t, char_indices[char]] = 1.0
                preds = model.predict(x_pred, verbose=0)[0]
                next_index = sample(preds, diversity)
                next_char = indices_char[next_index]
                sentence = sentence[1:] + next_char
                generated += next_char

            print("...Generated: ", generated)
            print("-")
            generations.append(generated)

    assert len(losses) == epochs and losses[-1] < losses[0]
    assert len(generations) == 8 and all(len(g) == 15 and set(g) <= set(chars) for g in generations)
