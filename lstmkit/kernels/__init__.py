"""Execution paths for the recurrent layers of ``lstmkit.nn``, and the choice between them.

- ``native``: torch's own fused kernels (``torch.lstm`` / ``gru`` / ``rnn_tanh`` / ``rnn_relu``:
  oneDNN on CPU, cuDNN on CUDA). Bit-identical to torch.nn, but only for the plain LSTM/GRU
  and the tanh/relu Elman RNN.
- ``fused``: lstmkit's own C++ kernels (``lstmkit/csrc/``, bound in ``fused.py``): the whole
  recurrence forward and backward in one call per layer-direction, for every LSTM variant and
  extra and the GRU; CPU, float32/float64. Built by the set-up.
- ``steps`` + ``loop``: a plain-torch step per variant and a Python loop over time; runs every
  variant and extra on any device, with autograd for the backward pass.

``choose_path`` is the one place that decides: ``backend="auto"`` picks the fused kernels on
CPU when they are built and can run the configuration, else torch's native kernels when they
can (cuDNN on CUDA), else the loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache

import torch

from lstmkit.cells.spec import GRUSpec, LSTMSpec, RNNSpec
from lstmkit.kernels import fused
from lstmkit.kernels.exporting import in_onnx_export
from lstmkit.kernels.loop import mask_spans

Spec = LSTMSpec | GRUSpec | RNNSpec

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


#: The configurations torch's own kernels run (a spec equal to one of them up to its name).
TORCH_NATIVE_SPECS: tuple[Spec, ...] = (LSTMSpec("lstm"), GRUSpec("gru"), RNNSpec(activation="tanh"),
                                        RNNSpec(activation="relu"))


def native_blockers(spec: Spec, **extras: bool) -> list[str]:
    """What torch's own kernels cannot run in this configuration, in words (empty: they can).

    They run exactly torch.nn's LSTM (Greff's NP), GRU (reset-after) and tanh/relu RNN;
    ``extras`` maps the name of each requested extra (``layer_norm=True``, ``zoneout=False``,
    ...) to whether it is on.
    """
    reasons = []
    if not _torch_runs(spec):
        if isinstance(spec, RNNSpec):
            reasons.append(f"activation={spec.activation!r} (torch's RNN kernels have 'tanh' and 'relu')")
        else:
            reasons.append(f"variant={spec.name!r} with these gates, peepholes and activations")
    reasons += [name for name, on in extras.items() if on]
    return reasons


@lru_cache(maxsize=256)
def _torch_runs(spec: Spec) -> bool:
    """Whether the spec is one of ``TORCH_NATIVE_SPECS`` up to its name (cached: specs are
    frozen, and this runs at every call)."""
    return any(type(spec) is type(p) and replace(spec, name=p.name) == p for p in TORCH_NATIVE_SPECS)


#: largest batch ``backend="auto"`` runs whole sequences on the streaming kernel (inference only)
STREAM_SEQUENCE_MAX_BATCH = 4


@dataclass(slots=True)
class PathRequest:
    """What the choice of execution path depends on, gathered by a module for one call.

    Why a record rather than the module: ``choose_path`` then reads only these facts, so the
    rules live in one function and a test can state a case without building a layer.
    """

    backend: str  #: the module's ``backend`` argument
    spec: Spec
    x: torch.Tensor  #: the input (T, B, I) (cells: (B, I)); its device, dtype and batch size matter
    #: lstmkit extras torch's kernels lack, name -> whether on (``layer_norm``, ``zoneout``, ...)
    extras: dict[str, bool] = field(default_factory=dict)
    mask: torch.Tensor | None = None  #: a (T, B) Keras step mask, if given
    #: why lstmkit's fused kernels cannot run this cell family at all; None: they can
    fused_unsupported: str | None = None
    single_step: bool = False  #: a cell: no recurrence to fuse, so backend="fused" acts as "auto"
    bf16: bool = False  #: matmul_precision="bf16": the fused LSTM kernels, or torch's bf16 LSTM on AMX
    #: a configuration where torch's kernels were measured faster (plain LSTM, no projection)
    native_speedup: bool = False
    min_hidden: int = 0  #: the smallest hidden size of the stack
    #: LSTM projections (``proj_size``): torch's kernels run them, ONNX's LSTM operator has none
    projection: bool = False
    #: the module's parameters (``module.parameters``), read only where gradients matter
    parameters: Callable[[], Iterable[torch.Tensor]] = tuple
    #: a one-direction plain LSTM/GRU stack (no bidirectional, go_backwards, projection, lengths or
    #: training-mode dropout): the streaming kernel can run it
    streamable: bool = False
    #: largest batch sent to the streaming kernel (``step()`` asks with a larger one)
    stream_max_batch: int = STREAM_SEQUENCE_MAX_BATCH


@dataclass(slots=True)
class PathChoice:
    """The path for one call: "fused", "stream" (the fused streaming kernel), "torch" or
    "reference" (the loop)."""

    path: str
    #: (starts, lengths), each (B,), of a mask whose real steps form one run per sequence, when
    #: torch's kernels run it after shifting each run to the front (``loop.mask_spans``)
    spans: tuple[torch.Tensor, torch.Tensor] | None = None


def choose_path(req: PathRequest) -> PathChoice:
    """The execution path for one call (the only place that decides it).

    Order of preference for ``backend="auto"``: torch's kernels where they are measured faster
    (``_native_is_faster``), lstmkit's fused kernels when they can run the call, torch's
    kernels when they can (span masks included), else the loop. An explicit backend that
    cannot run the call raises a ValueError saying why.
    """
    if req.single_step:
        return PathChoice(resolve_backend(req.backend, native_blockers(req.spec, **req.extras)))
    if in_onnx_export() and req.backend in ("auto", "fused"):  # the C++ ops have no ONNX form:
        # torch's kernels export as ONNX LSTM/GRU/RNN, anything else as the loop (an ONNX Loop, loop_script)
        native = not native_blockers(req.spec, **req.extras, mask=req.mask is not None) and not req.projection
        return PathChoice("torch" if native else "reference")
    if req.backend == "auto" and (_native_is_faster(req) or _native_bf16_is_faster(req)):
        return PathChoice("torch")
    if req.backend == "auto" and _stream_is_faster(req):
        return PathChoice("stream")
    if req.backend not in ("auto", "fused"):
        fused_blockers = ["not requested"]
    elif req.fused_unsupported is not None:
        fused_blockers = [req.fused_unsupported]
    else:
        fused_blockers = fused.blockers(req.x, req.spec)
    if req.backend == "fused" or (req.backend == "auto" and not fused_blockers):
        return PathChoice(resolve_backend("fused", [], fused_blockers))
    if req.bf16:
        raise ValueError("matmul_precision='bf16' needs lstmkit's fused CPU kernels, which cannot run here: "
                         + "; ".join(fused_blockers))
    if req.backend == "auto" and req.fused_unsupported is None and req.x.device.type == "cpu" \
            and not fused.available():
        fused.warn_unavailable()
    spans = None
    if req.mask is not None and req.backend != "reference" and not native_blockers(req.spec, **req.extras) \
            and not _capturing(req.x):  # whether a mask is spans depends on its values, unknown to a graph
        spans = mask_spans(req.mask)  # pre/post-padding masks run on torch's kernels
    blockers = native_blockers(req.spec, **req.extras, **{"mask=": req.mask is not None and spans is None})
    return PathChoice(resolve_backend(req.backend, blockers), spans)


def _capturing(x: torch.Tensor) -> bool:
    """A graph being captured (torch.export / torch.compile / torch.jit.trace) must not depend on
    the batch size, which ``_native_is_faster`` reads (captured calls stay on the fused path), nor
    on a mask's values."""
    from lstmkit.kernels import traced  # traced imports this package's modules

    return traced.capturing(x)


