"""``lstmkit.keras.tree`` against Keras 3's ``keras.tree`` (dicts in sorted key order, lists,
tuples, namedtuples), and ``keras.device`` as a device scope."""

from __future__ import annotations

from collections import namedtuple

import pytest
import torch

from lstmkit import keras as lk

keras = pytest.importorskip("keras")
Pair = namedtuple("Pair", "left right")
STRUCTURES = [1, [1, 2], (1, [2, 3]), {"b": 1, "a": [2, 3]}, {"z": {"y": 1}, "a": (3, 4)}, Pair(1, [2, 3])]


@pytest.mark.parametrize("structure", STRUCTURES, ids=range(len(STRUCTURES)))
def test_tree_matches_keras(structure):
    assert lk.tree.flatten(structure) == keras.tree.flatten(structure)
    assert lk.tree.is_nested(structure) == keras.tree.is_nested(structure)
    assert lk.tree.map_structure(lambda v: v * 10, structure) == keras.tree.map_structure(lambda v: v * 10, structure)
    flat = [f"v{k}" for k in range(len(keras.tree.flatten(structure)))]
    assert lk.tree.pack_sequence_as(structure, flat) == keras.tree.pack_sequence_as(structure, flat)


def test_nested_dicts_are_sorted_at_every_level():
    """Keras documents sorted keys; its torch backend's tree (torch's pytree) sorts only the outer
    dict ({"z": {"y": 1, "x": 2}} flattens to [1, 2] there, [2, 1] with optree); lstmkit sorts all."""
    assert lk.tree.flatten({"z": {"y": 1, "x": 2}, "a": 3}) == [3, 2, 1]
    assert lk.tree.pack_sequence_as({"z": {"y": 0, "x": 0}}, [2, 1]) == {"z": {"y": 1, "x": 2}}


def test_tree_errors():
    with pytest.raises(ValueError, match="leaves"):
        lk.tree.pack_sequence_as([1, 2], [1])
    with pytest.raises(ValueError, match="differ"):
        lk.tree.map_structure(lambda a, b: a, [1, 2], [1])


def test_device_scope():
    with lk.device("CPU:0"):
        assert torch.zeros(1).device.type == "cpu"
        layer = lk.layers.Dense(2)
        layer.build((None, 3))
    assert layer.kernel.device.type == "cpu"
    with pytest.raises(ValueError, match="device"):
        with lk.device(""):
            pass
