"""Slides 2-5: the LSTM cell gate by gate, in NumPy (lstmkit.cells.slides).

The slides use `tf.sigmoid(tf.matmul(...))` with weights `W_f, U_f, b_f, ...` they never define;
here the weights are random (clearly synthetic) and the gates are lstmkit's reference functions,
which are checked against torch.nn.LSTMCell in lstmkit's tests.
"""

import numpy as np

from lstmkit.cells.slides import forget_gate, input_gate, lstm_cell, output_gate

rng = np.random.default_rng(0)
n_input, n_hidden = 3, 3
weights = {f"{kind}_{gate}": rng.normal(0, 0.5, shape)
           for kind, shape in (("W", (n_input, n_hidden)), ("U", (n_hidden, n_hidden)), ("b", (n_hidden,)))
           for gate in "ifco"}
W_f, U_f, b_f = weights["W_f"], weights["U_f"], weights["b_f"]
W_i, U_i, b_i = weights["W_i"], weights["U_i"], weights["b_i"]
W_c, U_c, b_c = weights["W_c"], weights["U_c"], weights["b_c"]
W_o, U_o, b_o = weights["W_o"], weights["U_o"], weights["b_o"]

# Slide 3: the forget gate
input = np.array([[0.5, 0.6, 0.7]])
hidden_state = np.array([[0.1, 0.2, 0.3]])
forget = forget_gate(input, hidden_state, W_f, U_f, b_f)

# Slide 4: the input gate and the candidate values
i, c = input_gate(input, hidden_state, W_i, U_i, b_i, W_c, U_c, b_c)

# Slide 2: the new cell state, then slide 5: the output gate
cell_state = np.zeros((1, n_hidden))
cell_state = forget * cell_state + i * c
output = output_gate(input, hidden_state, cell_state, W_o, U_o, b_o)

# The whole cell in one call, run over a short sequence.
h, cs = np.zeros((1, n_hidden)), np.zeros((1, n_hidden))
for x_t in rng.normal(size=(5, 1, n_input)):
    h, cs = lstm_cell(x_t, h, cs, weights)
print("forget gate:", forget.round(3), "\ninput gate:", i.round(3), "\noutput:", output.round(3))
print("hidden state after 5 steps:", h.round(3))
