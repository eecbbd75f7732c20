"""Execution paths for the recurrent layers of ``lstmkit.nn``, and the choice between them.

- ``native``: torch's own fused kernels (``_VF.lstm`` / ``_VF.gru``: oneDNN on CPU, cuDNN on
  CUDA). Bit-identical to torch.nn, but only for the plain LSTM/GRU.
- ``fused``: lstmkit's own C++ kernels (``lstmkit/csrc/``, bound in ``fused.py``): the whole
  recurrence forward and backward in one call per layer-direction, for every LSTM variant and
  extra and the GRU; CPU, float32/float64. Built by the set-up.
- ``steps`` + ``loop``: a plain-torch step per variant and a Python loop over time; runs every
  variant and extra on any device, with autograd for the backward pass.

``backend="auto"`` picks the fused kernels on CPU when they are built and can run the
configuration, else torch's native kernels when they can (cuDNN on CUDA), else the loop.
"""

from __future__ import annotations

from dataclasses import replace

from lstmkit.cells.spec import GRUSpec, LSTMSpec

BACKENDS: tuple[str, ...] = ("auto", "fused", "torch", "reference")


def check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {list(BACKENDS)}, got {backend!r}")
    return backend


def resolve_backend(requested: str, native_blockers: list[str], fused_blockers: list[str] | None = None) -> str:
    """Return the path to run: "fused" (lstmkit's kernels), "torch" (native kernels) or
    "reference" (the loop).

    ``native_blockers`` / ``fused_blockers`` list, in words, what in this configuration torch's
    kernels / the fused kernels cannot do; asking for a path explicitly with any blocker is a
    configuration error. ``fused_blockers=None`` means the caller has no fused path (cells: a
    single step has no recurrence to fuse), where ``backend="fused"`` acts like "auto".
    """
    if requested == "reference":
        return "reference"
    if requested == "fused" and fused_blockers is not None:
        if fused_blockers:
            raise ValueError(
                "backend='fused' (lstmkit's fused CPU kernels) cannot run: " + "; ".join(fused_blockers)
                + ". Use backend='auto'"
            )
        return "fused"
    if requested == "torch":
        if native_blockers:
            raise ValueError(
                "backend='torch' (torch's fused kernels) cannot run "
                + ", ".join(native_blockers)
                + "; use backend='auto' or backend='reference'"
            )
        return "torch"
    if fused_blockers is not None and not fused_blockers:
        return "fused"
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
