"""``lstmkit tune``: run a worker of a shared tuning study, or show a study's results.

    lstmkit tune worker SPEC.py [--storage URL] [--study NAME] [--max-trials N]
    lstmkit tune summary (--storage URL | --project-dir DIR) [--study NAME] [--num-trials N] [--plot FILE]
    lstmkit tune demo [--trials N] [--budget SECONDS] [--epochs N] [--seed S] [--out DIR]

Start ``worker`` as often as you like, on one machine (the default SQLite study in the project
folder is shared) or on several (``--storage postgresql://...``): together the workers run
``max_trials`` trials, each once. Only the handlers import optuna, torch or matplotlib.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lstmkit.cliutil import Parser, float_in, int_in
from lstmkit.errors import AppError

SPEC_HELP = """\
SPEC.py is an ordinary tuning script: it builds a tuner (e.g. kt.RandomSearch(build_model,
objective="val_loss", max_trials=20, directory="runs", project_name="sunspots")) and either calls
tuner.search(...) itself or defines `tuner` and `search_kwargs` (and optionally `search_args`)
for the worker to call. Every tuner the script creates joins the study given by --storage and
--study (default: the tuner's own, a SQLite file in its project folder), uses --max-trials as the
budget of the whole study, and never overwrites it. Start as many workers as you like; each
claims trials until the study has max_trials of them, and no trial runs twice.
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    tune = commands.add_parser(
        "tune", help="hyper-parameter search workers and results (Keras Tuner API on Optuna)",
        description="Hyper-parameter tuning with lstmkit.tune (Keras Tuner's API on Optuna): run a worker "
                    "that joins a study, or show a study's results.")
    actions = tune.add_subparsers(dest="tune_action", metavar="ACTION", required=True, parser_class=Parser)

    worker = actions.add_parser(
        "worker", help="run a tuning script as one worker of a shared study",
        description="Run SPEC.py as one worker of a (possibly shared) Optuna study.", epilog=SPEC_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    worker.add_argument("spec", metavar="SPEC.py", help="the tuning script")
    worker.add_argument("--storage", metavar="URL",
                        help="Optuna storage URL shared by the workers, e.g. sqlite:///runs/study.db or "
                             "postgresql://user:pass@host/db (default: the tuner's own)")
    worker.add_argument("--study", metavar="NAME", help="study name in the storage (default: the tuner's)")
    worker.add_argument("--max-trials", type=int_in(1), metavar="N",
                        help="trials the whole study runs, over all workers (default: the tuner's max_trials)")
    worker.set_defaults(handler=run_worker)

    summary = actions.add_parser(
        "summary", help="print the best trials of a study (and plot it)",
        description="Print a study's best trials, their hyper-parameters and scores, the trial counts and "
                    "the errors of failed trials; optionally plot every trial's objective.")
    where = summary.add_mutually_exclusive_group(required=True)
    where.add_argument("--storage", metavar="URL", help="Optuna storage URL")
    where.add_argument("--project-dir", metavar="DIR",
                       help="a tuner's project folder (directory/project_name) holding study.db")
    summary.add_argument("--study", metavar="NAME", help="study name (needed when the storage holds several)")
    summary.add_argument("--num-trials", type=int_in(1), default=10, metavar="N",
                         help="how many best trials to show (default: 10)")
    summary.add_argument("--plot", metavar="FILE.png", help="also write a PNG of each trial's objective")
    summary.set_defaults(handler=show_summary)

    demo = actions.add_parser(
        "demo", help="tune an LSTM forecaster of the sunspot numbers and test it on later years",
        description="Random-search the units and learning rate of an LSTM forecaster of the yearly sunspot "
                    "numbers (shipped with lstmkit): trials are scored on 1949-1978, and the best model, the "
                    "default-hyper-parameter model and the naive last-value forecast are compared on 1979-2008.")
    demo.add_argument("--trials", type=int_in(1), default=12, help="most trials to run (default: 12)")
    demo.add_argument("--budget", type=float_in(1.0), default=40.0, metavar="SECONDS",
                      help="time box: no new trial starts after 60%% of it (default: 40)")
    demo.add_argument("--epochs", type=int_in(1), default=20, help="epochs per trial (default: 20)")
    demo.add_argument("--seed", type=int_in(0, 2**32 - 1), default=0, help="seed of the search (default: 0)")
    demo.add_argument("--out", default="runs/tune-demo", metavar="DIR",
                      help="folder for the study, the trial models and trials.png (default: runs/tune-demo)")
    demo.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from lstmkit.tune.demo import demo

    demo(out_dir=args.out, seed=args.seed, budget_s=args.budget, max_trials=args.trials, epochs=args.epochs)
    return 0


def run_worker(args: argparse.Namespace) -> int:
    from lstmkit.tune.study import worker_id
    from lstmkit.tune.worker import WorkerSettings, run_spec

    settings = WorkerSettings(storage=args.storage, study_name=args.study, max_trials=args.max_trials)
    try:
        tuners = run_spec(args.spec, settings)
    except FileNotFoundError as exc:
        raise AppError(str(exc)) from None
    except Exception as exc:  # the spec is user code: report it in one line
        raise AppError(f"{args.spec} failed: {type(exc).__name__}: {exc} (run `python {args.spec}` for the "
                       "traceback)") from None
    for tuner in tuners:
        trials = [t for t in tuner.study.get_trials(deepcopy=False) if t.user_attrs.get("worker") == worker_id()]
        print(f"worker {worker_id()}: ran {len(trials)} trial(s) of study {tuner.study_name!r} in {tuner.storage}")
    return 0


def _storage_url(args: argparse.Namespace) -> str:
    if args.storage:
        return args.storage
    path = Path(args.project_dir) / "study.db"
    return f"sqlite:///{path.resolve()}"


def show_summary(args: argparse.Namespace) -> int:
    import optuna

    from lstmkit.tune.display import summary_text
    from lstmkit.tune.study import sqlite_path, storage_for

    url = _storage_url(args)
    db = sqlite_path(url)
    if db is not None and not db.is_file():
        raise AppError(f"no study database at {db} (expected the study.db of a tuner's project folder)")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        storage = storage_for(url)
        names = optuna.study.get_all_study_names(storage)
    except Exception as exc:
        raise AppError(f"cannot read the Optuna storage {url!r}: {type(exc).__name__}: {exc}") from None
    if args.study is None:
        if len(names) != 1:
            raise AppError(f"the storage holds {len(names)} studies ({', '.join(names) or 'none'}); pick one "
                           "with --study NAME")
        name = names[0]
    elif args.study not in names:
        raise AppError(f"no study {args.study!r} in the storage; it holds: {', '.join(names) or 'none'}")
    else:
        name = args.study
    study = optuna.load_study(study_name=name, storage=storage)
    print(summary_text(study, args.num_trials, where=f"study {name!r} in {url}"))
    if args.plot:
        from lstmkit.tune.plot import plot_study

        print(f"plot: {plot_study(study, args.plot)}")
    return 0
