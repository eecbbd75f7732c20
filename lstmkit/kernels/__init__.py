"""Execution paths for the recurrent layers of ``lstmkit.nn``, and the choice between them.

- ``native``: torch's own fused kernels (``_VF.lstm`` / ``_VF.gru``: oneDNN on CPU, cuDNN on
  CUDA). Bit-identical to torch.nn, but only for the plain LSTM/GRU.
- ``steps`` + ``loop``: a plain-torch step per variant and a Python loop over time; runs every
  variant and extra, with autograd for the backward pass.

``backend="auto"`` picks the native kernels when they can run the configuration and the loop
otherwise. (Fused CPU kernels for every variant plug in here later.)
"""

from __future__ import annotations

from dataclasses import replace

from lstmkit.cells.spec import GRUSpec, LSTMSpec

BACKENDS: tuple[str, ...] = ("auto", "torch", "reference")


def check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {list(BACKENDS)}, got {backend!r}")
    return backend


def resolve_backend(requested: str, native_blockers: list[str]) -> str:
    """Return the path to run: "torch" (native kernels) or "reference" (the loop).

    ``native_blockers`` lists, in words, what in this configuration torch's own kernels cannot
    do; ``backend="torch"`` with any blocker is a configuration error.
    """
    if requested == "reference":
        return "reference"
    if requested == "torch":
        if native_blockers:
            raise ValueError(
                "backend='torch' (torch's fused kernels) cannot run "
                + ", ".join(native_blockers)
                + "; use backend='auto' or backend='reference'"
            )
        return "torch"
    return "reference" if native_blockers else "torch"


def native_blockers(spec: LSTMSpec | GRUSpec, **extras: bool) -> list[str]:
    """What torch's own kernels cannot run in this configuration, in words (empty: they can).

    They run exactly torch.nn's LSTM (Greff's NP) and GRU (reset-after); ``extras`` maps the
    name of each requested extra (``layer_norm=True``, ``zoneout=False``, ...) to whether it
    is on.
    """
    plain = LSTMSpec("lstm") if isinstance(spec, LSTMSpec) else GRUSpec("gru")
    reasons = []
    if replace(spec, name=plain.name) != plain:
        reasons.append(f"variant={spec.name!r} with these gates, peepholes and activations")
    reasons += [name for name, on in extras.items() if on]
    return reasons
