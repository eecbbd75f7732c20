"""Recurrent layers: LSTM, GRU, SimpleRNN, ConvLSTM1D/2D/3D, Bidirectional, TimeDistributed (Keras:
keras/src/layers/rnn).

``rnn_base`` documents the arguments every recurrent layer takes; ``torch_recurrent`` the layers
that own an ``lstmkit.nn`` module (LSTM, GRU, SimpleRNN); ``conv_lstm`` the convolutional LSTMs
(on ``rnn_base``, their convolutions' geometry in ``conv_geometry``)."""
