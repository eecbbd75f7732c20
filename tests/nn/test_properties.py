"""Property tests over random shapes and lengths (hypothesis), and the extras' semantics."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import lstmkit.nn as lnn

TOL = {"atol": 1e-10, "rtol": 1e-10}
settings.register_profile("lstmkit", max_examples=25, deadline=None, derandomize=True)
settings.load_profile("lstmkit")


@st.composite
def batches(draw):
    T = draw(st.integers(1, 7))
    B = draw(st.integers(1, 4))
    I = draw(st.integers(1, 4))  # noqa: E741
    H = draw(st.integers(1, 5))
    lengths = draw(st.lists(st.integers(1, T), min_size=B, max_size=B))
    mode = draw(st.sampled_from(["LSTM", "GRU"]))
    variant = draw(st.sampled_from(["lstm", "vanilla", "cifg", "fgr", "nig"] if mode == "LSTM"
                                   else ["gru", "gru_cho", "mut3"]))
    seed = draw(st.integers(0, 2**16))
    return T, B, I, H, lengths, mode, variant, seed


def _make(mode, variant, I, H, seed, **kw):  # noqa: E741
    torch.manual_seed(seed)
    return getattr(lnn, mode)(I, H, variant=variant, dtype=torch.float64, backend="reference", **kw)


@given(batches())
def test_masked_steps_leave_state_unchanged(case):
    T, B, I, H, _, mode, variant, seed = case  # noqa: E741
    m = _make(mode, variant, I, H, seed)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(T, B, I, generator=g, dtype=torch.float64)
    mask = torch.rand(T, B, generator=g) > 0.5
    out, final = m(x, mask=mask)
    # Removing the masked steps of each sequence and running what is left gives the same state.
    for b in range(B):
        kept = x[mask[:, b], b]
        h = final[0][:, b] if mode == "LSTM" else final[:, b]
        if kept.shape[0] == 0:
            torch.testing.assert_close(h, torch.zeros_like(h), **TOL)
            continue
        _, ref = m(kept.unsqueeze(1))
        ref_h = ref[0][:, 0] if mode == "LSTM" else ref[:, 0]
        torch.testing.assert_close(h, ref_h, **TOL)
        assert torch.all(out[~mask[:, b], b] == 0)


@given(batches())
def test_lengths_give_each_sequence_its_own_final_state(case):
    T, B, I, H, lengths, mode, variant, seed = case  # noqa: E741
    m = _make(mode, variant, I, H, seed, bidirectional=True)
    x = torch.randn(T, B, I, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    out, final = m(x, lengths=lengths)
    h_n = final[0] if mode == "LSTM" else final
    for b, n in enumerate(lengths):
        alone_out, alone = m(x[:n, b:b + 1])
        alone_h = alone[0] if mode == "LSTM" else alone
        torch.testing.assert_close(h_n[:, b], alone_h[:, 0], **TOL)
        torch.testing.assert_close(out[:n, b], alone_out[:, 0], **TOL)
        assert torch.all(out[n:, b] == 0)


@given(batches())
def test_bidirectional_is_forward_plus_reversed_backward(case):
    T, B, I, H, lengths, mode, variant, seed = case  # noqa: E741
    bi = _make(mode, variant, I, H, seed, bidirectional=True)
    fwd, bwd = _make(mode, variant, I, H, seed), _make(mode, variant, I, H, seed)
    fwd.load_state_dict({k: v for k, v in bi.state_dict().items() if not k.endswith("_reverse")})
    bwd.load_state_dict({k.removesuffix("_reverse"): v for k, v in bi.state_dict().items() if k.endswith("_reverse")})
    x = torch.randn(T, B, I, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    out, _ = bi(x)
    out_f, _ = fwd(x)
    out_b, _ = bwd(x.flip(0))
    torch.testing.assert_close(out, torch.cat([out_f, out_b.flip(0)], dim=-1), **TOL)


def test_go_backwards_returns_outputs_in_processing_order():
    m = lnn.LSTM(3, 4, go_backwards=True, batch_first=True)
    plain = lnn.LSTM(3, 4, batch_first=True)
    plain.load_state_dict(m.state_dict())
    x = torch.randn(2, 5, 3)
    out, (h, _) = m(x)
    out_ref, (h_ref, _) = plain(x.flip(1))
    torch.testing.assert_close(out, out_ref)
    torch.testing.assert_close(h, h_ref)
    # with lengths: each sequence reversed within its own length
    out, (h, _) = m(x, lengths=[5, 3])
    alone, (h_alone, _) = plain(x[1:, :3].flip(1))
    torch.testing.assert_close(out[1, :3], alone[0])
    torch.testing.assert_close(h[:, 1], h_alone[:, 0])


def test_per_layer_hidden_sizes_equal_chained_layers():
    torch.manual_seed(0)
    m = lnn.LSTM(3, [6, 2], bidirectional=True)
    first, second = lnn.LSTM(3, 6, bidirectional=True), lnn.LSTM(12, 2, bidirectional=True)
    sd = m.state_dict()
    first.load_state_dict({k: v for k, v in sd.items() if "_l0" in k})
    second.load_state_dict({k.replace("_l1", "_l0"): v for k, v in sd.items() if "_l1" in k})
    x = torch.randn(5, 2, 3)
    out, (h, c) = m(x)
    mid, (h0, c0) = first(x)
    ref, (h1, c1) = second(mid)
    torch.testing.assert_close(out, ref)
    assert [t.shape for t in h] == [(2, 2, 6), (2, 2, 2)]
    torch.testing.assert_close(h[0], h0)
    torch.testing.assert_close(c[1], c1)
    # and per-layer initial states round-trip
    out2, _ = m(x, (list(h), list(c)))
    assert out2.shape == out.shape


def test_recurrent_dropout_is_variational_and_training_only():
    torch.manual_seed(0)
    m = lnn.LSTM(2, 64, recurrent_dropout=0.5)
    x = torch.randn(6, 3, 2)
    m.eval()
    eval_out, _ = m(x)
    plain = lnn.LSTM(2, 64)
    plain.load_state_dict(m.state_dict())
    torch.testing.assert_close(eval_out, plain(x)[0])  # eval: no dropout at all
    m.train()
    torch.manual_seed(1)
    a, _ = m(x)
    torch.manual_seed(1)
    b, _ = m(x)
    torch.testing.assert_close(a, b)  # same seed, same masks
    assert not torch.allclose(a, eval_out)


def test_zoneout_training_keeps_each_unit_or_updates_it():
    """In training each unit at each step is either its previous value or the fresh update."""
    torch.manual_seed(0)
    m = lnn.GRU(3, 8, zoneout=0.5)
    x = torch.randn(10, 4, 3)
    out, _ = m(x)
    prev = torch.cat([torch.zeros(1, 4, 8), out[:-1]])
    kept = out == prev
    assert 0.3 < kept.float().mean() < 0.7  # about half the units zone out
    m.eval()
    out_eval, _ = m(x)
    assert not torch.equal(out_eval, out)


def test_same_seed_same_result():
    def run():
        torch.manual_seed(42)
        m = lnn.LSTM(3, 5, num_layers=2, dropout=0.3, recurrent_dropout=0.2, zoneout=0.1, variant="cifg")
        x = torch.randn(7, 2, 3)
        out, _ = m(x)
        out.sum().backward()
        return out.detach(), m.weight_ih_l0.grad

    (a, ga), (b, gb) = run(), run()
    assert torch.equal(a, b) and torch.equal(ga, gb)
