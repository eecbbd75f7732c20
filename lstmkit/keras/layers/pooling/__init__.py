"""Pooling layers: global average and max pooling (Keras: keras/src/layers/pooling)."""
