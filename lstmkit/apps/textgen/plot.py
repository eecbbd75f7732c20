"""The loss-curve PNG of a text-generation run: is the LSTM below the n-gram baselines yet?

Why this picture: training bits per character against training time, with the held-out bpc of
the 3-, 5-, 6- and 7-gram baselines as horizontal lines and the LSTM's held-out bpc as a point at the
end, answers at a glance whether the run was long enough. matplotlib is imported here only, with
the Agg backend (no display needed).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

from lstmkit.io import atomic_write_bytes


def plot_loss_curve(path: str | Path, history: Mapping[str, Sequence[float]], heldout: Mapping[str, float],
                    *, title: str = "character LSTM") -> Path:
    """Write the PNG to ``path``; ``heldout`` maps "lstm", "ngram3", ..., "ngram7" to held-out bpc."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    seconds = list(history.get("seconds", []))
    if seconds:
        ax.plot(seconds, history["bpc"], color="tab:blue", lw=1.2, label="LSTM, training text")
    end = seconds[-1] if seconds else 1.0
    styles = {"ngram3": ("tab:orange", "3-gram"), "ngram5": ("tab:red", "5-gram"), "ngram6": ("tab:purple", "6-gram"),
              "ngram7": ("tab:green", "7-gram")}
    for key, (color, name) in styles.items():
        if key in heldout:
            ax.axhline(heldout[key], color=color, ls="--", lw=1.0, label=f"{name}, held-out: {heldout[key]:.3f}")
    if "lstm" in heldout:
        ax.plot([end], [heldout["lstm"]], "o", color="tab:blue", label=f"LSTM, held-out: {heldout['lstm']:.3f}")
    ax.set_xlabel("training time (s)")
    ax.set_ylabel("bits per character")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return atomic_write_bytes(path, buffer.getvalue(), create_dirs=True)
