"""Pooling layers (Keras: keras/src/layers/pooling): windowed MaxPooling1D/2D/3D and
AveragePooling1D/2D/3D (pooling1d, pooling2d, pooling3d, on the N-D ``base_pooling``), global
average and max pooling over time (global_pooling) and over 2 or 3 spatial axes (global_pooling_nd)."""
