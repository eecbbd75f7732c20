"""What the ported Keras 3 RNN tests share: their toy cells (keras/src/layers/rnn/rnn_test.py's
``OneStateRNNCell`` / ``TwoStatesRNNCell``, ``ones`` weights, so outputs are exact integers) and
a small stand-in for Keras' ``testing.TestCase.run_layer_test``.

``run_layer_test`` builds the layer from ``init_kwargs``, calls it on random data of
``input_shape``, and checks: the output shape(s), the trainable / non-trainable weight counts,
a config round trip (``from_config(get_config())`` gives the same config and, with the same
weights, the same outputs), the symbolic (functional API) output shape, and with
``supports_masking`` that a call with an all-True mask gives the unmasked result.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lstmkit import keras
from lstmkit.keras import layers
from lstmkit.keras.engine.registry import register


@register("layer")
class OneStateRNNCell(layers.Layer):
    def __init__(self, units: int, state_size: Any = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.units = units
        self._state_size_arg = state_size
        self.state_size = state_size if state_size else units

    def build(self, input_shape):
        self.add_weight("kernel", (input_shape[-1], self.units), initializer="ones")
        self.add_weight("recurrent_kernel", (self.units, self.units), initializer="ones")

    def call(self, inputs, states):
        prev_output = states[0]
        h = torch.matmul(inputs, self.kernel)
        output = h + torch.matmul(prev_output, self.recurrent_kernel)
        return output, [output]

    def get_config(self):
        return {**super().get_config(), "units": self.units, "state_size": self._state_size_arg}


@register("layer")
class TwoStatesRNNCell(layers.Layer):
    def __init__(self, units: int, state_size: Any = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.units = units
        self._state_size_arg = state_size
        self.state_size = state_size if state_size else [units, units]
        self.output_size = units

    def build(self, input_shape):
        self.add_weight("kernel", (input_shape[-1], self.units), initializer="ones")
        self.add_weight("recurrent_kernel_1", (self.units, self.units), initializer="ones")
        self.add_weight("recurrent_kernel_2", (self.units, self.units), initializer="ones")

    def call(self, inputs, states):
        prev_1 = states[0]
        prev_2 = states[0]  # sic: Keras' test cell reads the first state twice
        h = torch.matmul(inputs, self.kernel)
        output_1 = h + torch.matmul(prev_1, self.recurrent_kernel_1)
        output_2 = h + torch.matmul(prev_2, self.recurrent_kernel_2)
        return output_1 + output_2, [output_1, output_2]

    def get_config(self):
        return {**super().get_config(), "units": self.units, "state_size": self._state_size_arg}


def _shapes(out: Any) -> Any:
    if isinstance(out, (list, tuple)):
        return [_shapes(o) for o in out]
    return tuple(out.shape)


def _numpy(out: Any) -> list[np.ndarray]:
    if isinstance(out, (list, tuple)):
        return [a for o in out for a in _numpy(o)]
    return [out.detach().numpy()]


def run_layer_test(layer_cls: type, init_kwargs: dict[str, Any], input_shape: tuple[int, ...],
                   expected_output_shape: Any, expected_num_trainable_weights: int | None = None,
                   expected_num_non_trainable_weights: int | None = None, supports_masking: bool = False,
                   call_kwargs: dict[str, Any] | None = None, seed: int = 0) -> None:
    """See the module docstring. ``expected_output_shape`` is a tuple, or a list of tuples."""
    call_kwargs = call_kwargs or {}
    x = np.random.default_rng(seed).uniform(size=input_shape).astype("float32")
    layer = layer_cls(**init_kwargs)
    out = layer(x, **call_kwargs)
    assert _shapes(out) == (list(expected_output_shape) if isinstance(expected_output_shape, list)
                            else tuple(expected_output_shape))
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights
    if expected_num_non_trainable_weights is not None:
        assert len(layer.non_trainable_weights) == expected_num_non_trainable_weights

    config = layer.get_config()
    clone = layer_cls.from_config(config)
    assert clone.get_config() == config
    clone(x, **call_kwargs)
    clone.set_weights(layer.get_weights())
    if not call_kwargs.get("training"):  # (dropout in training draws other masks)
        for a, b in zip(_numpy(clone(x, **call_kwargs)), _numpy(layer(x, **call_kwargs))):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)

    symbolic = layer_cls(**init_kwargs)(keras.Input(batch_shape=input_shape))

    def kshape(t: Any) -> Any:
        return [kshape(s) for s in t] if isinstance(t, (list, tuple)) else tuple(t.shape)

    assert kshape(symbolic) == (list(expected_output_shape) if isinstance(expected_output_shape, list)
                                else tuple(expected_output_shape))
    if supports_masking:
        assert layer.supports_masking
        mask = np.ones(input_shape[:2], dtype=bool)
        if not call_kwargs.get("training"):
            for a, b in zip(_numpy(layer(x, mask=mask, **call_kwargs)), _numpy(layer(x, **call_kwargs))):
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def close(actual: Any, expected: Any, rtol: float = 1e-6, atol: float = 1e-6) -> None:
    """``np.testing.assert_allclose`` for a tensor (detached) or array against Keras' expected values."""
    if isinstance(actual, torch.Tensor):
        actual = actual.detach().cpu().numpy()
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


RNN_ARGS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll", "zero_output_for_mask")


def layer_factory(layer_name: str, cell_name: str, how: str):
    """``how="layer"``: ``layers.<layer_name>(units, **kw)``; ``how="cell"``: the same through
    ``RNN(layers.<cell_name>(units, **cell kw), **RNN kw)``. Keras' LSTM/GRU/SimpleRNN *are*
    RNNs around their cells, so Keras' expected values hold for both."""
    def make(units: int, **kwargs: Any):
        if how == "layer":
            return getattr(layers, layer_name)(units, **kwargs)
        rnn_kwargs = {k: kwargs.pop(k) for k in RNN_ARGS if k in kwargs}
        return layers.RNN(getattr(layers, cell_name)(units, **kwargs), **rnn_kwargs)

    return make
