"""The character-level LSTM language model of ``lstmkit textgen`` and its training loop.

Why this training scheme (truncated backpropagation through time over stateful batches, as in
Karpathy's char-rnn): the corpus is cut into ``batch_size`` contiguous streams that are read side
by side, ``seq_len`` characters at a time; the LSTM's state at the end of one chunk is the start
state of the next (detached, so gradients flow back at most ``seq_len`` steps). Every character is
seen once per epoch, with its full left context, and no time is spent re-reading overlapping
windows, which is what makes CPU training of a useful model take minutes, not hours. The LSTM is
``lstmkit.nn.LSTM`` with no extras. It trains with bfloat16 matrix products and float32 master
weights (``backend="auto"``, ``precision="bf16"``: lstmkit's fused kernels, about 1.7x the characters
per second of float32 at these sizes with the same validation loss; on a CPU with AMX, torch's
bfloat16 LSTM, 1.8x those again at 1x512: 67 vs 121 ms per step), and scores and samples
in float32 (``score_kernels``), so the reported bits per character are those of the float32 model.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from lstmkit.apps.textgen.config import TextGenConfig
from lstmkit.apps.textgen.schedule import learning_rate
from lstmkit.apps.textgen.vocab import Vocab
from lstmkit.apps.threads import limited_threads
from lstmkit.errors import AppError

__all__ = ["APP", "CharLSTM", "TextGenConfig", "TextGenerator"]

APP = "textgen"
LN2 = math.log(2.0)


class CharLSTM(nn.Module):
    """Characters in, next-character logits out: embedding (or one-hot) -> stacked LSTM -> linear."""

    def __init__(self, vocab_size: int, *, layers: int = 1, units: int = 256, embed_dim: int = 64,
                 dropout: float = 0.0, output_dropout: float = 0.0, backend: str = "fused", precision: str = "bf16"):
        super().__init__()
        from lstmkit.nn import LSTM

        self.vocab_size = vocab_size
        self.embed = nn.Embedding(vocab_size, embed_dim) if embed_dim > 0 else None
        self.lstm = LSTM(embed_dim if embed_dim > 0 else vocab_size, units, num_layers=layers, batch_first=True,
                         dropout=dropout if layers > 1 else 0.0, backend=backend, matmul_precision=precision)
        self.drop = nn.Dropout(output_dropout) if output_dropout > 0 else None
        self.head = nn.Linear(units, vocab_size)

    def forward(self, ids: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """``ids`` (batch, time) int64 -> logits (batch, time, vocab) and the final ``(h, c)``."""
        if self.embed is not None:
            x = self.embed(ids)
        else:
            x = nn.functional.one_hot(ids, self.vocab_size).float()
        output, state = self.lstm(x, state)  # (B, T, H)
        if self.drop is not None:
            output = self.drop(output)
        return self.head(output), state  # (B, T, V)

    def step(self, ids: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
             ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """One character per sequence: ``ids`` (batch,) int64 -> logits (batch, vocab) and the new
        ``(h, c)``; the LSTM runs ``lstmkit.nn.LSTM.step`` (weights kept packed between calls)."""
        if self.embed is not None:
            x = self.embed(ids)  # (B, E)
        else:
            x = nn.functional.one_hot(ids, self.vocab_size).float()
        output, state = self.lstm.step(x, state)  # (B, H)
        if self.drop is not None:
            output = self.drop(output)
        return self.head(output), state  # (B, V)

    @contextlib.contextmanager
    def score_kernels(self) -> Iterator[None]:
        """Run the block with float32 matrix products on the fastest inference kernels ("auto").

        Why: bf16 is a training speed mode (the weights stay float32); scores and samples are
        those of the float32 model, whatever kernels it was trained with.
        """
        saved = (self.lstm.backend, self.lstm.matmul_precision)
        self.lstm.backend, self.lstm.matmul_precision = "auto", "fp32"
        try:
            yield
        finally:
            self.lstm.backend, self.lstm.matmul_precision = saved


def _streams(ids: np.ndarray, batch_size: int, context: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut the prediction pairs (ids[t-1] -> ids[t]) into ``batch_size`` contiguous streams.

    Returns inputs, targets and a validity mask, each (batch, length): every pair is scored
    (valid) exactly once. Each stream but the first starts with up to ``context`` of the
    characters before its own, read but not scored, so its first predictions have the left
    context a single pass over the text would give them (as an n-gram's history does); the
    shorter streams are padded at the end.
    """
    pairs = len(ids) - 1
    batch = max(1, min(batch_size, pairs))
    bounds = np.linspace(0, pairs, batch + 1).astype(np.int64)
    lead = np.minimum(bounds[:-1], context)  # unscored characters read first, per stream
    length = int((np.diff(bounds) + lead).max())
    x = np.zeros((batch, length), dtype=np.int64)
    y = np.zeros((batch, length), dtype=np.int64)
    valid = np.zeros((batch, length), dtype=bool)
    for row, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        first = start - int(lead[row])
        x[row, : stop - first] = ids[first:stop]
        y[row, : stop - first] = ids[first + 1 : stop + 1]
        valid[row, int(lead[row]) : stop - first] = True
    return x, y, valid


