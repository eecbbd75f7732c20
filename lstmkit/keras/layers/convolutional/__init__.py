"""Convolution layers: Conv1D, Conv2D (Keras: keras/src/layers/convolutional).

``base_conv`` holds the N-D convolution both share; ``spatial`` the argument checks, "same"
padding rule and symbolic-shape help that the pooling and 1-D reshaping layers use too."""
