"""Keras 3's own Bidirectional tests (keras/src/layers/rnn/bidirectional_test.py), ported to
lstmkit.keras with their expected values kept (numpy in and out, tolerance 1e-5 as there).

Adapted: ``run_layer_test`` becomes ``_layer_test`` below (output shape, weight counts, masking
support, config round trip); Keras' ``compute_output_shape`` is compared through a symbolic call
(lstmkit.keras infers symbolic shapes by running the layer, it has no ``compute_output_shape``);
``reset_state()`` is called by that name (ours also has Keras 2's ``reset_states``).

Skipped:
- test_fused_lstm_eligibility, test_fused_gru_eligibility: they test Keras' private
  ``_can_attempt_fused_lstm`` / ``_can_attempt_fused_gru`` dispatch gates; lstmkit has no such
  gate (each direction always runs on lstmkit's own kernels). What they guard, that the fast path
  computes the same as the plain one, is ported below as test_fused_*_matches_unfused.
- test_torch_cudnn_bidirectional_gru_dispatch_fires: spies on ``torch._VF.gru`` on a CUDA device
  inside Keras' fused dispatch, which lstmkit does not have (and it needs a GPU).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit.keras import Input, initializers, layers
from lstmkit.keras.engine import registry

pytestmark = pytest.mark.usefixtures("one_thread")
TOL = dict(atol=1e-5, rtol=1e-5)


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


def _close(got, want) -> None:
    np.testing.assert_allclose(_np(got), np.asarray(want), **TOL)


def _layer_test(make, input_shape, expected_output_shape, n_trainable, n_non_trainable):
    layer = make()
    out = layer(np.random.default_rng(0).standard_normal(input_shape).astype("float32"))
    assert tuple(out.shape) == expected_output_shape
    assert len(layer.trainable_weights) == n_trainable
    assert len(layer.non_trainable_weights) == n_non_trainable
    assert layer.supports_masking
    clone = registry.deserialize("layer", registry.serialize(layer))
    assert clone.get_config() == layer.get_config()
    symbolic = make()(Input(batch_shape=input_shape))
    assert symbolic.shape == expected_output_shape


def _constant_rnn(cls, units=2, k=0.01, r=0.02, b=0.03, **kw):
    return cls(units, kernel_initializer=initializers.Constant(k), recurrent_initializer=initializers.Constant(r),
               bias_initializer=initializers.Constant(b), **kw)


def test_basics():
    _layer_test(lambda: layers.Bidirectional(layers.SimpleRNN(4)), (3, 2, 4), (3, 8), 6, 0)
    _layer_test(lambda: layers.Bidirectional(layers.SimpleRNN(4), backward_layer=layers.SimpleRNN(4, go_backwards=True),
                                             merge_mode="sum"), (3, 2, 4), (3, 4), 6, 0)


def test_correctness():
    sequence = np.arange(24).reshape((2, 3, 4)).astype("float32")
    forward_layer = _constant_rnn(layers.SimpleRNN)
    output = layers.Bidirectional(layer=forward_layer)(sequence)
    _close(output, [[0.39687276, 0.39687276, 0.10004295, 0.10004295], [0.7237238, 0.7237238, 0.53391594, 0.53391594]])

    output = layers.Bidirectional(layer=forward_layer, merge_mode="ave")(sequence)
    _close(output, [[0.24845785, 0.24845785], [0.6288199, 0.6288199]])

    output1, output2 = layers.Bidirectional(layer=forward_layer, merge_mode=None)(sequence)
    _close(output1, [[0.39687276, 0.39687276], [0.7237238, 0.7237238]])
    _close(output2, [[0.10004295, 0.10004295], [0.53391594, 0.53391594]])

    backward_layer = _constant_rnn(layers.SimpleRNN, k=0.03, r=0.02, b=0.01, go_backwards=True)
    output = layers.Bidirectional(layer=forward_layer, backward_layer=backward_layer, merge_mode="mul")(sequence)
    _close(output, [[0.08374989, 0.08374989], [0.6740834, 0.6740834]])

    forward_layer = _constant_rnn(layers.GRU, return_sequences=True)
    output = layers.Bidirectional(layer=forward_layer, merge_mode="sum")(sequence)
    _close(output, [[[0.20937867, 0.20937867], [0.34462988, 0.34462988], [0.40290534, 0.40290534]],
                    [[0.59829646, 0.59829646], [0.6734641, 0.6734641], [0.6479671, 0.6479671]]])


def test_statefulness():
    sequence = np.arange(24).reshape((2, 4, 3)).astype("float32")
    layer = layers.Bidirectional(layer=_constant_rnn(layers.LSTM, stateful=True))
    want = [[0.26234663, 0.26234663, 0.16959146, 0.16959146], [0.6137073, 0.6137073, 0.5381646, 0.5381646]]
    layer(sequence)
    _close(layer(sequence), want)
    layer.reset_state()
    layer(sequence)
    _close(layer(sequence), want)


def test_pass_initial_state():
    sequence = np.arange(24).reshape((2, 4, 3)).astype("float32")
    initial_state = [np.arange(4).reshape((2, 2)).astype("float32") * k for k in (1, 2, 3, 4)]
    layer = layers.Bidirectional(layer=_constant_rnn(layers.LSTM))
    output = layer(sequence, initial_state=initial_state)
    _close(output, [[0.20794602, 0.4577124, 0.14046375, 0.48191673], [0.6682636, 0.6711909, 0.60943645, 0.60950446]])


def test_masking():
    sequence = np.arange(24).reshape((2, 4, 3)).astype("float32")
    layer = layers.Bidirectional(layer=_constant_rnn(layers.GRU))
    mask = np.array([[True, True, False, True], [True, False, False, True]])
    output = layer(sequence, mask=mask)
    _close(output, [[0.19393763, 0.19393763, 0.11669192, 0.11669192], [0.30818558, 0.30818558, 0.28380975, 0.28380975]])


def test_return_state():
    sequence = np.arange(24).reshape((2, 4, 3)).astype("float32")
    layer = layers.Bidirectional(layer=_constant_rnn(layers.LSTM, return_state=True))
    output, h1, c1, h2, c2 = layer(sequence)
    _close(output, [[0.1990008, 0.1990008, 0.12659755, 0.12659755], [0.52335435, 0.52335435, 0.44717982, 0.44717982]])
    _close(h1, [[0.1990008, 0.1990008], [0.52335435, 0.52335435]])
    _close(c1, [[0.35567185, 0.35567185], [1.0492687, 1.0492687]])
    _close(h2, [[0.12659755, 0.12659755], [0.44717982, 0.44717982]])
    _close(c2, [[0.2501858, 0.2501858], [0.941473, 0.941473]])


def _shapes(out) -> list[tuple]:
    return [tuple(o.shape) for o in out] if isinstance(out, (list, tuple)) else [tuple(out.shape)]


@pytest.mark.parametrize("return_state", [True, False])
@pytest.mark.parametrize("merge_mode", ["ave", "concat", "mul", "sum", None])
def test_output_shape(merge_mode, return_state):
    x = np.array([[[101, 202], [303, 404]]])
    output = layers.Bidirectional(layers.LSTM(2, return_state=return_state), merge_mode=merge_mode)(x)
    symbolic = layers.Bidirectional(layers.LSTM(2, return_state=return_state), merge_mode=merge_mode)(
        Input(batch_shape=x.shape))
    assert _shapes(output) == _shapes(symbolic)
    units = 4 if merge_mode == "concat" else 2
    n_outputs = 2 if merge_mode is None else 1
    assert _shapes(output) == [(1, units)] * n_outputs + [(1, 2)] * (4 if return_state else 0)


def test_keeps_use_cudnn():
    for rnn_class in [layers.GRU, layers.LSTM]:
        for use_cudnn in [True, False, "auto"]:
            bidi = layers.Bidirectional(rnn_class(1, use_cudnn=use_cudnn))
            assert bidi.forward_layer.use_cudnn == use_cudnn
            assert bidi.backward_layer.use_cudnn == use_cudnn
    bidi = layers.Bidirectional(layers.SimpleRNN(1))
    assert not hasattr(bidi.forward_layer, "use_cudnn")
    assert not hasattr(bidi.backward_layer, "use_cudnn")


@pytest.mark.skip(reason="Keras' private fused-dispatch gate (_can_attempt_fused_lstm); lstmkit has none")
def test_fused_lstm_eligibility():
    pass


@pytest.mark.skip(reason="Keras' private fused-dispatch gate (_can_attempt_fused_gru); lstmkit has none")
def test_fused_gru_eligibility():
    pass


@pytest.mark.skip(reason="spies on torch._VF.gru inside Keras' CUDA fused dispatch; lstmkit has no such path")
def test_torch_cudnn_bidirectional_gru_dispatch_fires():
    pass


@pytest.mark.parametrize("cls", [layers.LSTM, layers.GRU])
def test_fused_matches_unfused(cls):
    """Keras: use_cudnn=False and "auto" agree; here the same, and the plain-torch loop
    (backend="reference") agrees with the default fused path too."""
    x = np.random.default_rng(0).standard_normal((3, 6, 4)).astype("float32")

    def build(**kw):
        layer = layers.Bidirectional(cls(5, return_sequences=True,
                                         kernel_initializer=initializers.GlorotUniform(seed=1),
                                         recurrent_initializer=initializers.Orthogonal(seed=2), **kw))
        layer.build(x.shape)
        return layer

    ref = build(use_cudnn=False)
    for other in (build(use_cudnn="auto"), build(backend="reference")):
        other.set_weights(ref.get_weights())
        _close(other(x), _np(ref(x)))
