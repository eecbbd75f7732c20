"""Convolution layers: Conv1D, Conv2D, Conv3D, Conv1DTranspose, Conv2DTranspose, Conv3DTranspose
(Keras: keras/src/layers/convolutional).

``base_conv`` holds the N-D convolution Conv1D/2D/3D share, ``base_conv_transpose`` the N-D
transposed one; ``spatial`` the argument checks, "same" padding rule and symbolic-shape help that
the pooling and reshaping layers use too."""
