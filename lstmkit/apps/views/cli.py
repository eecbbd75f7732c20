"""``lstmkit viz cells|gates|errors|attention|history``: look inside a trained model.

The analyses of Karpathy, Johnson & Fei-Fei (2015) on a ``lstmkit textgen`` checkpoint (cell
activations over a text, gate saturation, errors against n-grams and on long-range brackets),
attention heat maps of a saved ``lstmkit.keras`` model, and training curves of a History/CSVLogger
file. Kept import-light: torch, NumPy-heavy modules and matplotlib load inside the handlers.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lstmkit.cliutil import int_in

QUANTITIES = ("c", "h", "i", "f", "g", "o", "r", "z", "n")


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Add ``viz`` with one sub-command per view to ``commands``."""
    viz = commands.add_parser(
        "viz", help="look inside a model: cell activations, gate saturation, errors, attention, training curves",
        description="Views of a trained model after Karpathy, Johnson & Fei-Fei (2015), 'Visualizing and "
                    "Understanding Recurrent Networks': pages (self-contained HTML) and PNG plots.")
    sub = viz.add_subparsers(dest="action", metavar="VIEW", required=True, parser_class=type(viz))

    cells = sub.add_parser("cells", help="an HTML page: the text coloured by a chosen cell, and the cells that "
                                         "track quotes, brackets, line position...",
                           description="Write a self-contained HTML page showing TEXT coloured per character by "
                                       "a chosen cell's value (tanh(c) by default), with controls for layer, cell "
                                       "and quantity, and the cells that best track simple features of the text.")
    _text_model_args(cells, default_chars=3000, out="runs/viz/cells.html")
    cells.add_argument("--layer", type=int_in(0), default=0, help="layer trace shown first (default: 0)")
    cells.add_argument("--cell", type=int_in(0), default=None, help="cell shown first (default: the best match)")
    cells.add_argument("--quantity", choices=QUANTITIES, default="c",
                       help="recorded quantity shown first: c (as tanh(c)), h or a gate (default: c)")
    cells.set_defaults(handler=run_cells)

    gates = sub.add_parser("gates", help="gate saturation scatter plots (PNG), as the paper's Fig. 3",
                           description="Per layer and gate, the fraction of time steps each unit is left-saturated "
                                       "(< 0.1) and right-saturated (> 0.9) while reading TEXT.")
    _text_model_args(gates, default_chars=20000, out="runs/viz/gates.png")
    gates.set_defaults(handler=run_gates)

    errors = sub.add_parser("errors", help="where the LSTM beats the n-grams, its errors by kind, and "
                                           "closing brackets/quotes by distance",
                            description="Score TEXT with the LSTM and Kneser-Ney n-grams fitted on the training "
                                        "text; write errors.png (the LSTM's errors by category), closing.png "
                                        "(accuracy on closing brackets/quotes against distance) and errors.json.")
    _text_model_args(errors, default_chars=50000, out="runs/viz/errors")
    errors.add_argument("--train", metavar="FILE", default=None,
                        help="the model's training text, for the n-grams and word counts (default: the "
                             "Shakespeare training plays)")
    errors.add_argument("--orders", default="3,5,7", metavar="N,N",
                        help="n-gram orders to compare with (default: 3,5,7)")
    errors.set_defaults(handler=run_errors)

    attention = sub.add_parser("attention", help="attention weights of a saved lstmkit.keras model as heat maps",
                               description="Run a saved .keras model on INPUT (.npy, no pickles) and draw each "
                                           "Attention layer's scores: a PNG of one example and an HTML page of all.")
    attention.add_argument("--model", required=True, metavar="FILE", help="a .keras file saved by model.save")
    attention.add_argument("--input", required=True, metavar="FILE", help="model input as a .npy array")
    attention.add_argument("--layer", default=None, help="an Attention layer's name (default: all of them)")
    attention.add_argument("--example", type=int_in(0), default=0, help="example drawn in the PNG (default: 0)")
    attention.add_argument("--out", default="runs/viz/attention.html", metavar="FILE.html",
                           help="the page; the PNG goes beside it (default: runs/viz/attention.html)")
    attention.set_defaults(handler=run_attention)

    history = sub.add_parser("history", help="training curves (train vs validation) from a CSVLogger or JSON file",
                             description="Plot each metric per epoch, training beside validation.")
    history.add_argument("--history", required=True, metavar="FILE", help="CSVLogger .csv or a JSON history")
    history.add_argument("--out", default="runs/viz/history.png", metavar="FILE.png",
                         help="the plot (default: runs/viz/history.png)")
    history.set_defaults(handler=run_history)
    for parser in (cells, gates, attention, history):  # --out names a file there, not a folder (see lstmkit.cli)
        parser.set_defaults(out_is_file=True)


