"""Finding out a search space by running the model-building function without training.

Hyper-parameters are declared while ``build_model(hp)`` runs, so the space is only known by
running it. A *dry run* builds one model with values chosen by a ``pick(declaration)`` function;
these helpers drive dry runs to list the space (``discover_space``), to enumerate every distinct
combination a grid search must try (``enumerate_grid``, conditional declarations included), and
to turn value dicts into keys for telling combinations apart (``values_key``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from lstmkit.tune.hp_types import HyperParameter
from lstmkit.tune.hyperparameters import HyperParameters, Source

__all__ = ["DryRun", "discover_space", "enumerate_grid", "values_key"]

#: ``dry_run(pick)``: build once with values from ``pick`` and return the filled HyperParameters
DryRun = Callable[[Source], HyperParameters]

GRID_LIMIT = 10_000  # combinations a grid search may enumerate


def values_key(values: dict[str, Any]) -> str:
    """A canonical text for a combination of values (equal combinations, equal keys)."""
    return json.dumps(values, sort_keys=True, default=str)


def discover_space(dry_run: DryRun, max_runs: int = 100) -> list[HyperParameter]:
    """All declarations: a run with the defaults, then runs that try every value a conditional
    scope's parent is tested against, so declarations inside those scopes are found too."""
    found: dict[tuple[str, tuple], HyperParameter] = {}
    queue: list[dict[str, Any]] = [{}]
    tried = {values_key({})}
    runs = 0
    while queue and runs < max_runs:
        forced = queue.pop(0)
        hp = dry_run(lambda spec, forced=forced: forced.get(spec.name, spec.default))
        runs += 1
        for spec in hp.space:
            found.setdefault((spec.name, spec.conditions), spec)
        for spec in hp.space:
            for condition in spec.conditions:
                for value in condition.values:
                    option = {**forced, condition.parent: value}
                    if values_key(option) not in tried:
                        tried.add(values_key(option))
                        queue.append(option)
    return list(found.values())


def enumerate_grid(dry_run: DryRun, limit: int = GRID_LIMIT) -> list[dict[str, Any]]:
    """Every distinct combination of the active hyper-parameters' grid values, in a fixed order
    (the defaults' first values first; the last declared hyper-parameter varies fastest).

    Each dry run fixes some values and takes the first grid value for the others, which yields
    one complete combination; every alternative value of a free declaration then seeds a new run.
    So each combination costs exactly one build, and a value that switches a conditional scope
    on or off is followed by the declarations it actually activates.
    """
    combos: list[dict[str, Any]] = []
    grids: dict[str, list[Any]] = {}  # name -> grid values, in declaration order
    stack: list[dict[str, Any]] = [{}]
    while stack:
        forced = stack.pop()
        free: list[HyperParameter] = []

        def pick(spec: HyperParameter, forced: dict[str, Any] = forced, free: list = free) -> Any:
            if spec.name in forced:
                return forced[spec.name]
            free.append(spec)
            return spec.grid_values()[0]

        combos.append(dict(dry_run(pick).values))
        if len(combos) > limit:
            raise ValueError(f"the grid has more than {limit} combinations; give Int/Float hyper-parameters a "
                             "coarser step, or set max_trials and use RandomSearch")
        prefix = dict(forced)
        children: list[dict[str, Any]] = []
        for spec in free:
            values = spec.grid_values()
            grids.setdefault(spec.name, values)
            children.extend({**prefix, spec.name: value} for value in values[1:])
            prefix[spec.name] = values[0]
        stack.extend(reversed(children))
    return _ordered(combos, grids)


def _ordered(combos: list[dict[str, Any]], grids: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Sort like an odometer: by the first declared hyper-parameter's grid position, then the next..."""
    index = {name: {values_key({"v": v}): k for k, v in enumerate(values)} for name, values in grids.items()}

    def key(combo: dict[str, Any]) -> tuple[int, ...]:
        return tuple(index[name].get(values_key({"v": combo[name]}), -1) if name in combo else -1 for name in index)

    return sorted(combos, key=key)
