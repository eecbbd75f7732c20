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

from lstmkit.apps.cliutil import Parser
from lstmkit.apps.errors import AppError

#: command -> module with ``add_parser(subparsers)``; the parser's default ``handler(args)`` runs it.
COMMANDS = {
    "demo": "lstmkit.apps.demo",
    "forecast": "lstmkit.apps.forecast.cli",
    "sentiment": "lstmkit.apps.sentiment.cli",
    "textgen": "lstmkit.apps.textgen.cli",
    "tune": "lstmkit.tune.cli",
}


def build_parser() -> Parser:
    """The ``lstmkit`` argument parser, with one sub-command per entry of ``COMMANDS``."""
    parser = Parser(prog="lstmkit", description="lstmkit: recurrent networks from the gate equations up.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=Parser)
    for module in COMMANDS.values():
        if importlib.util.find_spec(module.rsplit(".", 1)[0]) is None or importlib.util.find_spec(module) is None:
            continue  # a command whose package is not part of this install
        importlib.import_module(module).add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]  # for re-launching under torchrun (--nproc)
    try:
        return int(args.handler(args) or 0)
    except AppError as exc:
        from lstmkit.distributed.launch import record_failure

        record_failure(exc)  # inside a torchrun worker: lets the launcher report this message
        print(f"lstmkit {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"lstmkit {args.command}: interrupted", file=sys.stderr)
        return 130