def _text_model_args(parser: argparse.ArgumentParser, *, default_chars: int, out: str) -> None:
    parser.add_argument("--checkpoint", required=True, metavar="DIR",
                        help="a checkpoint folder written by `lstmkit textgen train` (or `lstmkit demo`)")
    parser.add_argument("--text", metavar="FILE", default=None,
                        help="UTF-8 text to read (default: the held-out Shakespeare plays)")
    parser.add_argument("--max-chars", type=int_in(2), default=default_chars,
                        help=f"read at most this many characters of the text (default: {default_chars})")
    parser.add_argument("--out", default=out, metavar="PATH", help=f"where to write (default: {out})")


def _file_out(path: str, suffix: str) -> Path:
    """An output file path: not an existing folder, with the expected suffix, its folder created."""
    from lstmkit.errors import AppError

    out = Path(path)
    if out.is_dir():
        raise AppError(f"--out {path} is a folder: expected a {suffix} file name")
    if out.suffix.lower() != suffix:
        raise AppError(f"--out {path}: expected a file name ending in {suffix}")
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def _model_and_text(args: argparse.Namespace):
    from lstmkit.apps.textgen.views import load_text_model, read_text

    generator, _ = load_text_model(args.checkpoint)
    return generator, read_text(args.text, generator, max_chars=args.max_chars)


def run_cells(args: argparse.Namespace) -> int:
    from lstmkit.apps.textgen.views import check_selection, trace_text
    from lstmkit.errors import AppError
    from lstmkit.viz.cells_page import write_cell_page
    from lstmkit.viz.saturation import gate_saturation

    out = _file_out(args.out, ".html")
    generator, text = _model_and_text(args)
    traces = trace_text(generator, text)
    check_selection(traces, args.layer, args.cell)
    if args.quantity not in traces[args.layer]:
        raise AppError(f"--quantity {args.quantity}: layer {traces[args.layer].name} records "
                       f"{', '.join(traces[args.layer])}")
    page = write_cell_page(out, text, traces, title=f"{Path(args.checkpoint).name}: cells reading "
                           f"{Path(args.text).name if args.text else 'held-out Shakespeare'}",
                           saturation=gate_saturation(traces), layer=args.layer, cell=args.cell,
                           quantity=args.quantity)
    print(f"cell page ({len(text):,} characters, {len(traces)} layer trace(s)): {page}")
    return 0


def run_gates(args: argparse.Namespace) -> int:
    from lstmkit.apps.textgen.views import trace_text
    from lstmkit.viz.saturation import gate_saturation, plot_saturation

    out = _file_out(args.out, ".png")
    generator, text = _model_and_text(args)
    saturation = gate_saturation(trace_text(generator, text))
    plot = plot_saturation(out, saturation, title=f"gate saturation over {len(text):,} characters")
    for entry in saturation:
        parts = [f"{gate}: left {float(v['left'].mean()):.2f} right {float(v['right'].mean()):.2f}"
                 for gate, v in entry["gates"].items()]
        print(f"{entry['name']} (mean fraction of steps saturated) " + "; ".join(parts))
    print(f"gate saturation plot: {plot}")
    return 0


def _orders(text: str) -> tuple[int, ...]:
    from lstmkit.errors import AppError

    try:
        orders = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise AppError(f"--orders takes comma-separated integers, got {text!r}") from None
    if not orders or orders[0] < 1 or orders[-1] > 9:
        raise AppError(f"--orders takes n-gram orders between 1 and 9, got {text!r}")
    return orders


