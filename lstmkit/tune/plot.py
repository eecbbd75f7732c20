"""A picture of a search: each trial's objective against its number, and the best so far.

Pruned trials appear at the last value they reported (they stopped there), failed ones are left
out. matplotlib is imported here only, with the Agg backend (no display needed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["plot_study"]


def plot_study(study: Any, path: str | Path, title: str | None = None) -> Path:
    """Write the plot of ``study`` to the PNG ``path`` (atomically) and return the path."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.trial import TrialState

    from lstmkit.io import atomic_write_bytes

    objective = study.user_attrs.get("objective", "objective")
    minimise = study.direction.name == "MINIMIZE"
    trials = [t for t in study.get_trials(deepcopy=False) if not t.user_attrs.get("discarded")]
    done = [(t.number, t.value) for t in trials if t.state == TrialState.COMPLETE and t.value is not None]
    pruned = [(t.number, t.intermediate_values[t.last_step]) for t in trials
              if t.state == TrialState.PRUNED and t.last_step is not None]
    fig, ax = plt.subplots(figsize=(7, 4))
    if done:
        ax.scatter(*zip(*done), label="complete", color="tab:blue", zorder=3)
        best, line = None, []
        for number, value in sorted(done):
            best = value if best is None or (value < best if minimise else value > best) else best
            line.append((number, best))
        ax.step(*zip(*line), where="post", color="tab:green", label="best so far")
    if pruned:
        ax.scatter(*zip(*pruned), marker="x", color="tab:red", label="pruned (last report)", zorder=3)
    ax.set_xlabel("trial")
    ax.set_ylabel(objective)
    ax.set_title(title or f"study {study.study_name!r}: {objective} ({'lower' if minimise else 'higher'} is better)")
    if done or pruned:
        ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buffer.getvalue(), create_dirs=True)
    return path
