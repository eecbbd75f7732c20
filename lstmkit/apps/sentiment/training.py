"""Training one sentiment network on the labelled snippets, and scoring it.

Why the best epoch is chosen on validation loss and restored: on ~10k snippets the network
overfits within two or three epochs, and the epoch is the one choice the run makes from held-out
data: it is made on the validation split only (the test split is never seen here). Why an
optional smaller learning rate for the encoder (``encoder_lr_scale``, discriminative rates as in
Howard & Ruder 2018): it lets the word vectors and the LSTM move slower than the fresh head.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from lstmkit.apps.sentiment.batches import batch_tensors, length_batches

__all__ = ["predict_logits", "train_member"]


def predict_logits(net: Any, seqs: Sequence[np.ndarray], batch_size: int = 256) -> np.ndarray:
    """The network's logit for each sequence (float64), in evaluation mode, batched by length."""
    import torch

    out = np.empty(len(seqs))
    if not len(seqs):
        return out
    was_training = net.training
    net.eval()
    with torch.no_grad():
        for rows in length_batches(np.asarray([len(s) for s in seqs]), batch_size):
            ids, lengths = batch_tensors(seqs, rows)
            out[rows] = net(ids, lengths).double().numpy()
    net.train(was_training)
    return out


def _val_scores(net: Any, seqs: Sequence[np.ndarray], y: np.ndarray) -> tuple[float, float]:
    """(mean binary cross-entropy, accuracy) on the validation sequences."""
    z = predict_logits(net, seqs)
    loss = float(np.mean(np.logaddexp(0.0, z) - y * z))  # stable BCE with logits
    return loss, float(np.mean((z >= 0) == (y == 1)))


def train_member(net: Any, seqs: Sequence[np.ndarray], y: np.ndarray, val_seqs: Sequence[np.ndarray], val_y: np.ndarray,
             *, epochs: int, batch_size: int = 32, lr: float = 2e-3, encoder_lr_scale: float = 0.5,
             patience: int | None = None, seed: int = 0, time_cap_s: float | None = None,
             log: Callable[[str], Any] | None = None) -> dict[str, Any]:
    """Train ``net`` as a classifier for up to ``epochs`` epochs (learning rate decayed linearly to
    5%), score the validation split after each, and leave ``net`` holding the weights of the epoch
    with the lowest validation loss. Stops early after ``patience`` epochs without a better one
    (None: never). ``time_cap_s`` is a safety net only (the run is an epoch count).

    Returns ``{"history": {"loss", "val_loss", "val_accuracy"}, "best_epoch", "epochs_run",
    "stopped_by_time_cap"}``.
    """
    import torch

    encoder = list(net.embedding.parameters()) + list(net.rnn.parameters())
    head = list(net.head.parameters())
    optimizer = torch.optim.Adam([{"params": encoder, "lr": lr * encoder_lr_scale}, {"params": head, "lr": lr}])
    rng = np.random.default_rng(seed + 15485863)
    lengths = np.asarray([len(s) for s in seqs])
    y_t = torch.as_tensor(np.asarray(y, dtype=np.float32))
    steps_total = epochs * -(-len(seqs) // batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda k: max(0.05, 1.0 - k / steps_total))
    history: dict[str, list[float]] = {"loss": [], "val_loss": [], "val_accuracy": []}
    best: tuple[float, int, dict[str, Any]] | None = None
    start, capped = time.perf_counter(), False
    for epoch in range(epochs):
        net.train()
        total = 0.0
        for rows in length_batches(lengths, batch_size, rng):
            ids, lens = batch_tensors(seqs, rows)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(net(ids, lens), y_t[rows])
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(encoder + head, 1.0)
            optimizer.step()
            schedule.step()
            total += float(loss.detach()) * len(rows)
            if time_cap_s is not None and time.perf_counter() - start > time_cap_s:
                capped = True
                break
        val_loss, val_acc = _val_scores(net, val_seqs, np.asarray(val_y))
        for key, value in (("loss", total / len(seqs)), ("val_loss", val_loss), ("val_accuracy", val_acc)):
            history[key].append(value)
        if best is None or val_loss < best[0]:
            best = (val_loss, epoch + 1, copy.deepcopy(net.state_dict()))
        if log:
            log(f"  epoch {epoch + 1}/{epochs}: loss {history['loss'][-1]:.4f}, val_loss {val_loss:.4f}, "
                f"val_accuracy {val_acc:.4f} ({time.perf_counter() - start:.0f} s)")
        if capped or (patience is not None and epoch + 1 - best[1] > patience):
            break
    if best is not None:
        net.load_state_dict(best[2])
    net.eval()
    return {"history": history, "best_epoch": best[1] if best else 0, "epochs_run": len(history["loss"]),
            "stopped_by_time_cap": capped}
