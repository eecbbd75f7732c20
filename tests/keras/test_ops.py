"""lstmkit.keras.ops against keras.ops (torch backend): the same call on the same NumPy inputs
gives the same values (tolerance 1e-5) and the same shapes; plus conversion, errors and use inside
a custom layer with gradients."""

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
kops = keras.ops

from lstmkit.keras import ops  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")

RNG = np.random.default_rng(0)
A = RNG.standard_normal((2, 3, 4)).astype("float32")
B = RNG.standard_normal((2, 4, 5)).astype("float32")
M = RNG.standard_normal((3, 4)).astype("float32")
V = RNG.standard_normal((4,)).astype("float32")
P = np.abs(A) + 0.1
I = np.array([[1, 2, 3], [3, 2, 1]])
IDX = np.array([[0, 2], [1, -1]])
PROB = np.array([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]], dtype="float32")
ONEHOT = np.array([[0, 0, 1], [0, 1, 0]], dtype="float32")

# (op name, positional args, keyword args)
CASES = [
    ("add", (A, A), {}), ("add", (I, 1.5), {}), ("subtract", (A, M[None, :, :]), {}), ("multiply", (A, 2), {}),
    ("divide", (A, P), {}), ("divide", (I, 2), {}), ("maximum", (A, 0.0), {}), ("minimum", (A, M), {}),
    ("matmul", (A, B), {}), ("matmul", (V, B), {}), ("matmul", (M, V), {}), ("dot", (M, V), {}),
    ("dot", (A, B), {}), ("dot", (V, V), {}), ("dot", (2.0, M), {}),
    ("tanh", (A,), {}), ("sigmoid", (A,), {}), ("relu", (A,), {}), ("gelu", (A,), {}),
    ("gelu", (A,), {"approximate": False}), ("softmax", (A,), {}), ("softmax", (A,), {"axis": 1}),
    ("softmax", (A,), {"axis": (1, 2)}), ("log_softmax", (A,), {}), ("log_softmax", (A,), {"axis": 0}),
    ("exp", (A,), {}), ("exp", (I,), {}), ("log", (P,), {}), ("sqrt", (P,), {}), ("sqrt", (I,), {}),
    ("square", (A,), {}), ("square", (I,), {}), ("abs", (A,), {}), ("negative", (A,), {}), ("erf", (A,), {}),
    ("clip", (A, -0.5, 0.5), {}), ("clip", (I, 2, 3), {}),
    ("concatenate", ([A, A],), {"axis": 1}), ("concatenate", ([M, M],), {}), ("stack", ([M, M],), {"axis": 1}),
    ("reshape", (A, (4, -1)), {}), ("reshape", (A, 24), {}), ("transpose", (A,), {}),
    ("transpose", (A, (0, 2, 1)), {}), ("expand_dims", (A, 1), {}), ("expand_dims", (A, -1), {}),
    ("expand_dims", (M, (0, 2)), {}), ("squeeze", (A[:, :1],), {}), ("squeeze", (A[:, :1],), {"axis": 1}),
    ("sum", (A,), {}), ("sum", (A,), {"axis": 1}), ("sum", (A,), {"axis": (0, 2), "keepdims": True}),
    ("sum", (I,), {"axis": -1}), ("mean", (A,), {}), ("mean", (I,), {"axis": 1}),
    ("mean", (A,), {"axis": -1, "keepdims": True}), ("max", (A,), {}), ("max", (A,), {"axis": 2}),
    ("max", (I,), {"axis": 0, "keepdims": True}), ("min", (A,), {"axis": (1, 2)}), ("max", (I,), {"initial": 4}),
    ("argmax", (A,), {}), ("argmax", (A,), {"axis": -1}), ("argmax", (I,), {"axis": 1, "keepdims": True}),
    ("argmin", (A,), {"axis": 1}), ("where", (A > 0, A, 0.0), {}), ("where", (I > 1, I, -I), {}),
    ("einsum", ("btd,bdk->btk", A, B), {}), ("einsum", ("ij,j->i", M, V), {}), ("einsum", ("ijk->kj", A), {}),
    ("tile", (M, 2), {}), ("tile", (M, (2, 1, 3)), {}), ("repeat", (I, 2), {}), ("repeat", (I, 3), {"axis": 1}),
    ("repeat", (I, np.array([1, 2])), {"axis": 0}), ("take", (A, IDX), {"axis": 1}), ("take", (I, 4), {}),
    ("take", (A, np.array([0, -1])), {"axis": -1}), ("one_hot", (np.array([0, 2, 1, -1]), 3), {}),
    ("one_hot", (I, 4), {"axis": 0}), ("norm", (A,), {}), ("norm", (A,), {"axis": -1}),
    ("norm", (M,), {"ord": "fro", "axis": (0, 1)}), ("norm", (V,), {"ord": 1, "keepdims": True}),
    ("norm", (A,), {"axis": (1, 2), "ord": 1}), ("logical_and", (A > 0, M > 0), {}),
    ("logical_or", (A > 0, A < -1), {}),
    ("logical_not", (A > 0,), {}), ("equal", (I, 2), {}), ("not_equal", (I, 2), {}), ("greater", (A, M), {}),
    ("less", (A, 0), {}), ("greater_equal", (I, 2), {}), ("less_equal", (I, 2), {}),
    ("pad", (M, ((1, 1), (2, 0))), {}), ("pad", (M, ((1, 2), (0, 1))), {"constant_values": 3.0}),
    ("zeros_like", (A,), {}), ("ones_like", (I,), {}), ("full_like", (M, 2.5), {}),
    ("logsumexp", (A,), {"axis": -1}), ("cumsum", (A,), {"axis": 1}), ("prod", (I,), {"axis": 0}),
    ("var", (A,), {"axis": 0}), ("std", (A,), {}), ("moveaxis", (A, 0, -1), {}), ("swapaxes", (A, 0, 2), {}),
    ("flip", (A,), {"axis": 1}), ("roll", (A, 1), {"axis": 2}), ("tril", (M,), {}), ("triu", (M, 1), {}),
    ("sort", (A,), {}), ("argsort", (M,), {"axis": 0}), ("broadcast_to", (V, (3, 4)), {}),
    ("softplus", (A,), {}), ("silu", (A,), {}), ("leaky_relu", (A,), {}), ("elu", (A,), {}),
    ("selu", (A,), {}), ("hard_sigmoid", (A,), {}), ("relu6", (A * 10,), {}), ("log_sigmoid", (A,), {}),
    ("softsign", (A,), {}), ("normalize", (A,), {}), ("rsqrt", (P,), {}), ("floor", (A,), {}),
    ("ceil", (A,), {}), ("round", (A * 3,), {}), ("sign", (A,), {}), ("power", (P, 2.5), {}),
    ("mod", (I, 2), {}), ("floor_divide", (I, 2), {}), ("outer", (V, V), {}), ("tensordot", (A, B[0], 1), {}),
    ("tensordot", (A, M, ((1, 2), (0, 1))), {}),
    ("categorical_crossentropy", (ONEHOT, PROB), {}), ("categorical_crossentropy", (ONEHOT, PROB),
                                                        {"from_logits": True}),
    ("sparse_categorical_crossentropy", (np.array([2, 1]), PROB), {}),
    ("sparse_categorical_crossentropy", (np.array([2, 1]), PROB), {"from_logits": True}),
    ("binary_crossentropy", (ONEHOT, PROB), {}), ("binary_crossentropy", (ONEHOT, PROB), {"from_logits": True}),
    ("divide_no_nan", (A, np.where(P > 0.5, P, 0.0)), {}), ("all", (I > 0,), {"axis": 1}), ("any", (I > 2,), {}),
    ("isnan", (np.array([1.0, np.nan]),), {}), ("count_nonzero", (I - 1,), {"axis": 0}),
]