def run_errors(args: argparse.Namespace) -> int:
    import json

    from lstmkit.apps.textgen.views import lstm_predictions, ngram_predictions, read_text
    from lstmkit.io import atomic_write_json
    from lstmkit.viz import errors as err

    orders = _orders(args.orders)
    out = Path(args.out)
    generator, text = _model_and_text(args)
    train = read_text(args.train, generator, max_chars=None, heldout=False)
    lstm = lstm_predictions(generator, text)
    ngrams = ngram_predictions(generator, text, train, orders)
    best = max(orders)
    summary = {
        "chars": len(text), "orders": list(orders),
        "compare": {f"{n}-gram": _scalars(err.compare_models(text, lstm.prob, ngrams[n].prob)) for n in orders},
        "breakdown": err.error_breakdown(text, lstm.prob, {n: p.prob for n, p in ngrams.items()}, train),
        "closing": {"LSTM": err.closing_accuracy_by_distance(text, lstm.top1),
                    f"{best}-gram": err.closing_accuracy_by_distance(text, ngrams[best].top1)},
    }
    out.mkdir(parents=True, exist_ok=True)
    summary["plots"] = [
        str(err.plot_error_breakdown(out / "errors.png", summary["breakdown"],
                                     title=f"LSTM errors on {len(text):,} characters")),
        str(err.plot_closing_accuracy(out / "closing.png", summary["closing"],
                                      title="closing brackets and quotes: accuracy by distance to the opening")),
    ]
    saved = {**summary, "closing": {k: _scalars(v) for k, v in summary["closing"].items()}}
    atomic_write_json(out / "errors.json", json.loads(json.dumps(saved, default=_jsonable)), create_dirs=True)
    better = summary["compare"][f"{best}-gram"]
    print(f"{len(text):,} characters: the LSTM gives the right character more probability than the {best}-gram "
          f"on {better['lstm_better_fraction']:.1%} of them, less on {better['other_better_fraction']:.1%}")
    kinds = {k: v for k, v in summary["breakdown"].items() if k in err.CATEGORIES}
    print(f"LSTM errors (p < 0.5) by kind, {summary['breakdown']['errors']:,} in all: "
          + ", ".join(f"{k} {v}" for k, v in kinds.items()))
    closing = summary["closing"]["LSTM"]
    if closing["count"] == 0:
        print("closing brackets/quotes: the text has none of ( ) [ ] \" (Shakespeare's plays here have none), so "
              "closing.png is empty: give --text with them (source code, prose with quotes) for the long-range test")
    else:
        print(f"closing brackets/quotes: {closing['count']:,}, LSTM top-1 accuracy {closing['accuracy']:.1%}, "
              f"{best}-gram {summary['closing'][f'{best}-gram']['accuracy']:.1%}")
    print(f"plots and errors.json in {out}")
    return 0


def _scalars(result: dict) -> dict:
    """A result without its per-character arrays (they stay out of errors.json)."""
    import numpy as np

    return {k: v for k, v in result.items() if not isinstance(v, np.ndarray)}


def _jsonable(value):
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def run_attention(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from lstmkit.errors import AppError
    from lstmkit.keras.models.saving import load_model
    from lstmkit.viz.attention import attention_scores, plot_attention, write_attention_page

    out = _file_out(args.out, ".html")
    if not Path(args.input).is_file():
        raise AppError(f"--input {args.input}: no such file")
    try:
        x = np.load(args.input, allow_pickle=False)
    except ValueError as exc:
        raise AppError(f"--input {args.input} is not a .npy array without pickles ({exc})") from None
    if x.ndim < 2:
        raise AppError(f"--input {args.input} holds an array of shape {x.shape}: expected (examples, steps, ...)")
    if args.example >= len(x):
        raise AppError(f"--example {args.example} is out of range: the input has {len(x)} example(s)")
    model = load_model(args.model)
    items = attention_scores(model, torch.from_numpy(x), layer=args.layer)
    page = write_attention_page(out, items, title=f"attention of {Path(args.model).name}")
    png = plot_attention(out.with_suffix(".png"), items[0]["scores"][args.example],
                         title=f"{items[0]['name']}, example {args.example}")
    print(f"attention page: {page}\nattention heat map: {png}")
    return 0


def run_history(args: argparse.Namespace) -> int:
    from lstmkit.viz.history import load_history, plot_history

    out = _file_out(args.out, ".png")
    history = load_history(args.history)
    plot = plot_history(out, history, title=Path(args.history).name)
    print(f"training curves ({', '.join(history)}): {plot}")
    return 0
