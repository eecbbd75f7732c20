"""The execution paths of ``RecurrentStack`` (see ``lstmkit.nn.rnn``): torch's native kernels
(whole stack per call), and layer by layer, direction by direction, lstmkit's fused kernels or
the plain-torch loop. A mixin so that the layer file keeps parameters, validation and dispatch;
which path runs is decided by ``lstmkit.kernels.choose_path``, not here.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from lstmkit.kernels import loop_script, native, traced
from lstmkit.kernels.loop import (
    carry_fill,
    carry_forward,
    lengths_to_mask,
    reverse_time,
    run_sequence,
    shift_time,
)
from lstmkit.kernels.masks import zoneout_keep
from lstmkit.nn.family import Family, Spec


class ExecutionPaths:
    """Methods of ``RecurrentStack`` that run one call on a chosen path.

    Everything they read from the host is declared below (``RecurrentStack`` sets each in its
    ``__init__`` or defines it; ``tests/nn/test_family.py`` checks that this file reads nothing
    else). States travel as lists over layers of lists over directions of state tuples.
    """

    # ---------------------------------------------------------------- configuration (host attributes)
    family: Family  #: the cell family: state count, kernels, steps
    spec: Spec  #: the variant
    num_layers: int
    hidden_size: int | list[int]  #: a list when layers have different sizes (one native call per layer)
    hidden_sizes: list[int]  #: per layer
    num_directions: int  #: 1, or 2 if bidirectional
    bidirectional: bool
    bias: bool
    dropout: float  #: between layers, in training
    recurrent_dropout: float  #: variational, on h, in training
    zoneout: tuple[float, ...]  #: per state (h, c), eval rates / training probabilities
    go_backwards: bool  #: Keras: process reversed, outputs in processing order
    masked_output: str  #: "zero" or "carry": what a masked step outputs
    matmul_precision: str  #: "fp32" or "bf16" (LSTM: fused kernels, or torch's bf16 LSTM on AMX)
    training: bool  #: torch.nn.Module's mode

    # ---------------------------------------------------------------- layout (host methods)
    def layer_params(self, layer: int, direction: int = 0) -> dict[str, torch.Tensor]:
        """One layer-direction's parameters keyed as in the reference cells."""
        raise NotImplementedError

    def _state_size(self, layer: int) -> int:
        """The width of h in ``layer`` (the projection size, or the hidden size)."""
        raise NotImplementedError

    def _flat_weights(self, layers: range) -> list[torch.Tensor]:
        """The weights of ``layers`` in torch's flat order (all directions)."""
        raise NotImplementedError

    # ---------------------------------------------------------------- torch's kernels
    def _run_native(self, x, states, lens, packed: bool):
        """torch's fused kernels, one call for the stack (one per layer with per-layer sizes).
        Under graph capture each call is one ``traced.native_stack`` node (lengths packed inside it,
        dropout between layers outside it), so neither the sequence length nor the lengths' values
        are baked into the graph."""
        family = self.family
        batch_sizes = None
        capture = not packed and traced.capturing(x)
        if packed:
            data, batch_sizes, order = x.data, x.batch_sizes, x.sorted_indices
        elif lens is not None and not capture:
            pk = pack_padded_sequence(x, lens, enforce_sorted=False)
            data, batch_sizes, order = pk.data, pk.batch_sizes, pk.sorted_indices
        else:
            data, order = x, None
        per_layer = isinstance(self.hidden_size, list) or (capture and self.dropout and self.training)
        groups = [range(l, l + 1) for l in range(self.num_layers)] if per_layer else [range(self.num_layers)]  # noqa: E741
        final = []
        for group in groups:
            hx = [torch.stack([st[k] for l in group for st in states[l]]) for k in range(family.n_states)]  # noqa: E741
            if order is not None:
                hx = [h.index_select(1, order) for h in hx]
            if capture:  # one node, the sequence length left symbolic
                data, out_state = traced.native_stack(family.native_name(self.spec), data.contiguous(), hx,
                                                      self._flat_weights(group), lens, self.bias, len(group),
                                                      self.bidirectional)
                out_state = family.torch_state(tuple(out_state))
            else:
                data, out_state = native.rnn(
                    family.native_name(self.spec), data, family.torch_state(tuple(hx)), self._flat_weights(group),
                    bias=self.bias, num_layers=len(group), dropout=self.dropout, training=self.training,
                    bidirectional=self.bidirectional, batch_sizes=batch_sizes, precision=self.matmul_precision,
                )
            if group.stop < self.num_layers and self.dropout and self.training:
                data = F.dropout(data, self.dropout, True)
            out_state = family.split_state(out_state)
            if order is not None:
                inverse = torch.empty_like(order)
                inverse[order] = torch.arange(order.numel(), device=order.device)
                out_state = tuple(s.index_select(1, inverse) for s in out_state)
            D = self.num_directions
            for i in range(len(group)):
                final.append([tuple(s[i * D + d] for s in out_state) for d in range(D)])
        if packed:
            return PackedSequence(data, batch_sizes, x.sorted_indices, x.unsorted_indices), final
        if lens is not None and not capture:
            data = pad_packed_sequence(PackedSequence(data, batch_sizes, pk.sorted_indices, pk.unsorted_indices),
                                       total_length=x.shape[0])[0]
        return data, final

    def _run_native_spans(self, x, states, starts, lengths):
        """A mask whose real steps form one run per sequence: shift each run to the front, run
        the fused kernels with packed lengths, shift the outputs back (Keras semantics kept)."""
        out, final = self._run_native(shift_time(x, starts), states, lengths.cpu(), packed=False)
        out = shift_time(out, -starts)
        if self.masked_output == "carry":
            R = self._state_size(self.num_layers - 1)
            parts = [carry_fill(part, starts, lengths, reverse=d == 1) for d, part in enumerate(out.split(R, -1))]
            out = torch.cat(parts, dim=-1)
        return out, final

    # ---------------------------------------------------------------- layer by layer
    def _run_loop(self, x: torch.Tensor, states, lens, mask, fused_path: bool = False):
        """Layer by layer, direction by direction: the plain-torch loop of
        ``lstmkit.kernels.loop`` or (``fused_path``) lstmkit's fused kernels."""
        T = x.shape[0]
        step_mask = lengths_to_mask(lens, T).to(x.device) if lens is not None else mask
        if self.go_backwards:
            x = reverse_time(x, lens)
            if mask is not None:
                step_mask = step_mask.flip(0)
        lens_dev = None if lens is None else lens.to(x.device)
        final = []
        for layer in range(self.num_layers):
            outs, layer_final = [], []
            for d in range(self.num_directions):
                out, state = self._run_direction(x, states[layer][d], layer, d, step_mask, lens_dev, fused_path)
                outs.append(out)
                layer_final.append(state)
            x = outs[0] if len(outs) == 1 else torch.cat(outs, dim=-1)
            if layer < self.num_layers - 1 and self.dropout and self.training:
                x = F.dropout(x, self.dropout, True)
            final.append(layer_final)
        return x, final

    def _run_direction(self, x, state0, layer, direction, step_mask, lens, fused_path: bool = False):
        family, p = self.family, self.layer_params(layer, direction)
        B = x.shape[1]
        R, H = self._state_size(layer), self.hidden_sizes[layer]
        rec_mask = None
        if self.training and self.recurrent_dropout > 0:
            keep = 1.0 - self.recurrent_dropout
            rec_mask = torch.bernoulli(x.new_full((B, R), keep)) / keep  # one mask per sequence
        keep_masks = None
        if self.training and any(self.zoneout):
            T = x.shape[0]
            # counter-based masks: the same bits from the kernels' op and from torch (kernels/masks.py)
            draw = traced.zoneout_keep if traced.capturing(x) else zoneout_keep  # capture: seeds drawn in the graph
            keep_masks = [draw((T, B, w), z, x.device, kernel=fused_path) if z > 0 else None
                          for z, w in zip(self.zoneout, family.state_widths(R, H))]
        if fused_path:
            gx = family.fused_input(self.spec, p, x)
            return self._run_direction_fused(gx, state0, p, direction, step_mask, lens, rec_mask, keep_masks)
        if loop_script.exporting():  # the ONNX Loop's traced body holds the step's weights as constants,
            p = {k: v.detach() for k, v in p.items()}  # which a trace refuses for tensors requiring grad
        gx, step = family.input_projection(self.spec, p, x), family.step(self.spec, p, rec_mask)
        state0 = (*state0, *(x.new_zeros(B, w) for w in family.extra_state_widths(self.spec, H)))
        if traced.capturing(gx):  # one node, not one per time step, where the family has an op for it
            captured = family.captured_loop(self.spec, p, gx, state0, rmask=rec_mask, step_mask=step_mask,
                                            lengths=lens, reverse=direction == 1, zoneout=self.zoneout,
                                            keep=keep_masks, masked_output=self.masked_output)
            if captured is not None:
                return captured
        out, state = run_sequence(
            step, gx, state0, step_mask=step_mask, lengths=lens, reverse=direction == 1,
            zoneout_rates=self.zoneout, zoneout_keep=keep_masks, masked_output=self.masked_output,
        )
        return out, state[:family.n_states]

    def _run_direction_fused(self, gx, state0, p, direction, step_mask, lens, rec_mask, keep_masks):
        """The same step semantics as ``run_sequence``, on ``lstmkit.kernels.fused``. ``gx`` is
        what ``family.fused_input`` gives: the layer's input x for the LSTM (the kernels project
        it), the input projection for the GRU."""
        reverse = direction == 1
        if reverse:
            gx = reverse_time(gx, lens)  # per-step projection: reversing x or its projection is alike
            if step_mask is not None and lens is None:
                step_mask = step_mask.flip(0)  # with lengths the reversed sequence is still a prefix
        keep = list(keep_masks) if keep_masks else []
        keep += [None] * (2 - len(keep))
        zoneout = (0.0, 0.0) if keep_masks else (tuple(self.zoneout) + (0.0,))[:2]
        out, final = self.family.run_fused(self.spec, p, gx, state0, rmask=rec_mask, step_mask=step_mask,
                                           keep=keep, zoneout=zoneout, bf16=self.matmul_precision == "bf16")
        if step_mask is not None and self.masked_output == "carry":
            out = carry_forward(out, step_mask)
        if reverse:
            out = reverse_time(out, lens)
        return out, final
