"""``step``: one time step of a recurrent stack, for generation and online inference.

Why a method and not ``forward`` on a length-1 sequence: called per token, ``forward`` pays its
whole set-up every step (checks, path choice, the input projection as its own GEMM, per-layer
kernel calls), which at batch 1 costs more than the arithmetic. ``step`` keeps the weights
packed across calls (``lstmkit.kernels.stream``: repacked only when a parameter changes) and
runs every layer of the step in one kernel call, split across the cores.

The fast path runs the plain LSTM and GRU (torch.nn's equations) in float32 on the CPU,
unidirectional, when no gradient is needed (``torch.no_grad()`` / ``inference_mode()``, or
parameters that do not require grad) and at batch <= ``STREAM_MAX_BATCH``. Everything else (the
variants and extras, training, bf16 mode, the reference backend) runs ``forward`` on a length-1
sequence: the same result, by the layer's own path.
"""

from __future__ import annotations

import torch

from lstmkit import kernels
from lstmkit.kernels import stream, traced
from lstmkit.kernels.exporting import in_onnx_export
from lstmkit.nn import _checks

#: largest batch the streaming kernel takes; a bigger batch is GEMM-shaped and runs ``forward``
STREAM_MAX_BATCH = 16


class StreamingStep:
    """Mixin of ``RecurrentStack``: the ``step`` method and its packed-weight cache."""

    def step(self, input: torch.Tensor, state=None):
        """One time step: ``(output_t, state) = layer.step(x_t, state)``.

        Args:
            input: x_t, (batch, input_size), or (input_size,) for one sequence.
            state: what the previous ``step`` or ``forward`` returned ((h, c) for an LSTM, h for
                a GRU/RNN, each (num_layers, batch, hidden)); None starts from zeros.

        Returns:
            output_t (batch, hidden) (the last layer's h; (hidden,) for one sequence) and the
            new state, in ``forward``'s format. Equal to ``forward`` run over the steps one by
            one (and to torch.nn.LSTM / GRU with the same weights).
        """
        if self.bidirectional or self.go_backwards:
            raise ValueError("step() runs one time step forward in time; a bidirectional or go_backwards layer "
                             "needs the whole sequence: call forward()")
        if not isinstance(input, torch.Tensor):
            raise TypeError(f"input must be a torch.Tensor, got {type(input).__name__}")
        if input.dim() not in (1, 2):
            raise ValueError(f"step() takes one time step: input must be (batch, input_size) or (input_size,), "
                             f"got shape {tuple(input.shape)}")
        streams = self._streams_memo(input)
        if streams and input.dim() == 2:
            quick = self._quick_step(input, state)
            if quick is not None:  # the generation loop's case: the state step() returned last time
                return quick
        seq = input.unsqueeze(1 if self.batch_first and input.dim() == 2 else 0)  # a length-1 sequence
        if not streams:
            output, state = self(seq, state)
            return output.squeeze(1 if self.batch_first and input.dim() == 2 else 0), state
        x, batched = _checks.input_tensor(seq, self.input_size, self.batch_first)  # (1, B, I)
        output, final = self._run_stream(x, self._initial_states(state, x, batched))
        return (output[0] if batched else output[0, 0]), self._format_states(final, batched)

    def _quick_step(self, x: torch.Tensor, state):
        """One op for a batched step whose state is exactly what ``step`` returns (uniform sizes,
        right shapes, dtype and device) and whose packed weights are current; None: take the
        general path (which checks everything and repacks)."""
        cache = self.__dict__.get("_stream_weights")
        if cache is None or isinstance(self.hidden_size, list) or x.shape[1] != self.input_size:
            return None
        gates = 4 if self.family.n_states == 2 else 3
        parts = (state,) if gates == 3 else state
        shape = (self.num_layers, x.shape[0], self.hidden_size)
        if not isinstance(parts, tuple) or len(parts) != (2 if gates == 4 else 1) or not all(
                isinstance(t, torch.Tensor) and t.shape == shape and t.dtype == x.dtype and t.device == x.device
                for t in parts):
            return None
        params = self._parameters  # as layer_params, without Module.__getattr__ per tensor
        layers = [{key: params[name] for key, name in self._keys[layer][0]} for layer in range(self.num_layers)]
        packed = cache.if_current(layers) if cache.gates == gates else None
        if packed is None:
            return None
        out, h, c = stream.step(x, parts[0], parts[1] if gates == 4 else None, packed, gates)
        return out, ((h, c) if gates == 4 else h)

    def _run_stream(self, x: torch.Tensor, states: list[list[tuple[torch.Tensor, ...]]]):
        """x (T, B, I) and the per-layer states -> (T, B, H) outputs and final states, on the
        streaming kernel (unidirectional plain LSTM/GRU, no gradient)."""
        gates = 4 if self.family.n_states == 2 else 3
        cache = self.__dict__.get("_stream_weights")
        if cache is None or cache.gates != gates:
            cache = self.__dict__["_stream_weights"] = stream.StreamWeights(gates)
        layers = [self.layer_params(layer, 0) for layer in range(self.num_layers)]
        if not cache.current(layers):  # parameters changed since the last pack: check them again
            _checks.parameters(self, self._param_shapes, x)
        packed = cache.get(layers)
        h = [st[0][0] for st in states]
        c = [st[0][1] for st in states] if gates == 4 else []
        output, h_n, c_n = stream.run(x, h, c, packed, gates)
        final = [[(hn, cn)] for hn, cn in zip(h_n, c_n)] if gates == 4 else [[(hn,)] for hn in h_n]
        return output, final

    def _streams_memo(self, x_t: torch.Tensor) -> bool:
        """``_streams``, remembered between tokens while nothing it reads can have changed: under
        no_grad, not captured or exported, same module settings, input dtype, device and batch.
        Why: the decision costs as much as the kernel's own overhead at batch 1."""
        if torch.is_grad_enabled() or traced.capturing(x_t) or in_onnx_export():
            return self._streams(x_t)
        key = (self.training, self.backend, self.matmul_precision, self.dropout, x_t.dtype, x_t.device,
               x_t.shape[:-1], x_t.shape[-1])
        memo = self.__dict__.get("_stream_memo")
        if memo is not None and memo[0] == key:
            return memo[1]
        decision = self._streams(x_t)
        self.__dict__["_stream_memo"] = (key, decision)
        return decision

    def _streams(self, x_t: torch.Tensor) -> bool:
        """Whether this step takes the streaming kernel: ``kernels.choose_path`` decides, as for
        ``forward``, with ``step()``'s larger batch limit (see the module docstring)."""
        seq = x_t.reshape(1, -1, x_t.shape[-1])  # (1, B, I): the step as a time-major sequence
        request = self._path_request(seq, None, stream_max_batch=STREAM_MAX_BATCH)
        return kernels.choose_path(request).path == "stream"
