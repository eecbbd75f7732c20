"""The ``Strategy`` protocol: what the one ``fit``/``evaluate``/``predict`` loop (fit_loop.py)
asks of the way it runs, so that the same loop trains in one process or in many.

The loop owns the epochs, the steps, the callbacks and the logs. A strategy owns what depends on
other processes, if there are any:

- where the model runs and what the train step calls instead of ``model(x)``
  (``device``, ``wrap_model``);
- which data this process sees (``train_data`` and ``train_batches``, ``eval_data``,
  ``predict_data`` and ``gather_predictions``);
- sums over the processes (``sum_floats``, ``sum_tensor``, ``any_rank``), from which the loop
  computes the step decisions and the logs every process shares (synced.py);
- who shows progress and runs the file-writing callbacks (``is_chief``, ``rank_callbacks``);
- what a failed ``fit`` must tell the launcher (``on_failure``).

This base class is the behaviour of one process (every method is the identity or does
nothing); ``LocalStrategy`` is the default. ``lstmkit.distributed.DistributedStrategy``
implements the protocol with DDP.

Names: ``fit(strategy="ddp")`` and ``fit(distributed=True)`` (which means ``"ddp"``) are looked
up in a registry that ``register_strategy`` fills. lstmkit.keras imports none of the packages
built on it, so a name it does not know yet is looked up among the installed packages' entry
points (group ``lstmkit.strategies``; lstmkit declares ``ddp`` there), and loading that entry
point registers it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

#: One batch as the loop passes it to the train step: ``(x, y, sample_weight)``.
Batch = tuple[Any, Any, Any]

#: The registered name that ``distributed=True`` stands for.
DISTRIBUTED = "ddp"


class Strategy:
    """How ``fit``/``evaluate``/``predict`` run; the defaults are those of a single process.

    Subclasses override what differs. Two class attributes choose code paths in the loop:

    Attributes:
        synchronized: every train step's loss, batch size, end of data and stop request are
            summed over the processes (``sum_floats``) before the update, so all processes
            take the same decisions at the same step (see synced.py). False: the one-process
            step, which on an accelerator checks the loss for NaN one batch late instead of
            waiting for the device every batch.
        needs_built_model: training needs the model's weights before the first batch (a
            wrapper such as DDP registers them); an unbuilt model is an error then.
    """

    synchronized: bool = False
    needs_built_model: bool = False

    # ------------------------------------------------------------------ where we are
    def setup(self) -> Strategy:
        """Get ready to run (e.g. join the process group); called by every fit/evaluate/predict
        that uses the strategy, so it must be idempotent. Returns the strategy."""
        return self

    @property
    def world_size(self) -> int:
        """How many processes take part."""
        return 1

    @property
    def is_chief(self) -> bool:
        """Whether this process prints the progress bar (and runs the file-writing callbacks)."""
        return True

    # ------------------------------------------------------------------ the model
    def device(self, model: Any = None) -> torch.device:
        """Where this process runs ``model`` (the loop moves it there): by default wherever its
        weights already are (the CPU without weights or model)."""
        if model is not None:
            for p in model.parameters():
                return p.device
        return torch.device("cpu")

    def wrap_model(self, model: Any) -> Any:
        """What the train step calls instead of ``model(x)`` (e.g. a DDP wrapper); the model itself
        by default. Called once per ``fit``, after the model is on its device."""
        return model

    # ------------------------------------------------------------------ the data
    def train_data(self, data: Any) -> Any:
        """This process's view of the training data (a data adapter of data.py, or anything with
        ``num_batches`` that ``train_batches`` accepts). Called once per ``fit``."""
        return data

    def train_batches(self, data: Any) -> Iterator[tuple[Batch, bool]]:
        """One epoch of ``train_data``'s view as ``(batch, has_data)`` pairs. ``has_data`` is
        False for a stand-in batch of a process with no share of a step (a synchronized strategy
        trains it with weight 0 so that every process takes part in the step)."""
        return zip(data.epoch(), itertools.repeat(True))

    def eval_data(self, data: Any) -> tuple[Any, bool]:
        """This process's part of evaluation data, and whether the logs must be summed over the
        processes (``sum_tensor``) to cover all of it."""
        return data, False

    def predict_data(self, data: Any) -> tuple[Any, bool]:
        """This process's part of prediction data, and whether the predictions of the parts must
        be put together with ``gather_predictions``."""
        return data, False

    def gather_predictions(self, part: np.ndarray, total: int) -> np.ndarray:
        """All ``total`` rows of one output, from each process's ``part`` (in process order)."""
        return part

    # ------------------------------------------------------------------ sums over processes
    def sum_floats(self, values: list[float]) -> list[float]:
        """Element-wise sums of ``values`` over the processes (every process gets them)."""
        return list(values)

    def sum_tensor(self, values: torch.Tensor, what: str = "the summed values") -> torch.Tensor:
        """Element-wise sum of a float64 tensor over the processes; ``what`` names it in the error
        raised when the processes disagree on its size."""
        return values

    def any_rank(self, flag: bool) -> bool:
        """True on every process if ``flag`` is true on some process."""
        return bool(flag)

    # ------------------------------------------------------------------ callbacks, failures
    def rank_callbacks(self, callbacks: list[Any]) -> list[Any]:
        """The callbacks this process runs (e.g. only the chief writes files)."""
        return list(callbacks)

    def on_failure(self, exc: BaseException) -> None:
        """``fit`` raised ``exc`` (it is re-raised afterwards): e.g. record it for a launcher."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class LocalStrategy(Strategy):
    """One process, no communication: what ``fit`` uses without ``distributed``/``strategy``."""


#: The strategy of plain ``fit``/``evaluate``/``predict``.
LOCAL = LocalStrategy()

_FACTORIES: dict[str, Callable[[], Strategy]] = {"local": lambda: LOCAL}


def register_strategy(name: str, factory: Callable[[], Strategy]) -> None:
    """Make ``fit(strategy=name)`` (any case) use ``factory()``; ``distributed=True`` uses the
    one named ``"ddp"``. The factory may return a shared instance (it is called on every
    ``fit``/``evaluate``/``predict`` that names it)."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"a strategy name must be a non-empty string, got {name!r}")
    if not callable(factory):
        raise TypeError(f"the factory of strategy {name!r} must be callable, got {factory!r}")
    _FACTORIES[name.lower()] = factory


