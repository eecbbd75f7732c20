"""The training progress bar, in the classic Keras look::

    12/32 [==========>...................] - ETA: 3s - loss: 0.1234 - mae: 0.2000
    32/32 [==============================] - 1s 31ms/step - loss: 0.1010 - val_loss: 0.0950

It costs nothing between redraws: the training loop asks ``due()`` (one clock read) and only
then computes the values to show (``update`` accepts a callable for them), so loss and metric
tensors are read at most every ``interval`` seconds. On a terminal (or Jupyter) the line is
redrawn in place; otherwise (a log file, a pipe) only the finished line is printed.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Container, Iterable
from typing import Any

Values = Iterable[tuple[str, Any]] | Callable[[], Iterable[tuple[str, Any]]] | None


def _dynamic() -> bool:
    stream = sys.stdout
    return bool((hasattr(stream, "isatty") and stream.isatty()) or "ipykernel" in sys.modules
                or "PYCHARM_HOSTED" in os.environ)


def format_value(value: float) -> str:
    return f"{value:.4f}" if abs(value) > 1e-3 or value == 0 else f"{value:.4e}"


def format_time_per_unit(seconds: float, unit: str) -> str:
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"


def format_eta(seconds: float) -> str:
    if seconds > 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds > 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(seconds)}s"


class Progbar:
    """A text progress bar (Keras' ``Progbar``).

    Args:
        target: total number of steps, or None if unknown.
        width: bar width in characters.
        verbose: 0 silent, 1 live bar, 2 one line when finished.
        interval: minimum seconds between redraws.
        stateful_metrics: names of values shown as given; the others are averaged over the steps
            (Keras' rule). ``None`` averages every value.
        unit_name: what a step is called ("step", "sample").
    """

    def __init__(self, target: int | None, width: int = 30, verbose: int = 1, interval: float = 0.05,
                 stateful_metrics: Container[str] | None = None, unit_name: str = "step"):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.stateful_metrics = stateful_metrics if stateful_metrics is not None else set()
        self.unit_name = unit_name
        self.dynamic = _dynamic()
        self._values: dict[str, list[float]] = {}
        self._order: list[str] = []
        self._seen = 0
        self._start = time.perf_counter()
        self._last_update = 0.0
        self._after_first: float | None = None
        self._prev_width = 0

    def due(self) -> bool:
        """Whether ``update`` would redraw now (live bar, interval elapsed)."""
        return self.verbose == 1 and self.dynamic and time.perf_counter() - self._last_update >= self.interval

    def update(self, current: int, values: Values = None, finalize: bool | None = None) -> None:
        """Show progress ``current``; ``values`` are ``(name, value)`` pairs or a callable giving them."""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        now = time.perf_counter()
        if current == 1 and self._after_first is None:
            self._after_first = now  # the first step (often slow: warm-up) is left out of the rate
        redraw = finalize or (self.verbose == 1 and self.dynamic and now - self._last_update >= self.interval)
        if callable(values):
            values = values() if redraw else None  # computed only when shown
        for name, value in values or ():
            try:
                value = float(value)
            except (TypeError, ValueError):
                continue  # per-class / per-threshold arrays are not shown
            if name not in self._order:
                self._order.append(name)
            if name in self.stateful_metrics or finalize:
                self._values[name] = [value, 1]
            else:
                weight = max(current - self._seen, 1)
                acc = self._values.setdefault(name, [0.0, 0])
                acc[0] += value * weight
                acc[1] += weight
        self._seen = current
        if not redraw or self.verbose == 0 or (self.verbose == 2 and not finalize):
            return
        per_step = self._time_per_step(current, now)
        metrics = "".join(f" - {k}: {format_value(self._values[k][0] / max(1, self._values[k][1]))}"
                          for k in self._order)
        if self.verbose == 2:
            count = self._count(current)
            line = f"{count} - {now - self._start:.0f}s - {format_time_per_unit(per_step, self.unit_name)}{metrics}"
            self._write(line + "\n")
        else:
            bar = self._bar(current)
            if finalize:
                info = f" - {now - self._start:.0f}s {format_time_per_unit(per_step, self.unit_name)}"
            elif self.target is not None and self.target > 0:
                info = f" - ETA: {format_eta(per_step * (self.target - current))}"
            else:
                info = f" - {format_time_per_unit(per_step, self.unit_name)}"
            line = bar + info + metrics
            if self.dynamic:
                pad = " " * max(0, self._prev_width - len(line))
                self._write("\r" + line + pad + ("\n" if finalize else ""))
                self._prev_width = len(line)
            elif finalize:
                self._write(line + "\n")
        self._last_update = now

    def add(self, n: int, values: Values = None) -> None:
        self.update(self._seen + n, values)

    def _count(self, current: int) -> str:
        if self.target is None or self.target <= 0:
            return f"{current}/Unknown"
        digits = int(math.log10(self.target)) + 1
        return f"{current:{digits}d}/{self.target}"

    def _bar(self, current: int) -> str:
        if self.target is None or self.target <= 0:
            return f"{current:7d}/Unknown"
        filled = int(self.width * min(current, self.target) / self.target)
        bar = "=" * max(filled - 1, 0)
        if filled > 0:
            bar += ">" if current < self.target else "="
        return f"{self._count(current)} [{bar}{'.' * (self.width - filled)}]"

    def _time_per_step(self, current: int, now: float) -> float:
        if current <= 0:
            return 0.0
        if self._after_first is not None and current > 1:
            return (now - self._after_first) / (current - 1)
        return (now - self._start) / current

    @staticmethod
    def _write(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()
