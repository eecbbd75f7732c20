"""``lstmkit forecast train|evaluate|predict``: LSTM time-series forecasting from the command line.

Import-light on purpose: ``lstmkit --help`` builds every sub-parser, so torch, statsmodels and
matplotlib are imported only inside the handlers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from lstmkit.cliutil import add_common, float_in, int_in
from lstmkit.distributed.launch import add_nproc_argument, relaunch_if_requested
from lstmkit.errors import AppError

DEFAULT_OUT = "runs/forecast"
DEFAULT_EPOCHS = 150


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Add ``forecast`` and its ``train``, ``evaluate`` and ``predict`` sub-commands."""
    forecast = commands.add_parser(
        "forecast", help="LSTM time-series forecasting (sunspots, CO2 or your CSV) with baselines and intervals",
        description="Train an LSTM forecaster, score it on the held-out end of the series beside naive, seasonal "
                    "naive, ARIMA, SARIMA and lag-MLP forecasts, and forecast the next values with prediction "
                    "intervals.")
    sub = forecast.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=type(forecast))

    train = sub.add_parser(
        "train", help="train, evaluate on the held-out test part, write checkpoint + metrics.json + forecast.png",
        description="Split the series chronologically (train | validation | test = the most recent values), train "
                    "an ensemble of small LSTMs on the training part with early stopping on the validation part, "
                    "retrain it on training + validation for the chosen epoch count, then score rolling one-step "
                    "forecasts and a rolling-origin multi-step backtest on the test part beside naive, seasonal "
                    "naive, ARIMA, SARIMA and a validation-tuned lag MLP. Defaults depend on the data: sunspots "
                    "lookback 20, horizon 11, test = last 30 years, validation 30, sqrt transform; co2 lookback 24, "
                    "horizon 12, test 60 months, validation 60, scaling 'seasonal'; CSV lookback 20, horizon 10, "
                    "test and validation 10% of the series.")
    _add_data_options(train, required_default="sunspots")
    _add_model_options(train)
    add_common(train, epochs=DEFAULT_EPOCHS, out=DEFAULT_OUT)
    train.add_argument("--no-arima", action="store_true",
                       help="skip the ARIMA and SARIMA baselines (they take a few seconds)")
    train.add_argument("--no-mlp", action="store_true", help="skip the lag-MLP baseline (it takes a few seconds)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    add_nproc_argument(train)
    train.set_defaults(handler=_train)

    evaluate = sub.add_parser(
        "evaluate", help="reload a checkpoint and recompute its metrics on the held-out test part",
        description="Reload a checkpoint written by 'lstmkit forecast train' and recompute every metric on the same "
                    "held-out split (the data set recorded in the checkpoint, unless data options are given: then "
                    "the same number of final values of that series is held out).")
    _add_checkpoint_option(evaluate)
    _add_data_options(evaluate, required_default=None)
    evaluate.add_argument("--no-arima", action="store_true", help="skip the ARIMA and SARIMA baselines")
    evaluate.add_argument("--no-mlp", action="store_true", help="skip the lag-MLP baseline")
    evaluate.add_argument("--json", metavar="FILE", help="also write the metrics to this JSON file")
    evaluate.set_defaults(handler=_evaluate)

    predict = sub.add_parser(
        "predict", help="forecast the next values after the end of the series, with intervals",
        description="Reload a checkpoint and forecast the next --horizon values after the last value of the series "
                    "(the data set recorded in the checkpoint, unless data options are given), with the quantile "
                    "interval of the model (e.g. 10%-90%).")
    _add_checkpoint_option(predict)
    _add_data_options(predict, required_default=None)
    predict.add_argument("--horizon", type=int_in(1, 10_000), default=None,
                         help="steps to forecast (default: the model's horizon; a direct model cannot go beyond it)")
    predict.add_argument("--output", metavar="FILE.csv", help="also write the forecast to this CSV file")
    predict.add_argument("--plot", metavar="FILE.png", help="also plot the recent history and the forecast")
    predict.set_defaults(handler=_predict)


def _add_data_options(parser: argparse.ArgumentParser, required_default: str | None) -> None:
    group = parser.add_argument_group("data")
    hint = "" if required_default else " (default: the data set the checkpoint was trained on)"
    group.add_argument("--data", choices=("sunspots", "co2"), default=None,
                       help=f"built-in series: yearly sunspots 1700-2008 (season 11) or monthly Mauna Loa CO2 "
                            f"1958-2001 (season 12; 5 empty months interpolated){hint}"
                            + (f" (default: {required_default})" if required_default else ""))
    group.add_argument("--csv", metavar="FILE", help="read the series from a CSV file with a header row instead")
    group.add_argument("--target", metavar="COL", help="the CSV column to forecast (required with --csv)")
    group.add_argument("--time", metavar="COL", help="optional CSV time column (numbers or ISO dates, increasing)")
    group.add_argument("--covariates", metavar="COL[,COL...]",
                       help="CSV columns used as extra inputs (their past values); recursive forecasts beyond one step "
                            "need their future values, so use --strategy direct with covariates")
    group.add_argument("--season", type=int_in(1), default=None,
                       help="season length for the seasonal naive baseline and MASE (default: 11 sunspots, 12 co2, "
                            "1 for a CSV); with --csv a season > 1 also adds a seasonal (0,1,1) part to ARIMA")
    group.add_argument("--max-gap", type=int_in(0), default=3,
                       help="longest run of missing CSV values filled by linear interpolation (default: 3)")


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model and split (default: the data set's preset, see above)")
    group.add_argument("--lookback", type=int_in(1, 10_000), default=None, help="past values in each input window")
    group.add_argument("--horizon", type=int_in(1, 10_000), default=None,
                       help="steps ahead for the multi-step backtest and for predict")
    group.add_argument("--strategy", choices=("recursive", "direct"), default="recursive",
                       help="recursive: a one-step model fed its own forecasts (any horizon); direct: one output "
                            "per step up to --horizon (default: recursive)")
    group.add_argument("--test", type=int_in(1), default=None, help="final values held out for testing")
    group.add_argument("--validation", type=int_in(0), default=None,
                       help="values before the test part used for early stopping (0: train all epochs)")
    group.add_argument("--units", type=int_in(1, 4096), default=16, help="LSTM units per layer (default: 16)")
    group.add_argument("--members", type=int_in(1, 64), default=5,
                       help="LSTMs trained side by side and averaged, a seed ensemble in one model (default: 5)")
    group.add_argument("--refit", action=argparse.BooleanOptionalAction, default=None,
                       help="retrain on training + validation for the early-stopped epoch count (default: on for "
                            "sunspots and CSV files; off for co2, where it was worse on validation)")
    group.add_argument("--interval", choices=("residual", "heads"), default="residual",
                       help="residual: MSE point model, intervals from its validation errors; heads: pinball-loss "
                            "quantile heads (default: residual)")
    group.add_argument("--transform", choices=("none", "sqrt"), default=None,
                       help="variance-stabilising transform before scaling (default: sqrt for sunspots, else none)")
    group.add_argument("--highway", action=argparse.BooleanOptionalAction, default=None,
                       help="add a linear autoregression of the input window to the LSTM's output (LSTNet's "
                            "highway; default: on for co2, off otherwise)")
    group.add_argument("--layers", type=int_in(1, 8), default=1, help="stacked LSTM layers (default: 1)")
    group.add_argument("--dropout", type=float_in(0, 1, high_open=True), default=0.0,
                       help="dropout before the output layer (default: 0)")
    group.add_argument("--batch-size", type=int_in(1), default=16, help="windows per gradient step (default: 16)")
    group.add_argument("--learning-rate", type=float_in(0, 1, low_open=True), default=1e-2,
                       help="Adam learning rate (default: 0.01)")
    group.add_argument("--patience", type=int_in(0), default=20,
                       help="epochs without a better validation loss before stopping (default: 20)")
    group.add_argument("--quantiles", default="0.1,0.5,0.9", metavar="Q[,Q...]",
                       help="quantile levels reported; the outermost give the interval, the median is the point "
                            "forecast; 'none': a point forecast without intervals (default: 0.1,0.5,0.9)")
    group.add_argument("--scaling", choices=("global", "last", "seasonal"), default=None,
                       help="global: standardise with the training mean/std; last: shift each window by its last "
                            "value, for trending series; seasonal: model the change from one season earlier "
                            "(default: seasonal for co2, else global)")


def _add_checkpoint_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", default=DEFAULT_OUT, metavar="DIR",
                        help=f"checkpoint folder written by 'lstmkit forecast train' (default: {DEFAULT_OUT})")


def _data_spec(args: argparse.Namespace, default: str | None) -> dict[str, Any] | None:
    """The data options as a JSON-able spec, or None when none was given (and no default)."""
    if args.csv is None and (args.target or args.time or args.covariates):
        raise AppError("--target, --time and --covariates describe a CSV file: add --csv FILE")
    if args.csv is not None and args.data is not None:
        raise AppError("give either --data or --csv, not both")
    if args.csv is None and args.data is None and default is None:
        return None
    spec: dict[str, Any] = {"max_gap": args.max_gap}
    if args.csv is not None:
        spec.update(csv=str(Path(args.csv).resolve()), target=args.target, time=args.time,
                    covariates=[c.strip() for c in args.covariates.split(",") if c.strip()] if args.covariates else [])
    else:
        spec["data"] = args.data or default
    if args.season is not None:
        spec["season"] = args.season
    return spec


def _quantiles(text: str) -> list[float] | None:
    if text.strip().lower() == "none":
        return None
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise AppError(f"--quantiles expects numbers like 0.1,0.5,0.9 (or 'none'), got {text!r}") from None


def _options(args: argparse.Namespace) -> dict:
    return {"lookback": args.lookback, "horizon": args.horizon, "test": args.test, "validation": args.validation,
            "scaling": args.scaling, "strategy": args.strategy, "units": args.units, "layers": args.layers,
            "dropout": args.dropout, "epochs": args.epochs, "seed": args.seed, "batch_size": args.batch_size,
            "learning_rate": args.learning_rate, "patience": args.patience, "quantiles": _quantiles(args.quantiles),
            "members": args.members, "refit": args.refit, "interval": args.interval,
            "transform": args.transform, "highway": args.highway}


def _train(args: argparse.Namespace) -> int:
    from lstmkit.apps.forecast.evaluation import table
    from lstmkit.apps.forecast.pipeline import METRICS_FILE, train_run
    from lstmkit.distributed import is_main_process

    code = relaunch_if_requested(args)  # --nproc N > 1: run this command as N torchrun workers
    if code is not None:
        return code
    if not is_main_process():  # a torchrun worker other than rank 0: train along, write and print nothing
        train_run(_data_spec(args, "sunspots"), _options(args), args.out, verbose=0, arima=False, mlp=False, plot=False,
                  write=False, log=lambda *a, **k: None)
        return 0

    spec = _data_spec(args, "sunspots")
    run = train_run(spec, _options(args), args.out, verbose=0 if args.quiet else 1, arima=not args.no_arima,
                    mlp=not args.no_mlp)
    print(table(run.result))
    if "mape_note" in run.result:
        print(f"note: {run.result['mape_note']}")
    written = [str(run.out_dir / "app.json"), str(run.out_dir / METRICS_FILE)] + ([str(run.plot)] if run.plot else [])
    print(f"wrote checkpoint {run.out_dir}/ ({', '.join(Path(p).name for p in written)})")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from lstmkit.apps.forecast.evaluation import table
    from lstmkit.apps.forecast.pipeline import describe_model, describe_split, evaluate_checkpoint, json_ready
    from lstmkit.io import atomic_write_json

    arima = False if args.no_arima else None
    mlp = False if args.no_mlp else None
    forecaster, series, split, result, _ = evaluate_checkpoint(args.checkpoint, _data_spec(args, None), arima, mlp)
    print(describe_split(series, split))
    print(describe_model(forecaster))
    print(table(result))
    if args.json:
        atomic_write_json(args.json, json_ready(result), create_dirs=True)
        print(f"wrote {args.json}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    from lstmkit.apps.forecast.model import Forecaster
    from lstmkit.apps.forecast.pipeline import load_from_spec
    from lstmkit.io import atomic_write_text

    forecaster = Forecaster.load(args.checkpoint)
    spec = _data_spec(args, None) or forecaster.extra_state.get("data_spec") or {"data": "sunspots"}
    series = load_from_spec(spec)
    forecast = forecaster.predict(args.horizon, history=series.values, covariates=series.covariates)
    labels = series.future_labels(len(forecast.point))
    header = ["time", "forecast"] + ([f"lower_{forecast.levels[0]:g}", f"upper_{forecast.levels[-1]:g}"]
                                     if forecast.has_interval else [])
    rows = []
    for k, label in enumerate(labels):
        row = [label, f"{forecast.point[k]:.4f}"]
        if forecast.has_interval:
            row += [f"{forecast.lower[k]:.4f}", f"{forecast.upper[k]:.4f}"]
        rows.append(row)
    interval = f", {forecast.nominal:.0%} interval" if forecast.has_interval else ""
    print(f"{series.name}: next {len(labels)} values after {series.labels[-1]} (median forecast{interval})")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    for row in [header, *rows]:
        print("  ".join(cell.rjust(w) for cell, w in zip(row, widths)))
    if args.output:
        atomic_write_text(args.output, "\n".join(",".join(r) for r in [header, *rows]) + "\n", create_dirs=True)
        print(f"wrote {args.output}")
    if args.plot:
        from lstmkit.apps.forecast.plot import plot_future

        print(f"wrote {plot_future(args.plot, series, forecast, labels)}")
    sys.stdout.flush()
    return 0