def _np(x):
    if isinstance(x, (list, tuple)):
        return [_np(v) for v in x]
    return kops.convert_to_numpy(x) if not isinstance(x, torch.Tensor) else x.detach().numpy()


@pytest.mark.parametrize("name,args,kwargs", CASES, ids=[f"{c[0]}-{k}" for k, c in enumerate(CASES)])
def test_matches_keras(name, args, kwargs):
    ours = getattr(ops, name)(*args, **kwargs)
    theirs = getattr(kops, name)(*args, **kwargs)
    ours, theirs = _np(ours), _np(theirs)
    np.testing.assert_equal(np.shape(ours), np.shape(theirs))
    np.testing.assert_allclose(np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64),
                               rtol=1e-5, atol=1e-5)
    if np.asarray(theirs).dtype.kind in "fb":  # floats stay floats and bools stay bools (int widths may differ)
        assert np.asarray(ours).dtype.kind == np.asarray(theirs).dtype.kind


@pytest.mark.parametrize("name,args,kwargs", [
    ("split", (I, 2), {}), ("split", (I, [1, 2]), {"axis": 1}), ("split", (A, 3), {"axis": 1}),
    ("unstack", (A,), {"axis": 1}), ("top_k", (A, 2), {}), ("where", (I > 1,), {}), ("moments", (A, (0, 1)), {}),
    ("moments", (A, -1), {"keepdims": True}),
])
def test_multi_output_ops_match_keras(name, args, kwargs):
    ours = _np(getattr(ops, name)(*args, **kwargs))
    theirs = _np(getattr(kops, name)(*[kops.convert_to_tensor(a) if isinstance(a, np.ndarray) else a for a in args],
                                     **kwargs))
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name,args,kwargs", [
    ("zeros", ((2, 3),), {}), ("ones", (4,), {"dtype": "int32"}), ("full", ((2, 2), 7), {}),
    ("full", ((2,), 0.5), {"dtype": "float64"}), ("eye", (3,), {}), ("eye", (3, 4), {"k": 1}),
    ("eye", (4, 3), {"k": -2}), ("arange", (5,), {}), ("arange", (1, 7, 2), {}), ("arange", (0.0, 1.0, 0.25), {}),
    ("linspace", (0, 1, 5), {}), ("identity", (3,), {}),
])
def test_creation_matches_keras(name, args, kwargs):
    ours, theirs = _np(getattr(ops, name)(*args, **kwargs)), _np(getattr(kops, name)(*args, **kwargs))
    np.testing.assert_array_equal(ours, theirs)
    assert ours.dtype.kind == theirs.dtype.kind
    if "dtype" in kwargs:
        assert str(ours.dtype) == kwargs["dtype"]


