"""Opening a Keras dataset ``.npz`` safely: ``np.load(..., allow_pickle=False)`` always; a file
that holds pickled (object) arrays is refused with one line saying why, never loaded."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def load_arrays(path: str, keys: Sequence[str], hint: str = "") -> dict[str, np.ndarray]:
    """The arrays ``keys`` of the ``.npz`` at ``path`` (a missing key or a pickled array is a ValueError)."""
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in keys if k not in f.files]
            if missing:
                raise ValueError(f"{path} lacks the arrays {missing} (it has {sorted(f.files)}){hint}")
            return {k: f[k] for k in keys}
    except ValueError as e:
        if "allow_pickle" in str(e):
            raise ValueError(f"{path} stores pickled object arrays, which lstmkit never loads (allow_pickle=False)"
                             f"{hint}") from None
        raise
