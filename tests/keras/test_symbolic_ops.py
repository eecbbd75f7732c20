"""Keras ops and Python operators on the symbolic tensors of the functional API (Keras 3 allows
``x + inputs``, ``x[:, -1]``, ``ops.mean(x, axis=1)`` between layers): the symbolic shapes and the
outputs match Keras 3's, the graph saves and loads (the op by name, from a fixed table), and
what cannot be recorded is refused with a clear error."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit import keras as lk
from lstmkit.keras import ops

keras = pytest.importorskip("keras")

pytestmark = pytest.mark.usefixtures("fresh_names")


def _graph(k, x, y):
    """The same computation in either library's ops: k is lstmkit.keras or keras."""
    kops = k.ops
    return {
        "add": lambda: x + y,
        "radd_scalar": lambda: 1.5 + x,
        "sub_mul_div": lambda: (x - y) * 2.0 / (y * y + 1.0),
        "rsub_rdiv": lambda: 1.0 - 2.0 / (x * x + 1.0),
        "neg_abs_pow": lambda: -abs(x) ** 2,
        "getitem_last_step": lambda: x[:, -1, :],
        "getitem_ellipsis": lambda: x[..., 1:3],
        "getitem_newaxis_step": lambda: x[:, ::2, None, 0],
        "compare": lambda: kops.cast(x > y, "float32") + kops.cast(x <= 0.0, "float32"),
        "mean_axis": lambda: kops.mean(x, axis=1),
        "concatenate": lambda: kops.concatenate([x, y * 3.0], axis=-1),
        "matmul": lambda: kops.matmul(x, kops.transpose(y, (0, 2, 1))),
        "reshape_softmax": lambda: kops.softmax(kops.reshape(x, (-1, 12)), axis=-1),
        "exp_square_sum": lambda: kops.sum(kops.exp(0.5 * x) - kops.square(y), axis=[1, 2], keepdims=True),
        "expand_squeeze": lambda: kops.squeeze(kops.expand_dims(x, 1), axis=1),
        "where_maximum": lambda: kops.where(x > 0, x, kops.maximum(y, 0.1)),
    }


CASES = sorted(_graph(lk, None, None))


def _models(case):
    ours_in = [lk.Input((3, 4)), lk.Input((3, 4))]
    theirs_in = [keras.Input((3, 4)), keras.Input((3, 4))]
    ours = lk.Model(ours_in, _graph(lk, *ours_in)[case]())
    theirs = keras.Model(theirs_in, _graph(keras, *theirs_in)[case]())
    return ours, theirs


@pytest.mark.parametrize("case", CASES)
def test_symbolic_shapes_and_outputs_match_keras(case):
    ours, theirs = _models(case)
    assert tuple(ours.output.shape) == tuple(theirs.output.shape)
    rng = np.random.default_rng(0)
    data = [rng.normal(size=(5, 3, 4)).astype("float32") for _ in range(2)]
    got = ours.predict(data, verbose=0)
    want = keras.ops.convert_to_numpy(theirs(data))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", ["add", "getitem_newaxis_step", "concatenate", "where_maximum"])
def test_graph_with_ops_saves_and_loads(case, tmp_path):
    ours, _ = _models(case)
    data = [np.random.default_rng(1).normal(size=(2, 3, 4)).astype("float32") for _ in range(2)]
    path = tmp_path / "m.keras"
    ours.save(path)
    loaded = lk.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(data, verbose=0), ours.predict(data, verbose=0), rtol=1e-6)
    assert any(type(layer).__name__ == "SymbolicOp" for layer in loaded.layers)


def test_residual_block_trains_and_op_nodes_have_no_weights():
    inputs = lk.Input((6, 4))
    x = lk.layers.Dense(4)(inputs)
    res = x + inputs
    outputs = lk.layers.Dense(1)(ops.mean(res, axis=1))
    model = lk.Model(inputs, outputs)
    model.compile("adam", "mse")
    rng = np.random.default_rng(0)
    xs, ys = rng.normal(size=(32, 6, 4)).astype("float32"), rng.normal(size=(32, 1)).astype("float32")
    history = model.fit(xs, ys, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    ops_layers = [layer for layer in model.layers if type(layer).__name__ == "SymbolicOp"]
    assert [layer.op for layer in ops_layers] == ["add", "mean"]
    assert all(layer.count_params() == 0 for layer in ops_layers)
    assert model.count_params() == 4 * 4 + 4 + 4 + 1


def test_static_shape_and_eager_calls():
    x = lk.Input((None, 5))
    assert ops.shape(x) == (None, None, 5)
    assert ops.shape(x + 1.0) == (None, None, 5)
    t = torch.ones(2, 3)
    out = ops.add(t, 1.0)
    assert isinstance(out, torch.Tensor) and torch.equal(out, torch.full((2, 3), 2.0))


def test_unrecordable_arguments_and_unknown_ops_are_refused():
    x = lk.Input((3,))
    with pytest.raises(TypeError, match="Lambda layer"):
        ops.add(x, object())
    from lstmkit.keras.ops.symbolic import SymbolicOp

    with pytest.raises(ValueError, match="unknown op 'os.system'"):
        SymbolicOp.from_config({"op": "os.system", "template": {"args": [], "kwargs": {}}})


def test_identity_comparisons_stay():
    a, b = lk.Input((2,)), lk.Input((2,))
    assert a != b and a == a and a in [b, a]  # the engine looks tensors up by identity
