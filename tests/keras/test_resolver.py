"""One resolver behind every family's get/serialize/deserialize: the same identifiers work the
same way in each (names in any Keras spelling, dicts, classes, instances, callables where the
family takes them), and an unknown name or type says what is valid."""

from __future__ import annotations

import pytest
import torch

from lstmkit.keras import activations, constraints, initializers, losses, metrics, optimizers, regularizers

# family, a name in snake_case, in CamelCase, the class, how a plain callable is taken
FAMILIES = [
    (constraints, "max_norm", "MaxNorm", constraints.MaxNorm, "kept"),
    (regularizers, "l2", "L2", regularizers.L2, "kept"),
    (initializers, "glorot_uniform", "GlorotUniform", initializers.GlorotUniform, "wrapped"),
    (losses, "mean_squared_error", "MeanSquaredError", losses.MeanSquaredError, "wrapped"),
    (metrics, "mean_absolute_error", "MeanAbsoluteError", metrics.MeanAbsoluteError, "wrapped"),
    (optimizers, "adam", "Adam", optimizers.Adam, "refused"),
]


@pytest.mark.parametrize(("family", "snake", "camel", "cls", "callables"), FAMILIES,
                         ids=[f[0].__name__.rsplit(".", 1)[-1] for f in FAMILIES])
def test_every_family_resolves_the_same_identifiers(family, snake, camel, cls, callables):
    assert isinstance(family.get(snake), cls) and isinstance(family.get(camel), cls)
    assert isinstance(family.get(cls), cls)
    obj = family.get(snake)
    again = family.deserialize(family.serialize(obj))
    assert type(again) is cls and again.get_config() == obj.get_config()
    assert family.get(None) is None
    with pytest.raises(ValueError, match=r"Could not interpret .* identifier: unknown .*Valid names: \["):
        family.get(snake + "_typo")

    def fn(a, b=None):
        return a

    if callables == "refused":
        with pytest.raises(ValueError, match="Could not interpret"):
            family.get(fn)
    else:
        got = family.get(fn)
        assert (got is fn) == (callables == "kept") and callable(got)
    with pytest.raises(ValueError, match="Could not interpret"):
        family.get(3.5)


def test_family_specific_rules_survive():
    assert isinstance(regularizers.get("l1_l2"), regularizers.L1L2)  # tf.keras' 0.01 / 0.01
    assert regularizers.get("l1_l2").l1 == pytest.approx(0.01)
    assert activations.get(None) is activations.linear and activations.get("swish") is activations.silu
    assert activations.get(torch.tanh) is torch.tanh
    with pytest.raises(TypeError, match="Could not interpret activation"):
        activations.get(3)
    assert metrics.get("acc").name == "acc"  # accuracy keeps its own rule (decided by the loss)
    assert optimizers.deserialize({"class_name": "adam", "config": {}}).__class__ is optimizers.Adam