@pytest.mark.parametrize("mode", ["reflect", "symmetric", "edge", "wrap"])
@pytest.mark.parametrize("width", [((0, 0), (1, 1), (2, 2)), ((1, 0), (2, 1), (3, 3)), 1])
def test_pad_modes_match_numpy(mode, width):
    # Keras on torch pads these modes only on the last axes (keras' numpy_test skips them there): NumPy is the spec
    np.testing.assert_allclose(_np(ops.pad(A, width, mode=mode)), np.pad(A, width, mode=mode), rtol=0, atol=0)


def test_conversion_follows_lstmkit():
    t = ops.convert_to_tensor(np.ones((2,), dtype="float64"))
    assert t.dtype == torch.float32  # lstmkit.keras' convention (engine.layer.as_tensor)
    assert ops.convert_to_tensor([1, 2]).dtype == torch.int64
    assert ops.convert_to_tensor(2.0, dtype="float64").dtype == torch.float64
    assert ops.convert_to_tensor(3.0).shape == ()
    np.testing.assert_array_equal(ops.convert_to_numpy(torch.ones(2, requires_grad=True)), np.ones(2))
    assert ops.cast(np.array([1.7, -1.2]), "int32").tolist() == [1, -1]
    assert ops.cast(torch.ones(2), "bool").dtype == torch.bool
    assert ops.shape(torch.zeros(2, 3)) == (2, 3)
    assert ops.dtype(torch.zeros(1)) == "float32"
    x = torch.ones(3, requires_grad=True)
    assert not ops.stop_gradient(x * 2).requires_grad


def test_control_flow_is_eager():
    assert ops.cond(torch.tensor(True), lambda: 1, lambda: 2) == 1
    assert ops.fori_loop(0, 4, lambda i, v: v + i, 0) == 6
    assert ops.while_loop(lambda a, b: a < 3, lambda a, b: (a + 1, b * 2), (0, 1)) == (3, 8)
    np.testing.assert_array_equal(_np(ops.slice(I, (0, 1), (2, 2))), _np(kops.slice(I, (0, 1), (2, 2))))
    np.testing.assert_array_equal(_np(ops.slice_update(np.zeros((3, 3)), (1, 1), np.ones((2, 2)))),
                                  _np(kops.slice_update(np.zeros((3, 3)), (1, 1), np.ones((2, 2)))))
    np.testing.assert_array_equal(_np(ops.scatter(np.array([[0, 1], [2, 0]]), np.array([1.0, 2.0]), (3, 2))),
                                  _np(kops.scatter(np.array([[0, 1], [2, 0]]), np.array([1.0, 2.0]), (3, 2))))


@pytest.mark.parametrize("call,error,match", [
    (lambda: ops.where(I > 1, I, None), ValueError, "`x1` and `x2` either both"),
    (lambda: ops.split(I, 3), ValueError, "sections"),
    (lambda: ops.squeeze(A, axis=1), ValueError, "size is not 1"),
    (lambda: ops.cast(A, "float33"), ValueError, "Invalid dtype"),
    (lambda: ops.pad(M, 1, mode="reflect", constant_values=0), ValueError, "constant_values"),
    (lambda: ops.transpose(A, (0, 0, 1)), ValueError, "permutation"),
    (lambda: ops.sum(A, axis=3), ValueError, "out of bounds"),
    (lambda: ops.eye(2.5), TypeError, "integer"),
])
def test_bad_arguments_raise(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_symbolic_tensor_is_refused_with_advice_by_eager_only_ops():
    """Ops on symbolic tensors make graph nodes (tests/keras/test_symbolic_ops.py), except the
    eager control flow, which takes Python callables."""
    from lstmkit import keras as lk

    x = lk.Input(shape=(3,))
    with pytest.raises(TypeError, match="Lambda layer"):
        ops.cond(x, lambda: x, lambda: x)


def test_nn_namespace_and_gradients_inside_a_layer():
    from lstmkit import keras as lk

    class Gated(lk.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], 2), initializer="ones")

        def call(self, x):
            h = ops.matmul(x, self.w)
            return ops.nn.sigmoid(h) * ops.tanh(h) + ops.mean(ops.square(x), axis=-1, keepdims=True)

    layer = Gated()
    x = np.ones((3, 4), dtype="float32")
    out = layer(x)
    assert tuple(out.shape) == (3, 2)
    out.sum().backward()
    assert layer.w.grad is not None and torch.isfinite(layer.w.grad).all()
    assert ops.nn.relu is ops.relu and ops.nn.softmax is ops.softmax
