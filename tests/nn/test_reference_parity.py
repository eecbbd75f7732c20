"""Every variant and extra of lstmkit.nn against the NumPy float64 reference cells
(``lstmkit.cells``): outputs and final states to 1e-10, plus torch.autograd.gradcheck.

The reference is an independent, slow, readable implementation; the layers are tested
against it, not derived from it.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lstmkit.nn as lnn
from lstmkit.cells import GRU_VARIANTS, LSTM_VARIANTS, gru_step, lstm_step, run_gru, run_lstm, unroll
from lstmkit.kernels.loop import run_sequence
from lstmkit.kernels.steps import GRUStep, LSTMStep, gru_input_projection, lstm_input_projection

TOL = {"atol": 1e-10, "rtol": 1e-10}
T, B = 6, 3


def _randomise(module: torch.nn.Module, seed: int = 0) -> None:
    """Weights far from their init (layer-norm gains too), so every parameter matters."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.rand(p.shape, generator=g, dtype=p.dtype) - 0.5)


def _np_layers(module) -> list[list[dict[str, np.ndarray]]]:
    return [[{k: v.detach().numpy() for k, v in module.layer_params(l, d).items()}
             for d in range(module.num_directions)] for l in range(module.num_layers)]  # noqa: E741


def _sequence_inputs(input_size: int, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(T, B, input_size, generator=g, dtype=torch.float64)
    lengths = torch.tensor([T, 2, 4])
    mask = torch.rand(T, B, generator=g) > 0.35
    return x, lengths, mask


LSTM_CASES = [
    dict(num_layers=2, bidirectional=True),
    dict(num_layers=1, layer_norm=True, proj_size=3),
    dict(num_layers=2, activation="relu", recurrent_activation="hard_sigmoid", bidirectional=True),
]


@pytest.mark.parametrize("timing", ["lengths", "mask", "none"])
@pytest.mark.parametrize("case", range(len(LSTM_CASES)))
@pytest.mark.parametrize("variant", sorted(LSTM_VARIANTS))
def test_lstm_variants_match_reference(variant, case, timing):
    kw = LSTM_CASES[case]
    m = lnn.LSTM(4, 5, variant=variant, backend="reference", dtype=torch.float64,
                 masked_output="carry" if timing == "mask" else "zero", **kw)
    _randomise(m)
    x, lengths, mask = _sequence_inputs(4)
    D, R = m.num_directions, m.proj_size or 5
    g = torch.Generator().manual_seed(5)
    h0 = torch.randn(m.num_layers * D, B, R, generator=g, dtype=torch.float64)
    c0 = torch.randn(m.num_layers * D, B, 5, generator=g, dtype=torch.float64)
    extra = {"lengths": lengths} if timing == "lengths" else {"mask": mask} if timing == "mask" else {}
    out, (h_n, c_n) = m(x, (h0, c0), **extra)
    ref_extra = {k: v.numpy() for k, v in extra.items()}
    ref_out, ref_h, ref_c = run_lstm(m.spec, _np_layers(m), x.numpy(), h0.numpy(), c0.numpy(),
                                     bidirectional=m.bidirectional, masked_output=m.masked_output, **ref_extra)
    torch.testing.assert_close(out, torch.from_numpy(ref_out), **TOL)
    torch.testing.assert_close(h_n, torch.from_numpy(np.stack(ref_h)), **TOL)
    torch.testing.assert_close(c_n, torch.from_numpy(np.stack(ref_c)), **TOL)


GRU_CASES = [dict(num_layers=2, bidirectional=False), dict(num_layers=1, layer_norm=True, bidirectional=True)]


@pytest.mark.parametrize("timing", ["lengths", "mask"])
@pytest.mark.parametrize("case", range(len(GRU_CASES)))
@pytest.mark.parametrize("variant", sorted(GRU_VARIANTS))
def test_gru_variants_match_reference(variant, case, timing):
    kw = GRU_CASES[case]
    m = lnn.GRU(5, 5, variant=variant, backend="reference", dtype=torch.float64, **kw)
    _randomise(m)
    x, lengths, mask = _sequence_inputs(5)
    h0 = torch.randn(m.num_layers * m.num_directions, B, 5, generator=torch.Generator().manual_seed(6),
                     dtype=torch.float64)
    extra = {"lengths": lengths} if timing == "lengths" else {"mask": mask}
    out, h_n = m(x, h0, **extra)
    ref_out, ref_h = run_gru(m.spec, _np_layers(m), x.numpy(), h0.numpy(), bidirectional=m.bidirectional,
                             **{k: v.numpy() for k, v in extra.items()})
    torch.testing.assert_close(out, torch.from_numpy(ref_out), **TOL)
    torch.testing.assert_close(h_n, torch.from_numpy(np.stack(ref_h)), **TOL)


@pytest.mark.parametrize("variant", ["lstm", "vanilla", "cifg", "fgr", "nog"])
def test_lstm_dropout_and_zoneout_masks_match_reference(variant):
    """Training-mode extras with explicit masks: variational recurrent dropout (one mask for
    all steps) and zoneout (a fresh keep-mask per step) give the reference's results."""
    m = lnn.LSTM(4, 5, variant=variant, dtype=torch.float64, proj_size=3, layer_norm=True)
    _randomise(m)
    spec, p = m.spec, m.layer_params(0)
    x, _, _ = _sequence_inputs(4)
    g = torch.Generator().manual_seed(9)
    rec_mask = (torch.rand(B, 3, generator=g) > 0.3).double() / 0.7
    keep_h = torch.rand(T, B, 3, generator=g) < 0.2
    keep_c = torch.rand(T, B, 5, generator=g) < 0.3
    state0 = [torch.zeros(B, 3, dtype=torch.float64), torch.zeros(B, 5, dtype=torch.float64)]
    if spec.full_gate_recurrence:
        state0.append(torch.zeros(B, len(spec.sigmoid_gates) * 5, dtype=torch.float64))
    out, _ = run_sequence(LSTMStep(spec, p, rec_mask), lstm_input_projection(spec, p, x), tuple(state0),
                          zoneout_keep=[keep_h, keep_c])

    params = {k: v.detach().numpy() for k, v in p.items()}
    h, c, prev = np.zeros((B, 3)), np.zeros((B, 5)), None
    for t in range(T):
        h, c, gates = lstm_step(spec, params, x[t].numpy(), h, c, prev_gates=prev, recurrent_mask=rec_mask.numpy(),
                                zoneout_masks=(keep_c[t].numpy(), keep_h[t].numpy()))
        prev = gates
        torch.testing.assert_close(out[t], torch.from_numpy(h), **TOL)


@pytest.mark.parametrize("variant", sorted(GRU_VARIANTS))
def test_gru_dropout_and_zoneout_masks_match_reference(variant):
    m = lnn.GRU(5, 5, variant=variant, dtype=torch.float64, layer_norm=True)
    _randomise(m)
    spec, p = m.spec, m.layer_params(0)
    x, _, _ = _sequence_inputs(5)
    g = torch.Generator().manual_seed(9)
    rec_mask = (torch.rand(B, 5, generator=g) > 0.3).double() / 0.7
    keep_h = torch.rand(T, B, 5, generator=g) < 0.2
    out, _ = run_sequence(GRUStep(spec, p, rec_mask), gru_input_projection(spec, p, x),
                          (torch.zeros(B, 5, dtype=torch.float64),), zoneout_keep=[keep_h])
    params = {k: v.detach().numpy() for k, v in p.items()}
    h = np.zeros((B, 5))
    for t in range(T):
        h, _ = gru_step(spec, params, x[t].numpy(), h, recurrent_mask=rec_mask.numpy(), zoneout_mask=keep_h[t].numpy())
        torch.testing.assert_close(out[t], torch.from_numpy(h), **TOL)


def test_eval_zoneout_matches_reference():
    m = lnn.LSTM(4, 5, variant="vanilla", zoneout=(0.3, 0.1), dtype=torch.float64).eval()
    _randomise(m)
    x, _, _ = _sequence_inputs(4)
    out, _ = m(x)
    params = {k: v.detach().numpy() for k, v in m.layer_params(0).items()}

    def step(x_t, state):
        h, c, _ = lstm_step(m.spec, params, x_t, state[0], state[1], zoneout=(0.3, 0.1))
        return h, (h, c)

    ref, _ = unroll(step, x.numpy(), (np.zeros((B, 5)), np.zeros((B, 5))))
    torch.testing.assert_close(out, torch.from_numpy(ref), **TOL)


@pytest.mark.parametrize("variant", sorted(LSTM_VARIANTS))
def test_lstm_cell_matches_reference(variant):
    cell = lnn.LSTMCell(4, 5, variant=variant, layer_norm=True, dtype=torch.float64)
    _randomise(cell)
    g = torch.Generator().manual_seed(3)
    x, h, c = (torch.randn(B, n, generator=g, dtype=torch.float64) for n in (4, 5, 5))
    params = {k: v.detach().numpy() for k, v in cell.cell_params().items()}
    if cell.spec.full_gate_recurrence:
        a = torch.rand(B, len(cell.spec.sigmoid_gates) * 5, generator=g, dtype=torch.float64)
        h1, c1, _ = cell(x, (h, c, a))
        rh, rc, _ = lstm_step(cell.spec, params, x.numpy(), h.numpy(), c.numpy(), prev_gates=a.numpy())
    else:
        h1, c1 = cell(x, (h, c))
        rh, rc, _ = lstm_step(cell.spec, params, x.numpy(), h.numpy(), c.numpy())
    torch.testing.assert_close(h1, torch.from_numpy(rh), **TOL)
    torch.testing.assert_close(c1, torch.from_numpy(rc), **TOL)


@pytest.mark.parametrize("variant", sorted(GRU_VARIANTS))
def test_gru_cell_matches_reference(variant):
    cell = lnn.GRUCell(5, 5, variant=variant, dtype=torch.float64)
    _randomise(cell)
    g = torch.Generator().manual_seed(3)
    x, h = (torch.randn(B, 5, generator=g, dtype=torch.float64) for _ in range(2))
    ref, _ = gru_step(cell.spec, {k: v.detach().numpy() for k, v in cell.cell_params().items()}, x.numpy(), h.numpy())
    torch.testing.assert_close(cell(x, h), torch.from_numpy(ref), **TOL)


def _gradcheck_module(m, x, **call_kw):
    names = [n for n, _ in m.named_parameters()]
    values = tuple(p.detach().clone().requires_grad_() for p in m.parameters())

    def fn(x, *params):
        out, states = torch.func.functional_call(m, dict(zip(names, params)), (x,), call_kw)
        states = states if isinstance(states, tuple) else (states,)
        return (out, *states)

    assert torch.autograd.gradcheck(fn, (x.requires_grad_(), *values), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("variant", sorted(LSTM_VARIANTS))
def test_lstm_gradcheck(variant):
    m = lnn.LSTM(3, 2, variant=variant, bidirectional=True, layer_norm=variant in ("vanilla", "fgr"),
                 proj_size=1 if variant == "cifg" else 0, dtype=torch.float64)
    _randomise(m)
    x = torch.randn(4, 2, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    _gradcheck_module(m, x, lengths=torch.tensor([4, 2]))


@pytest.mark.parametrize("variant", sorted(GRU_VARIANTS))
def test_gru_gradcheck(variant):
    m = lnn.GRU(2, 2, variant=variant, layer_norm=variant == "gru_cho", dtype=torch.float64)
    _randomise(m)
    x = torch.randn(4, 2, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    _gradcheck_module(m, x, mask=torch.tensor([[1, 1], [0, 1], [1, 0], [1, 1]], dtype=torch.bool))


def test_zoneout_eval_gradcheck():
    m = lnn.LSTM(3, 2, zoneout=0.25, recurrent_dropout=0.5, dtype=torch.float64).eval()
    _randomise(m)
    _gradcheck_module(m, torch.randn(3, 2, 3, dtype=torch.float64))
