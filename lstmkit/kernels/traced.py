"""The fused CPU kernels as ``torch.library`` custom ops, for graph capture: ``torch.export``,
``torch.compile`` and ``torch.jit.trace``.

Why separate ops: the C++ ops of ``lstmkit/csrc/`` return a ``saved`` list whose length and
shapes depend on the configuration, overwrite their input (``inplace``) and draw memory from
a pool; a tracer cannot see through them. Here each layer-direction is one opaque op with a
fixed schema -- its tensors are ``fused.LSTMOperands`` (``fused_gru.GRUOperands``), its
switches ``fused.LSTMConfig`` (``GRUConfig``) -- a fake kernel that gives only the output
shapes and dtypes (symbolic batch and sequence length stay symbolic), and an autograd formula.
The recurrence is then one node of the captured graph, not one per time step.

The backward op recomputes the forward pass with ``save=True`` and runs the very same
``_LSTMFunction`` / ``_GRUFunction`` backward as eager mode (one extra forward pass per
layer-direction in captured training graphs; the kernels' saved list never crosses the graph).
Eager calls never come here (``capturing`` is False): they keep the direct bindings of
``fused`` / ``fused_gru``, whose per-call overhead is tuned. Registering the ops is cheap and
compiles nothing.

Training graphs draw their random masks inside the graph (``zoneout_keep``: a ``torch.randint``
node seeds each zoneout mask; recurrent and inter-layer dropout are torch's own random ops), so
each run of a captured graph draws fresh masks, the same ones as eager mode under one seed.

ONNX, dynamo exporter: ``torch.onnx.export(module, (x,), dynamo=True, dynamic_shapes=...)`` with
a dynamic sequence length needs ``optimize=False`` (torch 2.13, onnxscript 0.7). Not ours: an
ONNX export is routed to torch's ``aten.lstm`` / ``gru`` / ``rnn_*`` (``capturing`` is False,
``choose_path`` picks torch's kernels), and torch's exporter records their output with the
example's length as a static shape -- torch.nn.LSTM alike. The ONNX optimizer (``optimize=True``,
the default) folds the output Reshape's target into that constant, and ONNX Runtime then fails
("Reshape ... reshape_helper") on any other length; with ``optimize=False`` the target is computed
from ``Shape`` at run time and every length runs. Variants and extras run the loop there, which
any exporter unrolls (fixed length). ``lstmkit.export.to_onnx`` uses the TorchScript exporter
(``dynamo=False``) and is not affected.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
from torch._subclasses.fake_tensor import is_fake  # private, the one test for non-strict export
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from lstmkit.cells.spec import GRUSpec, LSTMSpec
from lstmkit.kernels import fused, fused_gru, masks, native
from lstmkit.kernels.exporting import in_onnx_export
from lstmkit.kernels.fused import LSTMConfig, LSTMOperands
from lstmkit.kernels.fused_gru import GRUConfig, GRUOperands


def capturing(x: torch.Tensor) -> bool:
    """Whether this call is being captured into a graph (dynamo / ``torch.export`` /
    ``torch.jit.trace``, or fake tensors from a non-strict export) rather than run eagerly."""
    # ~0.2 us on an eager call (a plain Tensor); fake and functional tensors are subclasses.
    # An ONNX export is routed to torch's own ops instead (choose_path), which ONNX maps to its LSTM/GRU/RNN.
    if in_onnx_export():
        return False
    return torch.jit.is_tracing() or torch.compiler.is_compiling() or (type(x) is not torch.Tensor and is_fake(x))


_TYPES = {bool: "bool", str: "str", float: "float"}


def _schema(tensors: Sequence[str], optional: set[str], example: tuple, returns: str) -> str:
    """An op schema: the named tensors, then the fields of the config ``example`` (a NamedTuple
    whose values give the scalar types)."""
    args = [f"Tensor{'?' if n in optional else ''} {n}" for n in tensors]
    args += [f"{_TYPES[type(v)]} {n}" for n, v in zip(example._fields, example)]
    return f"({', '.join(args)}) -> {returns}"


#: the dispatcher's thread-local key sets outside any kernel (read at import, at top level)
_OUTSIDE_KEYS = (torch._C._dispatch_tls_local_include_set(), torch._C._dispatch_tls_local_exclude_set())


def _autograd_on():
    """Inside an op's kernel the dispatcher has switched autograd off (the Autograd keys are
    excluded, whatever the grad mode says); the backward ops recompute their forward pass with
    the key sets of eager code."""
    return torch._C._ForceDispatchKeyGuard(*_OUTSIDE_KEYS)


def _grads_by_recompute(fn: Callable, config: tuple, tensors: tuple, grads: tuple) -> list[torch.Tensor]:
    """The gradients of ``fn(config, *tensors)`` (an eager autograd.Function) for every present
    floating-point tensor, recomputing its forward pass; zeros where it has none."""
    inputs = [t.detach().requires_grad_() if t is not None and t.is_floating_point() else t for t in tensors]
    wrt = [t for t in inputs if t is not None and t.requires_grad]
    with _autograd_on(), torch.enable_grad():
        outs = fn(config, *inputs)
        outs = outs if isinstance(outs, tuple) else (outs,)
        pairs = [(o, g) for o, g in zip(outs, grads) if g is not None]
        found = torch.autograd.grad([o for o, _ in pairs], wrt, [g for _, g in pairs], allow_unused=True)
    return [torch.zeros(w.shape, dtype=w.dtype) if g is None else g.contiguous() for w, g in zip(wrt, found)]


def _floating(tensors: Sequence[torch.Tensor | None]) -> list[torch.Tensor]:
    return [t for t in tensors if t is not None and t.is_floating_point()]


def _define(name: str, operands: type, optional: set[str], example: tuple, n_out: int, forward: Callable,
            eager_function: Callable, fake: Callable) -> Callable:
    """Define ``lstmkit::<name>`` (forward) and ``lstmkit::<name>_backward`` with their fake
    kernels and the autograd formula linking them; returns the forward op. ``operands`` and
    the type of ``example`` are the NamedTuples of its tensors and switches; ``forward(operands,
    config)`` runs it, ``eager_function(config, *tensors)`` is the eager autograd.Function whose
    backward the backward op reuses, ``fake(operands)`` gives empty outputs."""
    fields, n, config = operands._fields, len(operands._fields), type(example)
    returns = "Tensor" if n_out == 1 else "(" + ", ".join(["Tensor"] * n_out) + ")"
    one = (lambda outs: outs[0]) if n_out == 1 else tuple
    fwd = torch.library.custom_op(f"lstmkit::{name}", mutates_args=(),
                                  schema=_schema(fields, optional, example, returns))(
        lambda *args: one(forward(operands(*args[:n]), config(*args[n:]))))
    fwd.register_fake(lambda *args: one(fake(operands(*args[:n]))))
    grad_names = [f"d_out{k}" for k in range(n_out)]
    bwd_schema = _schema([*grad_names, *fields], set(grad_names) | optional, example, "Tensor[]")
    bwd = torch.library.custom_op(f"lstmkit::{name}_backward", mutates_args=(), schema=bwd_schema)(
        lambda *args: _grads_by_recompute(eager_function, config(*args[n_out + n:]),
                                          tuple(args[n_out:n_out + n]), tuple(args[:n_out])))
    bwd.register_fake(lambda *args: [t.new_empty(t.shape) for t in _floating(args[n_out:n_out + n])])  # contiguous

    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(*inputs[:n])
        ctx.config = tuple(inputs[n:])

    def backward(ctx, *grads):
        tensors = ctx.saved_tensors
        found = iter(bwd(*grads, *tensors, *ctx.config))
        return (*(next(found) if t is not None and t.is_floating_point() else None for t in tensors),
                *([None] * len(ctx.config)))

    fwd.register_autograd(backward, setup_context=setup_context)
    return fwd


def _dense(outs: Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """Contiguous outputs, as the fake kernels promise (a kernel output may be a view of its workspace)."""
    return tuple(o if o.is_contiguous() else o.contiguous() for o in outs)


def _lstm_fake(t: LSTMOperands):
    T, B = t.x.shape[:2]
    return t.x.new_empty(T, B, t.h0.shape[1]), torch.empty_like(t.h0), torch.empty_like(t.c0)


def _lstm_eager(t: LSTMOperands, config: LSTMConfig):
    return _dense(fused._lstm_forward(t, config, save=False)[:3])


_LSTM_OPTIONAL = {n for n in LSTMOperands._fields if LSTMOperands._field_defaults.get(n, 0) is None} | {"bias"}
lstm_op = _define("fused_lstm_layer", LSTMOperands, _LSTM_OPTIONAL, LSTMConfig.of(LSTMSpec("lstm")), 3, _lstm_eager,
                  fused._LSTMFunction.apply, _lstm_fake)


def _gru_fake(t: GRUOperands):
    T, B = t.gx.shape[:2]
    return t.gx.new_empty(T, B, t.h0.shape[1]), torch.empty_like(t.h0)


def _gru_eager(t: GRUOperands, config: GRUConfig):
    return _dense(fused_gru._gru_forward(t, config, save=False)[:2])


_GRU_OPTIONAL = {n for n in GRUOperands._fields if GRUOperands._field_defaults.get(n, 0) is None}
gru_op = _define("fused_gru_recurrence", GRUOperands, _GRU_OPTIONAL, GRUConfig.of(GRUSpec("gru")), 2, _gru_eager,
                 fused_gru._GRUFunction.apply, _gru_fake)


class ProjectionOperands(NamedTuple):
    """The tensors of ``fused.input_projection``: x (T, B, I) W^T (+ b)."""

    x: torch.Tensor
    weight: torch.Tensor
    bias: torch.Tensor | None


class _NoConfig(NamedTuple):
    pass


def _projection_eager(config, x, weight, bias):
    return (fused.input_projection(x, weight, bias),)


projection_op = _define("fused_input_projection", ProjectionOperands, {"bias"}, _NoConfig(), 1,
                        lambda t, _: (fused.input_projection(*t),), _projection_eager,
                        lambda t: (t.x.new_empty(*t.x.shape[:2], t.weight.shape[0]),))


# ----------------------------------------------------------------------------- the captured bindings


def lstm_layer(spec: LSTMSpec, p: dict[str, torch.Tensor], x: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor, *,
               rmask=None, step_mask=None, keep_h=None, keep_c=None, zoneout=(0.0, 0.0), bf16=False):
    """``fused.lstm_layer`` as one ``lstmkit::fused_lstm_layer`` node (same arguments and results)."""
    if not fused.available():
        raise fused._unavailable()
    t = LSTMOperands.of(p, x.contiguous(), h0, c0, rmask, step_mask, keep_h, keep_c)  # dense, as its gradient
    return lstm_op(*t, *LSTMConfig.of(spec, zoneout, bf16))


def gru_recurrence(spec: GRUSpec, p: dict[str, torch.Tensor], gx: torch.Tensor, h0: torch.Tensor, *,
                   rmask=None, step_mask=None, keep_h=None, zoneout=0.0, input_ln=False):
    """``fused_gru.gru_recurrence`` as one ``lstmkit::fused_gru_recurrence`` node."""
    if not fused.available():
        raise fused._unavailable()
    return gru_op(*fused_gru.gru_operands(p, gx, h0, rmask, step_mask, keep_h, input_ln),
                  *GRUConfig.of(spec, zoneout))


def input_projection(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``fused.input_projection`` as one ``lstmkit::fused_input_projection`` node."""
    if not fused.available():
        raise fused._unavailable()
    return projection_op(x.contiguous(), weight.contiguous(), bias)


