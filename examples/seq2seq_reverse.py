"""Keras' "Character-level recurrent sequence-to-sequence model" (keras.io/examples/nlp/lstm_seq2seq)
on a task small enough to learn in seconds: reverse a string of digits ("3141" -> "1413").

Only the import changed (``import keras`` -> ``from lstmkit import keras``). As in the Keras
example: an encoder LSTM with ``return_state=True`` gives its states to the decoder LSTM as
``initial_state=``; the model is trained with teacher forcing (the decoder reads the target
shifted by one step); then two inference models built from the same layer objects (so they
share the trained weights) decode greedily, one character at a time, feeding each prediction and
the decoder's states back in. LSTMKIT_EXAMPLE_EPOCHS (default 20) and LSTMKIT_EXAMPLE_SAMPLES
(default 3000) make the run shorter or longer.
"""

import os

import numpy as np

from lstmkit import keras  # was: import keras

keras.utils.set_random_seed(0)
EPOCHS = int(os.environ.get("LSTMKIT_EXAMPLE_EPOCHS", 20))
NUM_SAMPLES = int(os.environ.get("LSTMKIT_EXAMPLE_SAMPLES", 3000))
DIGITS = "0123456789"
LENGTH = 4  # digits per string
latent_dim = 64

# ---------------------------------------------------------------- the data, as the Keras example builds it
rng = np.random.default_rng(0)
input_texts = ["".join(rng.choice(list(DIGITS), size=LENGTH)) for _ in range(NUM_SAMPLES)]
# "\t" starts a target, "\n" ends it (the example's convention)
target_texts = ["\t" + text[::-1] + "\n" for text in input_texts]
input_characters = sorted(set(DIGITS))
target_characters = sorted(set(DIGITS) | {"\t", "\n"})
num_encoder_tokens = len(input_characters)
num_decoder_tokens = len(target_characters)
max_encoder_seq_length = max(len(t) for t in input_texts)
max_decoder_seq_length = max(len(t) for t in target_texts)
input_token_index = {char: i for i, char in enumerate(input_characters)}
target_token_index = {char: i for i, char in enumerate(target_characters)}

encoder_input_data = np.zeros((len(input_texts), max_encoder_seq_length, num_encoder_tokens), dtype="float32")
decoder_input_data = np.zeros((len(input_texts), max_decoder_seq_length, num_decoder_tokens), dtype="float32")
decoder_target_data = np.zeros((len(input_texts), max_decoder_seq_length, num_decoder_tokens), dtype="float32")
for i, (input_text, target_text) in enumerate(zip(input_texts, target_texts)):
    for t, char in enumerate(input_text):
        encoder_input_data[i, t, input_token_index[char]] = 1.0
    for t, char in enumerate(target_text):
        decoder_input_data[i, t, target_token_index[char]] = 1.0
        if t > 0:  # the target is the decoder input one step ahead
            decoder_target_data[i, t - 1, target_token_index[char]] = 1.0

# ---------------------------------------------------------------- the training model
encoder_inputs = keras.Input(shape=(None, num_encoder_tokens))
encoder = keras.layers.LSTM(latent_dim, return_state=True)
encoder_outputs, state_h, state_c = encoder(encoder_inputs)
encoder_states = [state_h, state_c]  # only the states go on; the outputs are dropped

decoder_inputs = keras.Input(shape=(None, num_decoder_tokens))
decoder_lstm = keras.layers.LSTM(latent_dim, return_sequences=True, return_state=True)
decoder_outputs, _, _ = decoder_lstm(decoder_inputs, initial_state=encoder_states)
decoder_dense = keras.layers.Dense(num_decoder_tokens, activation="softmax")
decoder_outputs = decoder_dense(decoder_outputs)

model = keras.Model([encoder_inputs, decoder_inputs], decoder_outputs)
model.compile(optimizer=keras.optimizers.Adam(0.01), loss="categorical_crossentropy", metrics=["accuracy"])
history = model.fit([encoder_input_data, decoder_input_data], decoder_target_data, batch_size=64, epochs=EPOCHS,
                    validation_split=0.2, verbose=0)
# Keras' accuracy also counts the decoder's last step, which has no target (an all-zero row, as in
# the Keras example): 5 of 6 steps can be right, so 0.833 is the ceiling.
print(f"teacher-forced accuracy after {EPOCHS} epochs: {history.history['accuracy'][-1]:.3f} "
      f"(validation {history.history['val_accuracy'][-1]:.3f}; at most {LENGTH + 1}/{LENGTH + 2} = "
      f"{(LENGTH + 1) / (LENGTH + 2):.3f})")

# ---------------------------------------------------------------- inference: the same layers, new graphs
encoder_model = keras.Model(encoder_inputs, encoder_states)

decoder_state_input_h = keras.Input(shape=(latent_dim,))
decoder_state_input_c = keras.Input(shape=(latent_dim,))
decoder_states_inputs = [decoder_state_input_h, decoder_state_input_c]
decoder_outputs, state_h_dec, state_c_dec = decoder_lstm(decoder_inputs, initial_state=decoder_states_inputs)
decoder_states = [state_h_dec, state_c_dec]
decoder_outputs = decoder_dense(decoder_outputs)
decoder_model = keras.Model([decoder_inputs] + decoder_states_inputs, [decoder_outputs] + decoder_states)

reverse_target_char_index = {i: char for char, i in target_token_index.items()}


def decode_sequences(input_seq):
    """Greedy decoding of a batch of one-hot input strings, one character per step (the Keras
    example decodes one string at a time; a batch is the same loop, run for all at once)."""
    states_value = encoder_model.predict(input_seq, verbose=0)
    target_seq = np.zeros((len(input_seq), 1, num_decoder_tokens), dtype="float32")
    target_seq[:, 0, target_token_index["\t"]] = 1.0
    decoded = [""] * len(input_seq)
    done = np.zeros(len(input_seq), dtype=bool)
    for _ in range(max_decoder_seq_length):
        output_tokens, h, c = decoder_model.predict([target_seq] + list(states_value), verbose=0)
        sampled = np.argmax(output_tokens[:, -1, :], axis=-1)
        for k, token in enumerate(sampled):
            char = reverse_target_char_index[int(token)]
            if char == "\n":
                done[k] = True
            elif not done[k]:
                decoded[k] += char
        if done.all():
            break
        target_seq = np.zeros((len(input_seq), 1, num_decoder_tokens), dtype="float32")
        target_seq[np.arange(len(input_seq)), 0, sampled] = 1.0
        states_value = [h, c]
    return decoded


held_out = slice(int(0.8 * NUM_SAMPLES), NUM_SAMPLES)  # the validation split: not trained on
decoded = decode_sequences(encoder_input_data[held_out])
wanted = [text[::-1] for text in input_texts[held_out]]
decode_accuracy = float(np.mean([d == w for d, w in zip(decoded, wanted)]))
for text, got in list(zip(input_texts[held_out], decoded))[:5]:
    print(f"{text} -> {got}")
print(f"greedy decoding reverses {decode_accuracy:.1%} of {len(wanted)} held-out strings exactly")
