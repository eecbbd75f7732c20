"""``torch.jit.script`` for ``lstmkit.nn`` stacks: the torch.nn module with the same function.

Why not script ``RecurrentStack.forward`` itself: it takes a PackedSequence or a tensor, per-layer
state lists, keyword-only ``lengths=`` / ``mask=``, and dispatches over three execution paths at
run time (``lstmkit.kernels.choose_path``); TorchScript compiles none of that. What TorchScript
can compile is torch.nn.LSTM / GRU / RNN, and those compute exactly the configurations torch's
kernels run (``kernels.native_blockers`` empty). So ``torch.jit.script(module)`` scripts that
torch.nn module, built around the very same Parameter objects (training it trains ``module``),
through torch's ``__prepare_scriptable__`` hook, inside a one-line wrapper (a scripted
torch.nn.LSTM itself has only its overloads ``forward__0`` / ``forward__1`` in torch 2.13, no
callable ``forward``). Every other configuration (a variant, an extra, per-layer sizes, bf16)
raises a TypeError naming ``torch.export`` / ``torch.jit.trace``, which capture every configuration.
"""

from __future__ import annotations

from typing import Optional

from torch import Tensor, nn

from lstmkit import kernels

_ALTERNATIVE = ("capture it with torch.export.export(module, (x,)) or torch.jit.trace(module, (x,)) instead, "
                "which run every configuration")


def script_blockers(module) -> list[str]:
    """What keeps ``module`` (a ``RecurrentStack``) from being a torch.nn module, in words."""
    reasons = kernels.native_blockers(module.spec, layer_norm=module.layer_norm,
                                      recurrent_dropout=module.recurrent_dropout > 0, zoneout=any(module.zoneout),
                                      go_backwards=module.go_backwards)
    if isinstance(module.hidden_size, list):
        reasons.append(f"per-layer hidden sizes {module.hidden_size}")
    if module.matmul_precision != "fp32":
        reasons.append(f"matmul_precision={module.matmul_precision!r}")
    return reasons


def torch_equivalent(module) -> nn.LSTM | nn.GRU | nn.RNN:
    """The torch.nn.LSTM / GRU / RNN computing what ``module`` computes (up to the kernels'
    rounding), sharing its Parameter objects and training mode. Its ``forward`` is torch.nn's:
    ``(input, hx)``, without ``lengths=`` / ``mask=``. Raises TypeError where there is none."""
    reasons = script_blockers(module)
    if reasons:
        raise TypeError(f"lstmkit.nn.{type(module).__name__} with {'; '.join(reasons)} has no torch.nn equivalent "
                        f"for torch.jit.script (TorchScript compiles only torch.nn's configurations); "
                        + _ALTERNATIVE)
    name = module.family.torch_name
    kwargs = {"num_layers": module.num_layers, "bias": module.bias, "batch_first": module.batch_first,
              "dropout": module.dropout, "bidirectional": module.bidirectional, "device": "meta"}
    if name == "LSTM":
        kwargs["proj_size"] = module.proj_size
    if name == "RNN":
        kwargs["nonlinearity"] = module.spec.activation
    twin = getattr(nn, name)(module.input_size, module.hidden_size, **kwargs)
    for weight in twin._flat_weights_names:
        setattr(twin, weight, getattr(module, weight))  # RNNBase.__setattr__ keeps _flat_weights current
    return twin.train(module.training)


class ScriptableLSTM(nn.Module):
    """A torch.nn.LSTM behind a TorchScript-callable tensor ``forward(input, hx)``."""

    def __init__(self, rnn: nn.LSTM):
        super().__init__()
        self.rnn = rnn

    def forward(self, input: Tensor, hx: Optional[tuple[Tensor, Tensor]] = None  # noqa: UP045 - TorchScript
                ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        return self.rnn(input, hx)


class ScriptableRNN(nn.Module):
    """A torch.nn.GRU / RNN behind a TorchScript-callable tensor ``forward(input, hx)``."""

    def __init__(self, rnn: nn.GRU | nn.RNN):
        super().__init__()
        self.rnn = rnn

    def forward(self, input: Tensor, hx: Optional[Tensor] = None) -> tuple[Tensor, Tensor]:  # noqa: UP045
        return self.rnn(input, hx)


def prepare_scriptable(module) -> nn.Module:
    """``__prepare_scriptable__`` of the stacks: what torch.jit.script compiles in their place
    (parameters under ``rnn.``, shared with ``module``)."""
    twin = torch_equivalent(module)
    return ScriptableLSTM(twin) if isinstance(twin, nn.LSTM) else ScriptableRNN(twin)
