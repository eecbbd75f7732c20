"""``lstmkit.keras.random`` against Keras 3's torch backend: the same integer seed or SeedGenerator
gives the same numbers (CPU), an integer seed is stateless, a SeedGenerator steps, and the
symbolic shape pass of a layer does not step it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit.keras import random as our_random
from lstmkit.keras.layers import Dense, Input, Layer
from lstmkit.keras.models import Model

keras = pytest.importorskip("keras")

DRAWS = {
    "normal": lambda r, seed: r.normal((3, 4), mean=1.0, stddev=2.0, seed=seed),
    "uniform": lambda r, seed: r.uniform((5,), minval=-1.0, maxval=3.0, seed=seed),
    "randint": lambda r, seed: r.randint((2, 6), 0, 10, seed=seed),
    "truncated_normal": lambda r, seed: r.truncated_normal((4, 3), stddev=0.5, seed=seed),
    "dropout": lambda r, seed: r.dropout(torch.ones(6, 5), rate=0.4, seed=seed),
    "noise_shape_dropout": lambda r, seed: r.dropout(torch.ones(6, 5), 0.5, noise_shape=(None, 1), seed=seed),
    "shuffle": lambda r, seed: r.shuffle(torch.arange(12.0).reshape(6, 2), seed=seed),
    "categorical": lambda r, seed: r.categorical(torch.tensor([[0.2, 0.3, 0.5], [0.9, 0.05, 0.05]]).log(), 7,
                                                 seed=seed),
}


def _np(x):
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


@pytest.mark.parametrize("draw", sorted(DRAWS))
@pytest.mark.parametrize("seed", [0, 42, 2**31 + 5])
def test_integer_seed_matches_keras_and_is_stateless(draw, seed):
    ours = _np(DRAWS[draw](our_random, seed))
    theirs = _np(DRAWS[draw](keras.random, seed))
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(ours, _np(DRAWS[draw](our_random, seed)))
    assert ours.dtype == theirs.dtype


@pytest.mark.parametrize("draw", ["normal", "uniform", "dropout", "shuffle"])
def test_seed_generator_steps_as_keras(draw):
    ours_gen, theirs_gen = our_random.SeedGenerator(1337), keras.random.SeedGenerator(1337)
    ours = [_np(DRAWS[draw](our_random, ours_gen)) for _ in range(3)]
    theirs = [_np(DRAWS[draw](keras.random, theirs_gen)) for _ in range(3)]
    np.testing.assert_allclose(np.stack(ours), np.stack(theirs), rtol=1e-6)
    assert not np.array_equal(ours[0], ours[1])
    assert ours_gen.state.tolist() == [1337, 3] and ours_gen.get_config()["seed"] == 1337


def test_unseeded_draws_follow_torch_global_seed():
    torch.manual_seed(3)
    a = _np(our_random.normal((4,)))
    torch.manual_seed(3)
    np.testing.assert_array_equal(a, _np(our_random.normal((4,))))


def test_symbolic_shape_pass_does_not_step_the_generator():
    class Noise(Layer):
        def __init__(self):
            super().__init__()
            self.seed_generator = our_random.SeedGenerator(7)

        def call(self, x):
            return x + our_random.normal(tuple(x.shape), seed=self.seed_generator)

    layer = Noise()
    inputs = Input((3,))
    model = Model(inputs, Dense(2)(layer(inputs)))
    assert layer.seed_generator.state.tolist() == [7, 0]
    model(np.zeros((2, 3), "float32"))
    assert layer.seed_generator.state.tolist() == [7, 1]


@pytest.mark.parametrize("bad", ["7", 1.5, True])
def test_bad_seeds_raise_value_error(bad):
    with pytest.raises(ValueError, match="seed"):
        our_random.normal((2,), seed=bad)
    if not isinstance(bad, bool):
        with pytest.raises(ValueError, match="seed"):
            our_random.SeedGenerator(bad)


def test_bad_dtype_raises():
    with pytest.raises(ValueError, match="dtype"):
        our_random.normal((2,), dtype="int32")


def test_gamma_binomial_beta_shapes_and_seeding():
    a = _np(our_random.gamma((50,), alpha=2.0, seed=4))
    np.testing.assert_array_equal(a, _np(our_random.gamma((50,), alpha=2.0, seed=4)))
    assert a.shape == (50,) and (a > 0).all()
    b = _np(our_random.binomial((20,), counts=5, probabilities=0.5, seed=1))
    assert b.shape == (20,) and set(np.unique(b)) <= set(range(6))
    c = _np(our_random.beta((30,), alpha=2.0, beta=3.0, seed=1))
    assert c.shape == (30,) and ((c > 0) & (c < 1)).all()
