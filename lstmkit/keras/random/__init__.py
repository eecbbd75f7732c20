"""``lstmkit.keras.random``, as ``keras.random``: seeded draws (``normal``, ``uniform``, ``randint``,
``truncated_normal``, ``dropout``, ``shuffle``, ``categorical``, ``gamma``, ``binomial``, ``beta``)
and ``SeedGenerator``, giving Keras 3's torch-backend numbers for the same seeds."""

from lstmkit.keras.random.random_ops import (
    beta,
    binomial,
    categorical,
    dropout,
    gamma,
    normal,
    randint,
    shuffle,
    truncated_normal,
    uniform,
)
from lstmkit.keras.random.seed_generator import SeedGenerator

__all__ = ["SeedGenerator", "beta", "binomial", "categorical", "dropout", "gamma", "normal", "randint", "shuffle",
           "truncated_normal", "uniform"]
