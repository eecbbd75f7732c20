"""Command-line interface: ``lstmkit COMMAND ...`` (also ``python -m lstmkit``).

Each command lives beside the code it drives (``lstmkit/apps/*``, ``lstmkit/tune``) and adds its
own sub-parser; this module only dispatches. Errors in user input end the program with a
one-line message and exit status 2, never a traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path

from lstmkit.cliutil import Parser
from lstmkit.errors import AppError

#: command -> module with ``add_parser(subparsers)``; the parser's default ``handler(args)`` runs it.
COMMANDS = {
    "demo": "lstmkit.apps.demo",
    "export": "lstmkit.export.cli",
    "forecast": "lstmkit.apps.forecast.cli",
    "sentiment": "lstmkit.apps.sentiment.cli",
    "textgen": "lstmkit.apps.textgen.cli",
    "tune": "lstmkit.tune.cli",
    "viz": "lstmkit.apps.views.cli",
}


def build_parser() -> Parser:
    """The ``lstmkit`` argument parser, with one sub-command per entry of ``COMMANDS``."""
    parser = Parser(prog="lstmkit", description="lstmkit: recurrent networks from the gate equations up.")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error instead of the one-line message")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=Parser)
    for module in COMMANDS.values():
        if importlib.util.find_spec(module.rsplit(".", 1)[0]) is None or importlib.util.find_spec(module) is None:
            continue  # a command whose package is not part of this install
        importlib.import_module(module).add_parser(commands)
    return parser


def _check_out(args: object) -> None:
    """An ``--out`` folder that is an existing file is refused before any work starts (commands
    whose ``--out`` names a file set ``out_is_file`` and check it themselves)."""
    out = getattr(args, "out", None)
    if out and not getattr(args, "out_is_file", False) and Path(out).exists() and not Path(out).is_dir():
        raise AppError(f"--out {out} is an existing file: expected a folder (existing or new) for the outputs")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]  # for re-launching under torchrun (--nproc)
    try:
        _check_out(args)
        return int(args.handler(args) or 0)
    except AppError as exc:
        from lstmkit.distributed.launch import record_failure

        record_failure(exc)  # inside a torchrun worker: lets the launcher report this message
        print(f"lstmkit {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError, TypeError, KeyError) as exc:
        # a file that cannot be read or written, a damaged checkpoint, a value a library refused:
        # one line naming it (the traceback only with --debug, for reporting a bug)
        if args.debug:
            raise
        from lstmkit.distributed.launch import record_failure

        record_failure(exc)
        print(f"lstmkit {args.command}: error: {type(exc).__name__}: {exc} (run with --debug for the traceback)",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"lstmkit {args.command}: interrupted", file=sys.stderr)
        return 130
