"""A small stand-in for Keras' ``testing.TestCase.run_layer_test``, for the ported Keras tests of
the layers of lstmkit issue 16's "misc" part (normalization, noise, activations, Lambda, Dot):
config round trip through JSON, an eager call (output shape, weight and loss counts, masking
support) and a symbolic call (functional API shape)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from lstmkit.keras.engine.input_layer import Input
from lstmkit.keras.engine.registry import custom_object_scope


def run_layer_test(cls: type, init_kwargs: dict[str, Any], input_shape: tuple[int, ...], *,
                   call_kwargs: dict[str, Any] | None = None, expected_output_shape: tuple | None = None,
                   expected_num_trainable_weights: int | None = None,
                   expected_num_non_trainable_weights: int | None = None, expected_num_losses: int | None = None,
                   supports_masking: bool | None = None, custom_objects: dict[str, Any] | None = None) -> Any:
    call_kwargs = call_kwargs or {}
    layer = cls(**init_kwargs)
    config = json.loads(json.dumps(layer.get_config()))
    with custom_object_scope(custom_objects):
        clone = cls.from_config(config)
        fresh = cls.from_config(config)
    assert json.dumps(clone.get_config(), sort_keys=True) == json.dumps(config, sort_keys=True)
    if supports_masking is not None:
        assert layer.supports_masking == supports_masking
    x = np.random.default_rng(0).normal(size=input_shape).astype("float32")
    out = layer(x, **call_kwargs)
    if expected_output_shape is not None:
        assert tuple(out.shape) == tuple(expected_output_shape)
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights
    if expected_num_non_trainable_weights is not None:
        assert len(layer.non_trainable_weights) == expected_num_non_trainable_weights
    if expected_num_losses is not None:
        assert len(layer.losses) == expected_num_losses
    symbolic = fresh(Input(tuple(input_shape[1:])), **call_kwargs)
    if expected_output_shape is not None:
        assert symbolic.shape == (None, *tuple(expected_output_shape)[1:])
    return layer
