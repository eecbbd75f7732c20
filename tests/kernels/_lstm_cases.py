"""Shared set-up of the fused-LSTM tests (test_fused_lstm.py, test_fused_lstm_paths.py): tiny
shapes, tolerances, randomised modules, one runner for every calling convention, and the
comparison against the plain-torch loop."""

from __future__ import annotations

import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

import lstmkit.nn as lnn
from lstmkit.cells import LSTM_VARIANTS
from tests.kernels._helpers import assert_same as _assert_same
from tests.kernels._helpers import flat as _flat
from tests.kernels._helpers import weighted_loss as _loss

T, B, I, H = 5, 3, 3, 4
TOL64 = {"atol": 1e-9, "rtol": 1e-7}
TOL32 = {"atol": 1e-5, "rtol": 1e-4}
VARIANTS = sorted(LSTM_VARIANTS)
LENGTHS = torch.tensor([5, 2, 4])  # unsorted, longest == T
TRAIN, EVAL = dict(train=True), dict(train=False)
BIDIR2 = dict(num_layers=2, bidirectional=True)


def _holey_mask() -> torch.Tensor:
    """(T, B): a full row, holes in the middle, and a sequence that starts masked."""
    return torch.tensor([[1, 1, 0], [1, 0, 0], [1, 1, 1], [1, 0, 1], [1, 1, 0]], dtype=torch.bool)


# ----------------------------------------------------------------------------- helpers


def _randomise(module: torch.nn.Module, seed: int = 0, scale: float = 1.0) -> None:
    """Weights far from their init (layer-norm gains too), so every parameter matters."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_((torch.rand(p.shape, generator=g, dtype=torch.float64) - 0.5) * scale)


def _leaf(obj):
    if obj is None:
        return None
    if isinstance(obj, torch.Tensor):
        return obj.detach().clone().requires_grad_()
    return [_leaf(t) for t in obj]


def _initial_states(m, batched: bool = True, seed: int = 5):
    """(h0, c0) in the layout the module expects (lists for per-layer hidden sizes)."""
    g = torch.Generator().manual_seed(seed)
    D, L = m.num_directions, m.num_layers
    dtype = m.weight_ih_l0.dtype
    lead = (B,) if batched else ()
    if isinstance(m.hidden_size, list):
        h0 = [torch.randn(D, *lead, m.proj_size or h, generator=g, dtype=dtype) for h in m.hidden_sizes]
        c0 = [torch.randn(D, *lead, h, generator=g, dtype=dtype) for h in m.hidden_sizes]
        return h0, c0
    h0 = torch.randn(L * D, *lead, m.proj_size or m.hidden_size, generator=g, dtype=dtype)
    c0 = torch.randn(L * D, *lead, m.hidden_size, generator=g, dtype=dtype)
    return h0, c0


def _run(m, x, hx, *, call=None, train=False, seed=None, pack=None, unpack=False):
    """Forward + backward of ``_loss`` on fresh leaves; returns (outputs, states, grads).
    ``pack``: lengths to pack the input with; ``unpack``: pad the packed output back to T."""
    x, hx = _leaf(x), _leaf(hx)
    inp = x
    if pack is not None:
        inp = pack_padded_sequence(x, pack, enforce_sorted=bool((pack[:-1] >= pack[1:]).all()))
    m.train(train)
    if seed is not None:
        torch.manual_seed(seed)
    out, states = m(inp, None if hx is None else tuple(hx), **(call or {}))
    if unpack:
        out = pad_packed_sequence(out, total_length=x.shape[0])[0]
    _loss(out, states).backward()
    grads = {name: p.grad for name, p in m.named_parameters()}
    grads["input"] = x.grad
    for k, t in enumerate(_flat(hx)):
        grads[f"state{k}"] = t.grad
    return out, states, grads


def _assert_grads(ga, gb, tol):
    assert ga.keys() == gb.keys()
    for name in ga:
        a, b = ga[name], gb[name]
        assert a is not None or b is not None, f"no gradient for {name} on either path"
        a = torch.zeros_like(b) if a is None else a
        b = torch.zeros_like(a) if b is None else b
        torch.testing.assert_close(a, b.to(a.dtype), **tol, msg=lambda msg, n=name: f"grad {n}: {msg}")


def _pair(kw, dtype=torch.float64, scale=1.0):
    """A fused module and a reference-loop module with the same (randomised) weights."""
    kw = dict(kw)
    hidden = kw.pop("hidden_size", H)
    fast = lnn.LSTM(I, hidden, backend="fused", dtype=dtype, **kw)
    _randomise(fast, scale=scale)
    ref = lnn.LSTM(I, hidden, backend="reference", dtype=torch.float64, **kw)
    ref.load_state_dict({k: v.double() for k, v in fast.state_dict().items()})
    return fast, ref


def _check_vs_reference(kw, *, batched=True, states=True, call=None, train=False, pack=None, seed=11,
                        grad_tol=TOL64):
    fast, ref = _pair(kw)
    batch_first = kw.get("batch_first", False)
    shape = ((B, T, I) if batch_first else (T, B, I)) if batched else (T, I)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    hx = _initial_states(fast, batched) if states else None
    out_f, st_f, g_f = _run(fast, x, hx, call=call, train=train, seed=seed, pack=pack)
    out_r, st_r, g_r = _run(ref, x, hx, call=call, train=train, seed=seed, pack=pack)
    if pack is not None:
        assert isinstance(out_f, PackedSequence)
        torch.testing.assert_close(out_f.batch_sizes, out_r.batch_sizes)
    _assert_same(out_f, out_r, TOL64, "output")
    _assert_same(st_f, st_r, TOL64, "states")
    _assert_grads(g_f, g_r, grad_tol)
    return out_f, st_f
