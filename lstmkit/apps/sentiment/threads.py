"""Cap the CPU threads of torch and of the BLAS/OpenMP pools for the duration of a block.

Why: the sentiment model is small (batches of 32 short texts, 64 LSTM units), so a second
intra-op thread buys little, while on a busy machine (other jobs, ``pytest -n 2``) every extra
spinning OpenMP thread costs a lot: measured on a loaded 2-core machine, one training batch took
~1 s with torch's default 2 threads and ~70 ms with 1, and the TF-IDF baseline's grid ran 4x
faster with BLAS capped at one thread. The previous settings are restored on exit, so a caller
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
    limits = contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits  # comes with scikit-learn

        limits = threadpool_limits(limits=n)
    except ImportError:
        pass
    torch.set_num_threads(n)
    try:
        with limits:
            yield
    finally:
        torch.set_num_threads(previous)
