"""Record what happens inside recurrent layers: every gate, cell and hidden state, at every step.

No framework returns these (torch's ``nn.LSTM`` gives the last ``h``/``c`` only, Keras the
outputs), yet every analysis of Karpathy, Johnson & Fei-Fei (2015) needs them. ``record``
runs the model's recurrent layers again on the float64 reference cells of ``lstmkit.cells``
(the executable specification every backend is tested against), with the layers' own weights
and the inputs they received, so the trace is the same whichever backend the model runs on
(fused, torch, reference) and the model itself is left exactly as it was: no parameter, mode,
stateful state or RNG state changes. It is an inference-time view: dropout, recurrent dropout
and sampled zoneout are off; zoneout acts as its expectation, as in ``model.eval()``.

    traces = record(model, x)          # one LayerTrace per recurrent layer and direction
    traces[0]["f"]                     # (batch, time, units) forget-gate activations
    traces[0].name, traces[0].variant  # "lstm/l0", "lstm"

Each value is indexed by input time step: ``values[:, t]`` comes from the step that read
``x[:, t]``, also for backward directions and ``go_backwards`` layers. Steps that did not run
(padding past ``lengths``, masked steps) are NaN and ``trace.mask`` is False there.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

from lstmkit.cells.sequence import unroll
from lstmkit.nn import _checks
from lstmkit.nn.rnn import RecurrentStack
from lstmkit.viz._common import ModelSnapshot

__all__ = ["LayerTrace", "record"]


class LayerTrace(dict):
    """The recorded quantities of one layer and direction: name -> float64 array (batch, time, units).

    LSTM family: ``i``, ``f``, ``g`` (the candidate), ``o``, ``c`` (cell state), ``h``
    (hidden state = the layer's output); a variant without a gate has no key for it (NIG has
    no ``i``; CIFG's ``f`` is ``1 - i``, so it is kept). GRU family: ``r``, ``z``, ``n`` (the
    candidate) and ``h``. Elman RNN: ``a`` (the pre-activation) and ``h``. ``mask`` (batch,
    time) is True where a step ran.
    """

    def __init__(self, values: dict[str, np.ndarray], *, name: str, variant: str, family: str, layer: int,
                 direction: str, mask: np.ndarray):
        super().__init__(values)
        self.name, self.variant, self.family = name, variant, family
        self.layer, self.direction, self.mask = layer, direction, mask

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}: {tuple(v.shape)}" for k, v in self.items())
        return f"LayerTrace({self.name!r}, variant={self.variant!r}, {self.direction}, {{{shapes}}})"


def record(model: torch.nn.Module, *inputs: Any, lengths: Any = None, mask: Any = None,
           **call_kwargs: Any) -> list[LayerTrace]:
    """Trace every recurrent layer of ``model`` while it reads ``inputs``.

    ``model`` is an ``lstmkit.nn`` LSTM/GRU/RNN (then ``inputs`` is ``x`` and optionally ``hx``,
    with ``lengths=`` / ``mask=`` as its forward takes them), or any module containing them:
    an ``lstmkit.keras`` model (Bidirectional and stacked layers included) or your own
    ``torch.nn.Module``, called once as ``model(*inputs, **call_kwargs)`` in inference mode to
    see what each recurrent layer receives. Returns one ``LayerTrace`` per layer, direction and
    call, in the order the layers ran. Inside a container, an RNN whose activation is a torch
    callable (no NumPy reference) is skipped.
    """
    if not inputs:
        raise TypeError("record() needs the model's input, e.g. record(model, x)")
    if isinstance(model, RecurrentStack):
        if len(inputs) > 2 or call_kwargs:
            raise TypeError(f"an lstmkit.nn {model.mode} takes (x, hx=None, lengths=, mask=), got "
                            f"{len(inputs)} positional inputs and {sorted(call_kwargs)}")
        return trace_stack(model, inputs[0], inputs[1] if len(inputs) > 1 else None, lengths=lengths, mask=mask,
                           name=model.family.name)
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be an lstmkit.nn LSTM/GRU, an lstmkit.keras model or a torch.nn.Module "
                        f"containing them, got {type(model).__name__}")
    if lengths is not None:
        call_kwargs["lengths"] = lengths
    if mask is not None:
        call_kwargs["mask"] = mask
    return _trace_container(model, inputs, call_kwargs)


# --------------------------------------------------------------------------- models containing layers
def _trace_container(model: torch.nn.Module, inputs: tuple, call_kwargs: dict) -> list[LayerTrace]:
    """Run ``model`` once with a hook on each recurrent stack inside it, then trace each call."""
    stacks = [m for m in model.modules() if isinstance(m, RecurrentStack) and m.family.traceable(m.spec)]
    if not stacks:
        raise ValueError(f"{type(model).__name__} contains no lstmkit.nn LSTM or GRU (or RNN) layer to trace "
                         "(torch.nn.LSTM, custom activations and custom cells are not traced)")
    parents = {child: parent for parent in model.modules() for child in parent.children()}
    calls: list[tuple[RecurrentStack, tuple, dict]] = []

    def capture(module: torch.nn.Module, args: tuple, kwargs: dict) -> None:
        calls.append((module, _detached(args), _detached(kwargs)))

    hooks = [m.register_forward_pre_hook(capture, with_kwargs=True) for m in stacks]
    saved = ModelSnapshot(model)
    try:
        with torch.no_grad():
            model.eval()
            model(*inputs, **call_kwargs)
    finally:
        for hook in hooks:
            hook.remove()
        saved.restore()
    traces: list[LayerTrace] = []
    seen: dict[str, int] = {}
    for stack, args, kwargs in calls:
        owner = parents.get(stack)
        name = _owner_name(stack, parents, model)
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name = f"{name}#{seen[name] - 1}"  # the same layer called again (shared weights, chunks)
        backwards = bool(getattr(owner, "go_backwards", False)) and not stack.go_backwards
        kw = {k: v for k, v in kwargs.items() if k in ("lengths", "mask")}
        got = trace_stack(stack, *args[:2], **kw, name=name)
        if backwards:  # a Keras layer flipped its input (go_backwards): index by the caller's time again
            got = [_flip(t, None, "backward") for t in got]
        traces.extend(got)
    return traces


def _detached(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, (tuple, list)):
        return type(value)(_detached(v) for v in value)
    if isinstance(value, dict):
        return {k: _detached(v) for k, v in value.items()}
    return value


def _owner_name(stack: RecurrentStack, parents: dict, root: torch.nn.Module) -> str:
    """The Keras layer names from the model down to ``stack`` ("bidirectional/forward_lstm"), or
    the module path ("encoder.lstm") for plain torch modules."""
    names, node = [], stack
    while node is not root and node in parents:
        node = parents[node]
        layer_name = getattr(node, "name", None)
        if node is not root and isinstance(layer_name, str):
            names.append(layer_name)
    if names:
        return "/".join(reversed(names))
    path = {m: n for n, m in root.named_modules()}.get(stack, "")
    return path or stack.family.name


# --------------------------------------------------------------------------- one stack
def trace_stack(module: RecurrentStack, x: Any, hx: Any = None, *, lengths: Any = None, mask: Any = None,
                name: str | None = None) -> list[LayerTrace]:
    """Trace an ``lstmkit.nn`` LSTM/GRU/RNN on ``x`` with its forward's arguments and checks."""
    if not module.family.traceable(module.spec):
        raise ValueError(f"cannot trace {module.mode}: its activation {module.spec.activation!r} is a torch "
                         "callable, which has no NumPy reference cell")
    if isinstance(x, PackedSequence):
        if lengths is not None or mask is not None:
            raise ValueError("lengths= and mask= are for padded tensors; a PackedSequence carries its own lengths")
        xt, lens = pad_packed_sequence(x)  # (T, B, I)
        batched, batch_first = True, False
    else:
        xt = torch.as_tensor(x) if not isinstance(x, torch.Tensor) else x
        xt, batched = _checks.input_tensor(xt, module.input_size, module.batch_first)  # (T, B, I)
        T, B = xt.shape[:2]
        lens = None if lengths is None else _checks.lengths_arg(lengths, T, B)
        batch_first = module.batch_first and batched
    if lengths is not None and mask is not None:
        raise ValueError("pass either lengths= or mask=, not both")
    T, B = xt.shape[:2]
    step_mask = None
    if mask is not None:
        m = mask if batched else torch.as_tensor(mask).reshape(-1, 1)
        step_mask = _checks.mask_arg(m, T, B, batch_first, torch.device("cpu")).numpy()  # (T, B)
    states = module._initial_states(hx, xt, batched)
    lens_np = None if lens is None else lens.numpy()
    if T == 0 or B == 0:
        raise ValueError(f"nothing to trace: the input has {T} time steps and batch {B}")

    layer_input = xt.detach().to("cpu", torch.float64).numpy()  # (T, B, I)
    if module.go_backwards:  # as the module does: reverse first, keep processing order
        layer_input = _reverse(layer_input, lens_np)
        step_mask = None if step_mask is None else step_mask[::-1]
    run_mask = step_mask if step_mask is not None else np.ones((T, B), dtype=bool)
    traces = []
    D = module.num_directions
    for layer in range(module.num_layers):
        outputs = []
        for d in range(D):
            params = {k: v.detach().to("cpu", torch.float64).numpy() for k, v in module.layer_params(layer, d).items()}
            state0 = tuple(s.detach().to("cpu", torch.float64).numpy() for s in states[layer][d])
            extra = module.family.extra_state_widths(module.spec, module.hidden_sizes[layer])
            state0 += tuple(np.zeros((B, w)) for w in extra)  # FGR: the previous gate activations
            out, values, real = _trace_direction(module, params, layer_input, state0, run_mask, lens_np, d == 1)
            outputs.append(out)
            label = f"{name or module.family.name}/l{layer}" + ("/reverse" if d == 1 else "")
            direction = "backward" if (d == 1) != module.go_backwards else "forward"
            trace = LayerTrace(values, name=label, variant=module.spec.name, family=module.family.name, layer=layer,
                               direction=direction, mask=real)
            traces.append(_flip(trace, lens_np, direction) if module.go_backwards else trace)
        layer_input = np.concatenate(outputs, axis=-1)  # (T, B, D*R)
    return traces


