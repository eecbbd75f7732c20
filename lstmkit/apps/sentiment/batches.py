"""Length-bucketed batches of word-id sequences, for training and for prediction.

Why: review snippets are short (about 18 words, at most 53 in Rotten Tomatoes) and of very
different lengths. Padding every batch to the longest text would make the LSTM walk many steps
of padding, so texts are grouped by length (shuffled within pools of similar length, batch order
shuffled, from a seeded generator) and each batch is post-padded to its own longest text; the
LSTM gets the true ``lengths``, so the padding changes nothing in its outputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["POOL", "batch_tensors", "length_batches"]

POOL = 32  # batches per length pool: enough randomness per batch, enough length sorting for speed


def length_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator | None = None) -> list[np.ndarray]:
    """Row indices of each batch. With ``rng``: shuffle, sort by length within pools of ``POOL``
    batches, shuffle the batches (a new order per call). Without: rows sorted by length (prediction)."""
    n = len(lengths)
    if rng is None:
        order = np.argsort(lengths, kind="stable")
        return [order[i:i + batch_size] for i in range(0, n, batch_size)]
    order = rng.permutation(n)
    pool = batch_size * POOL
    batches = []
    for start in range(0, n, pool):
        chunk = order[start:start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[k] for k in rng.permutation(len(batches))]


def batch_tensors(seqs: Sequence[np.ndarray], rows: np.ndarray) -> tuple[object, object]:
    """``(ids (B, T) int64 post-padded to the batch's longest text, lengths (B,))`` as torch tensors."""
    import torch

    lengths = np.asarray([len(seqs[i]) for i in rows], dtype=np.int64)
    ids = np.zeros((len(rows), int(lengths.max())), dtype=np.int64)
    for row, i in enumerate(rows):
        ids[row, :lengths[row]] = seqs[i]
    return torch.from_numpy(ids), torch.from_numpy(lengths)
