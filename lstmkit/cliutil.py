"""Argument-parsing helpers shared by every ``lstmkit`` sub-command: one-line errors with exit
status 2 (never a usage dump or a traceback) and typed, range-checked options.

At the package root (not in ``lstmkit.apps``) because ``lstmkit.tune`` and ``lstmkit.distributed``
build command lines too, and a library package never imports the apps.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import NoReturn


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr, exit status 2, no usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def int_in(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse ``type=`` that accepts integers in ``[low, high]`` and explains any other value."""

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low or (high is not None and value > high):
            bound = f"at least {low}" if high is None else f"between {low} and {high}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {value}")
        return value

    return convert


def float_in(low: float, high: float | None = None, *, low_open: bool = False, high_open: bool = False
             ) -> Callable[[str], float]:
    """An argparse ``type=`` for floats in a range (ends open or closed), explaining bad values."""

    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        too_low = value <= low if low_open else value < low
        too_high = high is not None and (value >= high if high_open else value > high)
        if too_low or too_high or value != value:
            left, right = ("(" if low_open else "["), (")" if high_open else "]")
            raise argparse.ArgumentTypeError(f"must be in {left}{low}, {high if high is not None else 'inf'}{right}, "
                                             f"got {text}")
        return value

    return convert


def add_common(parser: argparse.ArgumentParser, *, epochs: int, out: str | None = None) -> None:
    """The options every training command has: --epochs, --seed and --out."""
    parser.add_argument("--epochs", type=int_in(1), default=epochs,
                        help=f"passes over the training data (default: {epochs})")
    parser.add_argument("--seed", type=int_in(0, 2**32 - 1), default=0,
                        help="seed for weights, shuffling and sampling (same seed, same result; default: 0)")
    if out is not None:
        parser.add_argument("--out", default=out, metavar="DIR",
                            help=f"folder for the checkpoint, metrics and plots (default: {out})")
