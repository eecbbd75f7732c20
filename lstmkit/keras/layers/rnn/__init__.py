"""Recurrent layers: LSTM, GRU, SimpleRNN, RNN and the cells LSTMCell, GRUCell, SimpleRNNCell,
StackedRNNCells, ConvLSTM1D/2D/3D, Bidirectional, TimeDistributed (Keras: keras/src/layers/rnn).

``rnn_base`` documents the arguments every recurrent layer takes; ``torch_recurrent`` the layers
that own an ``lstmkit.nn`` module (LSTM, GRU, SimpleRNN); ``cell_base`` / ``cells`` the
one-step cells, and ``rnn`` the generic ``RNN`` layer that loops a cell over time; ``conv_lstm``
the convolutional LSTMs (on ``rnn_base``, their convolutions' geometry in ``conv_geometry``)."""
