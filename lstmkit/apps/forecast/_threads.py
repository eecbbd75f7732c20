"""Run the forecasting work on one CPU thread.

The models here are tiny (a 32-unit LSTM on batches of 32 windows, ARIMA on a few hundred
values): a second thread saves nothing, and on a busy 2-core machine the spinning BLAS/OpenMP
worker threads of NumPy and torch made an ARIMA fit 20-40x and an LSTM epoch 15x slower in our
measurements. One thread is also what makes a seed give the same numbers run after run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """Limit torch and the BLAS libraries behind NumPy to one thread inside the block."""
    import torch

    before = torch.get_num_threads()
    with contextlib.ExitStack() as stack:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # optional: without it only torch is limited
            pass
        else:
            with contextlib.suppress(ImportError):
                import scipy.linalg  # noqa: F401  (SciPy ships its own OpenBLAS: load it so it is limited too)
            stack.enter_context(threadpool_limits(limits=1))
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(before)
