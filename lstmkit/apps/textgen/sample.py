"""Generate text from a trained ``TextGenerator``: a priming text, then one sampled character at a time.

Why these knobs: always taking the most likely character (greedy decoding) soon loops ("the the
the ..."), while sampling from the raw distribution wanders. ``temperature`` divides the logits
(below 1 sharpens the distribution, above 1 flattens it) and ``top_k`` keeps only the k likeliest
characters (``top_k=1`` is exactly greedy decoding). Draws come from a NumPy generator seeded with
``seed``, in float64, so the same model, priming text and seed give the same text.
"""

from __future__ import annotations

import numpy as np
import torch

from lstmkit.apps.textgen.model import TextGenerator
from lstmkit.apps.threads import limited_threads
from lstmkit.errors import AppError


def start_text(generator: TextGenerator, prime: str) -> str:
    """The priming text to use: ``prime``, or for an empty one a newline (or the vocabulary's first character)."""
    if prime:
        return prime
    return "\n" if "\n" in generator.vocab.index else generator.vocab.chars[0]


def shape_distribution(logits: np.ndarray, temperature: float = 1.0, top_k: int = 0) -> np.ndarray:
    """Probabilities from ``logits`` after dividing by ``temperature`` and keeping the ``top_k`` largest.

    ``top_k=0`` keeps every character. Ties at the k-th value are broken toward the lower id, so
    ``top_k=1`` picks ``argmax`` exactly.
    """
    if not temperature > 0:
        raise AppError(f"the temperature must be > 0, got {temperature}")
    if top_k < 0:
        raise AppError(f"top-k must be >= 0 (0 keeps all characters), got {top_k}")
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    if 0 < top_k < len(scaled):
        keep = np.argsort(-scaled, kind="stable")[:top_k]
        masked = np.full_like(scaled, -np.inf)
        masked[keep] = scaled[keep]
        scaled = masked
    scaled -= scaled.max()
    probs = np.exp(scaled)
    return probs / probs.sum()


@torch.inference_mode()
def sample(generator: TextGenerator, prime: str = "", length: int = 200, *, temperature: float = 1.0,
           top_k: int = 0, seed: int = 0, threads: int | None = 1) -> str:
    """``length`` characters that continue ``prime`` (the priming text itself is not included).

    A priming text with characters the model does not know raises an AppError listing them.
    ``threads``: torch threads meanwhile (one step of one sequence gains nothing from more).
    """
    with limited_threads(threads), generator.model.score_kernels():
        return _sample(generator, prime, length, temperature, top_k, seed)


def _sample(generator: TextGenerator, prime: str, length: int, temperature: float, top_k: int, seed: int) -> str:
    if length < 0:
        raise AppError(f"the length must be >= 0, got {length}")
    prime = start_text(generator, prime)
    ids = generator.vocab.encode(prime, what="priming text")
    model = generator.model
    model.eval()
    rng = np.random.default_rng(seed)
    state = None
    if len(ids) > 1:  # read the priming text; its last character is the first input below
        _, state = model(torch.from_numpy(ids[None, :-1]), state)
    current = int(ids[-1])
    out: list[int] = []
    for _ in range(length):
        logits, state = model.step(torch.tensor([current]), state)  # one character: the streaming step
        probs = shape_distribution(logits[0].double().numpy(), temperature, top_k)
        current = int(rng.choice(len(probs), p=probs))
        out.append(current)
    return generator.vocab.decode(out)


@torch.inference_mode()
def next_distribution(generator: TextGenerator, history: str, *, temperature: float = 1.0,
                      top_k: int = 0) -> np.ndarray:
    """The model's (shaped) distribution over ``vocab.chars`` for the character after ``history``."""
    ids = generator.vocab.encode(start_text(generator, history), what="priming text")
    with generator.model.score_kernels():
        logits, _ = generator.model(torch.from_numpy(ids[None, :]))
    return shape_distribution(logits[0, -1].double().numpy(), temperature, top_k)
