"""Keras 3's keras/src/layers/rnn/dropout_rnn_cell_test.py, ported to lstmkit.keras.

Adapted: the toy cell mixes in ``lstmkit.keras.layers.rnn.dropout_rnn_cell.DropoutRNNCell``;
``run_layer_test`` is the stand-in of ``_rnn_cells``. Skipped: ``test_seed_tracking`` (Keras
counts its SeedGenerator as a non-trainable variable; lstmkit's mixin keeps a torch.Generator,
which is no variable) and the mixed-precision half of ``test_basics`` (Keras runs it only on CUDA).
Added: one mask per sequence (the same at every step, a new one per call) and ``seed``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit.keras import layers
from lstmkit.keras.engine.registry import register
from lstmkit.keras.layers.rnn.dropout_rnn_cell import DropoutRNNCell
from tests.keras_compat._rnn_cells import run_layer_test

pytestmark = pytest.mark.usefixtures("one_thread")


@register("layer")
class RNNCellWithDropout(layers.Layer, DropoutRNNCell):
    def __init__(self, units, dropout=0.5, recurrent_dropout=0.5, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.units = units
        self.state_size = units
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        self.masks_seen = []

    def build(self, input_shape):
        self.add_weight("kernel", (input_shape[-1], self.units), initializer="ones")
        self.add_weight("recurrent_kernel", (self.units, self.units), initializer="ones")

    def call(self, inputs, states, training=False):
        if training:
            dp_mask = self.get_dropout_mask(inputs)
            self.masks_seen.append(dp_mask)
            inputs = inputs * dp_mask
        prev_output = states[0]
        h = torch.matmul(inputs, self.kernel)
        if training:
            prev_output = prev_output * self.get_recurrent_dropout_mask(prev_output)
        output = h + torch.matmul(prev_output, self.recurrent_kernel)
        return output, [output]

    def get_config(self):
        return {**super().get_config(), "units": self.units, "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout, "seed": self.seed}


@pytest.mark.skip(reason="Keras counts its SeedGenerator as a non-trainable variable; lstmkit keeps a torch.Generator")
def test_seed_tracking():
    pass


def test_basics():
    run_layer_test(layers.RNN, {"cell": RNNCellWithDropout(5, seed=1337)}, (3, 2, 4), (3, 5),
                   call_kwargs={"training": True}, expected_num_trainable_weights=2,
                   expected_num_non_trainable_weights=0, supports_masking=True)


def test_one_mask_per_sequence():
    cell = RNNCellWithDropout(5, seed=1337)
    layer = layers.RNN(cell)
    x = np.ones((3, 4, 6), dtype="float32")
    layer(x, training=True)
    first = cell.masks_seen[:]
    assert len(first) == 4 and all(m is first[0] for m in first)  # one mask for every step
    assert set(np.unique(first[0].numpy())) <= {0.0, 2.0}  # inverted dropout at rate 0.5
    layer(x, training=True)
    assert cell.masks_seen[4] is not first[0]  # the next sequence draws a new one
    layer(x, training=False)
    assert len(cell.masks_seen) == 8


def test_seed_gives_the_same_masks():
    masks = []
    for _ in range(2):
        cell = RNNCellWithDropout(5, seed=7)
        layers.RNN(cell)(np.ones((3, 2, 16), dtype="float32"), training=True)
        masks.append(cell.masks_seen[0].numpy())
    np.testing.assert_array_equal(masks[0], masks[1])
