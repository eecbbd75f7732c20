"""Recurrent layers: LSTM, GRU, SimpleRNN, Bidirectional, TimeDistributed (Keras: keras/src/layers/rnn).

``rnn_base`` documents the arguments every recurrent layer takes; ``torch_recurrent`` the layers
that own an ``lstmkit.nn`` module (all three here)."""
