"""Pooling layers: MaxPooling1D, AveragePooling1D (pooling1d), global average and max pooling
(global_pooling) (Keras: keras/src/layers/pooling)."""