class TextGenerator:
    """A ``CharLSTM`` with its vocabulary and config: train, score (bits per character), save, load.

    Sampling is in ``lstmkit.apps.textgen.sample``.
    """

    def __init__(self, vocab: Vocab, config: TextGenConfig | None = None, *, seed: int = 0):
        from lstmkit.keras.utils import set_random_seed

        self.vocab = vocab
        self.config = config or TextGenConfig()
        self.seed = seed
        set_random_seed(seed)  # the weights' initial values
        c = self.config
        self.model = CharLSTM(len(vocab), layers=c.layers, units=c.units, embed_dim=c.embed_dim, dropout=c.dropout,
                              output_dropout=c.output_dropout, backend=c.backend, precision=c.precision)
        self.history: dict[str, list[float]] = {"step": [], "chars": [], "seconds": [], "bpc": []}
        #: steps, training seconds and what ended the last ``fit`` ("steps", "epochs" or "time")
        self.last_fit: dict[str, Any] = {}
        self._base = (0.0, 0.0)

    def fit(self, text: str, *, steps: int | None = None, epochs: int | None = None, seconds: float | None = None,
            verbose: int = 1, log_every: int = 10, threads: int | None = 2) -> dict[str, list[float]]:
        """Train on ``text`` until the first of ``steps`` updates, ``epochs`` passes, ``seconds`` of wall time.

        The learning rate warms up over ``warmup_steps`` and decays (cosine or linear) from
        ``learning_rate`` to ``final_learning_rate`` over the planned steps (or, with only a time
        budget, over the elapsed fraction of it); see ``schedule.learning_rate``. Every
        ``log_every`` steps the mean training bpc since the last record goes to ``self.history``.
        A progress bar per epoch shows loss (nats), bpc and the ETA. Returns ``self.history``.

        ``threads`` sets torch's intra-op threads while training (restored afterwards; None leaves
        them). The default is 2, the fastest on an idle 2-core machine for the batches of 128
        streams used here; on a machine busy with other work, 1 can be faster (a second thread
        then waits at barriers), so the CLI exposes ``--threads``.
        """
        with limited_threads(threads):
            return self._fit(text, steps, epochs, seconds, verbose, log_every)

    def _fit(self, text: str, steps: int | None, epochs: int | None, seconds: float | None, verbose: int,
             log_every: int) -> dict[str, list[float]]:
        from lstmkit.keras.models.progbar import Progbar

        if steps is None and epochs is None and seconds is None:
            raise ValueError("give at least one of steps=, epochs=, seconds=")
        c = self.config
        ids = self.vocab.encode(text, what="training text")
        per_epoch = (len(ids) - c.seq_len) // (c.batch_size * c.seq_len)
        if per_epoch < 1:
            raise AppError(f"the training text has {len(ids)} characters: with --batch-size {c.batch_size} and "
                           f"--seq-len {c.seq_len} it needs more than {c.batch_size * c.seq_len + c.seq_len}")
        limits = [x for x in (steps, None if epochs is None else epochs * per_epoch) if x is not None]
        planned = min(limits) if limits else None  # None: only a time budget
        rng = np.random.default_rng(self.seed)
        params = list(self.model.parameters())
        optimizer = torch.optim.Adam(params, lr=c.learning_rate)
        start, step, last_logged, acc = time.perf_counter(), 0, 0, 0.0
        # a second fit continues the history's step and time axes
        self._base = (self.history["step"][-1], self.history["seconds"][-1]) if self.history["step"] else (0.0, 0.0)
        self.model.train()
        epoch = 0
        while True:
            epoch += 1
            offset = int(rng.integers(0, c.seq_len))  # a new cut of the streams each epoch
            usable = (len(ids) - 1 - offset) // c.batch_size * c.batch_size
            streams = torch.from_numpy(ids[offset : offset + usable + 1])
            x_all = streams[:-1].reshape(c.batch_size, -1)
            y_all = streams[1:].reshape(c.batch_size, -1)
            n_chunks = min(per_epoch, x_all.shape[1] // c.seq_len)
            target = n_chunks if planned is None else min(n_chunks, planned - step)
            bar = Progbar(target, verbose=verbose, stateful_metrics={"lr"})
            if verbose:
                print(f"epoch {epoch}" + (f"/{epochs}" if epochs else ""), flush=True)
            state = None
            stop = False
            for chunk in range(target):
                fraction = step / planned if planned else (time.perf_counter() - start) / seconds
                lr = learning_rate(step, fraction, peak=c.learning_rate, final=c.final_learning_rate,
                                   warmup_steps=c.warmup_steps, schedule=c.schedule)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                cols = slice(chunk * c.seq_len, (chunk + 1) * c.seq_len)
                logits, state = self.model(x_all[:, cols], state)
                state = tuple(s.detach() for s in state)
                loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y_all[:, cols].reshape(-1))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if c.clip_norm > 0:
                    nn.utils.clip_grad_norm_(params, c.clip_norm)
                optimizer.step()
                step += 1
                value = float(loss.detach())
                acc += value
                if step - last_logged >= log_every:
                    self._log(step, acc / (step - last_logged), time.perf_counter() - start)
                    acc, last_logged = 0.0, step
                bar.update(chunk + 1, [("loss", value), ("bpc", value / LN2), ("lr", lr)])
                if (seconds is not None and time.perf_counter() - start >= seconds) or step == planned:
                    stop = True
                    break
            if chunk + 1 < target:
                bar.update(chunk + 1, finalize=True)
            if stop or (epochs is not None and epoch >= epochs):
                break
        elapsed = time.perf_counter() - start
        if step > last_logged:
            self._log(step, acc / (step - last_logged), elapsed)
        reason = "time" if seconds is not None and elapsed >= seconds else "steps" if step == steps else "epochs"
        self.last_fit = {"steps": step, "seconds": elapsed, "stopped_by": reason}
        self.model.eval()
        return self.history

    def _log(self, step: int, loss: float, elapsed: float) -> None:
        """Record the mean training loss (nats) of the steps since the last record, as bpc."""
        step_total = self._base[0] + step
        self.history["step"].append(step_total)
        self.history["chars"].append(step_total * self.config.batch_size * self.config.seq_len)
        self.history["seconds"].append(self._base[1] + elapsed)
        self.history["bpc"].append(loss / LN2)

    @torch.inference_mode()
    def log2_probs(self, text: str, *, batch_size: int = 32, chunk: int = 250, context: int = 250,
                   threads: int | None = 2) -> np.ndarray:
        """log2 P(text[t] | text[:t]) for t >= 1, read as ``batch_size`` contiguous streams.

        Why streams: one long pass would leave a CPU's cores idle. Each stream starts from a
        zero state but first reads (without scoring) up to ``context`` characters of the text
        before its own, so its first predictions are not made blind; that makes the score a
        close stand-in for one pass over the whole text. ``threads`` as in ``fit``.
        """
        with limited_threads(threads), self.model.score_kernels():
            return self._log2_probs(text, batch_size, chunk, context)

    def _log2_probs(self, text: str, batch_size: int, chunk: int, context: int) -> np.ndarray:
        ids = self.vocab.encode(text, what="evaluation text")
        if len(ids) < 2:
            raise AppError("the evaluation text needs at least 2 characters")
        self.model.eval()
        x, y, valid = (torch.from_numpy(a) for a in _streams(ids, batch_size, context))
        out = torch.empty(y.shape, dtype=torch.float64)
        state = None
        for start in range(0, x.shape[1], chunk):
            cols = slice(start, start + chunk)
            logits, state = self.model(x[:, cols], state)
            logp = torch.log_softmax(logits.double(), dim=-1)
            out[:, cols] = logp.gather(-1, y[:, cols, None])[..., 0] / LN2
        return out[valid].numpy()

    def bits_per_char(self, text: str, **kwargs: Any) -> float:
        """Mean -log2 P over the characters of ``text`` after the first (as ``NGramModel.bits_per_char``)."""
        return float(-self.log2_probs(text, **kwargs).mean())

    def save(self, out_dir: str | Path, extra: dict[str, Any] | None = None) -> Path:
        """Write a checkpoint folder (``app.json`` with vocabulary and config, ``model.safetensors``)."""
        from lstmkit.checkpoint import save_checkpoint

        state = {"vocab": self.vocab.to_state(), "config": asdict(self.config), "seed": self.seed,
                 "history": self.history, **(extra or {})}
        return save_checkpoint(out_dir, APP, state, module=self.model)

    @classmethod
    def load(cls, path: str | Path) -> tuple[TextGenerator, dict[str, Any]]:
        """Read a checkpoint written by ``save``; returns the generator and the stored state."""
        from lstmkit.checkpoint import load_checkpoint

        state, tensors, _ = load_checkpoint(path, APP)
        config = TextGenConfig.from_dict(state.get("config", {}))
        generator = cls(Vocab.from_state(state.get("vocab", {})), config, seed=int(state.get("seed", 0)))
        try:
            generator.model.load_state_dict(tensors)
        except RuntimeError as exc:
            raise AppError(f"checkpoint {path} does not match its config ({str(exc).splitlines()[0]})") from None
        generator.model.eval()
        generator.history = {k: list(v) for k, v in state.get("history", {}).items()} or generator.history
        return generator, state
