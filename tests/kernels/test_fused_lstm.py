"""lstmkit's fused CPU LSTM kernels (``lstmkit/csrc/lstm.cpp`` via ``lstmkit.kernels.fused``) against
the three independent references: the plain-torch loop (``backend="reference"``), torch.nn.LSTM
and the float64 NumPy reference cells (``lstmkit.cells``). Gradcheck, dispatch, threads and
edge cases: test_fused_lstm_paths.py.

Everything is tiny (T=5, B=3, I=3, H=4) so the whole grid runs in seconds.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import PackedSequence

import lstmkit.nn as lnn
from lstmkit.cells import run_lstm
from lstmkit.kernels import fused
from tests.kernels._lstm_cases import (
    BIDIR2,
    EVAL,
    LENGTHS,
    TOL32,
    TOL64,
    TRAIN,
    VARIANTS,
    B,
    H,
    I,
    T,
    _assert_grads,
    _assert_same,
    _check_vs_reference,
    _holey_mask,
    _initial_states,
    _pair,
    _randomise,
    _run,
)

pytestmark = pytest.mark.skipif(not fused.available(), reason=f"fused kernels: {fused.unavailable_reason()}")


# ----------------------------------------------------------------------------- 1. vs the loop, float64

STACKS = {"1layer": dict(num_layers=1), "2layers-bidir": dict(num_layers=2, bidirectional=True)}


@pytest.mark.parametrize("stack", list(STACKS))
@pytest.mark.parametrize("layer_norm", [False, True], ids=["plain", "ln"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_variants_match_reference_loop(variant, layer_norm, stack):
    _check_vs_reference(dict(variant=variant, layer_norm=layer_norm, **STACKS[stack]))


# torch's F.hardsigmoid backward (the loop's) multiplies by float32(1/6) even in float64, a
# relative error of 3e-8 per step; the kernels use the exact 1/6 (gradcheck below holds them
# to it), so these cases compare gradients to 1e-7 / 1e-6 only.
HARD = {"grad_tol": {"atol": 1e-7, "rtol": 1e-6}}
EXTRAS = {
    "proj": (dict(proj_size=2), {}),
    "proj-ln": (dict(proj_size=2, layer_norm=True), {}),
    "proj-fgr": (dict(proj_size=2, variant="fgr"), {}),
    "proj-fgr-ln-bidir": (dict(proj_size=3, variant="fgr", layer_norm=True, **BIDIR2), {}),
    "proj-cifg-bidir": (dict(proj_size=2, variant="cifg", **BIDIR2), {}),
    "bias-false": (dict(bias=False, **BIDIR2), {}),
    "bias-false-ln-vanilla": (dict(bias=False, layer_norm=True, variant="vanilla"), {}),
    "relu-hard_sigmoid": (dict(activation="relu", recurrent_activation="hard_sigmoid", variant="vanilla"), HARD),
    "relu-hard_sigmoid-ln": (dict(activation="relu", recurrent_activation="hard_sigmoid", layer_norm=True), HARD),
    "softsign-sigmoid": (dict(activation="softsign", recurrent_activation="sigmoid", variant="fgr"), {}),
    "linear": (dict(activation="linear", **BIDIR2), {}),
    "linear-linear": (dict(activation="linear", recurrent_activation="linear", variant="cifg"), {}),
    "softsign-hard_sigmoid-nog": (dict(activation="softsign", recurrent_activation="hard_sigmoid", variant="nog"),
                                  HARD),
    "hidden-list": (dict(hidden_size=[5, 3], num_layers=2), {}),
    "hidden-list-bidir-ln": (dict(hidden_size=[5, 3], num_layers=2, bidirectional=True, layer_norm=True), {}),
    "hidden-list-proj": (dict(hidden_size=[5, 3], num_layers=2, proj_size=2, variant="fgr"), {}),
    "dropout-train": (dict(num_layers=3, dropout=0.4), TRAIN),
    "dropout-train-bidir": (dict(num_layers=2, bidirectional=True, dropout=0.5, variant="vanilla"), TRAIN),
    "dropout-eval": (dict(num_layers=3, dropout=0.4), EVAL),
    "recurrent_dropout-train": (dict(recurrent_dropout=0.3, **BIDIR2), TRAIN),
    "recurrent_dropout-train-proj-ln": (dict(recurrent_dropout=0.5, proj_size=2, layer_norm=True), TRAIN),
    "recurrent_dropout-eval": (dict(recurrent_dropout=0.3, **BIDIR2), EVAL),
    "zoneout-train": (dict(zoneout=0.3, **BIDIR2), TRAIN),
    "zoneout-pair-train": (dict(zoneout=(0.4, 0.2), variant="cifg", proj_size=2), TRAIN),
    "zoneout-pair-train-hidden-only": (dict(zoneout=(0.0, 0.3), variant="fgr"), TRAIN),
    "zoneout-pair-train-cell-only": (dict(zoneout=(0.3, 0.0), layer_norm=True), TRAIN),
    "zoneout-eval": (dict(zoneout=0.3, **BIDIR2), EVAL),
    "zoneout-pair-eval": (dict(zoneout=(0.4, 0.2), variant="fgr", layer_norm=True), EVAL),
    "everything-train": (dict(zoneout=(0.2, 0.3), recurrent_dropout=0.3, dropout=0.3, layer_norm=True,
                              variant="vanilla", proj_size=2, **BIDIR2), TRAIN),
    "everything-train-lengths": (dict(zoneout=0.3, recurrent_dropout=0.3, dropout=0.3, **BIDIR2),
                                 dict(train=True, call={"lengths": LENGTHS})),
    "everything-train-mask": (dict(zoneout=0.3, recurrent_dropout=0.3, variant="fgr", **BIDIR2),
                              dict(train=True, call={"mask": _holey_mask()})),
    "lengths": (dict(**BIDIR2), dict(call={"lengths": LENGTHS})),
    "lengths-fgr-ln": (dict(variant="fgr", layer_norm=True, **BIDIR2), dict(call={"lengths": LENGTHS})),
    "lengths-list": (dict(**BIDIR2), dict(call={"lengths": [5, 2, 4]})),
    "mask": (dict(variant="vanilla"), dict(call={"mask": _holey_mask()})),
    "mask-bidir-fgr": (dict(variant="fgr", proj_size=2, **BIDIR2), dict(call={"mask": _holey_mask()})),
    "mask-carry": (dict(masked_output="carry"), dict(call={"mask": _holey_mask()})),
    "mask-carry-bidir": (dict(masked_output="carry", layer_norm=True, **BIDIR2), dict(call={"mask": _holey_mask()})),
    "mask-carry-bidir-zoneout-eval": (dict(masked_output="carry", zoneout=0.3, **BIDIR2),
                                      dict(call={"mask": _holey_mask()})),
    "go_backwards": (dict(go_backwards=True), {}),
    "go_backwards-bidir-lengths": (dict(go_backwards=True, **BIDIR2), dict(call={"lengths": LENGTHS})),
    "go_backwards-mask-carry": (dict(go_backwards=True, masked_output="carry", **BIDIR2),
                                dict(call={"mask": _holey_mask()})),
    "batch_first": (dict(batch_first=True, **BIDIR2), {}),
    "batch_first-mask": (dict(batch_first=True, variant="cifg", **BIDIR2), dict(call={"mask": _holey_mask().T})),
    "batch_first-lengths": (dict(batch_first=True, **BIDIR2), dict(call={"lengths": LENGTHS})),
    "unbatched": (dict(variant="vanilla"), dict(batched=False)),
    "unbatched-bidir-proj": (dict(proj_size=2, layer_norm=True, **BIDIR2), dict(batched=False)),
    "unbatched-no-states": (dict(**BIDIR2), dict(batched=False, states=False)),
    "packed-sorted": (dict(**BIDIR2), dict(pack=torch.tensor([5, 4, 2]))),
    "packed-unsorted": (dict(**BIDIR2), dict(pack=torch.tensor([2, 5, 4]))),
    "packed-unsorted-fgr-proj": (dict(variant="fgr", proj_size=2, **BIDIR2), dict(pack=torch.tensor([2, 5, 4]))),
    "packed-no-states": (dict(variant="nig"), dict(pack=torch.tensor([3, 5, 1]), states=False)),
    "no-initial-states": (dict(**BIDIR2), dict(states=False)),
    "no-initial-states-fgr-ln": (dict(variant="fgr", layer_norm=True), dict(states=False)),
}


@pytest.mark.parametrize("case", list(EXTRAS))
def test_extras_match_reference_loop(case):
    kw, opts = EXTRAS[case]
    _check_vs_reference(kw, **opts)


def test_training_masks_are_actually_drawn():
    """The train-mode cases above are only meaningful if the masks change the result."""
    m, _ = _pair(dict(zoneout=0.3, recurrent_dropout=0.3, dropout=0.3, **BIDIR2))
    x = torch.randn(T, B, I, dtype=torch.float64)
    m.eval()
    a = m(x)[0]
    m.train()
    torch.manual_seed(0)
    b = m(x)[0]
    torch.manual_seed(1)
    c = m(x)[0]
    assert not torch.allclose(a, b) and not torch.allclose(b, c)


# ----------------------------------------------------------------------------- 2. vs torch.nn.LSTM, float32


def _torch_pair(**kw):
    torch.manual_seed(0)
    ref = torch.nn.LSTM(**kw)
    ours = lnn.LSTM(backend="fused", **kw)
    ours.load_state_dict(ref.state_dict())
    return ref, ours


def _compare_torch(ref, ours, x, hx, pack=None, lengths=None):
    """``lengths``: torch.nn.LSTM runs the packed sequence, ours the padded tensor with lengths=."""
    if lengths is None:
        out_r, st_r, g_r = _run(ref, x, hx, pack=pack)
        out_o, st_o, g_o = _run(ours, x, hx, pack=pack)
    else:  # torch's packed results padded with zeros, against ours on the padded tensor
        out_r, st_r, g_r = _run(ref, x, hx, pack=lengths, unpack=True)
        out_o, st_o, g_o = _run(ours, x, hx, call={"lengths": lengths})
    if isinstance(out_r, PackedSequence):
        assert isinstance(out_o, PackedSequence)
        torch.testing.assert_close(out_o.batch_sizes, out_r.batch_sizes)
    _assert_same(out_o, out_r, TOL32, "output")
    _assert_same(st_o, st_r, TOL32, "states")
    _assert_grads(g_o, g_r, TOL32)


@pytest.mark.parametrize("batch_first", [False, True], ids=["time-major", "batch_first"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bidir"])
@pytest.mark.parametrize("num_layers", [1, 2, 3])
def test_matches_torch_lstm(num_layers, bidirectional, batch_first):
    ref, ours = _torch_pair(input_size=I, hidden_size=H, num_layers=num_layers, bidirectional=bidirectional,
                            batch_first=batch_first)
    g = torch.Generator().manual_seed(1)
    x = torch.randn((B, T, I) if batch_first else (T, B, I), generator=g)
    _compare_torch(ref, ours, x, _initial_states(ours))


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bidir"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_matches_torch_lstm_with_projection(num_layers, bidirectional):
    ref, ours = _torch_pair(input_size=I, hidden_size=H, num_layers=num_layers, bidirectional=bidirectional,
                            proj_size=2)
    x = torch.randn(T, B, I, generator=torch.Generator().manual_seed(1))
    _compare_torch(ref, ours, x, _initial_states(ours))


@pytest.mark.parametrize("proj_size", [0, 2])
@pytest.mark.parametrize("lengths", [[5, 4, 2], [2, 5, 1]], ids=["sorted", "unsorted"])
def test_matches_torch_lstm_packed(lengths, proj_size):
    ref, ours = _torch_pair(input_size=I, hidden_size=H, num_layers=2, bidirectional=True, proj_size=proj_size)
    x = torch.randn(T, B, I, generator=torch.Generator().manual_seed(2))
    _compare_torch(ref, ours, x, _initial_states(ours), pack=torch.tensor(lengths))


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bidir"])
def test_lengths_match_torch_packed(bidirectional):
    ref, ours = _torch_pair(input_size=I, hidden_size=H, num_layers=2, bidirectional=bidirectional)
    x = torch.randn(T, B, I, generator=torch.Generator().manual_seed(3))
    _compare_torch(ref, ours, x, _initial_states(ours), lengths=LENGTHS)


def test_unbatched_matches_torch_lstm():
    ref, ours = _torch_pair(input_size=I, hidden_size=H, num_layers=2, bidirectional=True, bias=False)
    x = torch.randn(T, I, generator=torch.Generator().manual_seed(4))
    _compare_torch(ref, ours, x, _initial_states(ours, batched=False))


# ----------------------------------------------------------------------------- 3. vs the NumPy cells


def _np_layers(module) -> list[list[dict[str, np.ndarray]]]:
    return [[{k: v.detach().numpy() for k, v in module.layer_params(l, d).items()}
             for d in range(module.num_directions)] for l in range(module.num_layers)]  # noqa: E741


@pytest.mark.parametrize("timing", ["none", "lengths", "mask"])
@pytest.mark.parametrize("kw", [
    dict(variant="vanilla", num_layers=2, bidirectional=True),
    dict(variant="cifg", num_layers=2),
    dict(variant="fgr", layer_norm=True, bidirectional=True),
    dict(variant="lstm", proj_size=2, num_layers=2, bidirectional=True),
], ids=["vanilla", "cifg", "fgr-ln", "lstm-proj"])
def test_matches_numpy_reference_cells(kw, timing):
    m = lnn.LSTM(I, H, backend="fused", dtype=torch.float64,
                 masked_output="carry" if timing == "mask" else "zero", **kw)
    _randomise(m)
    x = torch.randn(T, B, I, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    h0, c0 = _initial_states(m)
    extra = {"lengths": LENGTHS} if timing == "lengths" else {"mask": _holey_mask()} if timing == "mask" else {}
    with torch.no_grad():
        out, (h_n, c_n) = m(x, (h0, c0), **extra)
    ref_out, ref_h, ref_c = run_lstm(m.spec, _np_layers(m), x.numpy(), h0.numpy(), c0.numpy(),
                                     bidirectional=m.bidirectional, masked_output=m.masked_output,
                                     **{k: v.numpy() for k, v in extra.items()})
    torch.testing.assert_close(out, torch.from_numpy(ref_out), **TOL64)
    torch.testing.assert_close(h_n, torch.from_numpy(np.stack(ref_h)), **TOL64)
    torch.testing.assert_close(c_n, torch.from_numpy(np.stack(ref_c)), **TOL64)
