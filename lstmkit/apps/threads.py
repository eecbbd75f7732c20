"""Cap the CPU threads of torch and of the BLAS/OpenMP pools behind NumPy/SciPy for a block.

Why: the apps' models are small (a 32-unit forecaster, a 64-unit sentiment LSTM, n-grams and
ARIMA fits), so extra threads buy little, while on a busy 2-core machine every spinning OpenMP
worker costs a lot. Measured here: an ARIMA fit ran 20-40x and an LSTM epoch 15x slower with the
default threads under load; one sentiment batch took ~1 s with 2 torch threads and ~70 ms with
1; the TF-IDF grid ran 4x faster with BLAS capped at one thread. One thread is also what makes a
seed give the same numbers run after run. The previous settings come back on exit, so a caller
such as ``lstmkit demo`` that runs other apps afterwards is not affected.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["limited_threads"]


@contextlib.contextmanager
def limited_threads(n: int | None) -> Iterator[None]:
    """Run the block with at most ``n`` torch and BLAS threads (None or 0: leave them as they are)."""
    if not n:
        yield
        return
    import torch

    previous = torch.get_num_threads()
    with contextlib.ExitStack() as stack:
        try:
            from threadpoolctl import threadpool_limits  # comes with scikit-learn
        except ImportError:  # optional: without it only torch is limited
            pass
        else:
            with contextlib.suppress(ImportError):
                import scipy.linalg  # noqa: F401  (SciPy ships its own OpenBLAS: load it so it is limited too)
            stack.enter_context(threadpool_limits(limits=n))
        torch.set_num_threads(n)
        try:
            yield
        finally:
            torch.set_num_threads(previous)