# ----------------------------------------------------------------------------- zoneout masks


@torch.library.custom_op("lstmkit::zoneout_keep_seeded", mutates_args=())
def zoneout_keep_seeded(seeds: torch.Tensor, shape: list[int], rate: float) -> torch.Tensor:
    """The C++ ``lstmkit::zoneout_keep`` mask for ``seeds`` (a (2,) int64 tensor), as one node:
    that op takes its seeds as plain ints, which a graph could only bake in as constants."""
    s0, s1 = seeds.tolist()
    return torch.ops.lstmkit.zoneout_keep(s0, s1, list(shape), float(rate))


@zoneout_keep_seeded.register_fake
def _zoneout_keep_fake(seeds, shape, rate):
    return torch.empty(shape, dtype=torch.bool)


def zoneout_keep(shape: tuple[int, int, int], z: float, device: torch.device, kernel: bool) -> torch.Tensor:
    """``masks.zoneout_keep`` for a captured graph: the seeds are drawn by a ``torch.randint``
    node of the graph, so every run of it draws a fresh mask (the eager draw, ``.tolist()``, would
    freeze one mask into the graph), and under the same ``torch.manual_seed`` the same bits as
    eager mode where the graph runs torch's own generator (export, jit.trace, compile's eager and
    aot_eager backends; inductor draws with its own generator). The mask is a bool tensor: no
    gradient flows through it, and the fused op's backward sees the very mask its forward used."""
    seeds = torch.randint(0, 1 << 32, (2,), dtype=torch.int64)  # as masks.draw_seeds
    if kernel and not torch.jit.is_tracing():  # jit.trace's dispatcher fallback cannot record an int[] argument
        return zoneout_keep_seeded(seeds, list(shape), float(z))
    return masks.keep_mask_torch((seeds[0], seeds[1]), shape, z, device)  # the op's reference: the same bits


