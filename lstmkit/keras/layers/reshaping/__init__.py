"""Reshaping layers: Flatten, Reshape, RepeatVector, Permute, ZeroPadding1D, Cropping1D, UpSampling1D
(Keras: keras/src/layers/reshaping)."""