#: The entry-point group through which packages above lstmkit.keras offer strategies (lstmkit's
#: own pyproject.toml names ``ddp = "lstmkit.distributed.strategy:default_strategy"``).
ENTRY_POINTS = "lstmkit.strategies"


def _discover(name: str) -> None:
    """Register the strategy ``name`` that an installed package declares under ``ENTRY_POINTS``.

    Why entry points: lstmkit.keras imports nothing built on top of it; the plugin metadata says
    where a strategy lives, and loading it is the only import, on first use.
    """
    from importlib.metadata import entry_points

    for point in entry_points(group=ENTRY_POINTS):
        if point.name.lower() == name:
            register_strategy(name, point.load())
            return


def _named(name: str) -> Strategy | None:
    key = name.lower()
    if key not in _FACTORIES:
        _discover(key)
    factory = _FACTORIES.get(key)
    return None if factory is None else factory()


def resolve_strategy(distributed: bool, strategy: Any) -> Strategy | None:
    """The strategy ``fit``/``evaluate``/``predict`` were asked for, set up, or None when neither
    argument asks for one. ``strategy`` wins over ``distributed``; it may be a ``Strategy`` or a
    registered name; ``distributed=True`` alone means the strategy named ``"ddp"``."""
    if not isinstance(distributed, bool):
        raise TypeError(f"distributed must be True or False, got {distributed!r}")
    if strategy is None and not distributed:
        return None
    if strategy is None:
        strategy = DISTRIBUTED
    chosen = _named(strategy) if isinstance(strategy, str) else strategy
    if not isinstance(chosen, Strategy):
        names = sorted({*_FACTORIES, DISTRIBUTED})  # "ddp" resolves even before it is registered
        raise TypeError("strategy must be a lstmkit.keras Strategy (e.g. lstmkit.distributed.DistributedStrategy) "
                        f"or a registered name {names}, got {strategy!r}")
    return chosen.setup()