def _trace_direction(module: RecurrentStack, params: dict[str, np.ndarray], x: np.ndarray, state0: tuple,
                     run_mask: np.ndarray, lengths: np.ndarray | None, reverse: bool):
    """One layer-direction on the reference cells; returns (outputs (T, B, R) in time order,
    values {name: (B, T, U)}, real (B, T)). ``run_mask`` (T, B) is in the processing order of x."""
    T, B = x.shape[:2]
    keys = module.family.trace_keys(module.spec)
    reference_step = module.family.reference_step(module.spec, params, module.zoneout)
    values: dict[str, np.ndarray] = {}
    real_bt = np.zeros((B, T), dtype=bool)
    counter = [0]
    batch = np.arange(B)

    def step(x_t: np.ndarray, st: tuple) -> tuple[np.ndarray, tuple]:
        s = counter[0]
        counter[0] += 1
        h, new, seen = reference_step(x_t, st)
        if lengths is not None:
            t = lengths - 1 - s if reverse else np.full(B, s)
            real = s < lengths
        else:
            t = np.full(B, T - 1 - s if reverse else s)
            real = run_mask[t[0]]
        t = np.clip(t, 0, T - 1)
        for k, v in seen.items():
            if k not in values:
                values[k] = np.full((B, T, v.shape[1]), np.nan)
            values[k][batch[real], t[real]] = v[real]
        real_bt[batch[real], t[real]] = True
        return h, new

    out, _ = unroll(step, x, state0, lengths=lengths, mask=None if lengths is not None else run_mask,
                    reverse=reverse, masked_output=module.masked_output)
    if reverse and lengths is None:
        out = out[::-1]  # unroll returns processing order: back to time order
    return out, {k: values[k] for k in keys}, real_bt


def _reverse(x: np.ndarray, lengths: np.ndarray | None, axis: int = 0) -> np.ndarray:
    """Reverse along ``axis`` (time); with ``lengths`` each sequence within its own length."""
    if lengths is None:
        return np.flip(x, axis=axis).copy()
    moved = np.moveaxis(x, axis, 0)  # (T, B, ...)
    T = moved.shape[0]
    t = np.arange(T)[:, None]
    index = np.where(t < lengths[None, :], lengths[None, :] - 1 - t, t)  # (T, B)
    out = moved[index, np.arange(moved.shape[1])[None, :]]
    return np.moveaxis(out, 0, axis)


def _flip(trace: LayerTrace, lengths: np.ndarray | None, direction: str) -> LayerTrace:
    """The trace re-indexed by the caller's time (undo a go_backwards reversal)."""
    values = {k: _reverse(v, lengths, axis=1) for k, v in trace.items()}
    return LayerTrace(values, name=trace.name, variant=trace.variant, family=trace.family, layer=trace.layer,
                      direction=direction, mask=_reverse(trace.mask, lengths, axis=1))


