"""One text-generation run, shared by ``lstmkit textgen train`` and the demo: corpus, baselines,
LSTM training, held-out scoring, checkpoint, metrics and plot.

Why in one place: the comparison is only honest if the LSTM and the n-gram baselines are trained
on the same training text and scored on the identical held-out text, and both entry points must
get that right the same way. The held-out text never depends on ``--seed`` (the split has its
own fixed seed), so runs with different seeds are scored on the same characters.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lstmkit.apps.textgen.model import TextGenConfig, TextGenerator
from lstmkit.apps.textgen.ngram import NGramModel
from lstmkit.apps.textgen.sample import sample
from lstmkit.apps.textgen.vocab import Vocab
from lstmkit.io import atomic_write_json

SPLIT_SEED = 0  # the held-out plays / blocks; fixed so every run is scored on the same text
NGRAM_ORDERS = (3, 5, 6, 7)  # Kneser-Ney orders reported; 8 scores no better than 7


@dataclass(frozen=True)
class Corpus:
    """Training text, the held-out text both models are scored on, and the shared vocabulary.

    ``valid`` is text for choosing settings (learning rates, sizes, steps), disjoint from both:
    for Shakespeare the two validation plays of the split (neither trained on nor held out),
    for a text file none. Every default of this app was chosen on it, never on ``heldout``.
    """

    name: str
    train: str
    heldout: str
    vocab: Vocab
    description: str
    valid: str = ""


def _take(pieces: list[str], limit: int | None) -> str:
    """Up to ``limit`` characters in all, the same share from the start of each piece (None: all)."""
    if limit is None or limit >= sum(map(len, pieces)):
        return "\n\n".join(pieces)
    share = max(1, limit // len(pieces))
    return "\n\n".join(piece[:share] for piece in pieces)


def load_corpus(data: str = "shakespeare", text_file: str | Path | None = None, *,
                eval_chars: int | None = None) -> Corpus:
    """The Shakespeare plays (held-out: whole plays of different genres) or a user's text file
    (held-out: the end of each of 20 interleaved blocks). ``eval_chars`` caps the held-out text,
    taking the same share from each held-out play / block (None: all of it)."""
    from lstmkit.data import shakespeare

    if text_file is not None:
        text = shakespeare.load_text_file(text_file)
        train, pieces = shakespeare.split_text_blocks(text)
        return Corpus(name=str(text_file), train=train, heldout=_take(pieces, eval_chars),
                      vocab=Vocab.from_text(text),
                      description=f"{text_file}: {len(train):,} training characters, held-out: 10% of each of 20 "
                                  "blocks")
    if data != "shakespeare":
        from lstmkit.errors import AppError

        raise AppError(f"unknown data set {data!r}: expected 'shakespeare' or a text file with --text FILE")
    plays = shakespeare.load_plays()
    split = shakespeare.split_plays(plays, seed=SPLIT_SEED)
    heldout = _take([play.text for play in split.test], eval_chars)
    names = ", ".join(play.name for play in split.test)
    return Corpus(name="shakespeare", train=split.train_text, heldout=heldout, valid=split.valid_text,
                  vocab=Vocab.from_text(*(play.text for play in plays)),
                  description=f"Shakespeare: {len(split.train)} plays ({len(split.train_text):,} characters) for "
                              f"training; held out: {names} ({len(heldout):,} characters scored)")


def ngram_baselines(corpus: Corpus, orders: tuple[int, ...] = NGRAM_ORDERS) -> dict[str, float]:
    """Held-out bpc of interpolated modified Kneser-Ney n-grams fitted on the training text."""
    return {f"ngram{n}": NGramModel(n, corpus.vocab).fit(corpus.train).bits_per_char(corpus.heldout) for n in orders}


def run(corpus: Corpus, config: TextGenConfig, out_dir: str | Path, *, seed: int = 0, steps: int | None = None,
        epochs: int | None = None, seconds: float | None = None, verbose: int = 1, prime: str = "",
        sample_length: int = 300, plot: bool = True, threads: int | None = 1) -> dict[str, Any]:
    """Train, score and save; returns the metrics (also written to ``out_dir/metrics.json``)."""
    out = Path(out_dir)
    say = print if verbose else (lambda *a, **k: None)
    say(corpus.description, flush=True)
    started = time.perf_counter()
    bpc = ngram_baselines(corpus)
    say("baselines, held-out bits per character: "
        + ", ".join(f"{n}-gram {bpc[f'ngram{n}']:.3f}" for n in NGRAM_ORDERS)
        + f" ({time.perf_counter() - started:.1f}s)", flush=True)
    generator = TextGenerator(corpus.vocab, config, seed=seed)
    budget = [text for value, text in ((steps, f"{steps} steps"), (epochs, f"{epochs} epoch(s)"),
                                        (seconds, f"{seconds or 0:.0f}s")) if value is not None]
    say(f"training a {config.layers}x{config.units} LSTM ({sum(p.numel() for p in generator.model.parameters()):,} "
        f"parameters), batch {config.batch_size} x {config.seq_len} characters, until the first of: "
        + ", ".join(budget), flush=True)
    history = generator.fit(corpus.train, steps=steps, epochs=epochs, seconds=seconds, verbose=verbose,
                            threads=threads)
    train_seconds = generator.last_fit["seconds"]
    tic = time.perf_counter()
    bpc = {"lstm": generator.bits_per_char(corpus.heldout, threads=threads), **bpc}
    eval_seconds = time.perf_counter() - tic
    text = sample(generator, prime, sample_length, temperature=0.8, seed=seed, threads=threads)
    steps_done = generator.last_fit["steps"]
    metrics: dict[str, Any] = {
        "bpc": bpc, "corpus": corpus.name, "heldout_chars": len(corpus.heldout), "train_chars": len(corpus.train),
        "steps": steps_done, "chars_seen": steps_done * config.batch_size * config.seq_len,
        "train_seconds": round(train_seconds, 2), "eval_seconds": round(eval_seconds, 2),
        "stopped_by": generator.last_fit["stopped_by"],
        "config": asdict(config), "seed": seed, "sample": text, "prime": prime,
    }
    generator.save(out, extra={"metrics": {k: v for k, v in metrics.items() if k != "sample"}})
    atomic_write_json(out / "metrics.json", metrics, create_dirs=True)
    if plot:
        from lstmkit.apps.textgen.plot import plot_loss_curve

        metrics["plot"] = str(plot_loss_curve(out / "loss_curve.png", history, bpc,
                                              title=f"{config.layers}x{config.units} LSTM on {Path(corpus.name).name}"))
    metrics["checkpoint"] = str(out)
    say(f"held-out bits per character on {len(corpus.heldout):,} characters: LSTM {bpc['lstm']:.3f}, "
        + ", ".join(f"{n}-gram {bpc[f'ngram{n}']:.3f}" for n in NGRAM_ORDERS)
        + f" (trained {train_seconds:.0f}s, {steps_done} steps)", flush=True)
    say(f"sample (temperature 0.8, seed {seed}):\n{prime}{text}", flush=True)
    say(f"checkpoint, metrics.json and loss_curve.png in {out}", flush=True)
    return json.loads(json.dumps(metrics))
