"""Keras layers on torch (``lstmkit.keras.layers``, as ``tensorflow.keras.layers``).

Laid out by Keras's own families (``core``, ``activations``, ``regularization``, ``reshaping``,
``normalization``, ``merging``, ``pooling``, ``attention``, ``preprocessing``, ``rnn``), one layer
per module; ``common`` holds the checks and option helpers they share. Names resolve lazily to
the module that defines them, so importing one layer does not import them all.
"""

from __future__ import annotations

import importlib

from lstmkit._lazy import lazy_exports
from lstmkit.keras.engine import registry

_WHERE = {
    "lstmkit.keras.engine.input_layer": ["Input", "InputLayer"],
    "lstmkit.keras.engine.layer": ["Layer"],
    "lstmkit.keras.layers.core.dense": ["Dense"],
    "lstmkit.keras.layers.core.embedding": ["Embedding"],
    "lstmkit.keras.layers.core.masking": ["Masking"],
    "lstmkit.keras.layers.core.lambda_layer": ["Lambda"],
    "lstmkit.keras.layers.activations.activation": ["Activation"],
    "lstmkit.keras.layers.activations.relu": ["ReLU"],
    "lstmkit.keras.layers.activations.leaky_relu": ["LeakyReLU"],
    "lstmkit.keras.layers.activations.elu": ["ELU"],
    "lstmkit.keras.layers.activations.prelu": ["PReLU"],
    "lstmkit.keras.layers.activations.softmax": ["Softmax"],
    "lstmkit.keras.layers.regularization.dropout": ["Dropout"],
    "lstmkit.keras.layers.regularization.spatial_dropout": ["SpatialDropout1D"],
    "lstmkit.keras.layers.regularization.gaussian_noise": ["GaussianNoise"],
    "lstmkit.keras.layers.regularization.gaussian_dropout": ["GaussianDropout"],
    "lstmkit.keras.layers.reshaping.flatten": ["Flatten"],
    "lstmkit.keras.layers.reshaping.reshape": ["Reshape"],
    "lstmkit.keras.layers.reshaping.repeat_vector": ["RepeatVector"],
    "lstmkit.keras.layers.reshaping.permute": ["Permute"],
    "lstmkit.keras.layers.reshaping.zero_padding1d": ["ZeroPadding1D"],
    "lstmkit.keras.layers.reshaping.cropping1d": ["Cropping1D"],
    "lstmkit.keras.layers.reshaping.up_sampling1d": ["UpSampling1D"],
    "lstmkit.keras.layers.convolutional.conv1d": ["Conv1D", "Convolution1D"],
    "lstmkit.keras.layers.convolutional.conv2d": ["Conv2D", "Convolution2D"],
    "lstmkit.keras.layers.convolutional.conv3d": ["Conv3D", "Convolution3D"],
    "lstmkit.keras.layers.convolutional.conv1d_transpose": ["Conv1DTranspose", "Convolution1DTranspose"],
    "lstmkit.keras.layers.convolutional.conv2d_transpose": ["Conv2DTranspose", "Convolution2DTranspose"],
    "lstmkit.keras.layers.convolutional.conv3d_transpose": ["Conv3DTranspose", "Convolution3DTranspose"],
    "lstmkit.keras.layers.normalization.layer_normalization": ["LayerNormalization"],
    "lstmkit.keras.layers.normalization.batch_normalization": ["BatchNormalization"],
    "lstmkit.keras.layers.merging.merge": ["Concatenate", "Add", "Subtract", "Multiply", "Average", "Maximum",
                                           "Minimum", "concatenate", "add", "subtract", "multiply", "average",
                                           "maximum", "minimum"],
    "lstmkit.keras.layers.merging.dot": ["Dot", "dot"],
    "lstmkit.keras.layers.pooling.global_pooling": ["GlobalAveragePooling1D", "GlobalMaxPooling1D",
                                                    "GlobalAvgPool1D", "GlobalMaxPool1D"],
    "lstmkit.keras.layers.pooling.pooling1d": ["MaxPooling1D", "AveragePooling1D", "MaxPool1D", "AvgPool1D"],
    "lstmkit.keras.layers.pooling.pooling2d": ["MaxPooling2D", "AveragePooling2D", "MaxPool2D", "AvgPool2D"],
    "lstmkit.keras.layers.pooling.pooling3d": ["MaxPooling3D", "AveragePooling3D", "MaxPool3D", "AvgPool3D"],
    "lstmkit.keras.layers.pooling.global_pooling_nd": ["GlobalAveragePooling2D", "GlobalMaxPooling2D",
                                                       "GlobalAveragePooling3D", "GlobalMaxPooling3D",
                                                       "GlobalAvgPool2D", "GlobalMaxPool2D", "GlobalAvgPool3D",
                                                       "GlobalMaxPool3D"],
    "lstmkit.keras.layers.attention.attention": ["Attention", "AdditiveAttention"],
    "lstmkit.keras.layers.attention.multi_head_attention": ["MultiHeadAttention"],
    "lstmkit.keras.layers.preprocessing.text_vectorization": ["TextVectorization"],
    "lstmkit.keras.layers.preprocessing.string_lookup": ["StringLookup"],
    "lstmkit.keras.layers.preprocessing.integer_lookup": ["IntegerLookup"],
    "lstmkit.keras.layers.preprocessing.category_encoding": ["CategoryEncoding"],
    "lstmkit.keras.layers.preprocessing.normalization": ["Normalization"],
    "lstmkit.keras.layers.rnn.time_distributed": ["TimeDistributed"],
    "lstmkit.keras.layers.rnn.lstm": ["LSTM"],
    "lstmkit.keras.layers.rnn.gru": ["GRU"],
    "lstmkit.keras.layers.rnn.simple_rnn": ["SimpleRNN"],
    "lstmkit.keras.layers.rnn.bidirectional": ["Bidirectional"],
    "lstmkit.keras.layers.rnn.cells": ["LSTMCell", "GRUCell", "SimpleRNNCell"],
    "lstmkit.keras.layers.rnn.stacked_rnn_cells": ["StackedRNNCells"],
    "lstmkit.keras.layers.rnn.rnn": ["RNN"],
    "lstmkit.keras.layers.rnn.conv_lstm": ["ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"],
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, {name: module for module, names in _WHERE.items()
                                                      for name in names})


def _import_all() -> None:
    """Import every layer module, so that each layer class is registered (for loading models)."""
    for module in _WHERE:
        importlib.import_module(module)


registry.add_loader("layer", _import_all)
