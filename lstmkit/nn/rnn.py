"""The stacked, optionally bidirectional recurrent layer shared by ``LSTM``, ``GRU`` and ``RNN``.

It owns the parameters, validates inputs and states, and asks ``lstmkit.kernels.choose_path``
which execution path runs each call; the paths themselves are run by ``lstmkit.nn._paths``.
What differs between the cell types comes from the module's ``family`` (``lstmkit.nn.family``).
Data flows time-major (T, B, ·) inside.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

from lstmkit import kernels
from lstmkit.kernels import traced
from lstmkit.nn import _checks, _script
from lstmkit.nn._paths import ExecutionPaths
from lstmkit.nn._stream import StreamingStep
from lstmkit.nn.family import Spec, family_of
from lstmkit.nn.params import forget_rows, init_value, suffix


class RecurrentStack(ExecutionPaths, StreamingStep, nn.Module):
    """Base of ``lstmkit.nn.LSTM``, ``GRU`` and ``RNN``; see those for the arguments.

    ``mode`` is torch.nn's string ("LSTM", "GRU", "RNN_TANH", "RNN_RELU"), kept as the
    attribute torch code reads; lstmkit itself reads ``family``, found from ``spec``.
    """

    def __init__(
        self,
        mode: str,
        spec: Spec,
        input_size: int,
        hidden_size: int | Sequence[int],
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
        *,
        forget_bias: float | None = None,
        layer_norm: bool = False,
        recurrent_dropout: float = 0.0,
        zoneout: float | Sequence[float] = 0.0,
        go_backwards: bool = False,
        masked_output: str = "zero",
        backend: str = "auto",
        matmul_precision: str = "fp32",
    ):
        super().__init__()
        self.mode = mode  # as torch.nn names it; for compatibility only
        self.spec = spec
        self.family = family = family_of(spec)
        self.input_size = _checks.positive_int("input_size", input_size)
        self.hidden_sizes = _checks.hidden_sizes(hidden_size, num_layers)
        uniform = len(set(self.hidden_sizes)) == 1
        self.hidden_size = self.hidden_sizes[0] if uniform else list(self.hidden_sizes)
        self.num_layers = len(self.hidden_sizes)
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.dropout = _checks.rate("dropout", dropout)
        self.bidirectional = bool(bidirectional)
        if isinstance(proj_size, bool) or not isinstance(proj_size, int) or proj_size < 0:
            raise ValueError(f"proj_size must be a non-negative int, got {proj_size!r}")
        if proj_size and proj_size >= min(self.hidden_sizes):
            raise ValueError(f"proj_size must be smaller than hidden_size, got {proj_size} >= {self.hidden_size}")
        self.proj_size = proj_size
        self.layer_norm = bool(layer_norm)
        self.recurrent_dropout = _checks.rate("recurrent_dropout", recurrent_dropout)
        self.zoneout = _checks.zoneout_rates(zoneout, two=family.n_states == 2)
        self.go_backwards = bool(go_backwards)
        if masked_output not in ("zero", "carry"):
            raise ValueError(f"masked_output must be 'zero' or 'carry', got {masked_output!r}")
        self.masked_output = masked_output
        self.backend = kernels.check_backend(backend)
        if matmul_precision not in ("fp32", "bf16"):
            raise ValueError(f"matmul_precision must be 'fp32' or 'bf16', got {matmul_precision!r}")
        if matmul_precision == "bf16" and (not family.bf16 or backend not in ("auto", "fused")):
            raise ValueError("matmul_precision='bf16' is a mode of the fused LSTM kernels: it needs an LSTM with "
                             f"backend 'auto' or 'fused', got {mode} with backend={backend!r}")
        self.matmul_precision = matmul_precision
        if self.dropout > 0 and self.num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                f"expects num_layers greater than 1, but got dropout={dropout} and num_layers=1",
                stacklevel=3,
            )
        if family.square_input(spec):
            sizes = [self.input_size, *self.hidden_sizes[:-1]]
            for layer, (i, h) in enumerate(zip(sizes, self.hidden_sizes)):
                if i * (2 if self.bidirectional and layer else 1) != h:
                    raise ValueError(
                        f"variant {spec.name!r} adds the input to a hidden-size vector, so each layer's "
                        f"input size must equal its hidden size; layer {layer} has {i} inputs "
                        f"and hidden_size {h}"
                    )

        factory = {"device": device, "dtype": dtype}
        self._keys: list[list[list[tuple[str, str]]]] = []  # [layer][direction] -> (key, name)
        for layer, hidden in enumerate(self.hidden_sizes):
            layer_in = self.input_size if layer == 0 else self._out_features(layer - 1)
            per_dir = []
            for direction in range(self.num_directions):
                shapes = family.shapes(spec, layer_in, hidden, proj_size, self.bias, self.layer_norm)
                names = []
                for key, shape in shapes.items():
                    name = key + suffix(layer, direction)
                    self.register_parameter(name, nn.Parameter(torch.empty(shape, **factory)))
                    names.append((key, name))
                per_dir.append(names)
            self._keys.append(per_dir)
        if forget_bias is not None:
            if not family.forget_gate or not self.bias:
                raise ValueError("forget_bias needs an LSTM with bias=True (it initialises the forget-gate bias)")
            forget_rows(spec, self.hidden_sizes[0])  # raises if the variant has no forget gate
            forget_bias = float(forget_bias)
        self.forget_bias = forget_bias
        self.reset_parameters()
        #: every parameter's shape as created: forward refuses a replaced one (the C++ kernels trust shapes)
        self._param_shapes = {name: tuple(p.shape) for name, p in self.named_parameters(recurse=False)}

    # ------------------------------------------------------------------ layout helpers
    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _state_size(self, layer: int) -> int:
        return self.proj_size or self.hidden_sizes[layer]

    def _out_features(self, layer: int) -> int:
        return self._state_size(layer) * self.num_directions

    def reset_parameters(self) -> None:
        """torch.nn's initialisation (same order, so the same seed gives the same weights),
        layer-norm gains 1 / shifts 0, and the forget-gate bias if ``forget_bias`` is set."""
        with torch.no_grad():
            for layer, per_dir in enumerate(self._keys):
                hidden = self.hidden_sizes[layer]
                for names in per_dir:
                    for key, name in names:
                        init = init_value(key, hidden)
                        param = getattr(self, name)
                        if isinstance(init, tuple):
                            param.uniform_(*init)
                        else:
                            param.fill_(init)
                    if self.forget_bias is not None:
                        rows = forget_rows(self.spec, hidden)
                        params = {key: getattr(self, name) for key, name in names}
                        params["bias_ih"][rows] = float(self.forget_bias)
                        params["bias_hh"][rows] = 0.0

    def layer_params(self, layer: int, direction: int = 0) -> dict[str, torch.Tensor]:
        """One layer-direction's parameters keyed as in the reference cells (``weight_ih``...)."""
        return {key: getattr(self, name) for key, name in self._keys[layer][direction]}

    def flatten_parameters(self) -> None:
        """No-op kept for torch.nn API compatibility (there is no cuDNN weight buffer to compact)."""

    @property
    def all_weights(self) -> list[list[torch.Tensor]]:
        return [list(self.layer_params(l, d).values()) for l in range(self.num_layers) for d in range(self.num_directions)]  # noqa: E501,E741

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1 and not isinstance(self.hidden_size, list):
            s += f", num_layers={self.num_layers}"
        for name, default in (("bias", True), ("batch_first", False), ("dropout", 0.0),
                              ("bidirectional", False), ("proj_size", 0), ("layer_norm", False),
                              ("recurrent_dropout", 0.0), ("go_backwards", False), ("backend", "auto"),
                              ("matmul_precision", "fp32")):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        if self.spec.name != self.family.name:
            s += f", variant={self.spec.name!r}"
        if any(self.zoneout):
            s += f", zoneout={self.zoneout}"
        return s

    def to_torch(self) -> nn.Module:
        """The torch.nn.LSTM / GRU / RNN sharing these parameters (see ``lstmkit.nn._script``);
        TypeError for a configuration torch.nn lacks."""
        return _script.torch_equivalent(self)

    def __prepare_scriptable__(self) -> nn.Module:
        """``torch.jit.script(module)`` scripts ``to_torch()`` (tensor input; TorchScript cannot
        compile this forward: PackedSequence or tensor, keyword-only lengths/mask, run-time path choice)."""
        return _script.prepare_scriptable(self)

    # ------------------------------------------------------------------ dispatch
    def _path_request(self, x: torch.Tensor, mask: torch.Tensor | None, lengths: bool = False,
                      stream_max_batch: int = kernels.STREAM_SEQUENCE_MAX_BATCH) -> kernels.PathRequest:
        """The facts ``kernels.choose_path`` decides this call's path on."""
        family = self.family
        return kernels.PathRequest(
            self.backend, self.spec, x, mask=mask,
            extras={"layer_norm": self.layer_norm, "recurrent_dropout": self.recurrent_dropout > 0,
                    "zoneout": any(self.zoneout), "go_backwards": self.go_backwards},
            fused_unsupported=family.fused_unsupported, bf16=self.matmul_precision == "bf16",
            native_speedup=family.native_speedup and not self.proj_size, min_hidden=min(self.hidden_sizes),
            projection=bool(self.proj_size),
            parameters=self.parameters,
            streamable=not (self.bidirectional or self.go_backwards or lengths or self.proj_size)
            and (self.dropout == 0 or not self.training) and family.torch_name in ("LSTM", "GRU"),
            stream_max_batch=stream_max_batch,
        )

    def _flat_weights(self, layers: range) -> list[torch.Tensor]:
        return [w for l in layers for d in range(self.num_directions) for w in self.layer_params(l, d).values()]  # noqa: E741

    def forward(self, input, hx=None, lengths=None, mask=None):
        """Run the stack. Same inputs and outputs as torch.nn.LSTM / GRU / RNN, plus:

        Args:
            lengths: (batch,) real lengths of a padded batch: steps past a sequence's length
                leave its state unchanged and output zeros, the reverse direction starts at
                each sequence's own last step, and the final states are those at each length.
            mask: (batch, seq) if batch_first else (seq, batch), bool, Keras semantics: masked
                steps leave the state unchanged (anywhere in the sequence).

        ``lengths`` and ``mask`` are not keyword-only because torch.onnx's TorchScript exporter
        passes every defaulted argument positionally.
        """
        packed = isinstance(input, PackedSequence)
        if packed and (lengths is not None or mask is not None):
            raise ValueError("lengths= and mask= are for padded tensors; a PackedSequence carries its own lengths")
        if lengths is not None and mask is not None:
            raise ValueError("pass either lengths= or mask=, not both")
        if packed:
            x, lens = pad_packed_sequence(input)  # (T, B, I) in the caller's batch order
            if x.shape[-1] != self.input_size:
                raise ValueError(f"input has {x.shape[-1]} features, expected input_size={self.input_size}")
            batched = True
        else:
            x, batched = _checks.input_tensor(input, self.input_size, self.batch_first)
            T, B = x.shape[:2]
            lens = None if lengths is None else _checks.lengths_arg(lengths, T, B, not traced.capturing(x))
            if mask is not None:
                if batched:
                    mask = _checks.mask_arg(mask, T, B, self.batch_first, x.device)
                else:  # one sequence: a (seq,) mask
                    mask = _checks.mask_arg(torch.as_tensor(mask).reshape(-1, 1), T, B, False, x.device)
        _checks.parameters(self, self._param_shapes, x)
        states = self._initial_states(hx, x, batched)
        if x.shape[1] == 0:  # an empty batch: empty outputs, as torch.nn.LSTM gives (no kernel runs)
            output = x.new_zeros(x.shape[0], 0, self._out_features(self.num_layers - 1))  # (T, 0, D*H)
            return (output.transpose(0, 1) if self.batch_first else output), self._format_states(states, batched)
        # warns from here if the fused kernels are missing
        choice = kernels.choose_path(self._path_request(x, mask, lengths=lens is not None))
        if choice.path == "stream":
            output, final = self._run_stream(x, states)
        elif choice.path == "torch" and choice.spans is not None:
            output, final = self._run_native_spans(x, states, *choice.spans)
        elif choice.path == "torch":
            output, final = self._run_native(input if packed else x, states, lens, packed)
        else:
            output, final = self._run_loop(x, states, lens, mask, fused_path=choice.path == "fused")
            if packed:
                output = _pack_like(output, input)
        if not packed:
            if self.batch_first and batched:
                output = output.transpose(0, 1)
            elif not batched:
                output = output.squeeze(1)
        return output, self._format_states(final, batched)

    # ------------------------------------------------------------------ states
    def _initial_states(self, hx, x: torch.Tensor, batched: bool) -> list[list[tuple[torch.Tensor, ...]]]:
        """Per layer, per direction: the state tuple ((h0,) or (h0, c0)), each (B, ·)."""
        B, D, L = x.shape[1], self.num_directions, self.num_layers
        family = self.family
        sizes = [family.state_widths(self._state_size(l), self.hidden_sizes[l]) for l in range(L)]  # noqa: E741
        uniform = not isinstance(self.hidden_size, list)
        if hx is None:
            return [[tuple(x.new_zeros(B, n) for n in sizes[l]) for _ in range(D)] for l in range(L)]  # noqa: E741
        parts = family.split_state(hx)
        names = [f"{n}_0" for n in family.state_names]
        per_part = []
        for k, part in enumerate(parts):
            if uniform:
                n = sizes[0][k]
                expected = (L * D, B, n) if batched else (L * D, n)
                meaning = "(num_layers*num_directions, batch, size)" if batched else "(num_layers*num_directions, size)"
                t = _checks.state_tensor(names[k], part, expected, x, meaning)
                t = t if batched else t.unsqueeze(1)
                per_part.append([t[l * D:(l + 1) * D] for l in range(L)])  # noqa: E741
            else:
                if not isinstance(part, (list, tuple)) or len(part) != L:
                    raise TypeError(f"{names[k]} must be a list of {L} tensors (one per layer, per-layer sizes)")
                layers = []
                for l, t in enumerate(part):  # noqa: E741
                    expected = (D, B, sizes[l][k]) if batched else (D, sizes[l][k])
                    t = _checks.state_tensor(f"{names[k]}[{l}]", t, expected, x, "(num_directions, batch, size)")
                    layers.append(t if batched else t.unsqueeze(1))
                per_part.append(layers)
        return [[tuple(p[l][d] for p in per_part) for d in range(D)] for l in range(L)]  # noqa: E741

    def _format_states(self, final: list[list[tuple[torch.Tensor, ...]]], batched: bool):
        parts = []
        for k in range(self.family.n_states):
            layers = [torch.stack([st[k] for st in per_dir]) for per_dir in final]  # each (D, B, ·)
            if not batched:
                layers = [t.squeeze(1) for t in layers]
            parts.append(torch.cat(layers) if not isinstance(self.hidden_size, list) else layers)
        return self.family.torch_state(tuple(parts))


def _pack_like(padded: torch.Tensor, like: PackedSequence) -> PackedSequence:
    """Pack a (T, B, F) tensor into exactly the batch order and layout of ``like``."""
    order = like.sorted_indices
    if order is None:
        order = torch.arange(padded.shape[1], device=padded.device)
    bs = like.batch_sizes.tolist()
    t_idx = torch.repeat_interleave(torch.arange(len(bs)), torch.tensor(bs)).to(padded.device)
    b_idx = torch.cat([order[:n] for n in bs])
    return PackedSequence(padded[t_idx, b_idx], like.batch_sizes, like.sorted_indices, like.unsorted_indices)