# ----------------------------------------------------------------------------- torch's own stack kernels


def _native_run(kernel: str, x: torch.Tensor, hx: Sequence[torch.Tensor], weights: Sequence[torch.Tensor],
                lengths: torch.Tensor | None, bias: bool, num_layers: int,
                bidirectional: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """``native.rnn`` on padded (T, B, I) ``x``; with ``lengths`` (B,) packed inside and padded
    back (zeros past each length, final states at each length), in the caller's batch order."""
    order = None
    if lengths is None:
        data, batch_sizes = x, None
    else:
        packed = pack_padded_sequence(x, lengths.cpu(), enforce_sorted=False)
        data, batch_sizes, order = packed.data, packed.batch_sizes, packed.sorted_indices
        hx = [h.index_select(1, order) for h in hx]
    out, states = native.rnn(kernel, data, hx[0] if len(hx) == 1 else tuple(hx), list(weights), bias=bias,
                             num_layers=num_layers, dropout=0.0, training=False, bidirectional=bidirectional,
                             batch_sizes=batch_sizes)
    states = [states] if isinstance(states, torch.Tensor) else list(states)
    if order is not None:
        states = [s.index_select(1, packed.unsorted_indices) for s in states]
        out = pad_packed_sequence(PackedSequence(out, batch_sizes, order, packed.unsorted_indices),
                                  total_length=x.shape[0])[0]
    return out, states


@torch.library.custom_op("lstmkit::native_stack", mutates_args=())
def native_stack(kernel: str, x: torch.Tensor, hx: list[torch.Tensor], weights: list[torch.Tensor],
                 lengths: torch.Tensor | None, bias: bool, num_layers: int,
                 bidirectional: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """``native.rnn`` (torch.lstm / gru / rnn_tanh / rnn_relu, time-major, no dropout) as one node:
    torch's own decomposition of these kernels unrolls the time loop, fixing the sequence length,
    and packing ``lengths`` (optional, (B,)) reads their values, which a graph does not know."""
    out, states = _native_run(kernel, x, hx, weights, lengths, bias, num_layers, bidirectional)
    return out.clone() if out is x else out, [s.clone() if any(s is h for h in hx) else s for s in states]


@native_stack.register_fake
def _native_stack_fake(kernel, x, hx, weights, lengths, bias, num_layers, bidirectional):
    T, B = x.shape[:2]
    return x.new_empty(T, B, hx[0].shape[2] * (2 if bidirectional else 1)), [torch.empty_like(h) for h in hx]


@torch.library.custom_op("lstmkit::native_stack_backward", mutates_args=())
def native_stack_backward(d_out: torch.Tensor, d_states: list[torch.Tensor], kernel: str, x: torch.Tensor,
                          hx: list[torch.Tensor], weights: list[torch.Tensor], lengths: torch.Tensor | None,
                          bias: bool, num_layers: int, bidirectional: bool) -> list[torch.Tensor]:
    """The gradients of ``native_stack`` for x, hx and the weights (in that order), by
    recomputing it under torch's autograd."""
    inputs = [t.detach().requires_grad_() for t in (x, *hx, *weights)]
    n = len(hx)
    with _autograd_on(), torch.enable_grad():
        out, states = _native_run(kernel, inputs[0], inputs[1:1 + n], inputs[1 + n:], lengths, bias, num_layers,
                                  bidirectional)
        found = torch.autograd.grad([out, *states], inputs, [d_out, *d_states], allow_unused=True)
    return [torch.zeros(t.shape, dtype=t.dtype) if g is None else g.contiguous() for t, g in zip(inputs, found)]


@native_stack_backward.register_fake
def _native_stack_backward_fake(d_out, d_states, kernel, x, hx, weights, lengths, bias, num_layers, bidirectional):
    return [t.new_empty(t.shape) for t in (x, *hx, *weights)]  # contiguous, as the real ones


def _native_setup(ctx, inputs, output):
    kernel, x, hx, weights, lengths, *ctx.switches = inputs
    ctx.kernel, ctx.n = kernel, len(hx)
    ctx.save_for_backward(x, lengths, *hx, *weights)


def _native_backward(ctx, d_out, d_states):
    (x, lengths, *saved), n_h = ctx.saved_tensors, ctx.n
    d_states = [torch.zeros_like(h) if g is None else g for g, h in zip(d_states, saved[:n_h])]
    grads = native_stack_backward(d_out, d_states, ctx.kernel, x, list(saved[:n_h]), list(saved[n_h:]), lengths,
                                  *ctx.switches)
    return None, grads[0], grads[1:1 + n_h], grads[1 + n_h:], None, None, None, None


native_stack.register_autograd(_native_backward, setup_context=_native_setup)