def _no_grad_wanted(req: PathRequest) -> bool:
    return not (torch.is_grad_enabled() and (req.x.requires_grad or any(p.requires_grad for p in req.parameters())))


def _stream_is_faster(req: PathRequest) -> bool:
    """``backend="auto"``: plain float32 LSTM/GRU inference on CPU at batch <= 4 (``step()``:
    <= 16) runs the streaming kernel (``lstmkit/csrc/stream.cpp``: weights packed once per module, each core's
    share kept in its L2, one call for the whole sequence), measured faster there than both the
    sequence kernels and torch's (BENCHMARKS.md, "Streaming")."""
    if not req.streamable or req.bf16 or req.mask is not None or _capturing(req.x):
        return False
    x = req.x
    if x.device.type != "cpu" or x.dtype != torch.float32 or not 0 < x.shape[1] <= req.stream_max_batch:
        return False
    if native_blockers(req.spec, **req.extras) or not fused.available():
        return False
    return _no_grad_wanted(req)


def _native_bf16_is_faster(req: PathRequest) -> bool:
    """``backend="auto"`` with ``matmul_precision="bf16"``: on a CPU with AMX tiles, torch's
    oneDNN LSTM in bfloat16 (AMX GEMMs) was measured about 2x lstmkit's fused bf16 kernels
    (AVX-512 ``vdpbf16ps``) at the char-rnn and textgen shapes (BENCHMARKS.md, "bf16"), so
    the plain LSTM takes it there (``native.rnn(..., precision="bf16")``: the float32 weights
    are cast per call, gradients reach them in float32). Without AMX the fused kernels run."""
    return req.bf16 and _torch_can_take(req) and has_amx()


def _torch_can_take(req: PathRequest) -> bool:
    """Whether ``backend="auto"`` may hand this call to torch's kernels for speed: a plain
    LSTM (``native_speedup``) on CPU float32 input, no mask, not being captured, and nothing
    torch's kernels lack (``native_blockers``). The shared guard of the two speed rules."""
    if not req.native_speedup or req.mask is not None or _capturing(req.x):
        return False
    x = req.x
    return x.device.type == "cpu" and x.dtype == torch.float32 and not native_blockers(req.spec, **req.extras)


def has_amx() -> bool:
    """Whether this CPU has AMX tiles (Intel Sapphire Rapids and later)."""
    probe = getattr(torch.cpu, "_is_amx_tile_supported", None)
    return bool(probe and probe())


#: plain LSTM training at this hidden size or more runs on torch's kernels under "auto"
NATIVE_TRAINING_MIN_HIDDEN = 512


def _native_is_faster(req: PathRequest) -> bool:
    """``backend="auto"``: where torch's oneDNN kernels were measured faster than the fused ones
    for the plain float32 LSTM on CPU (``bench/bench_routing.py``; BENCHMARKS.md, "Routing"):
    inference with a large per-step GEMM (batch >= 16, hidden >= 128: fused 0.66-0.91x there)
    and training at hidden >= 512 (fused 0.78-0.93x; at hidden <= 256 fused wins 1.23-1.30x).
    Small and batch-1 shapes, the GRU, variants and extras stay on lstmkit's kernels. Both
    compute the same function; this is speed only."""
    if req.bf16 or not _torch_can_take(req):
        return False
    if not _no_grad_wanted(req):
        return req.min_hidden >= NATIVE_TRAINING_MIN_HIDDEN
    return req.x.shape[1] >= 16 and req.min_hidden >= 128
