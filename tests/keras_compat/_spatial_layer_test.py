"""A small ``run_layer_test`` for the ported Keras tests of the convolution, pooling and reshaping
layers: the checks of Keras' ``testing.TestCase.run_layer_test`` that apply to lstmkit.keras.

For a layer class and its arguments: the config round-trips through ``from_config``;
``supports_masking`` is as expected; a built layer has the expected numbers of trainable and
non-trainable weights; a symbolic call on ``Input(batch_shape=input_shape)`` gives the expected
shape; a weightless layer is built when made (and a subclass with its own ``build`` is not); an
eager call gives the expected shape, dtype, values and number of losses; and a layer with weights
trains one step in a compiled model. Mixed precision and sparse/ragged inputs are not checked (CPU
torch has no float16 kernels for these layers; torch has no sparse/ragged Keras tensors).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lstmkit.keras.engine.input_layer import Input
from lstmkit.keras.models import Model


def _np(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def run_layer_test(layer_cls: type, init_kwargs: dict[str, Any], *, input_shape: tuple | None = None,
                   input_data: Any = None, expected_output_shape: tuple | None = None, expected_output: Any = None,
                   expected_output_dtype: str | None = None, expected_num_trainable_weights: int | None = None,
                   expected_num_non_trainable_weights: int | None = None, expected_num_losses: int | None = None,
                   supports_masking: bool | None = None, assert_built_after_instantiation: bool = False,
                   run_training_check: bool = True, atol: float = 1e-6, rtol: float = 1e-6, **_ignored: Any) -> None:
    """Keras' ``run_layer_test`` checks that apply here (see the module docstring)."""
    if input_data is None and input_shape is not None:
        input_data = np.random.default_rng(0).normal(size=input_shape).astype("float32")
    if input_shape is None and input_data is not None:
        input_shape = tuple(np.shape(input_data))

    layer = layer_cls(**init_kwargs)
    config = layer.get_config()
    assert layer_cls.from_config(config).get_config() == config
    if supports_masking is not None:
        assert layer.supports_masking == supports_masking

    def build_asserts(layer):
        assert layer.built
        if expected_num_trainable_weights is not None:
            assert len(layer.trainable_weights) == expected_num_trainable_weights
        if expected_num_non_trainable_weights is not None:
            assert len(layer.non_trainable_weights) == expected_num_non_trainable_weights

    def output_asserts(output, eager):
        if expected_output_shape is not None:
            assert tuple(output.shape) == tuple(expected_output_shape)
        if expected_output_dtype is not None:
            assert str(output.dtype).removeprefix("torch.") == expected_output_dtype
        if eager and expected_output is not None:
            np.testing.assert_allclose(_np(output), _np(expected_output), atol=atol, rtol=rtol)
        if eager and expected_num_losses is not None:
            assert len(layer.losses) == expected_num_losses

    if input_shape is None:
        return
    layer = layer_cls(**init_kwargs)
    layer.build(input_shape)
    build_asserts(layer)

    layer = layer_cls(**init_kwargs)
    symbolic = layer(Input(batch_shape=input_shape))
    build_asserts(layer)
    output_asserts(symbolic, eager=False)

    if assert_built_after_instantiation:
        assert layer_cls(**init_kwargs).built

        class ModifiedBuildLayer(layer_cls):
            def build(self, *args, **kwargs):
                pass

        assert not ModifiedBuildLayer(**init_kwargs).built

    layer = layer_cls(**init_kwargs)
    output = layer(input_data)
    output_asserts(output, eager=True)

    if run_training_check and layer.trainable_weights:
        inp = Input(shape=input_shape[1:])
        model = Model(inp, layer_cls(**init_kwargs)(inp))
        model.compile(optimizer="sgd", loss="mse")
        target = _np(output).astype("float32")
        model.fit(np.asarray(input_data, dtype="float32"), target, batch_size=input_shape[0], epochs=1, verbose=0)
