"""Streaming inference: one time step of a plain stacked LSTM / GRU on weights packed once.

The binding of ``lstmkit/csrc/stream.cpp`` (read its header for why the layout is what it is).
``pack`` lays each layer's torch-layout weights (``weight_ih_l{k}`` (G*H, I), gates i|f|g|o or
r|z|n) out in blocks of 16 hidden units, (blocks, K, G*16); ``StreamWeights`` keeps the packed
copy of a module's parameters and repacks only when a parameter changed (its storage or its
in-place version counter), so a generation loop pays the packing once. ``run`` runs the steps.

No autograd here: the layers use this path only when no gradient is wanted (see
``lstmkit.nn.rnn.RecurrentStack.step``); training goes through the sequence kernels.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from lstmkit.kernels import fused

BLOCK = 16  # hidden units per packed block (one AVX-512 register of float32)


def _blocks(weight: torch.Tensor, gates: int) -> torch.Tensor:
    """(G*H, K) torch layout -> (blocks, K, G*16), padded units zero."""
    GH, K = weight.shape
    H = GH // gates
    nb = -(-H // BLOCK)
    w = weight.detach().to(torch.float32).reshape(gates, H, K)
    if nb * BLOCK != H:
        w = torch.cat([w, w.new_zeros(gates, nb * BLOCK - H, K)], dim=1)
    return w.reshape(gates, nb, BLOCK, K).permute(1, 3, 0, 2).reshape(nb, K, gates * BLOCK).contiguous()


def _bias_blocks(bias: torch.Tensor | None, H: int, gates: int) -> torch.Tensor:
    nb = -(-H // BLOCK)
    b = torch.zeros(gates, nb * BLOCK) if bias is None else \
        torch.cat([bias.detach().to(torch.float32).reshape(gates, H), torch.zeros(gates, nb * BLOCK - H)], dim=1)
    return b.reshape(gates, nb, BLOCK).permute(1, 0, 2).reshape(nb, gates * BLOCK).contiguous()


def pack(layers: Sequence[dict[str, torch.Tensor]], gates: int) -> tuple[list[torch.Tensor], ...]:
    """Per layer ``{"weight_ih", "weight_hh", "bias_ih"?, "bias_hh"?}`` -> (wx, wh, bx, bh) lists."""
    wx, wh, bx, bh = [], [], [], []
    for p in layers:
        H = p["weight_hh"].shape[1]
        wx.append(_blocks(p["weight_ih"], gates))
        wh.append(_blocks(p["weight_hh"], gates))
        bx.append(_bias_blocks(p.get("bias_ih"), H, gates))
        bh.append(_bias_blocks(p.get("bias_hh"), H, gates))
    return wx, wh, bx, bh


class StreamWeights:
    """The packed weights of one module, refreshed when any parameter changes."""

    def __init__(self, gates: int):
        self.gates = gates
        self._key: tuple | None = None
        self._packed: tuple[list[torch.Tensor], ...] | None = None

    @staticmethod
    def _key_of(layers: Sequence[dict[str, torch.Tensor]]) -> tuple:
        return tuple((t.data_ptr(), t._version, t.shape, t.dtype) for p in layers for t in p.values())

    def current(self, layers: Sequence[dict[str, torch.Tensor]]) -> bool:
        """Whether the packed copy is of exactly these parameters as they are now."""
        return self._packed is not None and self._key_of(layers) == self._key

    def get(self, layers: Sequence[dict[str, torch.Tensor]]) -> tuple[list[torch.Tensor], ...]:
        key = self._key_of(layers)
        if key != self._key or self._packed is None:
            self._packed = pack(layers, self.gates)
            self._key = key
        return self._packed

    def if_current(self, layers: Sequence[dict[str, torch.Tensor]]) -> tuple[list[torch.Tensor], ...] | None:
        """The packed weights if they are current, else None (the key computed once: ``step()``'s
        per-token check)."""
        return self._packed if self._packed is not None and self._key_of(layers) == self._key else None


def _require() -> None:
    if not fused.available():
        raise RuntimeError(f"lstmkit: {fused.unavailable_reason()}")


def run(x: torch.Tensor, h: Sequence[torch.Tensor], c: Sequence[torch.Tensor],
        packed: tuple[list[torch.Tensor], ...], gates: int
        ) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
    """x (T, B, I), h / c per layer (B, H) -> the last layer's outputs (T, B, H) and every layer's
    final h and c (c empty for the GRU)."""
    _require()
    wx, wh, bx, bh = packed
    out, h_n, c_n = torch.ops.lstmkit.stream_forward(
        x.contiguous(), [t.contiguous() for t in h], [t.contiguous() for t in c], wx, wh, bx, bh, gates)
    return out, list(h_n), list(c_n)


def step(x: torch.Tensor, h: torch.Tensor, c: torch.Tensor | None, packed: tuple[list[torch.Tensor], ...],
         gates: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """One step with stacked states: x (B, I), h / c (L, B, H) -> output (B, H), h_n, c_n (c_n
    None for the GRU). Equal hidden sizes only (``run`` takes per-layer lists)."""
    _require()
    out, h_n, c_n = torch.ops.lstmkit.stream_step(x, h, h if c is None else c, *packed, gates)
    return out, h_n, (c_n if gates == 4 else None)


def peak_gflops(seconds: float = 0.5, threads: int = 1) -> tuple[float, float]:
    """The measured physical peak (fp32 FMA, bf16 dot product) in GFLOP/s with ``threads``
    threads (see ``lstmkit/csrc/peak.cpp``); 0.0 where the CPU lacks the instructions."""
    _require()
    fp32, bf16 = torch.ops.lstmkit.fma_peak(float(seconds), int(threads))
    return float(fp32), float(bf16)
